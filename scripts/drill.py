"""``make drill``: back the LIMS up, destroy it, restore it to a chosen instant, and prove it.

    .venv/bin/python scripts/drill.py [--keep]

The runbook it exercises is ``docs/operators/backup-and-recovery.md``; the configuration it
uses is the one in ``deploy/backup/`` (the pgBackRest template and the PostgreSQL archiving
settings, only the paths and the port changed; the media scripts as they are).

1. A throw-away PostgreSQL cluster (``tests/support/clusters.py``, shared with the federation
   tests) in a temporary directory (``initdb`` of the machine's
   newest server binaries, a free port on 127.0.0.1, as the ``postgres`` OS user when run
   as root), archiving its WAL to an encrypted pgBackRest repository beside it; the shared
   server on 5432 is never touched. Its two roles are production's (``docs/centers/lims.md``):
   ``caltrace_owner`` owns the database and migrates (``DATABASE_OWNER_URL``),
   ``caltrace_app`` is the LIMS (``DATABASE_URL``), granted what it needs by ``migrate``.
2. ``scripts/demo.py --no-serve`` against it: migrations (as the owner), the demo data set,
   two runs carried out by the agent on simulated benches, reviewed, approved and issued as
   signed certificates (the DEMO PKI), all as the runtime role.
3. A full backup (``pgbackrest backup --type=full``), timed and measured.
4. More work: a certificate amended (a new signed certificate), another revoked. Then the
   instant T is taken from the server's clock with the state at T: every certificate's
   number, status and files' SHA-256, every audit chain's length and head, the row count of
   every table. ``manage.py anchor_audit`` writes the anchors at T's side into a folder
   outside the cluster (``CALTRACE_ANCHOR_DIR``), and they are set aside.
5. Work after T that must not survive: another amendment and a new user; anchored again.
6. The media (``deploy/backup/media-backup.sh``), the signing keys (the DEMO PKI folder)
   and the anchors are copied aside; the WAL is switched and ``pgbackrest check`` waits for
   it to reach the repository.
7. Destruction: the server is killed (``pg_ctl stop -m immediate``, as a crash), its data
   directory, the media and the signing keys deleted.
8. Restore: ``pgbackrest restore --type=time --target=T --target-action=promote``, the
   server started and promoted; the media restored (``media-restore.sh``, every file
   checked against its manifest) and the keys copied back.
9. Checks: ``manage.py verify_audit --anchors`` with the anchors of T passes, with those
   written after T it must fail (naming the chain restored to before its anchor); the
   grants and triggers came back: the LIMS connects as the runtime role and
   ``check --deploy``'s role check (caltrace.W001) finds nothing, and ``TRUNCATE`` is
   refused to the runtime role (no privilege) and to the owner (the trigger); every
   certificate of T present with its status and its files' SHA-256, each PDF judged by the
   public verification service as it was at T, the audit chains and every table's row
   count as at T, the work after T absent.
10. Numbers: ``manage.py reserve_numbers`` voids the numbers of the orphan files (the
    certificates issued after T, the only orphans ``verify_storage`` finds) and advances
    their counters; the files are moved to a quarantine folder and ``verify_storage`` is
    then clean; the public lookup of each voided number answers 410 ``number_voided``; the
    restored LIMS issues one more certificate, whose number comes after every number
    issued after T.

Prints the backup's size and time, the restore time, the time to verify and to reserve.
Everything is removed at the end, the cluster killed, even when a step fails (``--keep``
leaves the temporary directory for a post-mortem). Without pgBackRest or the PostgreSQL server
binaries the drill is skipped with a message, except in CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path; the repository is what we need.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import configparser  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from tests.support.clusters import (  # noqa: E402
    Cluster,
    ClusterError,
    free_port,
    server_bindir,
    throwaway_home,
)

ROOT = Path(_ROOT)
DEPLOY = ROOT / "deploy" / "backup"
STANZA = "caltrace"
DATABASE = "caltrace"
# The two roles of production (docs/centers/lims.md): the owner migrates, the LIMS runs as
# the runtime role, which owns nothing and cannot change an append-only table.
OWNER_ROLE = "caltrace_owner"
RUNTIME_ROLE = "caltrace_app"
SETTINGS = "labserver.settings.dev"
# The demo's signatory (scenarios/demo/people.yaml), who amends and revokes in steps 4 and 5.
SIGNATORY = "hn-signatory"


class DrillFailed(Exception):
    """A step of the drill did not do what the runbook says it does."""


# ------------------------------------------------------------------ the tools


@dataclass(frozen=True)
class Tools:
    bindir: Path
    pgbackrest: str


def find_tools() -> Tools | str:
    """The PostgreSQL server binaries (the newest installed) and pgBackRest, or what is
    missing, said for a person."""
    bindir = server_bindir()
    pgbackrest = shutil.which("pgbackrest")
    missing = []
    if bindir is None:
        missing.append("the PostgreSQL server binaries (initdb, pg_ctl, postgres)")
    if pgbackrest is None:
        missing.append("pgBackRest (Debian package pgbackrest)")
    if bindir is None or pgbackrest is None:
        return " and ".join(missing) + " not found"
    return Tools(bindir=bindir, pgbackrest=pgbackrest)


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def tree_digests(path: Path) -> dict[str, str]:
    """SHA-256 of every file under ``path``, by relative name."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------ the cluster


