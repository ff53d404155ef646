"""The world of procedure thermometer-bath's tests: a bath (Eurotherm 3200 over Modbus TCP)
with a reference PRT read by a DMM (Keysight 34465A), the thermometer under test typed
in or read over Modbus, virtual time, the standards' certificates and the runner.

Used by the procedure's tests (``tests/procedures/test_thermometer_bath.py``), the LIMS's
tests of a real run's curves (``tests/labserver/test_checks_curves.py``) and
``scripts/curve_figure.py``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from drivers.driver import DriverOptions
from drivers.eurotherm.e3200 import Eurotherm3200
from drivers.generic.modbus_map import load_register_map
from drivers.keysight.k34465a import Keysight34465A
from drivers.manual.entry import ManualEntry
from drivers.simulators.eurotherm_3200 import Eurotherm3200Simulator, SimulatedEurotherm3200
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.modbus_map import SimulatedMapDevice
from drivers.simulators.tcp import TcpSimulator
from procedures.bench import BenchRole, Instruction, StandardRecord
from procedures.definition import library, load_definition
from procedures.runner import Runner

TODAY = date(2026, 11, 22)
# Every exchange here is answered: a generous timeout costs nothing and spares a loaded
# machine a failure.
OPTIONS = DriverOptions(timeout_s=10.0, retries=0, resync_timeout_s=10.0, open_timeout_s=10.0)
NOMINALS = [-40.0, -20.0, 0.0, 20.0, 40.0, 60.0, 80.0]

# IEC 60751:2008 nominal Pt100 coefficients (4.2, the Callendar–Van Dusen equation).
IEC_R0, IEC_A, IEC_B, IEC_C = 100.0, 3.9083e-3, -5.775e-7, -4.183e-12
# The reference PRT's own coefficients, as its (simulated) certificate states them.
PRT_R0, PRT_A, PRT_B = 100.0152, 3.90802e-3, -5.7801e-7
DMM_GAIN = -1e-5  # the DMM reads 10 ppm low; its certificate says +0.0010 ohm at 100 ohm


def uut_error(t: float) -> float:
    """What the thermometer under test shows too much at ``t`` °C."""
    return 0.12 + 0.0015 * t


def cvd_resistance(t: Any, r0: Any, a: Any, b: Any, c: Any = IEC_C) -> Any:
    """R(t) = R0 (1 + A t + B t² + C (t − 100) t³), the C term below 0 °C only (IEC 60751
    4.2). Works on numbers and numpy arrays."""
    t = np.asarray(t, dtype=float)
    quartic = np.where(t < 0, c * (t - 100) * t**3, 0.0)
    return r0 * (1 + a * t + b * t * t + quartic)


def cvd_temperature(r: Any, r0: Any, a: Any, b: Any, c: Any = IEC_C) -> Any:
    """The inverse by bisection on [−200, 850] °C (R(t) rises there), independently of
    uncertainty.cvd's closed form and Newton iteration: 60 halvings leave 1e-15 K."""
    w = np.asarray(r, dtype=float) / r0
    low = np.full(np.broadcast(w, a, b, c).shape, -200.0)
    high = np.full_like(low, 850.0)
    for _ in range(60):
        middle = (low + high) / 2
        above = cvd_resistance(middle, 1.0, a, b, c) > w
        high = np.where(above, middle, high)
        low = np.where(above, low, middle)
    return (low + high) / 2


@dataclass
class Journal:
    """What happened, in order: readings recorded, readings shown, typed lines, points."""

    entries: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Recorded:
    journal: Journal
    readings: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    points: list[tuple[dict[str, Any], list[int]]] = field(default_factory=list)
    io_entries: list[Any] = field(default_factory=list)

    def reading(self, *, point_index: int, quantity: str, reading: Any) -> int:
        self.readings.append((point_index, quantity, reading.to_json()))
        self.journal.entries.append(("recorded", (point_index, quantity)))
        return len(self.readings)

    def point(self, point: Any, reading_ids: list[int]) -> None:
        self.points.append((point.to_json(readings=False), reading_ids))
        self.journal.entries.append(("point", point.index))

    def io(self, entries: list[Any]) -> None:
        self.io_entries.extend(entries)


@dataclass
class Operator:
    journal: Journal
    instructions: list[Instruction] = field(default_factory=list)

    def instruct(self, instruction: Instruction) -> None:
        self.instructions.append(instruction)

    def show(self, event: str, data: Any) -> None:
        if event == "reading":
            self.journal.entries.append(("shown", (data["index"], data["quantity"])))


class CoupledDmm(SimulatedKeysight344xxA):
    """A DMM whose 4-wire input is the reference PRT in the simulated bath."""

    def __init__(self, bath: SimulatedEurotherm3200) -> None:
        super().__init__(model="34465A", serial="MY54500042", seed=5)
        self.bath = bath

    def _take(self, count: int) -> list[str]:
        ohms = float(cvd_resistance(self.bath.temperature(), PRT_R0, PRT_A, PRT_B))
        self.set_input("FRES", ohms * (1 + DMM_GAIN), noise=2e-5)
        return super()._take(count)


class Typist:
    """The operator typing the UUT's display: the bath's temperature plus the known error,
    to the display's 0.01 °C, every other line with a decimal comma."""

    def __init__(self, bath: SimulatedEurotherm3200, journal: Journal) -> None:
        self.bath = bath
        self.journal = journal
        self.lines = 0

    def readline(self) -> str:
        t = self.bath.temperature()
        self.lines += 1
        self.journal.entries.append(("typed", round(t, 3)))
        text = f"{t + uut_error(t):.2f}"
        return (text.replace(".", ",") if self.lines % 2 else text) + "\n"


