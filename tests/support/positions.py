"""Multi-position runs in the tests: water meters in series, each with its own error
(:func:`simulation.flow.meters_in_series`), the positions a runner is given, and a
recorder that keeps them in memory.

Meter errors (:class:`simulation.flow.WaterMeterError`): :data:`GOOD` reads +0.6 % at high
flows, inside the class 2 MPE of the upper zone (2 %, R 49-1:2013 as
``procedures/mpe/water.py`` cites it); :data:`HIGH` reads +5 %, outside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procedures.bench import BenchPosition, BenchRole, StandardRecord
from procedures.record import Point, PositionInstrument, Reading, SharedPoint
from simulation.flow import REFERENCE_METER, WaterMeterError, meters_in_series

GOOD = WaterMeterError()
HIGH = WaterMeterError(high_flow=5e-2)

# The reference meter reads low by REFERENCE_METER.error: its certificate says so.
ACTUAL = {n: n / (1 + REFERENCE_METER.error) for n in (20.0, 50.0, 200.0)}


def reference_record() -> StandardRecord:
    """The simulated reference meter HN-V-FLOW with its certificate at 20, 50 and 200 L."""
    return StandardRecord(
        standard={
            "asset_id": "HN-V-FLOW",
            "functions": [
                {"role": "reference", "function": "volume", "unit": "L", "min": 0, "max": 10000}
            ],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "HN-V-2026-0001",
                "calibrated_on": "2026-02-01",
                "due_on": "2027-02-01",
                "values": [
                    {"quantity": "volume", "nominal": n, "value": v, "unit": "L", "U": 0.01, "k": 2}
                    for n, v in ACTUAL.items()
                ],
            },
        ),
    )


def meter_serials(count: int, first: str | None = None) -> list[str]:
    """The serials of ``count`` water meters: ``WM-0001``..., the first ``first`` when
    given (the instrument of the job the bench was started with)."""
    serials = [f"WM-{n:04d}" for n in range(1, count + 1)]
    if first is not None and serials:
        serials[0] = first
    return serials


MAP = Path(__file__).resolve().parents[2] / "drivers" / "maps" / "onicon-f3100.yaml"
# A meter's register read by eye, in m3 to 0.1 L.
REGISTER = "manual://volume?unit=m3&min=0&max=99999.9999&resolution=0.0001"


def water_roles(errors: Mapping[int, WaterMeterError]) -> dict[str, BenchRole]:
    """The roles of a flow bench with meters in series: the reference meter HN-V-FLOW (a
    Modbus register map) and a water meter at each position with its error."""
    return {
        "reference": BenchRole(
            "reference",
            "modbus-map",
            "modbus-tcp://192.0.2.40:502?unit=1",
            asset_id="HN-V-FLOW",
            options={"map_file": str(MAP), "registers": {"volume": "positive_total"}},
        ),
        **meters_in_series(errors, address=REGISTER),
    }


def bench_positions(
    count: int,
    parameters: Mapping[str, Any],
    skipped: Mapping[int, str] | None = None,
    *,
    serials: list[str] | None = None,
) -> list[BenchPosition]:
    """``count`` water meters (``serials``, else ``WM-0001``...) in roles ``uut@1``...,
    with the specification ``parameters``; ``skipped``: the reasons of those not mounted."""
    serials = serials or meter_serials(count)
    return [
        BenchPosition(
            number=n,
            role=f"uut@{n}",
            instrument=PositionInstrument(serials[n - 1], "water-meter", dict(parameters)),
            skipped=(skipped or {}).get(n),
        )
        for n in range(1, count + 1)
    ]


@dataclass
class Kept:
    """A positions' recorder, in memory, in the order things were kept."""

    journal: list[tuple[Any, ...]] = field(default_factory=list)

    def reading(self, *, point_index: int, quantity: str, reading: Reading) -> int:
        self.journal.append(("shared", point_index, quantity))
        return len(self.journal)

    def point(self, point: Point, reading_ids: list[int]) -> None:
        raise AssertionError("a multi-position run keeps its points by position")

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        pass

    def position_reading(
        self, *, position: int, point_index: int, quantity: str, reading: Reading
    ) -> int:
        self.journal.append(("reading", position, point_index, quantity))
        return len(self.journal)

    def position_point(self, position: int, point: Point, reading_ids: list[int]) -> None:
        self.journal.append(("point", position, point.index, len(reading_ids)))

    def position_state(self, position: int, state: str, reason: str) -> None:
        self.journal.append((state, position, reason))

    def shared_point(self, point: SharedPoint, reading_ids: list[int]) -> None:
        self.journal.append(("shared-point", point.index, len(reading_ids)))