@dataclass
class DrillCluster(Cluster):
    """A throw-away cluster (:mod:`tests.support.clusters`) archiving its WAL to a
    pgBackRest repository beside it, all in ``home``."""

    pgbackrest_bin: str = "pgbackrest"
    cipher_pass: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def repo(self) -> Path:
        return self.home / "repo"

    @property
    def config(self) -> Path:
        return self.home / "pgbackrest.conf"

    def url(self, role: str, database: str = DATABASE) -> str:
        return super().url(role, database)

    def env(self) -> dict[str, str]:
        # pgBackRest reads the repository's passphrase from the environment, as in
        # production; the server passes it on to archive_command.
        return {**super().env(), "PGBACKREST_REPO1_CIPHER_PASS": self.cipher_pass}

    def pgbackrest(self, *args: str) -> str:
        return self.as_owner(
            self.pgbackrest_bin, f"--config={self.config}", f"--stanza={STANZA}", *args
        )

    def sql(self, statement: str, database: str = DATABASE, role: str = "postgres") -> str:
        return super().sql(statement, database, role)

    def refused(self, statement: str, role: str, database: str = DATABASE) -> str:
        return super().refused(statement, role, database)

    def prepare(self) -> None:
        """``initdb``; pgBackRest's folders, owned by the cluster's user; the configuration
        files."""
        self.initdb()
        for folder in ("repo", "lock", "spool"):
            (self.home / folder).mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.home / folder, "postgres", "postgres")
        self._write_pgbackrest_conf()
        self._append_server_settings()

    def _write_pgbackrest_conf(self) -> None:
        """deploy/backup/pgbackrest.conf with this cluster's paths and port."""
        config = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",))
        config.optionxform = str  # type: ignore[assignment,method-assign]  # keep the case
        config.read(DEPLOY / "pgbackrest.conf", encoding="utf-8")
        if not config.has_section(STANZA):
            raise DrillFailed(f"deploy/backup/pgbackrest.conf has no [{STANZA}] stanza")
        glob_ = config["global"]
        glob_["repo1-path"] = str(self.repo)
        glob_["log-path"] = str(self.log)
        glob_["lock-path"] = str(self.home / "lock")
        glob_["spool-path"] = str(self.home / "spool")
        glob_["log-level-console"] = "warn"
        stanza = config[STANZA]
        stanza["pg1-path"] = str(self.data)
        stanza["pg1-port"] = str(self.port)
        stanza["pg1-socket-path"] = str(self.sockets)
        stanza["pg1-user"] = "postgres"
        with self.config.open("w", encoding="utf-8") as handle:
            config.write(handle, space_around_delimiters=False)
        if os.geteuid() == 0:
            shutil.chown(self.config, "postgres", "postgres")

    def _append_server_settings(self) -> None:
        """deploy/backup/postgresql-archiving.conf, its archive_command given this config."""
        settings = (DEPLOY / "postgresql-archiving.conf").read_text(encoding="utf-8")
        production = f"'pgbackrest --stanza={STANZA} archive-push %p'"
        if production not in settings:
            raise DrillFailed(
                "deploy/backup/postgresql-archiving.conf: archive_command is not " + production
            )
        settings = settings.replace(
            production,
            f"'{self.pgbackrest_bin} --config={self.config} --stanza={STANZA} archive-push %p'",
        )
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as handle:
            handle.write("\n# caltrace drill (deploy/backup/postgresql-archiving.conf)\n")
            handle.write(settings)
        # the port, address and sockets again, after the archiving settings
        self.configure({}, "caltrace drill: this cluster's port")

    def wait_promoted(self, timeout_s: float = 60.0) -> None:
        answer = self.wait_for("SELECT pg_is_in_recovery()", "f", "postgres", timeout_s)
        if answer != "f":
            raise DrillFailed(f"the restored server was not promoted within {timeout_s:g} s")


