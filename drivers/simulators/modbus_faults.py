"""A Modbus TCP proxy that damages answers on demand: garbled, truncated, cut off.

A pymodbus server can be told to answer late, never, or with an exception response,
but it always sends well-formed frames. The byte-stream faults a driver must survive
happen on the wire, so they are made on the wire: :class:`ModbusFaultProxy` listens on
its own port, forwards every request to the real server (a simulator's
:class:`~drivers.transports.modbus.RegisterServer`, or a real device) and passes the
answers back, frame by frame (MBAP header, then the announced length), except those an
armed fault hits:

* ``garbled``: the whole frame is sent, damaged in turn in its transaction id, its
  function code, then its byte count (or its MBAP length for answers that have no byte
  count), so each check a client must make is exercised;
* ``truncated``: the first half of the frame is sent, the rest never (the connection
  stays open and later answers are passed on);
* ``disconnect``: the first half of the frame is sent, then both connections close.

Other fault kinds are not the proxy's (the device model makes them). Faults are armed on
a :class:`~drivers.simulators.base.FaultPlan`; ``is_measurement(function, address)``
says which requests count as readings for faults with ``target="measurement"``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from drivers.simulators.base import Fault, FaultKind, FaultPlan
from drivers.transports.background import BackgroundLoop, stop_accepting

__all__ = ["WIRE_FAULTS", "ModbusFaultProxy"]

WIRE_FAULTS = frozenset({FaultKind.GARBLED, FaultKind.TRUNCATED, FaultKind.DISCONNECT})
"""The faults the proxy makes."""

_HEADER = 7  # MBAP: transaction id, protocol id, length, unit id


class ModbusFaultProxy(BackgroundLoop):
    """A loopback Modbus TCP proxy to ``upstream`` (host, port) that damages answers.

    Bound at construction (``port`` 0: ephemeral); serves in its own thread from
    :meth:`start` until :meth:`stop`.
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        is_measurement: Callable[[int, int], bool],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__("sim-modbus-proxy")
        self.faults = FaultPlan()
        self._upstream = upstream
        self._is_measurement = is_measurement
        self._host = host
        self._garbled = 0
        self._closing = False
        self._sessions: set[asyncio.Task[None]] = set()
        self._server = self._run(asyncio.start_server(self._accept, host, port))
        self._port = int(self._server.sockets[0].getsockname()[1])

    @property
    def host(self) -> str:
        """The interface listened on."""
        return self._host

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return self._port

    def inject(self, fault: Fault) -> None:
        """Arm a ``garbled``, ``truncated`` or ``disconnect`` fault; ValueError otherwise."""
        if fault.kind not in WIRE_FAULTS:
            raise ValueError(f"the Modbus fault proxy cannot make {fault.kind.value!r}")
        self.faults.arm(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    # -- machinery (in the proxy's thread) --------------------------------------------------

    async def _shutdown(self) -> None:
        self._closing = True  # a connection accepted from now on is closed at once
        for task in self._sessions:
            task.cancel()
        await stop_accepting(self._server.sockets, settle_s=self.SHUTDOWN_S)
        self._server.close()

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._closing:
            await _close(client_out)
            return
        self._sessions.add(task)
        try:
            await self._session(client_in, client_out)
        except (asyncio.CancelledError, OSError):
            pass
        finally:
            self._sessions.discard(task)
            client_out.close()
            await _close(client_out)

    async def _session(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        device_in, device_out = await asyncio.open_connection(*self._upstream)
        pending: dict[int, tuple[int, int]] = {}  # transaction id → (function, address)
        requests = asyncio.ensure_future(self._requests(client_in, device_out, pending))
        answers = asyncio.ensure_future(self._answers(device_in, client_out, pending))
        try:
            await asyncio.wait({requests, answers}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            device_out.close()  # at once: the awaits below may be cut short by a cancel
            for pump in (requests, answers):
                pump.cancel()
            await asyncio.gather(requests, answers, return_exceptions=True)
            await _close(device_out)

    async def _requests(
        self,
        client_in: asyncio.StreamReader,
        device_out: asyncio.StreamWriter,
        pending: dict[int, tuple[int, int]],
    ) -> None:
        while True:
            frame = await _read_frame(client_in)
            if frame is None:
                return
            function = frame[7] if len(frame) > 7 else 0
            address = int.from_bytes(frame[8:10], "big") if len(frame) >= 10 else 0
            pending[int.from_bytes(frame[0:2], "big")] = (function, address)
            device_out.write(frame)
            await device_out.drain()

    async def _answers(
        self,
        device_in: asyncio.StreamReader,
        client_out: asyncio.StreamWriter,
        pending: dict[int, tuple[int, int]],
    ) -> None:
        while True:
            frame = await _read_frame(device_in)
            if frame is None:
                return
            function, address = pending.pop(int.from_bytes(frame[0:2], "big"), (0, 0))
            fault = self.faults.take_for(measurement=self._is_measurement(function, address))
            if fault is None:
                client_out.write(frame)
            elif fault.kind == FaultKind.GARBLED:
                client_out.write(self._garble(frame))
            else:
                client_out.write(frame[: len(frame) // 2])
                if fault.kind == FaultKind.DISCONNECT:
                    await client_out.drain()
                    return
            await client_out.drain()

    def _garble(self, frame: bytes) -> bytes:
        """Damage one part of the frame, a different part each time."""
        damaged = bytearray(frame)
        part = self._garbled % 3
        self._garbled += 1
        if part == 0:
            damaged[0] ^= 0x80  # transaction id
        elif part == 1 and len(damaged) > 7:
            damaged[7] ^= 0x40  # function code: 0x03 → 0x43, not a code anyone uses
        elif len(damaged) > 8 and damaged[7] in {3, 4}:
            damaged[8] = (damaged[8] + 2) & 0xFF  # byte count: more than was sent
        else:
            length = int.from_bytes(damaged[4:6], "big") + 2  # MBAP length: likewise
            damaged[4:6] = length.to_bytes(2, "big")
        return bytes(damaged)


async def _read_frame(stream: asyncio.StreamReader) -> bytes | None:
    """One Modbus TCP frame (header and the length it announces); None at end of stream."""
    try:
        header = await stream.readexactly(_HEADER)
        length = int.from_bytes(header[4:6], "big")
        body = await stream.readexactly(max(0, length - 1))
    except asyncio.IncompleteReadError:
        return None
    return header + body


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, asyncio.CancelledError):
        await writer.wait_closed()
