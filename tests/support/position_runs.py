"""A multi-position run for the LIMS's tests, made of a center's voltmeter run."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.lims import Center, run_payload
from tests.support.position_jobs import jobs_for_serials


def serial_of(center: Center, number: int) -> str:
    """The serial of the instrument at position ``number``: the center's own instrument
    (its job is the run's) at 1, ``MY0000000n`` elsewhere."""
    return center.instrument.serial if number == 1 else f"MY{number:08d}"


def three_positions(center: Center, *, booked: bool = True) -> dict[str, Any]:
    """The center's voltmeter run (:func:`tests.support.lims.run_payload`) made three
    positions of a calibrator's bench (its output set, nothing read once): position 1 as
    measured (the center's instrument, the run's job), position 2 whose bench claims
    another verdict than the server's at its first point, position 3 not mounted.
    ``booked``: position 2's instrument registered with its job (position 3, skipped,
    needs none)."""
    if booked:
        jobs_for_serials(center.job, [serial_of(center, 1), serial_of(center, 2)])
    payload = run_payload(center)
    points = payload.pop("points")
    claimed = copy.deepcopy(points)
    claimed[0]["conformity"] = "fail"

    def position(number: int, its_points: list[Any], **state: Any) -> dict[str, Any]:
        return {
            "position": number,
            "instrument": {"serial": serial_of(center, number), "type": "dmm", "parameters": {}},
            "state": "measured",
            "points": its_points,
            **state,
        }

    payload.update(
        points=[],
        shared=[{"index": p["index"], "test": p["test"], "readings": []} for p in points],
        positions=[
            position(1, points),
            position(2, claimed),
            position(3, [], state="skipped", reason="not mounted"),
        ],
    )
    return payload