# ------------------------------------------------------------------ the LIMS side


@dataclass
class Lims:
    """The LIMS's commands against the drill's cluster and its own var/ folder."""

    cluster: DrillCluster
    var: Path

    @property
    def media(self) -> Path:
        return self.var / "media"

    @property
    def pki(self) -> Path:
        return self.var / "demo-pki"

    @property
    def anchors(self) -> Path:
        return self.var / "anchors"

    def env(self) -> dict[str, str]:
        return {
            # the drill's cluster has its own roles: the caller's are not for it
            **{k: v for k, v in os.environ.items() if k != "CALTRACE_RUNTIME_ROLE"},
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DATABASE_OWNER_URL": self.cluster.url(OWNER_ROLE),
            "DATABASE_URL": self.cluster.url(RUNTIME_ROLE),
            "CALTRACE_VAR_DIR": str(self.var),
            "MEDIA_ROOT": str(self.media),
            "CALTRACE_DEMO_PKI_DIR": str(self.pki),
            "CALTRACE_ANCHOR_DIR": str(self.anchors),
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=self.env(), capture_output=True, text=True
        )
        if check and out.returncode != 0:
            raise DrillFailed(
                f"{' '.join(args[:3])} failed (exit {out.returncode}):\n"
                f"{out.stdout[-3000:]}{out.stderr[-3000:]}"
            )
        return out

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("manage.py", *args, check=check)

    def step(self, name: str, *args: str) -> dict[str, Any]:
        """One of this script's in-Django steps (``django STEP``), its JSON answer."""
        out = self.run(__file__, "django", name, *args)
        answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return answer


# ------------------------------------------------------------------ in-Django steps


def _django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    django.setup()


def _work(phase: str) -> dict[str, Any]:
    """Regulated work of step 4 (``before``), step 5 (``after``) or step 10 (``restored``:
    one amendment, the first certificate issued by the restored LIMS), through the
    services."""
    from labserver.accounts import services as accounts
    from labserver.accounts.models import User
    from labserver.issuance.models import Certificate, CertificateStatus
    from labserver.issuance.services import (
        amend_certificate,
        certificate_state,
        revoke_certificate,
    )
    from scenarios.demo import DEMO_PASSWORD

    signatory = User.objects.get(username=SIGNATORY)
    valid = [
        c
        for c in Certificate.objects.order_by("pk")
        if certificate_state(c).status == CertificateStatus.VALID
    ]
    if len(valid) < (2 if phase == "before" else 1):
        raise DrillFailed(f"{phase} T: too few valid certificates to work on ({len(valid)})")
    reason = f"caltrace drill: amended {phase} the restore target"
    issued = amend_certificate(
        actor=signatory, certificate=valid[0], password=DEMO_PASSWORD, reason=reason
    )
    if phase == "restored":
        return {"issued": [issued.number], "users": []}
    if phase == "before":
        revoke_certificate(
            actor=signatory,
            certificate=valid[1],
            password=DEMO_PASSWORD,
            reason="caltrace drill: revoked before the restore target",
        )
    user = accounts.create_user(
        actor=None,
        username=f"drill-{phase}-t",
        password=secrets.token_urlsafe(16),
        full_name=f"Drill user created {phase} T",
    )
    return {"issued": [issued.number], "users": [user.username]}


