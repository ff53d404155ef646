"""A simulated Eurotherm 3200 controlling a calibration bath, served over Modbus TCP.

The bath approaches the working setpoint exponentially (time constant ``tau_s``, seconds)
from wherever it was when the setpoint last changed; readings carry seeded Gaussian noise
and are quantised to the configured decimal places, like the controller's integers.
Registers are those of :mod:`drivers.eurotherm.e3200`; writes to the EEPROM target
setpoint (2) are accepted, as the controller does, and counted in
:attr:`SimulatedEurotherm3200.target_setpoint_writes` so tests can prove the driver never
wears it.

Faults: :meth:`SimulatedEurotherm3200.break_sensor`, ``pv_over_range``,
``remote_setpoint_fail`` set the status bits; :class:`~drivers.simulators.base.Fault`
kinds hit PV reads (``target="measurement"``) or every request (``"any"``): the model
makes ``timeout`` (no answer), ``late`` (answer after ``late_by_s``) and ``device-error``
(exception response 4, server device failure); the simulator's fault proxy makes
``garbled``, ``truncated`` and ``disconnect`` (see :mod:`drivers.simulators.modbus`).
"""

from __future__ import annotations

import math
import random
import threading
import time

from drivers.eurotherm.e3200 import (
    REG_PV,
    REG_RANGE_HIGH,
    REG_RANGE_LOW,
    REG_REMOTE_SELECT,
    REG_REMOTE_SP,
    REG_STATUS,
    REG_TARGET_SP,
    REG_WORKING_SP,
    STATUS_PV_OVER_RANGE,
    STATUS_REMOTE_SP_FAIL,
    STATUS_SENSOR_BREAK,
)
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from drivers.simulators.modbus import ModbusSimulator

__all__ = ["Eurotherm3200Simulator", "SimulatedEurotherm3200", "start_eurotherm_3200"]

ILLEGAL_ADDRESS = 2
ILLEGAL_VALUE = 3
DEVICE_FAILURE = 4


