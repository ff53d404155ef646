"""The run record: one JSON form, read back as written, refusals naming the field."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import fields, replace
from typing import Any

import pytest

from procedures.record import (
    Acceptance,
    Check,
    Curve,
    CurvePoint,
    CurveValue,
    Point,
    Position,
    PositionInstrument,
    ProcedureRef,
    Reading,
    RecordError,
    Result,
    RunHeader,
    RunRecord,
    SharedPoint,
    StandardUsed,
    UncertaintyRatio,
)

PARTS = (
    Acceptance,
    Check,
    Curve,
    CurvePoint,
    CurveValue,
    Point,
    Position,
    PositionInstrument,
    SharedPoint,
    ProcedureRef,
    Reading,
    Result,
    RunHeader,
    RunRecord,
    StandardUsed,
    UncertaintyRatio,
)


def reading(value: float, second: int) -> Reading:
    return Reading(value, "V", f"2026-11-22T08:00:{second:02d}+00:00", True, f"{value:+.9E}")


def point(index: int, nominal: float) -> Point:
    readings = tuple(reading(nominal + 1e-6 * j, j) for j in range(3))
    return Point(
        index=index,
        test="dcv",
        nominal=nominal,
        unit="V",
        readings_quantity="x",
        output="E",
        model={
            "outputs": {"E": {"expression": "x - V_s", "unit": "V"}},
            "quantities": {
                "x": {"samples": [r.value for r in readings], "unit": "V"},
                "V_s": {"value": nominal, "U": 4e-6, "k": 2, "unit": "V"},
            },
        },
        result=Result(value=1e-6, u=2.1e-6, U=4.3e-6, k=2.03, dof=math.inf),
        conformity="pass",
        acceptance=Acceptance(-4e-5, 4e-5, 4e-5, "spec", "34465A data sheet"),
        uncertainty_ratio=UncertaintyRatio(0.1075, "1/3", True),
        readings=readings,
    )


def record(**changes: Any) -> RunRecord:
    header = RunHeader(
        run_id="0b1e2c7e-8d7e-4a53-9d57-0f5c2a5c7d11",
        job="HN-2026-00001",
        procedure=ProcedureRef("dmm-dcv", "1.1.0", "ab" * 32),
        operator="hn-metrologist",
        software_version="caltrace-agent 0.1.0",
        started_at="2026-11-22T08:00:00+00:00",
        environment={"temperature": {"value": 23.1, "unit": "degC"}},
        standards=(StandardUsed("HN-E-5522A", "source", "dcv", "V", 0, 10),),
    )
    parts: dict[str, Any] = {
        "header": header,
        "finished_at": "2026-11-22T08:20:00+00:00",
        "points": (point(0, 1.0), point(1, 10.0)),
        "checks": (
            Check("repeatability", "dcv", "clause", "0.5", "5", "V", True, None, None, (0, 1)),
        ),
        "raw_io": ({"t": "2026-11-22T08:00:01+00:00", "dir": "tx", "data": "READ?"},),
    }
    parts.update(changes)
    return RunRecord(**parts)


def test_the_json_is_read_back_to_the_same_record_and_the_same_text() -> None:
    made = record()
    text = json.dumps(made.to_json(), separators=(",", ":"), ensure_ascii=False)
    again = RunRecord.from_json(json.loads(text))
    assert again == made
    assert json.dumps(again.to_json(), separators=(",", ":"), ensure_ascii=False) == text


def test_each_part_writes_its_keys_in_the_order_it_states() -> None:
    for part in PARTS:
        assert set(part.REQUIRED) <= set(part.KEYS), part
    payload = record().to_json()
    assert list(payload) == [k for k in RunRecord.KEYS if k in payload]
    assert list(payload["points"][0]) == list(Point.KEYS)
    assert list(payload["points"][0]["readings"][0]) == [k for k in Reading.KEYS if k != "quantity"]


def test_what_is_absent_stays_absent_and_numbers_stay_as_written() -> None:
    payload = record(checks=()).to_json()
    assert "checks" not in payload
    assert "curves" not in payload
    assert "supersedes" not in payload
    assert payload["standards"][0]["range"] == [0, 10]  # ints, as the runner wrote them
    assert payload["points"][0]["result"]["dof"] == "inf"
    bare = Point.from_json({k: v for k, v in payload["points"][0].items() if k != "acceptance"})
    assert bare.acceptance is None
    assert "acceptance" not in bare.to_json()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda p: p["points"][1]["readings"][2].update(value="1.0"),
            "points[1].readings[2].value",
            "must be a number, got str",
        ),
        (lambda p: p["points"][0].pop("model"), "points[0].model", "required"),
        (lambda p: p.update(started_at="2026-11-22T08:00:00"), "started_at", "UTC offset"),
        (lambda p: p["points"][0]["result"].update(U=math.nan), "points[0].result.U", "finite"),
        (lambda p: p["points"][0]["result"].update(dof=0), "points[0].result.dof", "positive"),
        (
            lambda p: p["points"][0]["acceptance"].update(lower=1.0),
            "points[0].acceptance.lower",
            "must not exceed upper",
        ),
        (lambda p: p["points"][0].update(readings=[]), "points[0].readings", "must not be empty"),
        (lambda p: p["standards"][0].update(role="uut"), "standards[0].role", "reference"),
        (lambda p: p["standards"][0].update(range=[10, 0]), "standards[0].range", "low"),
        (lambda p: p["procedure"].update(hash="AB"), "procedure.hash", "SHA-256"),
        (lambda p: p.update(run_id="7"), "run_id", "not a UUID"),
        (lambda p: p["checks"][0].update(value="1e3"), "checks[0].value", "plain decimal"),
        (lambda p: p["checks"][0].update(check="linearity"), "checks[0].check", "not a check"),
        (lambda p: p["checks"][0].update(points=[0, 7]), "checks[0].points", "no point 7"),
        (lambda p: p["points"][1].update(index=0), "points", "unique"),
        (lambda p: p.update(finished_at="2026-11-22T07:00:00+00:00"), "finished_at", "before"),
        (lambda p: p.update(curves=[]), "curves", "must be an object"),
        (
            lambda p: p["points"][0]["uncertainty_ratio"].update(max="0.3"),
            "points[0].uncertainty_ratio.max",
            "1/3",
        ),
    ],
)
def test_a_refusal_names_the_field_at_fault(change: Any, field: str, words: str) -> None:
    assert_refused(record(), change, field, words)


def assert_refused(made: RunRecord, change: Any, field: str, words: str) -> None:
    """``made``'s payload, changed by ``change``, is refused naming ``field``."""
    payload = json.loads(json.dumps(made.to_json()))
    change(payload)
    with pytest.raises(RecordError) as refused:
        RunRecord.from_json(payload)
    assert refused.value.field == field
    assert words in refused.value.message
    assert str(refused.value).startswith(f"{field}: ")


