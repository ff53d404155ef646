"""A benchmark's LIMS over HTTP: gunicorn serving a Django settings module on loopback.

Shared by ``benchmarks/ingest.py`` and ``benchmarks/traceability.py``; each names its own settings
(its site adds a bare baseline endpoint beside the LIMS) and gunicorn's worker options.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(settings: str, database_url: str, log_path: str, options: Sequence[str]) -> Iterator[int]:
    """gunicorn serving ``settings`` against ``database_url`` with ``options`` (workers,
    worker class, threads, ...); yields its port once it answers; its output goes to
    ``log_path``, whose end is shown if it stops or never answers."""
    port = free_port()
    env = {
        # the bench's database has one role: an owner URL of the caller's is not for it
        **{k: v for k, v in os.environ.items() if k != "DATABASE_OWNER_URL"},
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": settings,
        "PYTHONPATH": _ROOT,
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        *options,
        "--timeout",
        "300",
        "--chdir",
        _ROOT,
        "labserver.wsgi:application",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {process.returncode}:\n{_tail(log_path)}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/v1/me/")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not answer:\n{_tail(log_path)}") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: str, lines: int = 40) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])
