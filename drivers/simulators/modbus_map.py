"""A simulated Modbus device that serves any register map, over Modbus TCP on loopback.

Each mapped name holds a value (in the map's unit) encoded as the map says; reading a
register no entry covers, or with the other function code, answers exception 2 (illegal
data address), as a real meter does. Optional seeded Gaussian noise is added to each
read. Faults (:class:`~drivers.simulators.base.Fault`) hit reads: the model makes
``timeout`` (no answer), ``late`` (answer after ``late_by_s``) and ``device-error``
(exception 4); the simulator's fault proxy makes ``garbled``, ``truncated`` and
``disconnect`` (see :mod:`drivers.simulators.modbus`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from drivers.generic.modbus_map import RegisterEntry, RegisterMap, encode, load_register_map
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from drivers.simulators.modbus import ModbusSimulator

__all__ = ["DEFAULT_MAP", "ModbusMapSimulator", "SimulatedMapDevice", "start_modbus_map"]

DEFAULT_MAP = Path(__file__).resolve().parent.parent / "maps" / "eastron-sdm120.yaml"
"""The map ``caltrace-agent simulate modbus-map`` serves without ``--map``: the shipped
SDM120 map."""

ILLEGAL_ADDRESS = 2
DEVICE_FAILURE = 4


class SimulatedMapDevice:
    """A :class:`~drivers.transports.modbus.RegisterModel` serving ``register_map``.

    ``values``: name → value in the map's unit (unset names read 0); ``noise``: standard
    deviation of the noise added to each read, in each entry's unit; ``seed``: the noise
    generator's seed.
    """

    def __init__(
        self,
        register_map: RegisterMap,
        values: Mapping[str, float] | None = None,
        *,
        noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.register_map = register_map
        self.values = dict.fromkeys(register_map.entries, 0.0)
        for name, value in (values or {}).items():
            self.set(name, value)
        self.noise = noise
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._sources: dict[str, Callable[[], float]] = {}
        self._faults: list[list[object]] = []
        self._cells: dict[tuple[int, int], tuple[RegisterEntry, int]] = {}
        for entry in register_map.entries.values():
            code = 4 if entry.function == "input" else 3
            for offset in range(entry.count):
                self._cells[(code, entry.address + offset)] = (entry, offset)

    def set(self, name: str, value: float) -> None:
        """Set the value of ``name`` (in its unit); KeyError for an unmapped name."""
        entry = self.register_map.entries[name]
        encode(entry, value)  # fits the type, or ValueError now rather than at a read
        self.values[name] = value

    def set_source(self, name: str, source: Callable[[], float] | None) -> None:
        """Make ``source()`` the value of ``name`` (in its unit), asked at each read: how a
        simulated bench couples the device to what the others do. None goes back to the
        value of :meth:`set`. KeyError for an unmapped name."""
        if name not in self.register_map.entries:
            raise KeyError(name)
        with self._lock:
            if source is None:
                self._sources.pop(name, None)
            else:
                self._sources[name] = source

    def inject(self, fault: Fault) -> None:
        """Arm a timeout, late or device-error fault (the wire faults are the proxy's)."""
        if fault.kind not in {FaultKind.TIMEOUT, FaultKind.LATE, FaultKind.DEVICE_ERROR}:
            raise ValueError(f"the device model cannot make {fault.kind.value!r}")
        with self._lock:
            self._faults.append([fault, fault.times])

    def clear_faults(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def _next_fault(self, take: bool) -> Fault | None:
        with self._lock:
            if not self._faults:
                return None
            armed = self._faults[0]
            fault, remaining = armed
            assert isinstance(fault, Fault)
            if take and isinstance(remaining, int):
                armed[1] = remaining - 1
                if remaining == 1:
                    self._faults.pop(0)
            return fault

    def is_measurement(self, function: int, address: int) -> bool:
        """True for every register read: each mapped register is a reading."""
        return function in {3, 4}

    def delay_s(self, function: int, address: int) -> float | None:
        """0, or the delay of an armed timeout/late fault (seconds; None: no answer)."""
        fault = self._next_fault(take=False)
        if fault is None or fault.kind == FaultKind.DEVICE_ERROR:
            return 0.0
        self._next_fault(take=True)
        return None if fault.kind == FaultKind.TIMEOUT else fault.late_by_s

    def read(self, function: int, address: int, count: int) -> list[int] | int:
        """The encoded registers, or exception 2 for an unmapped one."""
        fault = self._next_fault(take=False)
        if fault is not None and fault.kind == FaultKind.DEVICE_ERROR:
            self._next_fault(take=True)
            return DEVICE_FAILURE
        words: list[int] = []
        encoded: dict[str, list[int]] = {}
        for register in range(address, address + count):
            cell = self._cells.get((function, register))
            if cell is None:
                return ILLEGAL_ADDRESS
            entry, offset = cell
            if entry.name not in encoded:
                with self._lock:
                    source = self._sources.get(entry.name)
                value = self.values[entry.name] if source is None else source()
                if self.noise:
                    value += self._rng.gauss(0.0, self.noise)
                encoded[entry.name] = encode(entry, value)
            words.append(encoded[entry.name][offset])
        return words

    def write(self, address: int, values: list[int]) -> int | None:
        """Writes are not simulated: exception 2."""
        return ILLEGAL_ADDRESS


class ModbusMapSimulator(ModbusSimulator[SimulatedMapDevice]):
    """A running map device: the model served by a loopback Modbus TCP server."""

    @property
    def address(self) -> str:
        """The driver's address, with ``map=`` naming the served map."""
        return f"{self.modbus_address}&map={self.model.register_map.path}"


def start_modbus_map(options: SimulatorOptions) -> ModbusMapSimulator:
    """Serve ``options.map_file`` (default: the shipped SDM120 map, :data:`DEFAULT_MAP`) and
    return the running simulator.

    ``options.value`` is given to every register (default 0, in each register's unit);
    ``options.noise``: noise standard deviation (default 0). A bad map raises
    :class:`~drivers.generic.modbus_map.RegisterMapError` before anything listens.
    """
    register_map = load_register_map(options.map_file or DEFAULT_MAP)
    value = 0.0 if options.value is None else options.value
    model = SimulatedMapDevice(
        register_map,
        dict.fromkeys(register_map.entries, value),
        noise=options.noise or 0.0,
        seed=options.seed,
    )
    simulator = ModbusMapSimulator(model, host=options.host, port=options.port)
    return simulator.start_with(options.fault)
