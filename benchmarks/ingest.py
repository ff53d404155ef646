"""Benchmark of run ingestion by the LIMS against a bare DRF insert, same server, same run.

    .venv/bin/python benchmarks/ingest.py [--runs N] [--rounds N] [--workers N] [--quick]

Starts gunicorn (sync workers, ``--workers``, 2 by default) on a free loopback port,
serving the benchmark site ``benchmarks/ingest_site`` (the LIMS's settings and URLs unchanged,
plus the baseline and floor endpoints; nothing of it ships in ``labserver/``). The database is
PostgreSQL when ``DATABASE_URL`` is set (a database ``caltrace_bench_ingest`` on the same server,
created and dropped by this script), else a temporary SQLite file; it is migrated and
given its fixtures through the services, as the tests do: an organization, a metrologist
certified for the field, an agent with a fresh Ed25519 key, a reference standard with
its certificate, a procedure, and one accepted job per run to submit.

Every request carries the same run: 20 points of 10 readings each, a DC-voltage model
per point (``E = x + d_res - V_s``) with the agent's GUM result and an acceptance
interval, one reference standard, environment and raw I/O (about 40 kB of JSON); only
the run id and the job number change. Three endpoints of the same server receive it:

* caltrace, ``POST /api/v1/runs/``: agent token, Ed25519 signature over the exact body,
  validation by the DRF serializers, the job locked and checked, the operator's
  certification, the standard's status on the date of use, re-evaluation of every
  point's model by GUM with the conformity decision and the comparison with the agent,
  then the run, 20 points, 200 readings, the standard usage and the "performed"
  signature inserted, the job moved to measured and three audit entries chained;
* the baseline, ``POST /bench/baseline/`` (``benchmarks/ingest_site/views.py``): the same body
  and token; in one transaction it inserts the same 20 ``Point`` and 200 ``Reading``
  rows with plain ``ModelSerializer(many=True)`` and ``save()`` (DRF's defaults: one
  INSERT per row, one query per row for each primary-key related field, the uniqueness
  validator of the point's (run, index) constraint). No signature, no re-evaluation,
  no standards, no job, no audit entry; its parent ``Run`` row is created beforehand;
* for context only, the floor, ``POST /bench/floor/``: the same rows built straight from
  the body and written by two ``bulk_create`` calls, without any validation: the least an
  endpoint that stores them can cost here.

Rows per second count the 220 point and reading rows of a run for all three (caltrace
also writes the run, usage, signature and audit rows, which are not counted). Every body is
built and signed before the clock starts; ``--workers`` client threads post them over
``http.client`` (the sync workers close each connection after the response; a loopback
reconnection costs far less than a request). After a warm-up of every endpoint, rounds
alternate baseline, caltrace and floor; the figures are medians over the rounds. Every
response must be 201. The target is caltrace >= 50 % of the baseline's runs per
second: the exit status is 1 below it, and the figures are printed either way.
"""

from __future__ import annotations

import os
import sys

# This folder holds scripts named like the packages they measure (uncertainty.py,
# drivers.py): run as a script, it comes first on sys.path and would shadow them.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import base64  # noqa: E402
import fcntl  # noqa: E402
import hashlib  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from benchmarks.gunicorn_site import serve  # noqa: E402
from procedures.record import (  # noqa: E402
    Acceptance,
    Point,
    ProcedureRef,
    Reading,
    Result,
    RunHeader,
    RunRecord,
    StandardUsed,
)

SETTINGS = "benchmarks.ingest_site.settings"
BENCH_DATABASE = "caltrace_bench_ingest"
POINTS = 20
READINGS = 10
ROWS = POINTS + POINTS * READINGS
TARGET = 0.50
REAL = "/api/v1/runs/"
BASELINE = "/bench/baseline/"
FLOOR = "/bench/floor/"


def bench_procedure() -> dict[str, Any]:
    """The shipped DC-voltage procedure with 20 points on the 10 V range (id bench-dcv)."""
    from benchmarks.dcv import derived_dcv

    return derived_dcv("bench-dcv", points=POINTS)


# ------------------------------------------------------------------ the database


