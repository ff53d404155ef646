"""A TCP carrier for simulators: the instrument's LAN port (e.g. SCPI raw socket 5025).

One thread accepts connections, one thread per connection reads, asks the instrument
model and writes back. Binds 127.0.0.1 on an ephemeral port unless told otherwise. The
address it reports is a VISA resource string (``TCPIP::127.0.0.1::PORT::SOCKET``), so a
driver reaches it through pyvisa-py exactly as it would reach a real instrument.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Self

from drivers.simulators.base import Fault, FaultPlan, LineSession, SimulatedInstrument

__all__ = ["TcpSimulator"]


class _PeerGone(Exception):
    pass


class TcpSimulator:
    """Serve ``instrument`` on a TCP port until :meth:`stop`.

    The socket is bound in the constructor (so :attr:`port` is known at once) and served
    from :meth:`start`. Use as a context manager to be sure every socket and thread is
    released.
    """

    def __init__(
        self,
        instrument: SimulatedInstrument,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
    ) -> None:
        self.instrument = instrument
        self.faults = faults if faults is not None else FaultPlan()
        self._listener = socket.create_server((host, port))
        self._host = host
        self._port = int(self._listener.getsockname()[1])
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._accept_thread: threading.Thread | None = None
        self._stopped = False
        self._accepted = 0

    @property
    def host(self) -> str:
        """The interface the simulator listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The TCP port the simulator listens on."""
        return self._port

    @property
    def address(self) -> str:
        """The VISA resource string of the simulator."""
        return f"TCPIP::{self._host}::{self._port}::SOCKET"

    @property
    def connections_accepted(self) -> int:
        """How many client connections the simulator has accepted since it started (an
        instrument that takes one client at a time is opened once per run)."""
        with self._lock:
            return self._accepted

    def inject(self, fault: Fault) -> None:
        """Arm a fault (see :class:`~drivers.simulators.base.Fault`)."""
        self.faults.arm(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    def start(self) -> Self:
        """Start accepting connections; returns self."""
        if self._accept_thread is not None:
            return self
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"sim-accept-{self._port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: close the listener and every connection, join the threads."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join()
        with self._lock:
            connections = list(self._connections.items())
        for conn, _ in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for _, thread in connections:
            thread.join()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- threads ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r or self._stopping.is_set():
                        return
                    try:
                        conn, _ = self._listener.accept()
                    except OSError:
                        continue
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    thread = threading.Thread(
                        target=self._serve, args=(conn,), name="sim-conn", daemon=True
                    )
                    with self._lock:
                        self._connections[conn] = thread
                        self._accepted += 1
                    thread.start()

    def _serve(self, conn: socket.socket) -> None:
        def send(data: bytes) -> None:
            try:
                conn.sendall(data)
            except OSError as err:
                raise _PeerGone from err

        def wait(seconds: float) -> bool:
            return not self._stopping.wait(seconds)

        session = LineSession(self.instrument, self.faults, send, wait)
        try:
            while not self._stopping.is_set():
                data = conn.recv(65536)
                if not data or not session.feed(data):
                    break
        except (OSError, _PeerGone):
            pass  # the client went away or we are stopping
        finally:
            with self._lock:
                self._connections.pop(conn, None)
            conn.close()
