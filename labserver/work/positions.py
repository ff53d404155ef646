"""The positions of a multi-position run as the run page shows them: exceptions first.

A reviewer of a run of 24 meters looks for what needs a look, not through 24 passes: the
positions that failed, then those whose bench claims differ from the server's, then
those skipped or removed (with why), then those not clearly judged, and the passes last,
each group by position number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from labserver.jobs.models import parsed_procedure
from labserver.measurements.models import PositionState, Run, RunPosition
from labserver.measurements.partitions import readings_prefetch
from procedures.record.positions import METER_PROTOCOLS

from .presentation import PointRow, point_rows, verdict_text

__all__ = ["PositionRow", "identity_text", "is_exception", "position_rows", "ranked"]


@dataclass
class PositionRow:
    position: RunPosition
    state: str
    verdict: str
    verdict_class: str
    exception: bool
    points: list[PointRow]
    prefix: str
    """Of the ids of its points' rows (``position-3-point-0``), unique on the page."""
    certificate: dict[str, Any] | None = None
    """Its instrument's certificate once issued (the latest, as the run page lists it)."""
    identity: str = ""
    """Its meter's registers as read through its optical port before the test, and how
    ("1.8.0: 2.47 kWh (IEC 62056-21)"); empty when not read so."""


def identity_text(identity: Mapping[str, Any] | None) -> str:
    """A position's identity read (the JSON of its
    :class:`procedures.record.MeterIdentity`) as the run page shows it: each register as
    the meter stated it, to its own resolution (an indication is never rounded again),
    and the protocol; "" for none."""
    if not identity:
        return ""
    registers = ", ".join(
        f"{r['code']}: {r['value']} {r['unit']}" for r in identity.get("registers", ())
    )
    protocol = METER_PROTOCOLS.get(identity.get("protocol", ""), identity.get("protocol", ""))
    return f"{registers} ({protocol})"


def _rank(position: RunPosition) -> int:
    """Where a position stands in the list: the failed first, the passed last."""
    if position.server_conformity == "fail":
        return 0
    if position.disagreements:
        return 1
    if position.state != PositionState.MEASURED:
        return 2
    if position.server_conformity != "pass":
        return 3
    return 4


def ranked(positions: Iterable[RunPosition]) -> list[RunPosition]:
    """``positions`` exceptions first (failed, disagreeing, skipped or removed, not clearly
    judged), the passes last, each group by position number."""
    return sorted(positions, key=lambda p: (_rank(p), p.number))


def is_exception(position: RunPosition) -> bool:
    """Whether ``position`` needs a look before signing: all but a clean pass."""
    return _rank(position) < 4


def position_rows(
    run: Run, certificates: Mapping[int, dict[str, Any]] | None = None
) -> list[PositionRow]:
    """The run's positions, exceptions first, each with its points' rows, its job and its
    certificate from ``certificates`` (by position id) when issued."""
    positions = ranked(
        run.positions.select_related("job").prefetch_related(
            readings_prefetch([run], "points__readings")
        )
    )
    definition = parsed_procedure(run.procedure)
    rows = []
    for position in positions:
        statement = position.server_conformity
        rows.append(
            PositionRow(
                position=position,
                state=position.get_state_display(),
                verdict=verdict_text(statement),
                verdict_class="pass" if statement == "pass" else ("fail" if statement else ""),
                exception=is_exception(position),
                points=point_rows(sorted(position.points.all(), key=lambda p: p.index), definition),
                prefix=f"position-{position.number}-",
                certificate=(certificates or {}).get(position.pk),
                identity=identity_text(position.identity),
            )
        )
    return rows