def test_a_curve_is_kept_under_its_own_test() -> None:
    curve = Curve(
        test="dcv",
        fit="line",
        degree=1,
        x="nominal",
        y="E",
        x0=0.0,
        weighted=True,
        x_unit="V",
        points=(CurvePoint(0, 1.0, 1e-6, 2e-6, 0.0), CurvePoint(1, 10.0, 2e-6, 2e-6, 0.0)),
        coefficients=(0.0, 1e-7),
        u_coefficients=(1e-6, 1e-7),
        covariance=((1e-12, 0.0), (0.0, 1e-14)),
        correlation=((1.0, 0.0), (0.0, 1.0)),
        residuals=(0.0, 0.0),
        residual_sd=0.0,
        dof=0,
        chi_square=None,
        values=(CurveValue(1.0, 1e-6, 1e-6),),
    )
    payload = record(curves={"dcv": curve}).to_json()
    assert RunRecord.from_json(payload).curves == {"dcv": curve}
    payload["curves"] = {"other": payload["curves"]["dcv"]}
    with pytest.raises(RecordError, match=r"^curves\.other\.test: is 'dcv', not 'other'"):
        RunRecord.from_json(payload)
    # A curve sent before generalized fits existed: neither those keys nor shared terms.
    older = {
        k: v
        for k, v in curve.to_json().items()
        if k not in ("generalized", "shared", "covariance_y")
    }
    assert Curve.from_json(older) == curve


def test_the_ratio_check_is_read_in_either_shape_it_was_kept_in() -> None:
    now = {"value": 1.0, "uncertainty_ratio": {"ratio": 0.4, "max": "1/3", "met": False}}
    before = {"value": 1.0, "uncertainty_ratio": 0.4, "uncertainty_ratio_met": False}
    assert UncertaintyRatio.of_result(now) == UncertaintyRatio(0.4, "1/3", False)
    assert UncertaintyRatio.of_result(before) == UncertaintyRatio(0.4, None, False)
    assert UncertaintyRatio.of_result({"value": 1.0}) is None
    assert UncertaintyRatio.flagged(now)
    assert UncertaintyRatio.flagged(before)
    assert not UncertaintyRatio.flagged(
        {"uncertainty_ratio": {"ratio": 0.1, "max": "1/3", "met": True}}
    )
    assert not UncertaintyRatio.flagged({"uncertainty_ratio": "garbled"})


