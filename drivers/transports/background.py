"""An asyncio event loop served in a thread of its own: what the loopback servers share.

The simulators' servers (the pymodbus :class:`~drivers.transports.modbus.RegisterServer`
and the Modbus fault proxy) are asyncio programs living beside synchronous drivers and
tests. :class:`BackgroundLoop` owns such a loop: it runs set-up coroutines before the
thread starts (so a port is bound at construction), serves from :meth:`start` until
:meth:`stop`, and has the subclass's :meth:`_shutdown` close everything first.

:func:`stop_accepting` is the first step of every shutdown: a connection asyncio has
accepted but not yet handed to its protocol lives only in an accept task, and closing
the listener before that task has run makes it fail and leak the accepted socket
(asyncio refuses to attach a transport to a closed server). So: stop accepting, let
those tasks finish, and only then close the listener and the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Iterable
from typing import Any, Self, TypeVar

__all__ = ["BackgroundLoop", "stop_accepting"]

T = TypeVar("T")


class BackgroundLoop(ABC):
    """An event loop run in a daemon thread named ``name``; thread-safe start and stop."""

    SHUTDOWN_S = 2.0
    """How long a shutdown may wait for the work in flight to finish (seconds)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a set-up coroutine to completion (before :meth:`start` only)."""
        return self._loop.run_until_complete(coroutine)

    def start(self) -> Self:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop.run_forever, name=self._name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Run :meth:`_shutdown`, then stop and close the loop; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            with contextlib.suppress(Exception):
                future.result(timeout=2 * self.SHUTDOWN_S + 1.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        else:
            self._loop.run_until_complete(self._shutdown())
        self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @abstractmethod
    async def _shutdown(self) -> None:
        """Close the listener and every connection (in the loop's thread)."""


async def stop_accepting(listening: Iterable[Any], *, settle_s: float) -> None:
    """Stop accepting on the ``listening`` sockets and let the accepts in flight finish.

    Every other task of the loop, and any task they start, is waited for, up to
    ``settle_s`` seconds in all: cancel the ones that would never end before calling this.
    """
    loop = asyncio.get_running_loop()
    for sock in listening:
        loop.remove_reader(sock.fileno())
    current = asyncio.current_task()
    deadline = loop.time() + settle_s
    while others := [t for t in asyncio.all_tasks() if t is not current]:
        remaining = deadline - loop.time()
        if remaining <= 0:  # pragma: no cover - work that will not finish
            return
        await asyncio.wait(others, timeout=remaining)
