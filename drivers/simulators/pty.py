"""A pseudo-terminal carrier for simulators: the instrument's serial port (POSIX only).

The driver opens :attr:`PtySimulator.address` (``/dev/pts/N``) with pyserial exactly as it
would open ``/dev/ttyUSB0``. Line settings (baud rate, parity) have no effect on a
pseudo-terminal; the bytes are what matter. The ``disconnect`` fault closes the master
side, like a cable pulled out: the simulator stops serving after it.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading
import tty
from typing import Self

from drivers.simulators.base import Fault, FaultPlan, LineSession, SimulatedInstrument

__all__ = ["PtySimulator"]


class PtySimulator:
    """Serve ``instrument`` on a new pseudo-terminal until :meth:`stop`."""

    def __init__(self, instrument: SimulatedInstrument, *, faults: FaultPlan | None = None):
        self.instrument = instrument
        self.faults = faults if faults is not None else FaultPlan()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self._path = os.ttyname(self._slave)
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._master_open = True
        self._stopped = False

    @property
    def address(self) -> str:
        """The device path of the pseudo-terminal (what a serial driver opens)."""
        return self._path

    def inject(self, fault: Fault) -> None:
        """Arm a fault."""
        self.faults.arm(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    def start(self) -> Self:
        """Start serving; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="sim-pty", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the pseudo-terminal; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join()
        self._close_master()
        os.close(self._slave)
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _close_master(self) -> None:
        if self._master_open:
            self._master_open = False
            os.close(self._master)

    def _serve(self) -> None:
        master = self._master

        def send(data: bytes) -> None:
            view = memoryview(data)
            while view:
                written = os.write(master, view)
                view = view[written:]

        def wait(seconds: float) -> bool:
            return not self._stopping.wait(seconds)

        session = LineSession(self.instrument, self.faults, send, wait)
        with selectors.DefaultSelector() as selector:
            selector.register(master, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        continue  # no slave open right now (EIO): wait for the next one
                    if not session.feed(data):
                        selector.unregister(master)
                        self._close_master()
                        return