def test_a_point_kept_without_its_readings_refuses_them() -> None:
    kept = point(0, 1.0).to_json(readings=False)
    assert Point.from_json(kept, readings=False).readings == ()
    with pytest.raises(RecordError, match="readings are kept one by one"):
        Point.from_json(point(0, 1.0).to_json(), readings=False)
    assert [f.name for f in fields(Point)] == list(Point.KEYS)


# -- multi-position runs ------------------------------------------------------------------


def test_a_single_position_run_writes_the_json_it_always_wrote() -> None:
    # The SHA-256 of this record's payload as the record wrote it before runs had
    # positions (computed on that code): the same bytes now, with no key added.
    text = json.dumps(record().to_json(), separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "c21aa557c21cbea71840131ccee71b67284054b7aa548a4cad566bc8b5308250"
    )
    assert RunRecord.from_json(json.loads(text)).positions == ()


def meter(number: int, state: str = "measured", reason: str | None = None) -> Position:
    points: tuple[Point, ...] = {"skipped": (), "removed": (point(0, 1.0),)}.get(
        state, (point(0, 1.0), point(1, 10.0))
    )
    return Position(
        position=number,
        instrument=PositionInstrument(f"WM-{number}", "water-meter", {"q3": 4.0, "ratio": 160}),
        state=state,
        reason=reason,
        points=points,
    )


def positioned(**changes: Any) -> RunRecord:
    shared = (
        SharedPoint(0, "dcv", (reading(1.0, 1),)),
        SharedPoint(1, "dcv", (reading(10.0, 2),)),
    )
    parts: dict[str, Any] = {
        "points": (),
        "checks": (),
        "shared": shared,
        "positions": (meter(1), meter(2, "skipped", "not mounted"), meter(3, "removed", "leaks")),
    }
    parts.update(changes)
    return record(**parts)


def test_a_multi_position_run_keeps_the_shared_part_once_and_each_position() -> None:
    made = positioned()
    payload = made.to_json()
    assert list(payload) == [k for k in RunRecord.KEYS if k in payload]
    assert payload["points"] == []
    assert list(payload["positions"][1]) == ["position", "instrument", "state", "reason", "points"]
    assert list(payload["positions"][0]) == [
        k for k in Position.KEYS if k not in ("reason", "checks", "identity")
    ]
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    assert RunRecord.from_json(json.loads(text)) == made
    # Each position its own verdict: every point passed; skipped and removed judge nothing.
    assert [p.verdict for p in made.positions] == ["pass", None, None]


def test_a_position_with_a_failed_point_fails_whatever_became_of_it() -> None:
    failed = replace(point(0, 1.0), conformity="fail")
    assert replace(meter(1), points=(failed, point(1, 10.0))).verdict == "fail"
    assert replace(meter(3, "removed", "leaks"), points=(failed,)).verdict == "fail"
    assert (
        replace(meter(1), points=(replace(failed, conformity="conditional pass"),)).verdict is None
    )


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda p: p["positions"][1].pop("reason"),
            "positions[1].reason",
            "a skipped position states why",
        ),
        (lambda p: p["positions"][0].update(reason="x"), "positions[0].reason", "states no reason"),
        (
            lambda p: p["positions"][0].update(state="lost"),
            "positions[0].state",
            "measured, skipped",
        ),
        (lambda p: p["positions"][0].update(position=0), "positions[0].position", "from 1"),
        (lambda p: p["positions"][2].update(position=1), "positions[2].position", "given twice"),
        (
            lambda p: p["positions"][0]["instrument"].pop("serial"),
            "positions[0].instrument.serial",
            "required",
        ),
        (lambda p: p["positions"][0].update(points=[]), "positions[0].points", "must not be empty"),
        (
            lambda p: p["positions"][1].update(points=p["positions"][0]["points"]),
            "positions[1].points",
            "a skipped position has no points",
        ),
        (
            lambda p: p["positions"][0]["points"].pop(),
            "positions[0].points",
            "a measured position lacks point 1",
        ),
        (
            lambda p: p["positions"][0]["points"][1].update(index=7),
            "positions[0].points[1].index",
            "no point 7 of test dcv",
        ),
        (lambda p: p["shared"][1].update(index=0), "shared", "unique"),
        (lambda p: p.update(shared=[]), "shared", "must not be empty"),
        (
            lambda p: p.update(points=p["positions"][0]["points"]),
            "points",
            "keeps its points by position",
        ),
    ],
)
def test_a_refused_position_is_named(change: Any, field: str, words: str) -> None:
    assert_refused(positioned(), change, field, words)
