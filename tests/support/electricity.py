"""Electricity meters on the simulated meter test bench (:mod:`simulation.energy`): the
meters' specification, the bench's roles (the bench itself as the reference standard, one
role per position), the positions a runner is given and the reference meter's record.

The simulated reference meter measures exactly what the source applies, so its
certificate here states the nominal power at every point the procedure binds, with an
expanded uncertainty of 0.02 % (k = 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from procedures.bench import BenchPosition, BenchRole, Recorder, StandardRecord
from procedures.definition import (
    ProcedureDefinition,
    definition_from_data,
    library,
    load_definition,
)
from procedures.record import Point, PositionInstrument, Reading
from procedures.runner import Runner
from simulation.bench import SimulatedBench
from simulation.people import SimulatedOperator
from simulation.world import SimulatedTime

# A class B single-phase meter, 230 V 50 Hz, 0.25-5(60) A, Itr 0.5 A, Ist 20 mA,
# 10 000 imp/kWh.
METER: dict[str, Any] = {
    "accuracy_class": "B",
    "i_st": 0.02,
    "i_min": 0.25,
    "i_tr": 0.5,
    "i_ref": 5.0,
    "i_max": 60.0,
    "u_ref": 230.0,
    "f_ref": 50.0,
    "constant": 10000.0,
    "phases": 1,
}
# A class B three-phase meter of the same currents, 3 × 230 V (phase to neutral) 50 Hz,
# 10 000 imp/kWh of the total energy.
METER_3: dict[str, Any] = {**METER, "phases": 3}
ADDRESS = "TCPIP::192.0.2.50::5025::SOCKET"
ROOM = "manual://temperature?unit=degC&min=0&max=50&resolution=0.1"
# The points of procedure electricity-meter-r46 for METER: (quantity, nominal power in W).
POWERS = {
    "active_power_pf1": (57.5, 115.0, 1150.0, 13800.0),
    "active_power_pf0.5ind": (57.5, 575.0),
    "active_power_pf0.8cap": (92.0, 920.0),
}
# The same for METER_3: 3·U·I·cos φ, the total power of its three phases.
POWERS_3 = {quantity: tuple(3 * p for p in powers) for quantity, powers in POWERS.items()}


def electricity_runner(
    bench: SimulatedBench,
    recorder: Recorder,
    positions: list[BenchPosition],
    *,
    on: date,
    instrument: Mapping[str, Any] = METER,
    reference: StandardRecord | None = None,
    definition: ProcedureDefinition | None = None,
) -> Runner:
    """Procedure electricity-meter-r46 on ``bench`` (its reference meter ``reference``, by
    default :func:`reference_meter`) for ``positions`` (none: the one meter in role
    ``uut``), on the date ``on``, the waits of the runner skipped; ``definition`` another
    version of the procedure (:func:`stated_definition`)."""
    clock = SimulatedTime(real_pause_s=0.0)
    return Runner(
        definition or load_definition(library()["electricity-meter-r46"]),
        bench=bench,
        operator=SimulatedOperator(bench.world),
        recorder=recorder,
        standards={"HN-E-MTB": reference or reference_meter()},
        instrument=dict(instrument),
        on=on,
        sleep=clock.sleep,
        clock=clock.clock,
        positions=positions,
    )


def reference_meter(asset_id: str = "HN-E-MTB", *, reads_high: float = 0.0) -> StandardRecord:
    """The bench's reference meter with its certificate at the procedure's points for
    :data:`METER` and :data:`METER_3`: the power applied when it indicates the nominal,
    for a meter that reads ``reads_high`` (relative) high."""
    return StandardRecord(
        standard={
            "asset_id": asset_id,
            "functions": [
                {"role": "reference", "function": quantity, "unit": "W", "min": 1, "max": 50000}
                for quantity in POWERS
            ],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "HN-E-2026-0050",
                "calibrated_on": "2026-03-01",
                "due_on": "2027-03-01",
                "values": [
                    {
                        "quantity": q,
                        "nominal": p,
                        "value": p / (1 + reads_high),
                        "unit": "W",
                        "U": 2e-4 * p,
                        "k": 2,
                    }
                    for table in (POWERS, POWERS_3)
                    for q, powers in table.items()
                    for p in powers
                ],
            },
        ),
    )


def bench_roles(
    meters: Mapping[int, Mapping[str, Any]],
    *,
    positions: int,
    speed: float = 1e5,
    reference_error: float = 0.0,
    phases: int = 3,
    optical: bool = True,
) -> dict[str, BenchRole]:
    """The bench (``reference``, its reference meter erring by ``reference_error``, its
    source of ``phases``), the room thermometer and a role per described position
    (``uut@N`` with its simulated meter's options) and, with ``optical``, its meter's
    optical port (``optical@N``, IEC 62056-21 over TCP; DLMS/COSEM where the options say
    ``dlms: true``), its meter stating the serial number :func:`meter_positions` gives by
    default."""
    ports = {
        f"optical@{n}": BenchRole(f"optical@{n}", *_optical_port(n, options), serial=f"EM-{n:04d}")
        for n, options in meters.items()
        if optical
    }
    return {
        "reference": BenchRole(
            "reference",
            "caltrace-mtb",
            ADDRESS,
            asset_id="HN-E-MTB",
            serial="MTB-0042",
            options={
                "positions": positions,
                "speed": speed,
                "reference_error": reference_error,
                "phases": phases,
            },
        ),
        "environment": BenchRole("environment", "manual", ROOM),
        **{
            f"uut@{n}": BenchRole(f"uut@{n}", "caltrace-mtb", ADDRESS, options=dict(options))
            for n, options in meters.items()
        },
        **ports,
    }


def _optical_port(number: int, options: Mapping[str, Any]) -> tuple[str, str]:
    """The driver and the address of the optical port of the meter at ``number``."""
    if options.get("dlms"):
        return "dlms-cosem", f"dlms+tcp://192.0.2.60:{4100 + number}"
    return "iec62056-21", f"socket://192.0.2.60:{5100 + number}"


def meter_positions(
    count: int,
    parameters: Mapping[int, Mapping[str, Any]] | None = None,
    *,
    serials: Sequence[str] = (),
) -> list[BenchPosition]:
    """``count`` meters at positions 1..count, their ``serials`` (by default ``EM-0001``...),
    each of specification :data:`METER` unless ``parameters`` gives its own."""
    return [
        BenchPosition(
            number=n,
            role=f"uut@{n}",
            instrument=PositionInstrument(
                serials[n - 1] if serials else f"EM-{n:04d}",
                "electricity-meter",
                dict((parameters or {}).get(n, METER)),
            ),
        )
        for n in range(1, count + 1)
    ]


@dataclass
class OneMeter:
    """The recorder of a run of one meter, in memory: the points kept, in order."""

    points: list[Point] = field(default_factory=list)
    readings: int = 0

    def reading(self, *, point_index: int, quantity: str, reading: Reading) -> int:
        self.readings += 1
        return self.readings

    def point(self, point: Point, reading_ids: list[int]) -> None:
        self.points.append(point)

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        pass


# ------------------------------------------------------------------ a stated class table

SYNTHETIC_SOURCE: dict[str, Any] = {
    "document": "TEST-FIXTURE 0001",
    "edition": "2026",
    "table": "Table T",
    "transcribed_by": "Tester Transcriber",
    "checked_by": "Tester Checker",
    "date": "2026-11-30",
}
"""The source of :data:`SYNTHETIC_CLASS_LIMITS`: a made-up document, not a standard."""

SYNTHETIC_CLASS_LIMITS: dict[str, Any] = {
    "T1": {
        "source": SYNTHETIC_SOURCE,
        "ranges": [
            {"power_factor": 1, "current": "0.05 i_ref <= I < 0.1 i_ref", "limit": 2.5},
            {"power_factor": 1, "current": "0.1 i_ref <= I <= i_max", "limit": 1.5},
            {"power_factor": "0.5 inductive", "current": "0.1 i_ref <= I < i_ref", "limit": 2.25},
            {"power_factor": "0.5 inductive", "current": "i_ref <= I <= i_max", "limit": 1.75},
            {"power_factor": "0.8 capacitive", "current": "0.1 i_ref <= I <= i_max", "limit": 2},
        ],
    }
}
"""A TEST FIXTURE: a class ``T1`` with made-up limits over the meter's currents, the shape
of a table a center transcribes (by current range and power factor). These are not the
values of any IEC or other standard; caltrace ships none."""

STATED_METER: dict[str, Any] = {**METER, "accuracy_class": "T1"}
""":data:`METER` marked with the synthetic class ``T1``."""


def stated_data(class_limits: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Procedure electricity-meter-r46 as a center's own version: id
    ``electricity-meter-stated-test``, its accuracy tests judged by the rule
    ``electricity_meter_stated`` against ``class_limits`` (by default the synthetic
    :data:`SYNTHETIC_CLASS_LIMITS`), as plain data."""
    path = library()["electricity-meter-r46"]
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["id"] = "electricity-meter-stated-test"
    data["version"] = "1.0.0"
    data["class_limits"] = dict(class_limits or SYNTHETIC_CLASS_LIMITS)
    for test in data["tests"]:
        mpe = test.get("mpe") or {}
        if mpe.get("rule") == "electricity_meter":
            test["mpe"] = {
                "rule": "electricity_meter_stated",
                "accuracy_class": mpe["accuracy_class"],
                "current": mpe["current"],
                "power_factor": mpe["power_factor"],
                "load_kind": mpe["load_kind"],
            }
    return data


def stated_definition() -> ProcedureDefinition:
    """:func:`stated_data` checked, the definition a runner carries out."""
    return definition_from_data(stated_data(), source="electricity-meter-stated-test")


def one_meter_roles(error: float) -> dict[str, BenchRole]:
    """A bench of one position holding one meter (role ``uut``) that errs by ``error`` %
    (its register too), its optical port (role ``optical``, IEC 62056-21 over TCP, the
    meter stating serial ``EM-0001``), the bench's reference meter and the room
    thermometer."""
    return {
        "reference": BenchRole(
            "reference", "caltrace-mtb", ADDRESS, asset_id="HN-E-MTB", options={"positions": 1}
        ),
        "environment": BenchRole("environment", "manual", ROOM),
        "uut": BenchRole("uut", "caltrace-mtb", ADDRESS, options={"position": 1, "error": error}),
        "optical": one_optical_port(),
    }


def one_optical_port(serial: str = "EM-0001") -> BenchRole:
    """The optical port of the one meter of a run (role ``optical``, IEC 62056-21 over TCP),
    its meter stating ``serial``."""
    return BenchRole("optical", *_optical_port(1, {}), serial=serial)