class SimulatedEurotherm3200:
    """The controller and its bath: a :class:`~drivers.transports.modbus.RegisterModel`.

    Temperatures in °C: ``temperature`` the bath's starting temperature, ``setpoint``
    the starting local setpoint, ``range_low``/``range_high`` RNG.LO/RNG.HI, ``noise``
    the standard deviation of reading noise, ``tau_s`` the time constant (seconds),
    ``decimals`` the configured decimal places, ``seed`` the noise generator's seed.
    """

    def __init__(
        self,
        *,
        temperature: float = 20.0,
        setpoint: float = 20.0,
        range_low: float = -50.0,
        range_high: float = 200.0,
        noise: float = 0.02,
        tau_s: float = 0.5,
        decimals: int = 2,
        seed: int = 0,
    ) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.decimals = decimals
        self.noise = noise
        self.tau_s = tau_s
        self.range_low = range_low
        self.range_high = range_high
        self.local_setpoint = setpoint
        self.remote_setpoint = setpoint
        self.remote_selected = False
        self.status = 0
        self.target_setpoint_writes = 0
        self._start = temperature
        self._since = time.monotonic()
        self._faults: list[list[object]] = []  # [fault, remaining]

    # -- the bath ----------------------------------------------------------------------------

    @property
    def working_setpoint(self) -> float:
        """The setpoint being controlled to, °C."""
        return self.remote_setpoint if self.remote_selected else self.local_setpoint

    def temperature(self) -> float:
        """The bath temperature now, °C (noise-free)."""
        with self._lock:
            return self._temperature()

    def _temperature(self) -> float:
        elapsed = time.monotonic() - self._since
        target = self.working_setpoint
        return target + (self._start - target) * math.exp(-elapsed / self.tau_s)

    def _restart(self) -> None:
        self._start = self._temperature()
        self._since = time.monotonic()

    # -- faults ------------------------------------------------------------------------------

    def break_sensor(self, broken: bool = True) -> None:
        """Set or clear the sensor-break status bit (B5)."""
        self._flag(STATUS_SENSOR_BREAK, broken)

    def pv_over_range(self, over: bool = True) -> None:
        """Set or clear the PV over-range status bit (B10)."""
        self._flag(STATUS_PV_OVER_RANGE, over)

    def remote_setpoint_fail(self, failed: bool = True) -> None:
        """Set or clear the remote-setpoint-fail status bit (B14)."""
        self._flag(STATUS_REMOTE_SP_FAIL, failed)

    def inject(self, fault: Fault) -> None:
        """Arm a timeout, late or device-error fault (the wire faults are the proxy's)."""
        if fault.kind not in {FaultKind.TIMEOUT, FaultKind.LATE, FaultKind.DEVICE_ERROR}:
            raise ValueError(f"the device model cannot make {fault.kind.value!r}")
        with self._lock:
            self._faults.append([fault, fault.times])

    def clear_faults(self) -> None:
        """Disarm every transport fault and clear the status bits."""
        with self._lock:
            self._faults.clear()
            self.status = 0

    def _flag(self, bit: int, on: bool) -> None:
        with self._lock:
            self.status = self.status | bit if on else self.status & ~bit

    def _take(self, address: int) -> Fault | None:
        with self._lock:
            for armed in self._faults:
                fault, remaining = armed
                assert isinstance(fault, Fault)
                if fault.target == "measurement" and address != REG_PV:
                    continue
                if isinstance(remaining, int):
                    armed[1] = remaining - 1
                    if remaining == 1:
                        self._faults.remove(armed)
                return fault
        return None

    def is_measurement(self, function: int, address: int) -> bool:
        """True for a read of the process value (PV.IN, register 1)."""
        return function in {3, 4} and address == REG_PV

    # -- RegisterModel -----------------------------------------------------------------------

    def delay_s(self, function: int, address: int) -> float | None:
        """0, or the delay of an armed timeout/late fault (seconds; None: no answer)."""
        fault = self._peek(address)
        if fault is None or fault.kind == FaultKind.DEVICE_ERROR:
            return 0.0
        self._take(address)
        return None if fault.kind == FaultKind.TIMEOUT else fault.late_by_s

    def _peek(self, address: int) -> Fault | None:
        with self._lock:
            for fault, _ in self._faults:
                assert isinstance(fault, Fault)
                if fault.target == "any" or address == REG_PV:
                    return fault
        return None

    def read(self, function: int, address: int, count: int) -> list[int] | int:
        """Holding registers of the controller (pymodbus also reads them back after a
        write, with the write's function code); exception 2 elsewhere."""
        fault = self._peek(address)
        if fault is not None and fault.kind == FaultKind.DEVICE_ERROR:
            self._take(address)
            return DEVICE_FAILURE
        if function == 4:  # the 3200 maps everything as holding registers
            return ILLEGAL_ADDRESS
        words = []
        with self._lock:
            for register in range(address, address + count):
                value = self._register(register)
                if value is None:
                    return ILLEGAL_ADDRESS
                words.append(value & 0xFFFF)
        return words

    def _register(self, register: int) -> int | None:
        if register == REG_PV:
            return self._counts(self._temperature() + self._rng.gauss(0.0, self.noise))
        if register == REG_TARGET_SP:
            return self._counts(self.local_setpoint)
        if register == REG_WORKING_SP:
            return self._counts(self.working_setpoint)
        if register == REG_RANGE_LOW:
            return self._counts(self.range_low)
        if register == REG_RANGE_HIGH:
            return self._counts(self.range_high)
        if register == REG_REMOTE_SP:
            return self._counts(self.remote_setpoint)
        if register == REG_STATUS:
            return self.status
        if register == REG_REMOTE_SELECT:
            return int(self.remote_selected)
        return None

    def write(self, address: int, values: list[int]) -> int | None:
        """Write the setpoints or the remote select; exception 2/3 otherwise."""
        if len(values) != 1:
            return ILLEGAL_ADDRESS
        value = values[0] - 0x10000 if values[0] >= 0x8000 else values[0]
        with self._lock:
            if address in {REG_TARGET_SP, REG_REMOTE_SP}:
                celsius = value / 10.0**self.decimals
                if not self.range_low <= celsius <= self.range_high:
                    return ILLEGAL_VALUE
                self._restart()
                if address == REG_TARGET_SP:
                    self.target_setpoint_writes += 1
                    self.local_setpoint = celsius
                else:
                    self.remote_setpoint = celsius
                return None
            if address == REG_REMOTE_SELECT:
                if value not in {0, 1}:
                    return ILLEGAL_VALUE
                self._restart()
                self.remote_selected = bool(value)
                return None
        return ILLEGAL_ADDRESS

    def _counts(self, celsius: float) -> int:
        return round(celsius * 10.0**self.decimals)


class Eurotherm3200Simulator(ModbusSimulator[SimulatedEurotherm3200]):
    """A running simulated 3200: the model served by a loopback Modbus TCP server."""

    @property
    def address(self) -> str:
        """The driver's address, decimal places included."""
        return f"{self.modbus_address}&decimals={self.model.decimals}"


def start_eurotherm_3200(options: SimulatorOptions) -> Eurotherm3200Simulator:
    """Start a simulated 3200 bath on Modbus TCP and return it.

    ``options.value``: the bath's starting temperature and setpoint, °C (default 20);
    ``options.noise``: reading noise, °C (default 0.02); two decimal places; range
    -50..200 °C; time constant 0.5 s.
    """
    start = 20.0 if options.value is None else options.value
    model = SimulatedEurotherm3200(
        temperature=start,
        setpoint=start,
        noise=0.02 if options.noise is None else options.noise,
        seed=options.seed,
    )
    simulator = Eurotherm3200Simulator(model, host=options.host, port=options.port)
    return simulator.start_with(options.fault)
