"""The positions of a multi-position run as the run page shows them: exceptions first.

A reviewer of a run of 24 meters looks for what needs a look, not through 24 passes: the
positions that failed, then those whose bench claims differ from the server's, then
those skipped or removed (with why), then those not clearly judged, and the passes last,
each group by position number.
"""

from __future__ import annotations

from dataclasses import dataclass

from labserver.measurements.models import PositionState, Run, RunPosition

from .presentation import PointRow, point_rows, verdict_text

__all__ = ["PositionRow", "position_rows"]


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


def position_rows(run: Run) -> list[PositionRow]:
    """The run's positions, exceptions first, each with its points' rows."""
    positions = sorted(
        run.positions.prefetch_related("points__readings"),
        key=lambda p: (_rank(p), p.number),
    )
    rows = []
    for position in positions:
        statement = position.server_conformity
        rows.append(
            PositionRow(
                position=position,
                state=position.get_state_display(),
                verdict=verdict_text(statement),
                verdict_class="pass" if statement == "pass" else ("fail" if statement else ""),
                exception=_rank(position) < 4,
                points=point_rows(sorted(position.points.all(), key=lambda p: p.index)),
                prefix=f"position-{position.number}-",
            )
        )
    return rows
