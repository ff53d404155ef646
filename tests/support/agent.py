"""The agent's tests' world: outboxes in temp dirs, a live LIMS on loopback, bench files,
the ``caltrace-agent`` command line in a child process, and child processes to kill.

The LIMS is the real one (pytest-django's ``live_server``, with ``transactional_db`` so
that its threads see the rows the test makes); its center, agent, key and token come from
:func:`tests.support.lims.make_center`. The fixtures reach the agent's tests through
``tests/agent/conftest.py``. The kill helpers (:class:`Child`, :func:`kill_at`,
:class:`ServerIdle`) take any command line, so that kill tests of ``caltrace-agent run``
can use them as they are.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from agent.outbox import Outbox
from agent.sync import LimsClient
from procedures.record import ProcedureRef, RunHeader, RunRecord, StandardUsed
from tests.support.lims import (
    DEFINITION,
    PROCEDURE,
    Center,
    dcv_point,
    make_center,
    run_payload,
)

ROOT = Path(__file__).resolve().parents[2]
HEADER_KEYS = RunHeader.KEYS


def cli_env() -> dict[str, str]:
    """This process's environment with the checkout importable, for a child ``caltrace-agent``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def child_env() -> dict[str, str]:
    """:func:`cli_env` without a token in the environment: the bench file's token counts."""
    env = cli_env()
    env.pop("CALTRACE_AGENT_TOKEN", None)
    return env


# -- outboxes and payloads ---------------------------------------------------------------------


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    """An outbox in a temp dir, closed when the test ends."""
    box = Outbox(tmp_path / "outbox.sqlite3")
    yield box
    box.close()


def offline_payload(*, points: int = 3, readings: int = 5, job: str = "J-0001") -> dict[str, Any]:
    """A run payload in the LIMS's ``RunIn`` form that needs no database (fixed job,
    procedure and operator); the points are the LIMS tests' DC-voltage points."""
    header = RunHeader(
        run_id=str(uuid.uuid4()),
        job=job,
        procedure=ProcedureRef("dmm-dcv", "1.0.0", "ab" * 32),
        operator="metrologist",
        software_version="caltrace-agent 0.1.0",
        started_at="2026-11-22T08:00:00+00:00",
        environment={"temperature": {"value": 23.1, "unit": "°C"}},
        standards=(StandardUsed("XX-CAL-01", "source", "dcv", "V", 0, 10),),
    )
    return RunRecord(
        header=header,
        finished_at="2026-11-22T08:20:00+00:00",
        points=tuple(
            dcv_point(
                i, [DEFINITION.point(i).nominal + 1e-6 * ((i + j) % 3 - 1) for j in range(readings)]
            )
            for i in range(points)
        ),
        raw_io=(
            {"t": "2026-11-22T08:00:01+00:00", "dir": "tx", "address": "TCPIP::x", "data": "READ?"},
        ),
    ).to_json()


def header_of(payload: Mapping[str, Any], **context: Any) -> dict[str, Any]:
    """The run header of a payload (what ``start_run`` takes), with an optional context."""
    header = {k: payload[k] for k in HEADER_KEYS if k in payload}
    if context:
        header["context"] = context
    return header