@contextmanager
def bench_database(name: str = BENCH_DATABASE) -> Iterator[tuple[str, str]]:
    """A fresh, empty database ``name`` for a benchmark (on the server of ``DATABASE_URL``,
    else a temporary SQLite file): its URL and a label; dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        with tempfile.TemporaryDirectory(prefix="caltrace-bench-") as tmp:
            path = Path(tmp) / "bench.sqlite3"
            label = "SQLite (temporary file)"
            if _copy_migrated_sqlite(path):
                label = "SQLite (temporary file, copied from a migrated one)"
            yield f"sqlite:///{path}", label
        return
    import psycopg

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit(f"DATABASE_URL: expected a PostgreSQL URL, got scheme {parts.scheme!r}")
    admin = urlunsplit(parts._replace(scheme="postgresql"))
    bench = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
        version = conn.execute("SHOW server_version").fetchone()
    try:
        yield bench, f"PostgreSQL {version[0] if version else '?'} (database {name})"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


#: A folder where a migrated SQLite database is kept and reused by the next benchmark that
#: runs on SQLite, instead of migrating a new one (ten seconds of CPU each time); the test
#: suite sets it for its run, so its benchmarks' smoke tests migrate once between them.
MIGRATED_SQLITE_VARIABLE = "CALTRACE_BENCH_MIGRATED_SQLITE"


def _copy_migrated_sqlite(path: Path) -> bool:
    """Copy to ``path`` the migrated SQLite database of the folder the environment names
    (:data:`MIGRATED_SQLITE_VARIABLE`), migrating it first under the folder's lock when it
    has none for these migrations (its name carries their digest, so a migration added or
    changed is never skipped); False when no folder is named. The caller migrates the copy
    as it would a new file: whatever it adds (a site's own models) is applied then."""
    folder = os.environ.get(MIGRATED_SQLITE_VARIABLE, "").strip()
    if not folder:
        return False
    digest = hashlib.sha256()
    for migration in sorted(Path(_ROOT).glob("*/*/migrations/*.py")):
        digest.update(str(migration.relative_to(_ROOT)).encode() + migration.read_bytes())
    home = Path(folder)
    home.mkdir(parents=True, exist_ok=True)
    migrated = home / f"migrated-{digest.hexdigest()[:16]}.sqlite3"
    with (home / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not migrated.exists():
                building = migrated.with_suffix(".building")
                building.unlink(missing_ok=True)
                env = {
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": "labserver.settings.dev",
                    "DATABASE_URL": f"sqlite:///{building}",
                }
                env.pop("DATABASE_OWNER_URL", None)
                subprocess.run(
                    [sys.executable, "manage.py", "migrate", "-v", "0"],
                    cwd=_ROOT,
                    env=env,
                    check=True,
                    timeout=600,
                )
                building.rename(migrated)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    shutil.copyfile(migrated, path)
    return True


# ------------------------------------------------------------------ fixtures and bodies


@dataclass
class Fixtures:
    token: str
    key: Ed25519PrivateKey
    jobs: list[str]
    parent_runs: list[str]
    procedure: dict[str, str]
    operator: str
    standard: str


def make_fixtures(jobs_needed: int, parents_needed: int) -> Fixtures:
    """Migrate, then create the laboratory through the services, as the tests do."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from django.db import connections

    from labserver.accounts import services as accounts
    from labserver.instruments import services as instruments
    from labserver.instruments.models import InstrumentType
    from labserver.jobs import services as jobs
    from labserver.measurements.models import Run
    from labserver.standards import services as standards

    today = date.today()
    dmm = InstrumentType.objects.create(
        code="dmm", name="Digital multimeter", field="electrical", legal_category="group_2"
    )
    procedure = jobs.register_procedure(actor=None, definition=bench_procedure())
    org = accounts.create_organization(
        actor=None, code="BENCH", name="Bench center", kind="provincial_center"
    )
    customer = accounts.create_organization(
        actor=None, code="BENCH-CUST", name="Bench customer", kind="customer"
    )
    qm = accounts.create_user(
        actor=None, username="bench-qm", password="bench-only-password", full_name="Bench QM"
    )
    accounts.grant_role(actor=None, user=qm, organization=org, role="quality_manager")
    metrologist = accounts.create_user(
        actor=None,
        username="bench-metro",
        password="bench-only-password",
        full_name="Bench Metrologist",
    )
    accounts.grant_role(
        actor=None, user=metrologist, organization=org, role="metrologist", fields=["electrical"]
    )
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    agent, token = accounts.register_agent(
        actor=qm, organization=org, name="bench-1", public_key=base64.b64encode(public).decode()
    )
    instrument = instruments.register_instrument(
        actor=qm,
        organization=org,
        owner=customer,
        instrument_type=dmm,
        manufacturer="Keysight",
        model="34465A",
        serial="MYBENCH0001",
    )
    standard = standards.register_standard(
        actor=qm,
        organization=org,
        asset_id="BENCH-CAL-01",
        name="Multifunction calibrator",
        field="electrical",
        calibration_interval_months=12,
        manufacturer="Fluke",
        model="5522A",
        functions=[{"role": "source", "function": "dcv", "unit": "V", "min": -1020, "max": 1020}],
    )
    standards.record_certificate(
        actor=qm,
        standard=standard,
        number="NMI-BENCH-001",
        issuing_lab="National Metrology Institute",
        accreditation="CIPM MRA",
        calibrated_on=today - timedelta(days=100),
        issued_on=today - timedelta(days=95),
        due_on=today + timedelta(days=265),
        # A value at every point's nominal: the LIMS checks each run's V_s against it.
        values=[
            {
                "quantity": "dcv",
                "nominal": 0.5 * (i + 1),
                "value": 0.5 * (i + 1),
                "unit": "V",
                "U": 2e-6 + 5e-6 * 0.5 * (i + 1),
                "k": 2,
                "coverage_probability": 0.95,
            }
            for i in range(POINTS)
        ],
    )
    numbers = []
    first_job = None
    for _ in range(jobs_needed):
        job = jobs.create_job(actor=qm, instrument=instrument, procedure=procedure, bench=agent)
        job = jobs.accept_job(actor=qm, job=job)
        first_job = first_job or job
        numbers.append(job.number)
    now = datetime.now(UTC)
    parents = [str(uuid.uuid4()) for _ in range(parents_needed)]
    Run.objects.bulk_create(
        Run(
            id=run_id,
            organization=org,
            job=first_job,
            agent=agent,
            operator=metrologist,
            procedure=procedure,
            software_version="baseline parent",
            started_at=now,
            finished_at=now,
            payload={},
            payload_sha256="",
            signature="",
            response={},
        )
        for run_id in parents
    )
    fixtures = Fixtures(
        token=token,
        key=key,
        jobs=numbers,
        parent_runs=parents,
        procedure={
            "id": procedure.procedure_id,
            "version": procedure.version,
            "hash": procedure.content_hash,
        },
        operator=metrologist.username,
        standard=standard.asset_id,
    )
    connections.close_all()  # the server's workers open their own
    return fixtures


def make_points() -> list[Point]:
    """20 DC-voltage points of 10 readings, with the agent's GUM result, as an agent sends them."""
    from procedures.acceptance import limits_for
    from procedures.definition import definition_from_data
    from procedures.scope import point_scope
    from uncertainty.gum import evaluate_gum
    from uncertainty.model import parse_model

    definition = definition_from_data(bench_procedure())
    test = definition.tests[0]
    assert test.mpe is not None
    stamp = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    points = []
    for i in range(POINTS):
        nominal = 0.5 * (i + 1)
        readings = [nominal + 1e-6 * ((i + j) % 3 - 1) for j in range(READINGS)]
        model = {
            "name": f"DCV error at {nominal} V",
            "outputs": {"E": {"expression": "x + d_res - V_s", "unit": "V"}},
            "quantities": {
                "x": {"samples": readings, "unit": "V"},
                "d_res": {
                    "value": 0,
                    "distribution": "rectangular",
                    "half_width": 0.5e-6,
                    "unit": "V",
                },
                "V_s": {"value": nominal, "U": 2e-6 + 5e-6 * nominal, "k": 2, "unit": "V"},
            },
        }
        out = evaluate_gum(parse_model(model))["E"]
        scope = {**point_scope({}, {}, test, test.points[i]), "result": out.value}
        limits = limits_for(test.mpe, scope, where="bench")
        points.append(
            Point(
                index=i,
                test="dcv",
                nominal=nominal,
                unit="V",
                readings_quantity="x",
                output="E",
                model=model,
                result=Result(value=out.value, u=out.u, U=out.U, k=out.k, dof=out.dof),
                conformity="pass" if limits.lower <= out.value <= limits.upper else "fail",
                acceptance=Acceptance.of(limits),
                readings=tuple(
                    Reading(
                        value=r,
                        unit="V",
                        timestamp=(stamp + timedelta(seconds=10 * i + j)).isoformat(),
                        stable=True,
                        raw=f"{r:+.9E}",
                    )
                    for j, r in enumerate(readings)
                ),
            )
        )
    return points


def make_body(fx: Fixtures, points: list[Point], run_id: str, job: str) -> bytes:
    started = datetime.now(UTC) - timedelta(minutes=30)
    header = RunHeader(
        run_id=run_id,
        job=job,
        procedure=ProcedureRef(**fx.procedure),
        operator=fx.operator,
        software_version="caltrace-agent 0.1.0",
        started_at=started.isoformat(),
        environment={
            "temperature": {"value": 23.1, "unit": "°C"},
            "humidity": {"value": 45, "unit": "%"},
        },
        standards=(StandardUsed(fx.standard, "source", "dcv", "V", 0, 10),),
    )
    body = RunRecord(
        header=header,
        finished_at=(started + timedelta(minutes=20)).isoformat(),
        points=tuple(points),
        raw_io=(
            {
                "t": started.isoformat(),
                "dir": "tx",
                "address": "TCPIP::127.0.0.1::5025::SOCKET",
                "data": "MEAS:VOLT:DC? 10",
            },
        ),
    )
    return json.dumps(body.to_json()).encode()


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


def requests_for(fx: Fixtures) -> tuple[list[Request], list[Request], list[Request]]:
    """Every request of the benchmark, built and signed before the clock starts."""
    points = make_points()

    def request(path: str, run_id: str, job: str) -> Request:
        body = make_body(fx, points, run_id, job)
        return Request(
            path,
            body,
            {
                "Authorization": f"Token {fx.token}",
                "Content-Type": "application/json",
                "X-Caltrace-Signature": base64.b64encode(fx.key.sign(body)).decode(),
            },
        )

    real = [request(REAL, str(uuid.uuid4()), job) for job in fx.jobs]
    half = len(fx.parent_runs) // 2
    baseline = [request(BASELINE, run_id, fx.jobs[0]) for run_id in fx.parent_runs[:half]]
    floor = [request(FLOOR, run_id, fx.jobs[0]) for run_id in fx.parent_runs[half:]]
    return real, baseline, floor


# ------------------------------------------------------------------ the server


@contextmanager
def server(database_url: str, workers: int, log_path: str) -> Iterator[int]:
    """gunicorn serving the benchmark site on loopback; yields its port once it answers."""
    with serve(
        SETTINGS, database_url, log_path, ["--workers", str(workers), "--worker-class", "sync"]
    ) as port:
        yield port


# ------------------------------------------------------------------ the clients


def post_all(port: int, requests: list[Request], threads: int) -> float:
    """Post every request from ``threads`` client threads; wall time in seconds."""
    pending = iter(requests)
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        try:
            while not failures:
                with lock:
                    request = next(pending, None)
                if request is None:
                    return
                conn.request("POST", request.path, request.body, request.headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status != 201:
                    failures.append(f"{request.path}: {response.status} {answer[:2000]!r}")
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit("a request failed: " + failures[0])
    return elapsed


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="runs posted per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers = client threads")
    parser.add_argument("--quick", action="store_true", help="10 runs, 2 rounds: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.rounds = 10, 2
    warmup = 3 * args.workers
    needed = warmup + args.runs * args.rounds

    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    with bench_database() as (url, label):
        os.environ["DATABASE_URL"] = url
        os.environ.pop("DATABASE_OWNER_URL", None)  # the bench's database has one role
        print(f"database: {label}; preparing {needed} jobs and {2 * needed} parent runs…")
        fx = make_fixtures(needed, 2 * needed)
        real, baseline, floor = requests_for(fx)
        print(
            f"run: {POINTS} points x {READINGS} readings, {len(real[0].body) / 1000:.0f} kB "
            f"of JSON; gunicorn {args.workers} sync workers, {args.workers} client threads, "
            f"{args.runs} runs per round, {args.rounds} rounds"
        )
        with (
            tempfile.NamedTemporaryFile(prefix="caltrace-gunicorn-", suffix=".log") as log,
            server(url, args.workers, log.name) as port,
        ):
            for requests in (baseline, real, floor):
                post_all(port, requests[:warmup], args.workers)
            rates: dict[str, list[float]] = {"baseline": [], "caltrace": [], "floor": []}
            endpoints = (("baseline", baseline), ("caltrace", real), ("floor", floor))
            for r in range(args.rounds):
                chunk = slice(warmup + r * args.runs, warmup + (r + 1) * args.runs)
                for name, requests in endpoints:
                    rates[name].append(args.runs / post_all(port, requests[chunk], args.workers))
                print(
                    f"  round {r + 1}: "
                    + ", ".join(f"{name} {rate[-1]:6.2f} runs/s" for name, rate in rates.items())
                )
    base, ours, least = (statistics.median(rates[name]) for name in rates)
    ratio = ours / base
    print()
    print(f"{'endpoint':<50} {'runs/s':>7} {'rows/s':>7} {'of baseline':>12}")
    for label, rate in (
        ("baseline: DRF ModelSerializer(many=True) insert", base),
        ("caltrace: POST /api/v1/runs/, re-evaluated", ours),
        ("floor: bulk_create of the rows, no validation", least),
    ):
        print(f"{label:<50} {rate:7.2f} {rate * ROWS:7.0f} {rate / base:12.1%}")
    met = ratio >= TARGET
    print(f"target: caltrace >= {TARGET:.0%} of the baseline: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
