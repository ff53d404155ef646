"""What every simulator shares: instrument models, replies, fault injection, options.

A simulator is split in two:

* an **instrument model** (:class:`SimulatedInstrument`) that turns one received message
  into a :class:`Reply`, with the instrument's state, noise and error queue; it knows
  nothing of sockets;
* a **carrier** that moves bytes: a TCP server like a LAN port
  (:mod:`drivers.simulators.tcp`) or a pseudo-terminal like a serial port
  (:mod:`drivers.simulators.pty`). The carrier runs a :class:`LineSession` per connection,
  which applies injected faults to the model's replies.

Faults (:class:`FaultKind`) hit replies flagged ``measurement`` by default (so the
identity query still works and the fault shows on the reading), or every reply with
``target="any"``. They are armed persistently (``times=None``) or for the next *n*
matching replies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol, Self

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "LineSession",
    "Reply",
    "RunningSimulator",
    "SimulatedInstrument",
    "SimulatorFactory",
    "SimulatorOptions",
]


class FaultKind(StrEnum):
    """The faults every simulator can inject (names as on the command line)."""

    TIMEOUT = "timeout"
    """The reply is never sent."""
    LATE = "late"
    """The reply is sent after ``late_by_s`` seconds (after the client gave up)."""
    GARBLED = "garbled"
    """Bytes of the reply are corrupted (not ASCII); the terminator arrives."""
    TRUNCATED = "truncated"
    """Only the first half of the reply is sent, then the terminator."""
    DISCONNECT = "disconnect"
    """Half of the reply is sent, then the connection is closed (closed mid-read)."""
    DEVICE_ERROR = "device-error"
    """The instrument reports an error its own way instead of the reply."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault to inject.

    ``times``: how many matching replies it hits (None: all, until cleared).
    ``late_by_s``: delay of a late reply, seconds. ``target``: ``"measurement"`` replies
    (readings) or ``"any"`` reply.
    """

    kind: FaultKind
    times: int | None = None
    late_by_s: float = 0.5
    target: Literal["measurement", "any"] = "measurement"

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be >= 1 or None, got {self.times}")
        if self.late_by_s < 0:
            raise ValueError(f"late_by_s must be >= 0 s, got {self.late_by_s}")


@dataclass(frozen=True, slots=True)
class Reply:
    """What the instrument sends back for one message: ``text`` without terminator, or
    None for no answer. ``measurement`` marks replies that carry readings. ``close``
    asks the carrier to drop the connection after sending.
    """

    text: str | None
    measurement: bool = False
    close: bool = False


NO_REPLY = Reply(None)


class SimulatedInstrument(Protocol):
    """An instrument model: stateful, thread-safe, transport-agnostic."""

    @property
    def input_terminator(self) -> bytes:
        """What ends a received message (e.g. ``b"\\n"``; a trailing CR is stripped)."""
        ...

    @property
    def output_terminator(self) -> bytes:
        """What the instrument appends to each reply."""
        ...

    def handle(self, message: str) -> Reply:
        """Process one received message (terminator removed) and return the reply."""
        ...

    def device_error(self, message: str, reply: Reply) -> Reply:
        """What the instrument does when a device error hits ``message`` instead of
        ``reply``: queue an error and stay silent (SCPI), or answer with an error code."""
        ...


class _Armed:
    __slots__ = ("fault", "remaining")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times


class FaultPlan:
    """Thread-safe list of armed faults, consulted for every reply."""

    def __init__(self, initial: Fault | None = None) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        if initial is not None:
            self.arm(initial)

    def arm(self, fault: Fault) -> None:
        """Add ``fault``; it applies after faults armed earlier are used up."""
        with self._lock:
            self._armed.append(_Armed(fault))

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def __bool__(self) -> bool:
        return bool(self._armed)

    def take(self, reply: Reply) -> Fault | None:
        """The fault that hits ``reply``, if any (counting it down)."""
        if not self._armed or reply.text is None:
            return None
        return self.take_for(measurement=reply.measurement)

    def take_for(self, *, measurement: bool) -> Fault | None:
        """The fault that hits the next answer, a reading or not, if any (counting it down)."""
        if not self._armed:
            return None
        with self._lock:
            for armed in self._armed:
                fault = armed.fault
                if fault.target == "measurement" and not measurement:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._armed.remove(armed)
                return fault
        return None


class LineSession:
    """Splits a byte stream into messages, asks the instrument, applies faults.

    ``send`` writes bytes to the peer; ``wait`` sleeps (seconds) unless the carrier is
    stopping, returning False then. :meth:`feed` returns False when the connection must
    be closed.
    """

    def __init__(
        self,
        instrument: SimulatedInstrument,
        faults: FaultPlan,
        send: Callable[[bytes], None],
        wait: Callable[[float], bool],
    ) -> None:
        self._instrument = instrument
        self._faults = faults
        self._send = send
        self._wait = wait
        self._buffer = bytearray()
        self._term = instrument.input_terminator
        self._out = instrument.output_terminator

    def feed(self, data: bytes) -> bool:
        """Process received bytes; False when the connection must now be closed."""
        buffer = self._buffer
        buffer.extend(data)
        term = self._term
        while True:
            end = buffer.find(term)
            if end < 0:
                return True
            raw = bytes(buffer[:end])
            del buffer[: end + len(term)]
            message = raw.decode("ascii", errors="replace").rstrip("\r")
            reply = self._instrument.handle(message)
            if not self._deliver(message, reply):
                return False

    def _deliver(self, message: str, reply: Reply) -> bool:
        fault = self._faults.take(reply) if self._faults else None
        if fault is not None and fault.kind == FaultKind.DEVICE_ERROR:
            reply = self._instrument.device_error(message, reply)
            fault = None
        if reply.text is None:
            return not reply.close
        payload = reply.text.encode("ascii", errors="replace")
        if fault is None:
            self._send(payload + self._out)
            return not reply.close
        kind = fault.kind
        if kind == FaultKind.TIMEOUT:
            return True
        if kind == FaultKind.LATE:
            if not self._wait(fault.late_by_s):
                return False
            self._send(payload + self._out)
            return True
        half = payload[: max(1, len(payload) // 2)]
        if kind == FaultKind.TRUNCATED:
            self._send(half + self._out)
            return True
        if kind == FaultKind.GARBLED:
            self._send(_garble(payload) + self._out)
            return True
        # DISCONNECT: part of the answer, then the line goes dead.
        self._send(half)
        return False


def _garble(payload: bytes) -> bytes:
    """Corrupt the middle of a reply the way line noise does: bytes outside ASCII."""
    middle = len(payload) // 2
    noise = bytes([0xFE, 0x9C, 0xFF])
    return payload[: max(0, middle - 1)] + noise + payload[middle + 2 :]


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    """How to start a simulator (command-line ``simulate`` options).

    ``host``/``port``: where a TCP simulator listens (port 0: an ephemeral port).
    ``value``: the simulated input or output, in the instrument's unit (None: the
    model's default). ``noise``: standard deviation of the Gaussian noise added to
    readings, same unit (None: the model's default). ``seed``: seed of the noise
    generator. ``fault``: a fault armed from the start. ``serial``: the serial number the
    instrument reports. ``map_file``: the register map a register-map simulator serves
    (None: its default map).
    """

    host: str = "127.0.0.1"
    port: int = 0
    value: float | None = None
    noise: float | None = None
    seed: int = 0
    fault: Fault | None = None
    serial: str | None = None
    map_file: str | None = None


class RunningSimulator(Protocol):
    """A started simulator, whatever its carrier."""

    @property
    def address(self) -> str:
        """The address a driver opens to reach it (VISA resource, device path...)."""
        ...

    def inject(self, fault: Fault) -> None:
        """Arm a fault."""
        ...

    def clear_faults(self) -> None:
        """Disarm every fault."""
        ...

    def stop(self) -> None:
        """Stop serving and release every socket or file descriptor; idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


SimulatorFactory = Callable[[SimulatorOptions], RunningSimulator]
"""Starts a simulator (already serving when it returns)."""
