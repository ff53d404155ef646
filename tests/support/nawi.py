"""The world of procedure nawi-r76's tests: a class III balance over MT-SICS on a
pseudo-terminal, the weights' certificate, the runner.

The balance simulator's load follows the operator: the operator here acts on the
``position``, ``place_load`` and ``remove_load`` instructions by putting on the pan the
conventional mass of the weights named (their certificate's value), read by a balance
with a known gain error and a known eccentricity at each position. Used by the
procedure's tests (``tests/procedures/test_nawi_r76.py``) and by the LIMS's tests of a
real run's checks (``tests/labserver/test_checks_curves.py``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from drivers.driver import DriverOptions
from drivers.manual.entry import ManualEntry
from drivers.mettler.sics import MettlerToledoSics
from drivers.simulators.mettler_sics import SimulatedSicsBalance
from drivers.simulators.pty import PtySimulator
from procedures import record
from procedures.bench import BenchRole, Instruction, StandardRecord
from procedures.definition import ProcedureDefinition, library, load_definition
from procedures.runner import Runner

TODAY = date(2026, 11, 22)
# Every exchange here is answered: a generous timeout costs nothing and spares a loaded
# machine a failure.
OPTIONS = DriverOptions(timeout_s=10.0, retries=0, resync_timeout_s=10.0, open_timeout_s=10.0)
# A 15 kg class III instrument, e = 5 g (n = 3000), read in a test mode with d_T = 0.5 g.
INSTRUMENT = {"accuracy_class": "III", "max_capacity": 15000, "e": 5, "d_T": 0.5, "unit": "g"}
GAIN = 1e-4  # the balance reads 100 ppm high
WEIGHTS_PPM = 2e-6  # the test weights' conventional mass is 2 ppm above nominal
LOADS = (7500.0, 5000.0, 100.0, 1000.0, 2500.0, 10000.0, 11250.0, 12500.0, 13750.0, 15000.0)
ASSET = "QT-W-M1-01"
# The room thermometer the environment role reads.
ROOM = "manual://temperature?unit=degC&min=-10&max=50&resolution=0.1"


def conventional_mass(load: float) -> float:
    return load * (1 + WEIGHTS_PPM)


def weights_record() -> StandardRecord:
    """An M1 weight set whose certificate gives the conventional mass of the combination
    used for each test load, with U (k = 2) well inside 1/3 of the M1 MPE."""
    return StandardRecord(
        standard={
            "asset_id": ASSET,
            "functions": [{"function": "mass", "unit": "g", "min": 1, "max": 20000}],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "VMI-M-2026-0107",
                "calibrated_on": "2026-03-02",
                "due_on": "2027-03-02",
                "values": [
                    {
                        "quantity": "mass",
                        "nominal": load,
                        "value": conventional_mass(load),
                        "unit": "g",
                        "U": max(load * 5e-6, 0.0005),
                        "k": 2,
                    }
                    for load in LOADS
                ],
            },
        ),
    )


class CoupledBalance(SimulatedSicsBalance):
    """A 15 kg balance showing multiples of ``readability`` (its test-mode interval)."""

    def __init__(self, *, readability: float = 0.5, settle_s: float = 0.05) -> None:
        super().__init__(
            model="ICS425",
            serial="B123456789",
            load=0.0,
            noise=0.0,
            capacity=15045.0,  # Max + 9 e
            readability=readability,
            settle_s=settle_s,
        )

    def _field(self, value: float) -> str:
        steps = round(value / self.readability)
        return f"{steps * self.readability:.1f}".rjust(10)

    def shows(self, mass: float) -> float:
        """What this balance indicates for ``mass`` on the pan (g)."""
        return round(mass / self.readability) * self.readability


@dataclass
class Log:
    """Every event of the run, in order: instructions and recorded readings."""

    events: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Recorded:
    log: Log
    readings: list[tuple[int, str, Mapping[str, Any]]] = field(default_factory=list)
    points: list[tuple[Mapping[str, Any], list[int]]] = field(default_factory=list)
    io_entries: list[Mapping[str, Any]] = field(default_factory=list)

    def reading(self, *, point_index: int, quantity: str, reading: record.Reading) -> int:
        self.readings.append((point_index, quantity, reading.to_json()))
        self.log.events.append(("reading", reading.value))
        return len(self.readings)

    def point(self, point: record.Point, reading_ids: list[int]) -> None:
        self.points.append((point.to_json(readings=False), reading_ids))
        self.log.events.append(("point", point.index))

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        self.io_entries.extend(entries)


@dataclass
class LoadingOperator:
    """Places the weights the instructions name on the simulated balance."""

    balance: SimulatedSicsBalance
    log: Log
    eccentricity: Mapping[int, float]
    repeat_offsets: list[float] = field(default_factory=list)
    position: int = 1
    instructions: list[Instruction] = field(default_factory=list)
    shown: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    def instruct(self, instruction: Instruction) -> None:
        self.instructions.append(instruction)
        self.log.events.append(("instruct", instruction.kind))
        params = instruction.params
        if instruction.kind == "position":
            self.position = int(params["position"])
        elif instruction.kind == "place_load":
            assert params["unit"] == "g"
            offset = self.repeat_offsets.pop(0) if self.repeat_offsets else 0.0
            mass = conventional_mass(float(params["load"])) + offset
            self.balance.set_load(mass * (1 + GAIN) + self.eccentricity.get(self.position, 0.0))
        elif instruction.kind == "remove_load":
            self.position = 1
            self.balance.set_load(0.0)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        self.shown.append((event, data))


class Bench:
    def __init__(self, instruments: dict[str, object], roles: dict[str, BenchRole]) -> None:
        self._instruments = instruments
        self.roles = roles

    def instrument(self, role: str) -> object:
        return self._instruments[role]  # the weights have none: asking for them fails


@contextmanager
def nawi_bench(
    balance: SimulatedSicsBalance, *, stable_wait_s: float = 5.0, room: str = "24.6"
) -> Iterator[Bench]:
    with PtySimulator(balance) as sim:
        scale = MettlerToledoSics.open(sim.address, OPTIONS, stable_wait_s=stable_wait_s)
        # nawi-r76 1.2.0 records the room's temperature (typed once if asked).
        thermometer = ManualEntry.open(ROOM, input=io.StringIO(f"{room}\n"), output=io.StringIO())
        roles = {
            "uut": BenchRole("uut", "mettler-sics", sim.address),
            "weights": BenchRole("weights", "none", "", asset_id=ASSET),
            "environment": BenchRole("environment", "manual", ROOM),
        }
        try:
            yield Bench({"uut": scale, "environment": thermometer}, roles)
        finally:
            scale.close()


def nawi_runner(
    bench: Bench,
    operator: LoadingOperator,
    recorder: Recorded,
    definition: ProcedureDefinition | None = None,
    **changes: Any,
) -> Runner:
    arguments: dict[str, Any] = {
        "bench": bench,
        "operator": operator,
        "recorder": recorder,
        "standards": {ASSET: weights_record()},
        "instrument": INSTRUMENT,
        "on": TODAY,
    }
    arguments.update(changes)
    return Runner(definition or load_definition(library()["nawi-r76"]), **arguments)


# R 76-1:2006 3.5.1 Table 6, class III, e = 5 g: 0.5 e up to 500 e (2500 g, inclusive),
# 1 e up to 2000 e (10 000 g, inclusive), 1.5 e above.
TABLE_6 = {
    100.0: 2.5,
    1000.0: 2.5,
    2500.0: 2.5,
    5000.0: 5.0,
    7500.0: 5.0,
    10000.0: 5.0,
    11250.0: 7.5,
    12500.0: 7.5,
    13750.0: 7.5,
    15000.0: 7.5,
}
# The weighing test's loads (R 76-1:2006 A.4.4.1: at least 10 different loads, Max, Min and
# the change points 500 e and 2 000 e), up to Max and back to Min.
WEIGHING_UP = [100.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0, 11250.0, 12500.0, 13750.0, 15000.0]
WEIGHING = WEIGHING_UP + WEIGHING_UP[-2::-1]
ECCENTRIC_OK = {1: 0.0, 2: 1.0, 3: -1.0, 4: 1.5, 5: -0.5}


def run_nawi(
    eccentricity: Mapping[int, float], *, repeat_offsets: tuple[float, ...] = ()
) -> tuple[Runner, list[dict[str, Any]], Recorded, LoadingOperator, CoupledBalance]:
    balance = CoupledBalance()
    log = Log()
    recorder = Recorded(log)
    with nawi_bench(balance) as bench:
        operator = LoadingOperator(balance, log, eccentricity, list(repeat_offsets))
        runner = nawi_runner(bench, operator, recorder)
        standards = [s.to_json() for s in runner.preflight()]
        assert standards == [
            {
                "asset_id": ASSET,
                "role": "reference",
                "function": "mass",
                "unit": "g",
                "range": [100.0, 15000.0],
            }
        ]
        points = [p.to_json() for p in runner.run()]
    return runner, points, recorder, operator, balance


def expected_error(balance: CoupledBalance, load: float, offset: float = 0.0) -> float:
    mass = conventional_mass(load)
    return balance.shows((mass + offset) * (1 + GAIN)) - mass