class ModbusThermometer(SimulatedMapDevice):
    """A thermometer read over Modbus whose display register follows the bath."""

    def __init__(self, map_path: Path, bath: SimulatedEurotherm3200) -> None:
        super().__init__(load_register_map(map_path), {"t_display": 20.0})
        self.bath = bath

    def read(self, function: int, address: int, count: int) -> list[int] | int:
        t = self.bath.temperature()
        self.values["t_display"] = round(t + uut_error(t), 2)
        return super().read(function, address, count)


class VirtualTime:
    """The runner's clock and sleep: stability windows of minutes pass in milliseconds
    (the simulated bath's own time constant is real, 0.05 s)."""

    def __init__(self, real_pause_s: float) -> None:
        self.now = 0.0
        self.real_pause_s = real_pause_s

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.real_pause_s:
            time.sleep(self.real_pause_s)


def prt_record() -> StandardRecord:
    return StandardRecord(
        standard={
            "asset_id": "QT-PRT-07",
            "functions": [
                {"role": "reference", "function": "temperature", "unit": "degC", "min": -40,
                 "max": 250},
                {"role": "reference", "function": "r0", "unit": "ohm", "min": 100, "max": 100},
                {"role": "reference", "function": "cvd_a", "unit": "1/degC", "min": 3.9e-3,
                 "max": 3.92e-3},
                {"role": "reference", "function": "cvd_b", "unit": "1/degC2", "min": -5.9e-7,
                 "max": -5.6e-7},
            ],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "NMI-T-2026-0107",
                "calibrated_on": "2026-03-02",
                "due_on": "2027-03-02",
                "values": [
                    {"quantity": "r0", "nominal": 100, "value": PRT_R0, "unit": "ohm",
                     "U": 0.0008, "k": 2},
                    {"quantity": "cvd_a", "nominal": IEC_A, "value": PRT_A, "unit": "1/degC",
                     "U": 4e-7, "k": 2},
                    {"quantity": "cvd_b", "nominal": IEC_B, "value": PRT_B, "unit": "1/degC2",
                     "U": 4e-9, "k": 2},
                ],
            },
        ),
    )  # fmt: skip


def dmm_record() -> StandardRecord:
    return StandardRecord(
        standard={
            "asset_id": "QT-DMM-03",
            "functions": [
                {"role": "reference", "function": "res4w", "unit": "ohm", "min": 0, "max": 1.2e3}
            ],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "QT-E-2026-0311",
                "calibrated_on": "2026-05-10",
                "due_on": "2027-05-10",
                "values": [
                    {"quantity": "res4w", "nominal": 100, "value": 100.0010, "unit": "ohm",
                     "U": 0.0012, "k": 2}
                ],
            },
        ),
    )  # fmt: skip


class Bench:
    def __init__(self, instruments: dict[str, object], roles: dict[str, BenchRole]) -> None:
        self.instruments = instruments
        self.roles = roles

    def instrument(self, role: str) -> object:
        return self.instruments[role]


@dataclass
class World:
    bath: SimulatedEurotherm3200
    bench: Bench
    journal: Journal
    typist: Typist


@contextmanager
def open_bench(bath_noise: float = 0.003) -> Iterator[World]:
    bath = SimulatedEurotherm3200(
        temperature=20.0, setpoint=20.0, noise=bath_noise, tau_s=0.05, decimals=2, seed=2
    )
    journal = Journal()
    typist = Typist(bath, journal)
    with (
        Eurotherm3200Simulator(bath) as bath_sim,
        TcpSimulator(CoupledDmm(bath)) as dmm_sim,
    ):
        dmm_sim.start()
        controller = Eurotherm3200.open(bath_sim.address, OPTIONS)
        dmm = Keysight34465A.open(dmm_sim.address, OPTIONS)
        uut = ManualEntry.open(
            "manual://temperature?unit=degC&min=-50&max=150&resolution=0.01",
            input=typist,  # type: ignore[arg-type]
            output=io.StringIO(),
        )
        environment = ManualEntry.open(
            "manual://temperature?unit=degC&min=-10&max=50&resolution=0.1",
            input=io.StringIO("22.8\n"),
            output=io.StringIO(),
        )
        roles = {
            "source": BenchRole("source", "eurotherm-3200", bath_sim.address),
            "reference": BenchRole("reference", "none", "", asset_id="QT-PRT-07"),
            "readout": BenchRole("readout", "keysight-34465a", dmm_sim.address, "QT-DMM-03"),
            "uut": BenchRole("uut", "manual", uut.address),
            "environment": BenchRole("environment", "manual", environment.address),
        }
        instruments = {
            "source": controller,
            "readout": dmm,
            "uut": uut,
            "environment": environment,
        }
        try:
            yield World(bath, Bench(instruments, roles), journal, typist)
        finally:
            dmm.close()
            controller.close()


def runner(world: World, *, time_: VirtualTime | None = None, **changes: Any) -> Runner:
    clock = time_ or VirtualTime(real_pause_s=0.002)
    arguments: dict[str, Any] = {
        "bench": world.bench,
        "operator": Operator(world.journal),
        "recorder": Recorded(world.journal),
        "standards": {"QT-PRT-07": prt_record(), "QT-DMM-03": dmm_record()},
        "instrument": {"resolution": 0.01},
        "on": TODAY,
        "sleep": clock.sleep,
        "clock": clock.clock,
    }
    arguments.update(changes)
    return Runner(load_definition(library()["thermometer-bath"]), **arguments)
