"""A position's meter as read through its optical port, at the LIMS: stored with the
position as the bench sent it (the registers as the meter stated them) and given back by
the API; an identity that names another meter than the position's is refused, naming the
field, and nothing is stored."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from labserver.measurements.models import Run, RunPosition
from procedures.record import MeterIdentity, MeterRegister, Position
from scenarios.demo import DemoSummary
from tests.support.bench_posts import in_series
from tests.support.demo import demo_world, summary_built_once, work_for  # noqa: F401
from tests.support.positions import GOOD

pytestmark = pytest.mark.django_db


def read_as(serial: str) -> MeterIdentity:
    return MeterIdentity(
        protocol="dlms",
        port="dlms+hdlc://192.0.2.9:4059",
        serial=serial,
        serial_code="0.0.96.1.0.255",
        registers=(MeterRegister("1.8.0", "1234.560", "kWh"),),
        read_at="2026-12-06T08:00:00+00:00",
    )


def with_identity(serial: str | None = None) -> Any:
    """The first position's meter read, stating ``serial`` (None: its own)."""

    def change(positions: tuple[Position, ...]) -> tuple[Position, ...]:
        first, *others = positions
        stated = first.instrument.serial if serial is None else serial
        return (replace(first, identity=read_as(stated)), *others)

    return change


def test_the_identity_read_is_stored_with_its_position_as_sent(summary: DemoSummary) -> None:
    work = work_for(summary, "bench-flow")
    _, response = in_series(work, [GOOD, GOOD], {}, change=with_identity())
    assert response.status_code == 201, response.json()
    run = Run.objects.get(pk=response.json()["run_id"])
    first, second = RunPosition.objects.filter(run=run).order_by("number")
    assert first.identity == read_as(first.serial).to_json()
    assert first.identity["registers"][0]["value"] == "1234.560"  # as stated, not rounded
    assert second.identity is None


def test_an_identity_of_another_meter_is_refused_and_nothing_is_stored(
    summary: DemoSummary,
) -> None:
    work = work_for(summary, "bench-flow")
    _, response = in_series(work, [GOOD, GOOD], {}, change=with_identity("EM-OTHER"))
    assert response.status_code == 400
    answer = response.json()
    assert answer["field"] == "positions[0].identity.serial", answer
    assert "states serial EM-OTHER" in answer["detail"]
    assert not Run.objects.exists()
