"""Benchmark of batch issuing: N certificates issued by one signature act against N single
issues, same process, same database, same run.

    .venv/bin/python benchmarks/batch_issue.py [--certificates N] [--quick]

The database is PostgreSQL when ``DATABASE_URL`` is set (a database ``caltrace_bench_batch_issue``
on the same server, created and dropped by this script), else a temporary SQLite file; the
certificate files, the DEMO PKI (generated on the first signature) and the audit anchors go
to a temporary directory. The laboratory is made through the services as the ingest
benchmark makes it (:func:`benchmarks.ingest.make_fixtures`: an organization, a metrologist,
an agent, a calibrator with its certificate, the 20-point DC-voltage procedure, one accepted
job per run), plus a reviewer and a signatory. ``2 N + 2`` runs of 20 points and 10 readings
each are submitted through :func:`labserver.measurements.services.submit_run` (re-evaluated
by the server) and reviewed and approved by batch, all before the clock starts.

The two arms, each over N runs, each certificate numbered, rendered with its DCC, signed
with the organization's key, checked with ``verify_pdf`` and stored in its own issuing
transaction, with its audit entry and the audit chain's anchor after the commit:

* **single**: :func:`labserver.issuance.services.issue_certificate`, once per run, the
  password checked each time (what a signatory did before batches);
* **batch**: :func:`labserver.issuance.batch.issue_certificates`, one call for the runs
  of the round, the password checked once.

After one untimed certificate of each arm: single issues of N / 2 runs, the batch of N runs
as one act, single issues of the other N / 2 (a drift of the machine or of the growing
tables weighs on both arms alike); an arm's rate is N over its wall time. The target: the
batch's rate at least :data:`TARGET` of the single rate (no batch overhead). The single arm
pays a password check (PBKDF2) per certificate, the batch one per act.
Every certificate must be issued; the exit status is 1 when the target is missed, 2 when a
certificate was refused; the figures are printed either way.

The procedure is the DC-voltage calibration the ingest benchmark uses: its runs are
generated without a simulator, and each certificate goes through the same issuing path as a
verification's (a verification adds its mark number, one more counter row).
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
import json  # noqa: E402
import logging  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.ingest import bench_database, make_body, make_fixtures, make_points  # noqa: E402

SETTINGS = "labserver.settings.dev"
BENCH_DATABASE = "caltrace_bench_batch_issue"
PASSWORD = "bench-only-password"
TARGET = 0.90


def approved_runs(fx: Any, count: int) -> tuple[list[Any], Any]:
    """``count`` runs submitted by the agent, reviewed and approved (batches, one password
    each), and the signatory who will issue their certificates."""
    from labserver.accounts import services as accounts
    from labserver.accounts.auth import AgentPrincipal
    from labserver.accounts.models import Agent, Organization
    from labserver.measurements.batch import approve_runs, review_runs
    from labserver.measurements.services import submit_run
    from labserver.standards.models import ReferenceStandard
    from procedures.record import RunRecord

    org = Organization.objects.get(code="BENCH")
    # A certificate prints the standard's serial and both addresses (ISO/IEC 17025 7.8.2.1).
    ReferenceStandard.objects.filter(organization=org).update(serial="BENCH-SN-1")
    Organization.objects.filter(code="BENCH").update(address="1 Bench Street")
    Organization.objects.filter(code="BENCH-CUST").update(address="2 Customer Road")
    people = {}
    for role in ("reviewer", "signatory"):
        user = accounts.create_user(
            actor=None, username=f"bench-{role}", password=PASSWORD, full_name=f"Bench {role}"
        )
        accounts.grant_role(
            actor=None, user=user, organization=org, role=role, fields=["electrical"]
        )
        people[role] = user
    principal = AgentPrincipal(Agent.objects.get(organization=org))
    points = make_points()
    runs = []
    for job in fx.jobs[:count]:
        body = json.loads(make_body(fx, points, str(uuid.uuid4()), job))
        record = RunRecord.from_json(body)
        runs.append(submit_run(principal=principal, body=body, record=record, signature="").run)
    review_runs(actor=people["reviewer"], runs=runs, password=PASSWORD)
    approved = approve_runs(actor=people["signatory"], runs=runs, password=PASSWORD)
    if approved.refused:
        raise SystemExit(f"a run was not approved: {approved.refused[0].refused}")
    return runs, people["signatory"]


def arms(signatory: Any) -> dict[str, Callable[[list[Any]], int]]:
    """Each arm issues the certificates of the runs given and says how many it issued."""
    from labserver.core.errors import DomainError
    from labserver.issuance.batch import issue_certificates
    from labserver.issuance.services import issue_certificate

    def single(runs: list[Any]) -> int:
        issued = 0
        for run in runs:
            try:
                issue_certificate(actor=signatory, run=run, password=PASSWORD)
            except DomainError as exc:
                print(f"  single: job {run.job.number} refused: {exc.detail}")
            else:
                issued += 1
        return issued

    def batch(runs: list[Any]) -> int:
        result = issue_certificates(actor=signatory, runs=runs, password=PASSWORD)
        for outcome in result.refused:
            print(f"  batch: job {outcome.run.job.number} refused: {outcome.refused}")
        return len(result.done)

    return {"single": single, "batch": batch}


def measure(runs: list[Any], signatory: Any, n: int) -> tuple[dict[str, float], int]:
    """Wall time of each arm over ``n`` runs: single issues of the first half, the batch of
    ``n`` as one act, single issues of the second half (so a drift of the machine or the
    growing tables weighs on both arms alike); and the count of certificates refused."""
    issue = arms(signatory)
    refused = 0
    for arm in issue.values():  # one untimed certificate each
        refused += 1 - arm([runs.pop()])
    seconds = dict.fromkeys(issue, 0.0)
    half = n // 2
    plan = [("single", half), ("batch", n), ("single", n - half)]
    for name, size in plan:
        chunk, runs[:] = runs[:size], runs[size:]
        start = time.perf_counter()
        issued = issue[name](chunk)
        seconds[name] += time.perf_counter() - start
        refused += size - issued
        print(f"  {name}: {size} certificates, {time.perf_counter() - start:.1f} s")
    return seconds, refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=1000, help="N, per arm")
    parser.add_argument("--quick", action="store_true", help="N = 4: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.certificates = 4
    n = max(2, args.certificates)
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="caltrace-batch-") as tmp:
        os.environ.update(
            DJANGO_SETTINGS_MODULE=SETTINGS,
            DEBUG="0",  # no query log kept in memory over thousands of certificates
            MEDIA_ROOT=f"{tmp}/media",
            CALTRACE_DEMO_PKI_DIR=f"{tmp}/demo-pki",
            CALTRACE_ANCHOR_DIR=f"{tmp}/anchors",
        )
        with bench_database(BENCH_DATABASE) as (url, label):
            os.environ["DATABASE_URL"] = url
            os.environ.pop("DATABASE_OWNER_URL", None)  # the bench's database has one role
            needed = 2 * n + 2
            print(f"database: {label}; preparing {needed} approved runs…")
            fx = make_fixtures(needed, 0)
            runs, signatory = approved_runs(fx, needed)
            print(f"issuing {n} certificates per arm: single, batch (one act), single")
            seconds, refused = measure(runs, signatory, n)
            from django.db import connections

            connections.close_all()  # before the database is dropped
    rate = {name: n / s for name, s in seconds.items()}
    share = rate["batch"] / rate["single"]
    print()
    print(f"{'arm':<44} {'wall time':>10} {'certificates/s':>15}")
    for name, label in (
        ("single", "single: issue_certificate, N times"),
        ("batch", "batch: issue_certificates, one act"),
    ):
        print(f"{label:<44} {seconds[name]:9.1f}s {rate[name]:15.2f}")
    met = share >= TARGET
    print(
        f"N = {n}: batch rate {share:.1%} of the single rate; target >= {TARGET:.0%}: "
        f"{'met' if met else 'NOT met'}"
    )
    if refused:
        print(f"{refused} certificate(s) refused: the figures do not count them")
        return 2
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
