"""Crash-safe issuing (issue 15, point 7): a certificate's signed files become visible only
together with its committed record, and whatever a killed issuing process leaves behind
is swept by ``manage.py verify_storage --repair``.

The unit tests take the states of :mod:`labserver.issuance.staging` one by one. The kill
test runs the real issuing service in separate processes against the test database
(PostgreSQL in CI, the SQLite file otherwise), SIGKILLs them at seeded random instants,
sweeps, and checks after every kill: numbering gap-free, every certificate's files
byte for byte as recorded, no final file without its record, no temporary left, the
audit chain intact. ``CALTRACE_KILL_TRIALS`` (default 20) and ``CALTRACE_KILL_SEED``
(default 15) change the trials; the seed is printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from labserver.core.audit import verify_audit
from labserver.core.models import AuditEntry, Counter
from labserver.issuance import services
from labserver.issuance.models import Certificate
from labserver.issuance.staging import final_name_of, stage, temporary_path
from labserver.issuance.stored_files import verify_storage
from labserver.measurements.models import Run
from labserver.measurements.services import approve_run, review_run
from tests.support.dbroles import runtime_role
from tests.support.lims import PASSWORD, Center, next_job, post_run, run_payload, with_serial

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _demo_pki(demo_pki: Path) -> None:
    """Every test here signs with the DEMO PKI."""


def approved_run(center: Center) -> Run:
    """A run submitted by the bench over the API, reviewed and approved (services), on a
    job of its own (a job takes one run)."""
    next_job(center)
    payload = run_payload(center, points=2, readings=3)
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    run = Run.objects.get(pk=payload["run_id"])
    review_run(actor=center.reviewer, run=run, password=PASSWORD)
    return approve_run(actor=center.signatory, run=run, password=PASSWORD)


def media(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / name


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sweep_command(*args: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    try:
        call_command("verify_storage", *args, stdout=out)
    except SystemExit as exit:
        return int(exit.code or 0), out.getvalue().splitlines()
    return 0, out.getvalue().splitlines()


# ------------------------------------------------------------------ names and states


def test_a_temporary_names_its_final_file_and_nothing_else_is_taken_for_one() -> None:
    final = Path("certificates/QT1/2026/QT1-HC-2026-000001.pdf")
    temporary = temporary_path(final)
    assert temporary.parent == final.parent  # same directory: os.replace is atomic there
    assert temporary.name.startswith(".")
    assert temporary.name.endswith(".tmp")
    assert final_name_of(temporary.name) == final.name
    for other in ("QT1-HC-2026-000001.pdf", ".hidden.tmp", ".x.pdf.nothex!!!!!!!!!.tmp", ".tmp"):
        assert final_name_of(other) is None, other


@pytest.mark.django_db
def test_an_issue_that_rolls_back_leaves_neither_temporary_nor_final_file() -> None:
    directory = media("certificates/QT1/2026")
    seen: list[Path] = []

    def refused() -> None:
        with services._issuing() as staged:
            staged.append(stage("certificates/QT1/2026/QT1-HC-2026-000001.pdf", b"%PDF-signed"))
            seen.extend(files_under(directory))
            raise ValueError("refused inside the transaction")

    with pytest.raises(ValueError, match="refused inside"):
        refused()
    assert len(seen) == 1  # the temporary, hidden, while the transaction was open
    assert final_name_of(seen[0].name) == "QT1-HC-2026-000001.pdf"
    assert files_under(directory) == []


@pytest.mark.django_db(transaction=True)
def test_the_final_file_appears_only_once_the_transaction_has_committed() -> None:
    name = "certificates/QT1/2026/QT1-HC-2026-000002.pdf"
    with services._issuing() as staged:
        staged.append(stage(name, b"%PDF-signed"))
        assert not media(name).exists()
        (temporary,) = files_under(media(name).parent)
        assert final_name_of(temporary.name) == media(name).name
        assert temporary.read_bytes() == b"%PDF-signed"  # fsynced before the commit
    assert files_under(media(name).parent) == [media(name)]
    assert media(name).read_bytes() == b"%PDF-signed"


@pytest.mark.django_db(transaction=True)
def test_issuing_refuses_to_run_inside_a_callers_transaction() -> None:
    """Published at "commit" inside a caller's transaction, the files could outlive a
    rollback of it: ``durable`` refuses that nesting outright."""

    def nested() -> None:
        with transaction.atomic(), services._issuing():
            pass

    with pytest.raises(RuntimeError, match="durable"):
        nested()


@pytest.mark.django_db
def test_the_sweep_publishes_a_committed_certificates_file_left_under_its_temporary_name(
    center: Center,
) -> None:
    """The kill between the commit and the move: the record is there, the files wait."""
    with_serial(center)
    certificate = services.issue_certificate(
        actor=center.signatory, run=approved_run(center), password=PASSWORD
    )
    final = media(certificate.pdf.name)
    issued = final.read_bytes()
    os.replace(final, temporary_path(final))

    code, lines = sweep_command()
    assert code == 1
    assert lines[0].startswith(f"unpublished: certificate {certificate.number} PDF: ")
    assert not any(line.startswith("missing:") for line in lines), lines

    code, lines = sweep_command("--repair")
    assert code == 0, lines
    assert lines[0] == f"published: certificate {certificate.number} PDF: {certificate.pdf.name}"
    assert final.read_bytes() == issued
    assert verify_storage().ok


@pytest.mark.django_db
def test_the_sweep_deletes_only_stale_temporaries_that_no_record_needs(center: Center) -> None:
    with_serial(center)
    certificate = services.issue_certificate(
        actor=center.signatory, run=approved_run(center), password=PASSWORD
    )
    directory = media(certificate.pdf.name).parent
    # A killed issue of the next number (its record never committed), two hours ago...
    stale = temporary_path(directory / "QT1-HC-2026-999998.pdf")
    stale.write_bytes(b"%PDF-never-committed")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    # ...one being issued right now, and a copy of the issued PDF whose bytes differ.
    young = temporary_path(directory / "QT1-HC-2026-999999.pdf")
    young.write_bytes(b"%PDF-in-progress")
    wrong = temporary_path(media(certificate.pdf.name))
    wrong.write_bytes(b"not the issued bytes")
    os.utime(wrong, (two_hours_ago, two_hours_ago))

    code, lines = sweep_command()
    assert code == 1
    assert sorted(line.split(" (")[0] for line in lines if line.startswith("stale")) == sorted(
        f"stale temporary: certificates/{p.relative_to(media('certificates'))}"
        for p in (stale, wrong)
    )
    assert any(line.startswith("in progress: ") and young.name in line for line in lines)

    code, lines = sweep_command("--repair")
    assert code == 0, lines
    assert not stale.exists()
    assert not wrong.exists()
    assert young.exists()  # an issue may still be running: not before its age
    assert sha256(media(certificate.pdf.name)) == certificate.pdf_sha256

    code, lines = sweep_command("--repair", "--stale-minutes", "0")
    assert code == 0, lines
    assert not young.exists()


@pytest.mark.django_db
def test_a_file_left_at_the_final_name_is_kept_aside_not_overwritten(center: Center) -> None:
    """A final file that names no record (a database restored to before it was issued)
    is evidence: issuing renames it aside and the sweep lists it as an orphan."""
    with_serial(center)
    year = timezone.localdate().year
    leftover = media(
        f"certificates/{center.org.code}/{year}/{center.org.code}-HC-{year}-000001.pdf"
    )
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF-from-before-the-restore")

    certificate = services.issue_certificate(
        actor=center.signatory, run=approved_run(center), password=PASSWORD
    )
    assert media(certificate.pdf.name) == leftover
    assert sha256(leftover) == certificate.pdf_sha256
    (aside,) = leftover.parent.glob(f"{leftover.name}.*.displaced")
    assert aside.read_bytes() == b"%PDF-from-before-the-restore"
    report = verify_storage()
    assert [(p.kind, p.path) for p in report.problems] == [
        ("orphan", f"certificates/{aside.relative_to(media('certificates'))}")
    ]


def test_the_stale_age_is_refused_when_negative() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--stale-minutes"):
        call_command("verify_storage", "--stale-minutes", "-1")


# ------------------------------------------------------------------ the kill test

TRIALS = int(os.environ.get("CALTRACE_KILL_TRIALS", "20"))
SEED = int(os.environ.get("CALTRACE_KILL_SEED", "15"))
BATCH = 1  # certificates one process issues (more per process: longer trials, same states)

# A fork server: it sets Django up and imports the signing stack once, then for each
# "issue" line forks a process that issues the given runs with the real service and
# exits. The test SIGKILLs that process. Two modes take the narrowest windows on purpose,
# once each: "die-before-commit" kills it itself once the files are written and the row
# inserted, before the commit; "die-at-publish" right after the commit, before the move.
FORK_SERVER = """
import os, signal, sys
import django
django.setup()
from django.db import connections
from labserver.accounts.models import Organization, User
from labserver.issuance import services
from labserver.issuance.keys import signer_for
from labserver.measurements.models import Run
import certificates.dcc, certificates.pdf, certificates.verify  # noqa: F401  (warm)
actor = User.objects.get(username=sys.argv[1])
signer_for(Organization.objects.get(code=sys.argv[3]))  # the DEMO PKI, made once
connections.close_all()  # each forked process opens its own connection
print("READY", flush=True)
for line in sys.stdin:
    mode, *runs = line.split()
    pid = os.fork()
    if pid == 0:
        if mode == "die-at-publish":
            services.publish = lambda staged: os.kill(os.getpid(), signal.SIGKILL)
        if mode == "die-before-commit":
            produce = services._produce
            def dying(job, staged):
                produce(job, staged)
                os.kill(os.getpid(), signal.SIGKILL)
            services._produce = dying
        for run_id in runs:
            c = services.issue_certificate(
                actor=actor, run=Run.objects.get(pk=run_id), password=sys.argv[2]
            )
            print("issued", c.number, flush=True)
        os._exit(0)
    print("forked", pid, flush=True)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    print("exited", pid, code, flush=True)
