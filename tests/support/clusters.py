"""Throw-away PostgreSQL clusters: ``initdb`` in a temporary directory, a free loopback port,
start, stop, restart, ``psql`` as a role, and a teardown that never leaves a server running.

Shared by ``make drill`` (``scripts/drill.py``, which adds its pgBackRest repository) and the
federation tests (``tests/federation/``, several clusters replicating to each other: the
machine's own cluster has ``wal_level = replica``, too little for logical replication). A
plain module: no Django, no pytest.

When run as root the server's commands run as the ``postgres`` OS user (``runuser``):
``initdb`` and the server refuse root. A cluster's folders are then that user's.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LOGICAL_REPLICATION",
    "Cluster",
    "ClusterError",
    "free_port",
    "server_bindir",
    "throwaway_home",
]

SERVER_USER = "postgres"

#: The server settings of a node that publishes (and subscribes): logical decoding, and room
#: for the slots and WAL senders of a few subscriptions and their initial copies.
LOGICAL_REPLICATION: Mapping[str, str] = {
    "wal_level": "logical",
    "max_replication_slots": "10",
    "max_wal_senders": "10",
    "max_logical_replication_workers": "8",
    "max_worker_processes": "16",
    # A subscription whose publisher went away retries after this (the default is 5 s).
    "wal_retrieve_retry_interval": "1s",
}


class ClusterError(Exception):
    """A command of a cluster failed; the message names it and carries its output."""


def server_bindir() -> Path | None:
    """The newest PostgreSQL server binaries installed (``pg_config --bindir`` first, then
    Debian's ``/usr/lib/postgresql/<major>/bin``), or None."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    # Debian installs each major version beside the others; the newest wins.
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(p) for p in versions)
    return next(
        (c for c in candidates if all((c / b).exists() for b in ("initdb", "pg_ctl", "postgres"))),
        None,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SERVER_USER, SERVER_USER)


@contextmanager
def throwaway_home(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temporary directory the server's user can reach; removed at the end unless ``keep``."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o755)
    try:
        yield home
    finally:
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


@dataclass
class Cluster:
    """A PostgreSQL cluster of its own in ``home`` (data, sockets, log), on ``port``."""

    bindir: Path
    home: Path
    port: int = field(default_factory=free_port)
    running: bool = False

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def sockets(self) -> Path:
        return self.home / "sockets"

    @property
    def log(self) -> Path:
        return self.home / "log"

    def url(self, role: str, database: str) -> str:
        """A libpq URL to ``database`` as ``role`` over TCP on loopback (trust)."""
        return f"postgres://{role}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, role: str, database: str) -> str:
        """The same as a key/value connection string (a subscription's ``CONNECTION``)."""
        return f"host=127.0.0.1 port={self.port} user={role} dbname={database}"

    def env(self) -> dict[str, str]:
        """The environment of the server's commands (a subclass adds its own)."""
        return dict(os.environ)

    # ------------------------------------------------------------------ commands

    def completed(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """Run a command as the server's OS user, whatever its exit status."""
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, env=self.env())

    def as_owner(self, *args: str | Path, check: bool = True) -> str:
        """Run a command as the server's OS user, its output; a failure names the command."""
        out = self.completed(*args)
        if check and out.returncode != 0:
            raise ClusterError(
                f"{' '.join(str(a) for a in args[:3])}… failed (exit {out.returncode}):\n"
                f"{out.stdout[-2000:]}{out.stderr[-2000:]}"
            )
        return out.stdout

    def _psql(self, statement: str, database: str, role: str) -> list[str | Path]:
        return [
            self.bindir / "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", self.sockets, "-p", str(self.port), "-U", role, "-d", database,
            "-c", statement,
        ]  # fmt: skip

    def sql(self, statement: str, database: str = "postgres", role: str = "postgres") -> str:
        """``statement`` run by ``psql`` as ``role``: its rows, ``|``-separated, stripped."""
        return self.as_owner(*self._psql(statement, database, role)).strip()

    def refused(self, statement: str, role: str, database: str = "postgres") -> str:
        """What the server answers ``role`` for ``statement``, which it must refuse."""
        out = self.completed(*self._psql(statement, database, role))
        if out.returncode == 0:
            raise ClusterError(f"{role} was allowed: {statement}")
        return out.stderr.strip()

    # ------------------------------------------------------------------ life

    def initdb(self, settings: Mapping[str, str] | None = None) -> None:
        """The folders, owned by the server's user; ``initdb`` (trust on loopback, the
        superuser ``postgres``); ``settings`` and this cluster's port and sockets appended
        to ``postgresql.conf``."""
        self.home.mkdir(parents=True, exist_ok=True)
        _give_to_server_user(self.home)
        for folder in (self.sockets, self.log):
            folder.mkdir()
            _give_to_server_user(folder)
        self.as_owner(
            self.bindir / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-instructions",
        )  # fmt: skip
        self.configure(settings or {}, "caltrace: the cluster's settings")

    def configure(self, settings: Mapping[str, str], heading: str) -> None:
        """Append ``settings`` and this cluster's port, address and sockets to
        ``postgresql.conf`` (a later line wins over an earlier one)."""
        lines = [f"\n# {heading}"]
        lines += [f"{name} = '{value}'" for name, value in settings.items()]
        lines += [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.sockets}'",
        ]
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def clone(self, home: Path) -> Cluster:
        """A copy of this stopped cluster in ``home``, on a port of its own (much faster than
        ``initdb`` and migrating again: the databases come along)."""
        if self.running or (self.data / "postmaster.pid").exists():
            raise ClusterError(f"cluster on port {self.port} is running: stop it to clone it")
        home.mkdir(parents=True, exist_ok=True)
        _give_to_server_user(home)
        twin = Cluster(bindir=self.bindir, home=home)
        for folder in (twin.sockets, twin.log):
            folder.mkdir()
            _give_to_server_user(folder)
        twin.as_owner("cp", "-a", self.data, twin.data)
        twin.configure({}, f"caltrace: a clone of the cluster of port {self.port}")
        return twin

    def start(self) -> None:
        self.as_owner(
            self.bindir / "pg_ctl", "-D", self.data, "-l", self.log / "pg.log",
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self.running = True

    def stop(self) -> None:
        """A clean shutdown (``-m fast``: sessions ended, a checkpoint written)."""
        self.as_owner(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        self.running = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """Stop the server at once, as a crash does (no checkpoint); also one whose start
        was not confirmed (a ``pg_ctl start`` that timed out). Never fails: it is the
        teardown."""
        if self.running or (self.data / "postmaster.pid").exists():
            self.as_owner(
                self.bindir / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop",
                check=False,
            )  # fmt: skip
            self.running = False

    def wait_for(self, statement: str, expected: str, database: str, timeout_s: float) -> str:
        """Run ``statement`` until it answers ``expected``; the last answer when it never
        did within ``timeout_s`` (the caller says what that means)."""
        deadline = time.monotonic() + timeout_s
        answer = ""
        while True:
            try:
                answer = self.sql(statement, database=database)
            except ClusterError as error:
                answer = str(error)
            if answer == expected or time.monotonic() > deadline:
                return answer
            time.sleep(0.1)