def split_point(point: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A payload point as the runner records it: the point without readings, its readings."""
    fields = {k: v for k, v in point.items() if k != "readings"}
    return fields, [dict(r) for r in point["readings"]]


def record_run(box: Outbox, payload: Mapping[str, Any], *, complete: bool = True) -> str:
    """Record ``payload`` in ``box`` as the runner does (reading by reading, point by point)."""
    run_id = box.start_run(header_of(payload))
    recorder = box.recorder(run_id)
    for point in payload["points"]:
        fields, readings = split_point(point)
        ids = [
            recorder.reading(
                point_index=fields["index"], quantity=fields["readings_quantity"], reading=r
            )
            for r in readings
        ]
        recorder.point(fields, ids)
    recorder.io(payload.get("raw_io", []))
    if complete:
        box.complete(run_id, payload["finished_at"])
    return run_id


# -- the live LIMS ------------------------------------------------------------------------


@dataclass
class Lims:
    """A live LIMS on loopback with one center whose agent is this bench."""

    url: str
    center: Center

    def client(self, *, url: str | None = None, timeout_s: float = 10.0) -> LimsClient:
        from agent.keys import AgentKey

        key = AgentKey(self.center.agent_key, Path("test-key.pem"))
        return LimsClient(url or self.url, self.center.agent_token, key=key, timeout_s=timeout_s)

    def new_job(self) -> Any:
        """Another accepted job for this bench (a job takes one run)."""
        from labserver.jobs import services as jobs

        c = self.center
        job = jobs.create_job(
            actor=c.quality_manager, instrument=c.instrument, procedure=c.procedure, bench=c.agent
        )
        return jobs.accept_job(actor=c.quality_manager, job=job)

    def payload(self, *, points: int = 3, readings: int = 5, **changes: Any) -> dict[str, Any]:
        """A valid run payload for a new job."""
        return run_payload(
            self.center, points=points, readings=readings, job=self.new_job().number, **changes
        )


@pytest.fixture
def lims(live_server: Any, transactional_db: Any, settings: Any, tmp_path: Path) -> Lims:
    from labserver.instruments.models import InstrumentType
    from labserver.jobs import services as jobs

    settings.MEDIA_ROOT = tmp_path / "media"
    dmm = InstrumentType.objects.create(
        code="dmm", name="Digital multimeter", field="electrical", legal_category="group_2"
    )
    procedure = jobs.register_procedure(actor=None, definition=PROCEDURE)
    return Lims(url=live_server.url, center=make_center("AG1", dmm, procedure))


@pytest.fixture
def dcv(lims: Lims) -> Lims:
    """The live LIMS whose center's calibrator certificate has values at every nominal
    of dmm-dcv (:func:`tests.support.lims.make_center`)."""
    return lims


def lims_runs(run_ids: Sequence[str]) -> dict[str, Any]:
    """The runs among ``run_ids`` that the LIMS holds, by id."""
    from labserver.measurements.models import Run

    return {str(r.pk): r for r in Run.objects.filter(pk__in=list(run_ids))}


def lims_readings(run_id: str) -> list[tuple[int, int, float, str]]:
    """The LIMS's readings of a run: (point index, reading index, value, timestamp)."""
    from labserver.measurements.models import Reading

    return [
        (r.point.index, r.index, r.value, r.timestamp.isoformat())
        for r in Reading.objects.filter(point__run_id=run_id)
        .select_related("point")
        .order_by("point__index", "index")
    ]


def closed_port_url() -> str:
    """A loopback URL where nothing listens (the LIMS down)."""

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


DCV_ROLES = {
    "source": "{driver: fluke-5522a, address: 'TCPIP::127.0.0.1::5020::SOCKET', "
    "asset_id: %(asset)s}",
    "uut": "{driver: keysight-34465a, address: 'TCPIP::127.0.0.1::5025::SOCKET'}",
}


def write_bench(
    directory: Path,
    lims: Lims,
    *,
    url: str | None = None,
    outbox: str = "outbox.sqlite3",
    roles: Mapping[str, str] | None = None,
    positions: Mapping[int, str] | None = None,
) -> Path:
    """A bench configuration for the live LIMS's agent: key and token files (mode 600).
    ``roles``: role name -> its YAML flow mapping (``%(asset)s`` is the center's
    standard); default the DC-voltage bench's source and uut. ``positions``: a bench with
    positions' instrument at each, by number (its YAML flow mapping)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / "bench.pem"
    key.write_bytes(
        lims.center.agent_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    token = directory / "bench.token"
    token.write_text(lims.center.agent_token + "\n", encoding="ascii")
    token.chmod(0o600)
    bench = directory / "bench.yaml"
    bench.write_text(
        f"bench: {lims.center.agent.name}\n"
        f"organization: {lims.center.org.code}\n"
        f"lims: {url or lims.url}\n"
        "key: bench.pem\n"
        "token: bench.token\n"
        f"outbox: {outbox}\n"
        "roles:\n"
        + "".join(
            f"  {name}: {text % {'asset': lims.center.standard.asset_id}}\n"
            for name, text in (roles or DCV_ROLES).items()
        )
        + (
            f"positions:\n  count: {len(positions)}\n  each:\n"
            + "".join(f"    {n}: {text}\n" for n, text in sorted(positions.items()))
            if positions
            else ""
        ),
        encoding="utf-8",
    )
    return bench


# -- killing child processes ---------------------------------------------------------------


# A Python process that has imported the agent once and forks a child per kill trial: each
# child is a process of its own (its own memory, its own outbox connection, its end SIGKILL
# from the test), running the program it is given as ``python -c`` would, without importing
# the agent again first (about a second of CPU each, and of waiting on a loaded machine,
# for the tens of children the kill tests make). argv: the file descriptor of its socket.
ZYGOTE = """
import atexit, json, os, socket, sys, traceback
import agent.cli, agent.outbox  # what the children import, imported once here

def child(request, out, err):
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, to in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, to)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["-c", *request["argv"]]
    status = 0
    try:
        exec(compile(request["program"], "<string>", "exec"), {"__name__": "__main__"})
    except SystemExit as end:  # as the interpreter ends on it
        if end.code is None or isinstance(end.code, int):
            status = end.code or 0
        else:
            print(end.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

requests = socket.socket(fileno=int(sys.argv[1]))
while True:
    message, fds, _, _ = socket.recv_fds(requests, 1 << 20, 2)
    if not message:
        break
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        requests.close()
        child(json.loads(message), *fds)
    for fd in fds:
        os.close(fd)
    requests.sendall(f"{pid}\\n".encode())
    _, status = os.waitpid(pid, 0)
    requests.sendall(f"{os.waitstatus_to_exitcode(status)}\\n".encode())
"""


class Forked:
    """A child forked by the :class:`Zygote`: what :class:`Child` uses of ``Popen``."""

    def __init__(self, zygote: Zygote, pid: int, stdout: int, stderr: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.stdout = open(stdout, encoding="utf-8")  # noqa: SIM115 (closed by Child.finish)
        self.stderr = open(stderr, encoding="utf-8")  # noqa: SIM115
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            line = self.zygote.line(timeout_s=0.0)
            if line is not None:
                self.returncode = int(line)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            line = self.zygote.line(timeout_s=timeout)
            if line is None:
                raise subprocess.TimeoutExpired(f"child {self.pid}", timeout or 0.0)
            self.returncode = int(line)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)


class Zygote:
    """The :data:`ZYGOTE` process of this test process, and its socket."""

    def __init__(self) -> None:
        # SOCK_SEQPACKET: a request is one message, whatever its size
        self.socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, str(theirs.fileno())],
            cwd=ROOT,
            env=child_env(),
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # a pipe's buffering for the children, as Popen's
        )
        theirs.close()
        self._buffer = b""

    def start(
        self, program: str, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]
    ) -> Forked:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        request = {"program": program, "argv": list(argv), "cwd": str(cwd), "env": dict(env)}
        socket.send_fds(self.socket, [json.dumps(request).encode()], [out_w, err_w])
        os.close(out_w)
        os.close(err_w)
        pid = self.line(timeout_s=60.0)
        if pid is None:
            raise AssertionError("the zygote did not fork within 60 s")
        return Forked(self, int(pid), out_r, err_r)

    def line(self, timeout_s: float | None) -> str | None:
        """The zygote's next line, or None if none came within ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self.socket], [], [], left)[0]:
                return None
            chunk = self.socket.recv(4096)
            if not chunk:
                raise AssertionError(f"the zygote ended (exit {self.process.wait()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def close(self) -> None:
        self.socket.close()
        self.process.wait(timeout=30)


_zygotes: list[Zygote] = []


def zygote() -> Zygote:
    """This test process's zygote, started at the first kill trial, ended with the process."""
    if not _zygotes:
        _zygotes.append(Zygote())
        atexit.register(_zygotes[0].close)
    return _zygotes[0]


class Child:
    """A child Python process whose standard output is read line by line in a thread.

    ``lines`` holds what it printed (and flushed) before it ended or was killed; ``ready``
    is set once it printed a line starting with ``READY``.
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path = ROOT) -> None:
        assert argv[0] == "-c", argv  # a program given as a string, run by the zygote
        self.proc = zygote().start(argv[1], argv[2:], cwd=cwd, env=child_env())
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.endswith("\n"):
                # Killed in the middle of a line: "ack 12" may be a cut "ack 123"; a line
                # counts only once whole.
                break
            self.lines.append(line.rstrip("\n"))
            if line.startswith("READY"):
                self.ready.set()
        self.ready.set()  # ended: nobody waits for it any longer

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        if not self.ready.wait(timeout_s):
            raise AssertionError(f"child not ready within {timeout_s} s")

    def finish(self, timeout_s: float = 60.0) -> int:
        """Wait for the end; close the pipes; return the exit status (-9 when killed)."""
        try:
            status = self.proc.wait(timeout=timeout_s)
        finally:
            self._reader.join(timeout=timeout_s)
            assert self.proc.stdout is not None
            assert self.proc.stderr is not None
            self.stderr = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
        return status

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        if not self.proc.stdout or not self.proc.stdout.closed:
            self.finish()


def kill_at(child: Child, delay_s: float) -> bool:
    """SIGKILL the child ``delay_s`` after now (if still alive); True when it was killed."""
    deadline = time.monotonic() + delay_s
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            return False
        time.sleep(min(0.002, max(0.0, deadline - time.monotonic())))
    if child.proc.poll() is not None:
        return False
    os.kill(child.proc.pid, signal.SIGKILL)
    return True


# A child running ``caltrace-agent run`` (the command's own code) after printing READY
# once its imports are done; argv: the command's.
AGENT_CHILD = (
    "import sys\n"
    "from agent.cli import main\n"
    "print('READY', flush=True)\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@dataclass
class KillTrial:
    """One trial of a kill test of ``caltrace-agent run``: what the child printed, whether
    it was killed, and what its outbox held after (the run, its readings, its state)."""

    child: Child
    killed: bool
    shown: int
    """How many readings it showed."""
    run_id: str | None = None
    kept: list[dict[str, Any]] | None = None
    state: Any = None


def kill_trials(stages: list[str], trials: int, *, incomplete: int = 2) -> Iterator[int]:
    """The trials' numbers: ``trials`` of them, and more (up to three times as many) until
    ``incomplete`` kills have reached the run itself (``stages`` as the test appends them).
    On a loaded machine the start-up takes a larger share of the kill window and more
    seeded instants land before the run; the trials go on, seeded as before, rather than
    the proof being thinner."""
    trial = 0
    while trial < trials or (
        sum(1 for stage in stages if stage.startswith("incomplete")) < incomplete
        and trial < 3 * trials
    ):
        yield trial
        trial += 1


class RunKiller:
    """Runs ``caltrace-agent run`` in a child process: the first trial whole (how long a
    whole run takes here), each later one SIGKILLed at a seeded random instant within
    that window (``rng``); the window follows the fastest whole run seen."""

    def __init__(self, rng: Any) -> None:
        self.rng = rng
        self.longest = 0.0

    def trial(self, argv: Sequence[str], outbox: Path, shown: Any) -> KillTrial:
        """Run ``argv`` (the command's), kill it unless it is the first trial, then check
        in ``outbox`` that every reading it showed (its lines matching ``shown``) was
        committed first."""
        first = self.longest == 0.0
        with Child(["-c", AGENT_CHILD, *argv]) as child:
            child.wait_ready(60)
            started = time.monotonic()
            if first:
                assert child.finish(120) == 0, child.stderr
                self.longest = time.monotonic() - started
                killed = False
            else:
                killed = kill_at(child, self.rng.uniform(0.0, self.longest))
                child.finish(60)
                if not killed:  # it ended first: on a loaded machine the first run was slow
                    self.longest = min(self.longest, time.monotonic() - started)
        count = sum(1 for line in child.lines if shown.match(line))
        with Outbox(outbox) as box:
            box.recover()
            runs = box.status().runs
            if not runs:  # killed before the run started: nothing was measured
                assert count == 0
                return KillTrial(child, killed, count)
            (entry,) = runs
            kept = box.readings(entry.run_id)
            assert count <= len(kept)  # every reading shown was committed first
            state = box.state(entry.run_id)
            return KillTrial(child, killed, count, entry.run_id, kept, state)

    @staticmethod
    def finish(bench: Path, trial: KillTrial) -> str:
        """What the operator does after: ``--resume`` an incomplete run (never sent
        unfinished), ``sync`` a queued one; the stage the kill reached."""
        from agent.cli import main
        from agent.outbox import RunState
        from labserver.measurements.models import Run

        assert trial.run_id is not None
        stage = (
            f"{trial.state.value} after {trial.shown} readings" if trial.killed else "not killed"
        )
        if trial.state == RunState.INCOMPLETE:
            assert not Run.objects.filter(pk=trial.run_id).exists()  # never sent unfinished
            assert main(["run", "--bench", str(bench), "--resume", trial.run_id, "--simulate"]) == 0
        elif trial.state != RunState.SENT:
            assert trial.state == RunState.QUEUED
            assert main(["sync", "--bench", str(bench)]) == 0
        return stage


class ServerIdle:
    """Counts the live server's requests in flight (Django's request signals), so that a
    test can wait until a killed client's request has finished on the server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self.in_flight = 0

    def started(self, **kwargs: Any) -> None:
        with self._lock:
            self.in_flight += 1

    def finished(self, **kwargs: Any) -> None:
        with self._lock:
            self.in_flight -= 1
            self._idle.notify_all()

    def wait(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            if not self._idle.wait_for(lambda: self.in_flight <= 0, timeout_s):
                raise AssertionError(f"the LIMS still has {self.in_flight} request(s) in flight")


@pytest.fixture
def server_idle() -> Iterator[ServerIdle]:
    from django.core.signals import request_finished, request_started

    idle = ServerIdle()
    request_started.connect(idle.started, dispatch_uid="tests-agent-started")
    request_finished.connect(idle.finished, dispatch_uid="tests-agent-finished")
    yield idle
    request_started.disconnect(dispatch_uid="tests-agent-started")
    request_finished.disconnect(dispatch_uid="tests-agent-finished")


# A child recording one run exactly as the runner does: start_run, add_reading per reading
# (printing each acknowledged id, flushed, only once add_reading has returned), add_point,
# add_io, complete. argv: outbox path, spec file (header, points, finished_at, pace_s).
RUN_CHILD = """
import json, sys, time
from agent.outbox import Outbox
path, spec_file = sys.argv[1], sys.argv[2]
with open(spec_file, encoding="utf-8") as f:
    spec = json.load(f)
box = Outbox(path)
print("READY", flush=True)
run_id = box.start_run(spec["header"])
print("started", run_id, flush=True)
recorder = box.recorder(run_id)
for point in spec["points"]:
    fields = {k: v for k, v in point.items() if k != "readings"}
    ids = []
    for reading in point["readings"]:
        time.sleep(spec["pace_s"])  # the instrument's time
        rid = recorder.reading(
            point_index=fields["index"], quantity=fields["readings_quantity"], reading=reading
        )
        ids.append(rid)
        sys.stdout.write(f"ack {rid} {fields['index']}\\n")  # one write: one whole line
        sys.stdout.flush()
    recorder.point(fields, ids)
    print("point", fields["index"], flush=True)
recorder.io(spec["raw_io"])
box.complete(run_id, spec["finished_at"])
print("complete", flush=True)
box.close()
"""

# A child running ``caltrace-agent sync --bench B.yaml --once`` (the command's own code),
# after printing READY once its imports are done. argv: the bench file.
SYNC_CHILD = """
import sys
from agent.cli import main
print("READY", flush=True)
sys.exit(main(["sync", "--bench", sys.argv[1], "--once"]))
"""


def acked_ids(lines: Sequence[str]) -> list[int]:
    """The reading ids a :data:`RUN_CHILD` printed as acknowledged."""
    return [int(line.split()[1]) for line in lines if line.startswith("ack ")]


ENVIRONMENT = (
    "{driver: manual, address: 'manual://temperature?unit=degC&min=-10&max=50&resolution=0.1'}"
)
ROLES = {**DCV_ROLES, "environment": ENVIRONMENT}


def assert_lims_agrees(run_id: str, body: bytes) -> None:
    """The LIMS holds the run as sent, and its own evaluation agrees with the agent's."""
    from labserver.measurements.models import Point, Reading, Run

    payload = json.loads(body)
    stored = Run.objects.get(pk=run_id)
    assert stored.disagreements == 0
    points = list(Point.objects.filter(run=stored).order_by("index"))
    assert [p.index for p in points] == [p["index"] for p in payload["points"]]
    for point, sent in zip(points, payload["points"], strict=True):
        assert point.disagreement == []
        assert point.server_conformity == point.agent_conformity == sent["conformity"]
        assert point.server_result["value"] == pytest.approx(sent["result"]["value"], rel=1e-9)
        assert point.server_result["U"] == pytest.approx(sent["result"]["U"], rel=1e-9)
    sent_readings = [r["value"] for p in payload["points"] for r in p["readings"]]
    stored_readings = list(
        Reading.objects.filter(point__run=stored)
        .order_by("point__index", "index")
        .values_list("value", flat=True)
    )
    assert stored_readings == sent_readings


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@contextmanager
def simulate(*args: str, stop: signal.Signals = signal.SIGTERM) -> Iterator[str]:
    """Run ``simulate``; yield the address of its READY line; stop it and check it exits 0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "simulate", *args],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        ready = proc.stdout.readline()
        assert ready.startswith("READY "), ready + proc.stderr.read()
        yield ready.split(" ", 1)[1].strip()
    finally:
        proc.send_signal(stop)
        try:
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert out == ""  # READY was the only line
    assert err == ""