"""


def database_url() -> str:
    """The test database as a ``DATABASE_URL`` the child processes can use: the runtime
    role's own login where two roles are configured (tests/dbroles), as the tests run."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if runtime_role():
        return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{db['NAME']}").geturl()
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


class ForkServer:
    """The fork server in a child process, its output lines in a queue."""

    def __init__(self, signatory: str, organization: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_OWNER_URL"}
        env.update(
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            DJANGO_SETTINGS_MODULE="labserver.settings.test",
            DATABASE_URL=database_url(),
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            CALTRACE_DEMO_PKI_DIR=str(settings.CALTRACE_DEMO_PKI_DIR),
            CALTRACE_PUBLIC_URL=settings.CALTRACE_PUBLIC_URL,
            DB_CONN_MAX_AGE="0",
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FORK_SERVER, signatory, PASSWORD, organization],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.endswith("\n"):  # a line cut by the kill counts for nothing
                self.lines.put(line.rstrip("\n"))
        self.lines.put("EOF")

    def expect(self, word: str, timeout_s: float = 60.0) -> tuple[list[str], str]:
        """The lines before the next one starting with ``word``, and that line."""
        before: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=timeout_s)
            except queue.Empty:
                raise AssertionError(f"no {word!r} within {timeout_s} s: {before}") from None
            if line == "EOF":
                assert self.proc.stderr is not None
                raise AssertionError(f"the fork server ended: {self.proc.stderr.read()}")
            if line.startswith(word):
                return before, line
            before.append(line)

    def issue(self, runs: list[Run], *, mode: str = "issue") -> int:
        """Start a process issuing ``runs``; its pid."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(" ".join([mode, *(str(r.pk) for r in runs)]) + "\n")
        self.proc.stdin.flush()
        return int(self.expect("forked")[1].split()[1])

    def close(self) -> None:
        stdin, stdout, stderr = self.proc.stdin, self.proc.stdout, self.proc.stderr
        assert stdin is not None
        assert stdout is not None
        assert stderr is not None
        stdin.close()  # the fork server's loop ends
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            stdout.close()
            stderr.close()


@pytest.fixture
def fork_server(transactional_db: Any, center: Center) -> Iterator[tuple[ForkServer, Center]]:
    with_serial(center)
    server = ForkServer(center.signatory.username, center.org.code)
    server.expect("READY")
    yield server, center
    server.close()


def assert_consistent(center: Center, reported: set[str], trial: str) -> None:
    """What must hold after any kill, once swept."""
    certificates = list(Certificate.objects.filter(organization=center.org).order_by("sequence"))
    numbers = [c.number for c in certificates]
    # Gap-free: the counter (allocated under lock) is exactly the certificates committed.
    year = timezone.localdate().year
    counter = Counter.objects.get(key=f"certificate:{center.org.code}:calibration:{year}").value
    assert [c.sequence for c in certificates] == list(range(1, counter + 1)), trial
    # Every number the killed process printed as issued was committed.
    assert reported <= set(numbers), trial
    # Every committed certificate has its two files, byte for byte as recorded; no final
    # file without its record; no temporary left.
    on_disk = {str(p.relative_to(settings.MEDIA_ROOT)) for p in files_under(media("certificates"))}
    expected = {c.pdf.name for c in certificates} | {c.dcc.name for c in certificates}
    assert on_disk == expected, trial
    for c in certificates:
        assert sha256(media(c.pdf.name)) == c.pdf_sha256, (trial, c.number)
        assert sha256(media(c.dcc.name)) == c.dcc_sha256, (trial, c.number)
    # One audit entry per certificate, the chain intact.
    issued = AuditEntry.objects.filter(action="certificate.issue", object_id__in=numbers)
    assert issued.count() == len(numbers), trial
    report = verify_audit()
    assert report.ok, (trial, report.problems)


def test_issuing_killed_at_random_instants_leaves_no_file_without_record_nor_record_without_file(
    fork_server: tuple[ForkServer, Center],
) -> None:
    server, center = fork_server
    rng = random.Random(SEED)
    print(f"\ncrash-safe issuing kill test: seed {SEED}, {TRIALS} trials")
    started = time.monotonic()
    pool: list[Run] = []
    reported: set[str] = set()
    window_s = 0.0
    outcomes = {"completed": 0, "killed": 0}
    swept = {"published": 0, "deleted": 0}
    timing = {"runs": 0.0, "issue": 0.0, "check": 0.0}
    for trial in range(TRIALS):
        t0 = time.monotonic()
        pool = [r for r in pool if not Certificate.objects.filter(run=r).exists()]
        while len(pool) < BATCH:
            pool.append(approved_run(center))
        timing["runs"] += time.monotonic() - t0
        mode = {1: "die-at-publish", 2: "die-before-commit"}.get(trial, "issue")
        pid = server.issue(pool[:BATCH], mode=mode)
        forked_at = time.monotonic()
        if trial > 2:  # trial 0 measures the window; trials 1 and 2 kill themselves
            time.sleep(rng.uniform(0, window_s))
            with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
                os.kill(pid, signal.SIGKILL)
        lines, exited = server.expect("exited")
        status = int(exited.split()[2])
        if trial == 0:
            assert status == 0, exited
            window_s = 1.1 * (time.monotonic() - forked_at)
        assert status in (0, -signal.SIGKILL), (trial, exited, lines)
        outcomes["completed" if status == 0 else "killed"] += 1
        reported |= {line.split()[1] for line in lines if line.startswith("issued ")}

        t0 = time.monotonic()
        timing["issue"] += t0 - forked_at
        report = verify_storage(repair=True, stale_after=timedelta(0))
        swept["published"] += sum(line.startswith("published") for line in report.repaired)
        swept["deleted"] += sum(line.startswith("deleted") for line in report.repaired)
        assert report.ok, (f"seed {SEED} trial {trial}", [str(p) for p in report.problems])
        assert not report.in_progress
        assert_consistent(center, reported, f"seed {SEED} trial {trial}")
        timing["check"] += time.monotonic() - t0
    elapsed = time.monotonic() - started
    certificates = Certificate.objects.filter(organization=center.org).count()
    print(
        f"{outcomes['killed']} killed, {outcomes['completed']} completed, "
        f"{certificates} certificates, swept: {swept['published']} files published, "
        f"{swept['deleted']} temporaries deleted; window {window_s:.2f} s; {elapsed:.1f} s {timing}"
    )
    assert outcomes["killed"] >= TRIALS // 2, outcomes  # the kills mostly land mid-issue
    assert swept["published"] >= 2  # die-at-publish: the record committed before its move
    assert swept["deleted"] >= 2  # die-before-commit: the files of a record never committed