def _state() -> dict[str, Any]:
    """What the database holds now: certificates, audit chains, every table's row count."""
    from django.apps import apps
    from django.db import connection

    from labserver.core.models import AuditChain
    from labserver.issuance.models import Certificate
    from labserver.issuance.services import certificate_state

    certificates = {
        c.number: {
            "status": str(certificate_state(c).status),
            "pdf": c.pdf.name,
            "pdf_sha256": c.pdf_sha256,
            "dcc": c.dcc.name,
            "dcc_sha256": c.dcc_sha256,
        }
        for c in Certificate.objects.order_by("pk")
    }
    chains = {c.key: [c.length, c.head] for c in AuditChain.objects.order_by("key")}
    rows = {
        model._meta.db_table: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy and model._meta.managed
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (now,) = cursor.fetchone()
    return {"certificates": certificates, "chains": chains, "rows": rows, "at": now.isoformat()}


def _roles() -> dict[str, Any]:
    """What ``check --deploy`` (caltrace.W001) finds wrong with the role the LIMS connects
    as, and who that is: after the restore, the grants must be those migrate gave."""
    from django.db import connection

    from labserver.core.roles import runtime_role_problems

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (me,) = cursor.fetchone()
    return {"role": me, "problems": [p.what for p in runtime_role_problems(connection)]}


def _voided(numbers: list[str]) -> dict[str, Any]:
    """The public lookup of each number, as anyone asks it (the API, in English)."""
    from django.test import Client

    answers = {}
    for number in numbers:
        response = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/api/v1/public/certificates/{number}")
        answers[number] = {"status": response.status_code, "body": response.json()}
    return answers


def _check(expected: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The restored database against the state at T; the public verdict of every PDF."""
    from django.core.files.storage import default_storage

    from labserver.issuance.stored_files import verify_storage
    from labserver.issuance.verification import verify_upload

    found = _state()
    problems: list[str] = []
    for number, record in expected["certificates"].items():
        got = found["certificates"].get(number)
        if got is None:
            problems.append(f"certificate {number} issued before T is missing")
            continue
        for key in ("status", "pdf_sha256", "dcc_sha256"):
            if got[key] != record[key]:
                problems.append(f"certificate {number}: {key} {got[key]} (at T: {record[key]})")
        with default_storage.open(record["pdf"], "rb") as handle:
            verdict = verify_upload(handle.read())
        if verdict.status != record["status"] or verdict.number != number:
            problems.append(
                f"certificate {number}: the public verification says {verdict.status} "
                f"({verdict.number}; {'; '.join(verdict.problems)}), at T it was {record['status']}"
            )
    for number in after["issued"]:
        if number in found["certificates"]:
            problems.append(f"certificate {number} issued after T survived the restore")
    extra = set(found["certificates"]) - set(expected["certificates"])
    if extra:
        problems.append(f"certificates that did not exist at T: {sorted(extra)}")
    for key in sorted(set(found["chains"]) | set(expected["chains"])):
        got, then = found["chains"].get(key), expected["chains"].get(key)
        if got != then:
            problems.append(f"audit chain {key}: length and head {got} (at T: {then})")
    for table, count in expected["rows"].items():
        if found["rows"].get(table) != count:
            problems.append(f"table {table}: {found['rows'].get(table)} rows (at T: {count})")
    report = verify_storage()
    return {
        "problems": problems,
        "certificates": len(found["certificates"]),
        "tables": len(found["rows"]),
        "storage": [{"kind": p.kind, "path": p.path} for p in report.problems],
    }


def django_step(argv: Sequence[str]) -> int:
    """``scripts/drill.py django STEP [FILE...]``: a step inside the LIMS, JSON on stdout."""
    _django()
    name, *files = argv
    if name == "work-before":
        answer = _work("before")
    elif name == "work-after":
        answer = _work("after")
    elif name == "work-restored":
        answer = _work("restored")
    elif name == "state":
        answer = _state()
    elif name == "roles":
        answer = _roles()
    elif name == "voided":
        answer = _voided(list(files))
    elif name == "check":
        expected, after = (json.loads(Path(f).read_text(encoding="utf-8")) for f in files)
        answer = _check(expected, after)
    else:
        raise SystemExit(f"unknown drill step {name!r}")
    print(json.dumps(answer, default=str))
    return 0


# ------------------------------------------------------------------ the drill


def recovery_target(at: str) -> str:
    """The instant ``at`` (ISO 8601, from the server) as pgBackRest's --target takes it:
    UTC, to the millisecond, rounded up (nothing commits between T and the rounded T: the
    drill waits before the work after T)."""
    instant = datetime.fromisoformat(at).astimezone(UTC)
    ms = -(-instant.microsecond // 1000)
    instant = instant.replace(microsecond=0) + timedelta(milliseconds=ms)
    return instant.strftime("%Y-%m-%d %H:%M:%S.") + f"{instant.microsecond // 1000:03d}+00"


@contextmanager
def timed(figures: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    figures[name] = time.monotonic() - started


def say(message: str) -> None:
    print(f"drill: {message}", flush=True)


def drill(tools: Tools, home: Path) -> dict[str, float]:
    """Steps 1 to 10 in ``home``; the figures measured. Raises DrillFailed."""
    figures: dict[str, float] = {}
    cluster = DrillCluster(bindir=tools.bindir, home=home / "pg", pgbackrest_bin=tools.pgbackrest)
    lims = Lims(cluster=cluster, var=home / "var")
    backup = home / "backup"
    try:
        # 1. The cluster, archiving to its repository.
        with timed(figures, "setup_s"):
            cluster.prepare()
            cluster.start()
            # The owner owns the database (so the schema it migrates); the runtime role can
            # only log in until migrate grants it what it needs.
            cluster.sql(f"CREATE ROLE {OWNER_ROLE} LOGIN", database="postgres")
            cluster.sql(f"CREATE ROLE {RUNTIME_ROLE} LOGIN", database="postgres")
            cluster.sql(f"CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}", database="postgres")
            cluster.pgbackrest("stanza-create")
            cluster.pgbackrest("check")
        say(
            f"cluster on 127.0.0.1:{cluster.port}, WAL archived by pgBackRest (encrypted); "
            f"roles {OWNER_ROLE} (migrates) and {RUNTIME_ROLE} (the LIMS)"
        )

        # 2. The LIMS's data and its first signed certificates.
        with timed(figures, "demo_s"):
            lims.run("scripts/demo.py", "--no-serve", "--port", str(free_port()))
        say(
            f"migrated as {OWNER_ROLE}, grants to {RUNTIME_ROLE}; demo data loaded, runs "
            f"certified as {RUNTIME_ROLE} (scripts/demo.py --no-serve)"
        )

        # 3. The full backup.
        with timed(figures, "backup_s"):
            cluster.pgbackrest("backup", "--type=full")
        info = json.loads(cluster.pgbackrest("info", "--output=json"))
        if info[0].get("cipher") != "aes-256-cbc":
            raise DrillFailed(f"the repository is not encrypted: cipher {info[0].get('cipher')}")
        last = info[0]["backup"][-1]["info"]
        figures["backup_database_bytes"] = float(last["size"])
        figures["backup_repo_bytes"] = float(last["repository"]["delta"])
        say(
            f"full backup in {figures['backup_s']:.1f} s: database {last['size']:,} bytes, "
            f"{last['repository']['delta']:,} bytes in the repository (zstd, AES-256)"
        )

        # 4. More work, then T and the state at T.
        before = lims.step("work-before")
        # The anchors at T's side, as the runbook schedules them; their folder is outside
        # the cluster's data directory and outside the repository, as in production.
        lims.manage("anchor_audit")
        state_file = backup / "state-at-T.json"
        backup.mkdir(parents=True)
        expected = lims.step("state")
        target = recovery_target(expected["at"])
        state_file.write_text(json.dumps(expected), encoding="utf-8")
        shutil.copytree(lims.anchors, backup / "anchors-at-T")
        say(
            f"T = {target}: {len(expected['certificates'])} certificates "
            f"(amended into {', '.join(before['issued'])}), "
            f"{sum(length for length, _ in expected['chains'].values())} audit entries"
        )
        time.sleep(0.05)  # the next commit's time stamp is after T whatever the clock's grain

        # 5. Work after T: it must not survive.
        after = lims.step("work-after")
        lims.manage("anchor_audit")
        after_file = backup / "after-T.json"
        after_file.write_text(json.dumps(after), encoding="utf-8")
        say(f"after T: {', '.join(after['issued'])} issued, {', '.join(after['users'])} created")

        # 6. Media, keys and anchors aside; the last WAL to the repository.
        media_archive = subprocess.run(
            [str(DEPLOY / "media-backup.sh"), str(lims.media), str(backup / "media")],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        pki_digests = tree_digests(lims.pki)
        shutil.copytree(lims.pki, backup / "demo-pki")
        cluster.sql("SELECT pg_switch_wal()")
        cluster.pgbackrest("check")
        figures["media_backup_bytes"] = float(Path(media_archive).stat().st_size)
        figures["repo_bytes"] = float(tree_bytes(cluster.repo))

        # 7. Destruction.
        cluster.kill()
        shutil.rmtree(cluster.data)
        shutil.rmtree(lims.media)
        shutil.rmtree(lims.pki)
        say("server killed; data directory, media and signing keys deleted")

        # 8. Restore to T.
        with timed(figures, "restore_s"):
            cluster.pgbackrest(
                "restore", "--type=time", f"--target={target}", "--target-action=promote"
            )
            cluster.start()
            cluster.wait_promoted()
            subprocess.run(
                [str(DEPLOY / "media-restore.sh"), media_archive, str(lims.media)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            shutil.copytree(backup / "demo-pki", lims.pki)
        if tree_digests(lims.pki) != pki_digests:
            raise DrillFailed("the signing keys restored differ from those backed up")
        say(f"restored to T in {figures['restore_s']:.1f} s (database, media, keys)")

        # 9. Checks.
        with timed(figures, "verify_s"):
            audit = lims.manage("verify_audit", "--anchors", str(backup / "anchors-at-T"))
            # The anchors written after T describe history the restore undid: verify_audit
            # must say so, naming the chain restored to before its anchor.
            late = lims.manage("verify_audit", "--anchors", str(lims.anchors), check=False)
            if late.returncode == 0:
                raise DrillFailed(
                    "verify_audit --anchors passed with the anchors written after T: "
                    "a database restored before its last anchor went unnoticed"
                )
            roles = lims.step("roles")
            if roles["role"] != RUNTIME_ROLE or roles["problems"]:
                raise DrillFailed(f"the restored grants (check --deploy, caltrace.W001): {roles}")
            refusals = [
                cluster.refused(f"TRUNCATE {table}", role)
                for table in ("core_auditentry", "issuance_certificate")
                for role in (RUNTIME_ROLE, OWNER_ROLE)
            ]
            result = lims.step("check", str(state_file), str(after_file))
            if result["problems"]:
                raise DrillFailed("after the restore:\n  " + "\n  ".join(result["problems"]))
        say(audit.stdout.strip())
        said = (late.stderr.strip().splitlines() or ["(nothing)"])[0]
        say(f"with the anchors written after T, verify_audit refuses, as it must: {said}")
        say(
            f"the LIMS connects as {roles['role']}: check --deploy finds nothing; TRUNCATE "
            f"refused to {RUNTIME_ROLE} ({refusals[0].splitlines()[0]}) and to {OWNER_ROLE} "
            f"({refusals[1].splitlines()[0]})"
        )
        say(
            f"{result['certificates']} certificates as at T (status, SHA-256 of PDF and DCC, "
            f"public verification), {result['tables']} tables' row counts as at T, "
            f"the work after T absent"
        )

        # 10. The numbers issued after T are never given again; the LIMS issues again.
        with timed(figures, "reserve_s"):
            reserved = lims.manage(
                "reserve_numbers", "--reason", f"caltrace drill: database restored to {target}"
            )
            quarantined = quarantine(result["storage"], after, lims.media, home / "quarantine")
            storage = lims.manage("verify_storage")
        say(reserved.stdout.strip().replace("\n", "; "))
        say(f"{quarantined} file(s) of certificates issued after T moved to quarantine")
        say(storage.stdout.strip().splitlines()[-1])
        public = lims.step("voided", *after["issued"])
        for number, answer in public.items():
            if answer["status"] != 410 or answer["body"].get("code") != "number_voided":
                raise DrillFailed(f"the public lookup of {number}, voided: {answer}")
        say(f"the public lookup of {', '.join(public)}: 410, {public[number]['body']['detail']}")
        again = lims.step("work-restored")["issued"][0]
        reused = no_reuse(again, after["issued"])
        if reused:
            raise DrillFailed(f"the restored LIMS issued {again}: {reused}")
        say(f"the restored LIMS issues {again}, past every number issued after T")
    finally:
        cluster.kill()
    return figures


def no_reuse(number: str, issued_after: list[str]) -> str:
    """Why ``number`` reuses the place of a number issued after T, or ``""``: in its series
    (organization, kind, year) it must come after every one of them."""
    org, series, year, sequence = number.rsplit("-", 3)
    for earlier in issued_after:
        o, s, y, q = earlier.rsplit("-", 3)
        if (o, s, y) == (org, series, year) and int(q) >= int(sequence):
            return f"not past {earlier}, issued after T (a number a customer may hold)"
    return ""


def quarantine(
    storage: list[dict[str, str]], after: dict[str, Any], media: Path, folder: Path
) -> int:
    """Move the orphans aside: only the files of certificates issued after T may be."""
    wrong = [p for p in storage if p["kind"] != "orphan"]
    if wrong:
        raise DrillFailed(f"verify_storage after the restore: {wrong}")
    numbers = after["issued"]
    unexplained = [p["path"] for p in storage if not any(n in p["path"] for n in numbers)]
    if unexplained:
        raise DrillFailed(f"orphan files that no certificate after T explains: {unexplained}")
    if len(storage) != 2 * len(numbers):
        raise DrillFailed(
            f"expected the PDF and DCC of {numbers} as orphans, found {len(storage)} file(s)"
        )
    for problem in storage:
        target = folder / problem["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(media / problem["path"], target)
    return len(storage)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["django"]:
        return django_step(args_list[1:])
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the temporary directory")
    args = parser.parse_args(args_list)

    tools = find_tools()
    if isinstance(tools, str):
        if os.environ.get("CI", "").lower() == "true":
            print(f"drill: FAILED: {tools} (CI=true: the drill must run)", file=sys.stderr)
            return 1
        print(f"drill: skipped: {tools}")
        return 0
    started = time.monotonic()
    with throwaway_home("caltrace-drill-", keep=args.keep) as home:
        try:
            figures = drill(tools, home)
        except (DrillFailed, ClusterError, subprocess.CalledProcessError) as exc:
            detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else ""
            print(f"drill: FAILED: {exc}\n{detail or ''}".rstrip(), file=sys.stderr)
            return 1
        finally:
            if args.keep:
                print(f"drill: left in {home}")
    total = time.monotonic() - started
    print(
        "drill: PASSED: "
        f"backup {figures['backup_database_bytes'] / 1e6:.1f} MB of database stored as "
        f"{figures['backup_repo_bytes'] / 1e6:.1f} MB in {figures['backup_s']:.1f} s; "
        f"repository with the WAL archive {figures['repo_bytes'] / 1e6:.1f} MB; "
        f"media archive {figures['media_backup_bytes'] / 1e3:.0f} kB; "
        f"restore {figures['restore_s']:.1f} s; verify {figures['verify_s']:.1f} s; "
        f"numbers reserved and orphans quarantined {figures['reserve_s']:.1f} s; "
        f"drill {total:.0f} s (of which the cluster {figures['setup_s']:.0f} s, "
        f"the demo's certificates {figures['demo_s']:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
