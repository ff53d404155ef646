"""Benchmark of the registry's replication: the lag under a sustained load from two
centers, and the replication's throughput against a bare ``INSERT … SELECT`` between the
same clusters, in the same run.

    .venv/bin/python benchmarks/replication.py [--seconds S] [--rate N] [--burst N]
        [--json PATH] [--quick]

**The clusters**: three throw-away PostgreSQL clusters on loopback (``wal_level =
logical``), cloned from one migrated caltrace database (the federation tests' helpers,
:mod:`tests.support.federation`): the centers C1 and C2 and the national node. Each
center publishes its registry (``manage.py federation publish --issuer C1``), the national
node subscribes to both (``federation subscribe``): the publication, row filters, column
lists, the arrival trigger and the partitioned certificate facts are the product's.
It needs the PostgreSQL server binaries (``initdb``, ``pg_ctl``) and the ``dblink``
extension (``postgresql-contrib``; Debian's server package ships it); without them it
says so and exits 2.

**Lag**: each center issues ``--rate`` certificates a second (20) for ``--seconds`` (60):
per certificate, one transaction writes its ``issued`` fact and a reliance fact on a
reference standard, with the columns :func:`labserver.registry.records.record_issued`
writes, as the runtime role would (plain ``INSERT``: the benchmark process holds no Django
of the centers). Every tenth certificate is later revoked (a ``revoked`` fact). The
writer takes the time when its ``COMMIT`` returns; on the national node an ``AFTER
INSERT`` trigger of the benchmark's own (``ENABLE REPLICA``: it fires in the apply worker
only) takes ``clock_timestamp()`` when the fact arrives. The same machine, the same clock:
the lag of a fact is the difference. Reported: p50, p99 and max over every fact, and
whether each center's writer kept its rate.

**Throughput**: a burst of ``--burst`` (20,000) certificate facts committed at once on
center C1, timed from the commit to the arrival of the last on the national node; against
it, on the national node, a bare ``INSERT INTO registry_certificatefact SELECT … FROM
dblink(<C1>, 'SELECT … FROM registry_certificatefact WHERE …')`` of the same rows (their
keys, issuers and numbers prefixed so that they are new facts to the same table, with the
same indexes and partitions, under the node's own triggers). Reported: facts a second
each, and the ratio.

The machine is shared (2 cores, three servers, two writers and this process on it): the
figures say what this machine did on this run. ``--quick`` is the suite's smoke test
(3 s at 5 a second, a burst of 300). Exit status 0 unless a step failed.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.traceability import percentile  # noqa: E402

CENTERS = ("C1", "C2")
PASSWORD = "bench replication secret"
COLUMNS = (
    "key, issuer, region, number, event, at, kind, verdict, instrument_type, pattern, "
    "manufacturer, model, serial, issued_on, valid_until, mark, supersedes, superseded_by, "
    "pdf_sha256, signer_fingerprint"
)
ARRIVAL_SQL = """
CREATE TABLE bench_arrival (key text PRIMARY KEY, at timestamptz NOT NULL);
CREATE FUNCTION bench_arrived() RETURNS trigger AS $$
BEGIN
    INSERT INTO public.bench_arrival VALUES (NEW.key, clock_timestamp());
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER bench_arrived AFTER INSERT ON registry_certificatefact
    FOR EACH ROW EXECUTE FUNCTION bench_arrived();
ALTER TABLE registry_certificatefact ENABLE REPLICA TRIGGER bench_arrived;
"""


def _fact(issuer: str, number: str, event: str, now: datetime) -> tuple[Any, ...]:
    """A certificate fact as ``record_issued`` writes it (a follow-up repeats it whole)."""
    day = now.date()
    return (
        f"{issuer}/{number}/{event}", issuer, "Province", number, event, now, "verification",
        "pass", "water_meter", "PAT-1", "Maker", "M1", f"SN-{number}", day,
        day + timedelta(days=365), f"VM-{number}", "", "", "a" * 64, "b" * 64,
    )  # fmt: skip


_INSERT_FACT = f"INSERT INTO registry_certificatefact ({COLUMNS}) VALUES ({', '.join(['%s'] * 20)})"
_INSERT_RELIANCE = (
    "INSERT INTO registry_reliancefact (key, issuer, number, standard_owner, standard, "
    "standard_certificate, standard_certificate_issuer, used_on) "
    "VALUES (%s, %s, %s, %s, 'STD-1', 'CAL-1', 'National lab', %s)"
)


@dataclass
class Writer:
    """One center's writer: ``rate`` certificates a second for ``seconds``."""

    url: str
    issuer: str
    rate: float
    seconds: float
    committed: dict[str, float] = field(default_factory=dict)
    behind_s: float = 0.0
    error: str = ""

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url, autocommit=False) as conn:
                self._write(conn)
        except Exception as error:  # reported by the main thread
            self.error = f"{type(error).__name__}: {error}"

    def _write(self, conn: Any) -> None:
        start = time.monotonic()
        count = int(self.rate * self.seconds)
        for n in range(count):
            due = start + n / self.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                self.behind_s = max(self.behind_s, -pause)
            number = f"{self.issuer}-VC-{datetime.now(UTC).year}-{n:07d}"
            now = datetime.now(UTC)
            with conn.cursor() as cursor:
                cursor.execute(_INSERT_FACT, _fact(self.issuer, number, "issued", now))
                cursor.execute(
                    _INSERT_RELIANCE,
                    [f"{self.issuer}/{number}/LAB/STD-1/CAL-1", self.issuer, number, "LAB",
                     now.date()],
                )  # fmt: skip
                if n % 10 == 9:  # a revocation of an earlier certificate
                    earlier = f"{self.issuer}-VC-{now.year}-{n - 9:07d}"
                    cursor.execute(_INSERT_FACT, _fact(self.issuer, earlier, "revoked", now))
            conn.commit()
            done = time.time()
            self.committed[f"{self.issuer}/{number}/issued"] = done
            if n % 10 == 9:
                self.committed[f"{self.issuer}/{earlier}/revoked"] = done


def _wait_arrived(national: Any, keys: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        (have,) = national.execute("SELECT count(*) FROM bench_arrival").fetchone()
        if have >= keys:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"only {have} of {keys} facts arrived within {timeout_s:.0f} s")
        time.sleep(0.05)


def lag_phase(urls: dict[str, str], national: Any, rate: float, seconds: float) -> dict[str, Any]:
    writers = [Writer(urls[c], c, rate, seconds) for c in CENTERS]
    threads = [threading.Thread(target=w.run) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer in writers:
        if writer.error:
            raise SystemExit(f"center {writer.issuer}: {writer.error}")
    committed = {k: v for w in writers for k, v in w.committed.items()}
    _wait_arrived(national, len(committed), 120)
    arrived = dict(
        national.execute("SELECT key, extract(epoch FROM at)::float8 FROM bench_arrival")
    )
    lags = [(arrived[k] - t) * 1000 for k, t in committed.items()]
    return {
        "facts": len(lags),
        "certificates_per_s_per_center": rate,
        "seconds": seconds,
        "lag_ms": {
            "p50": percentile(lags, 50),
            "p99": percentile(lags, 99),
            "max": max(lags),
        },
        "writers_behind_s": {w.issuer: round(w.behind_s, 3) for w in writers},
    }


def throughput_phase(center: Any, national: Any, conninfo: str, burst: int) -> dict[str, Any]:
    """The burst through replication, then the same rows by a bare INSERT … SELECT."""
    (before,) = national.execute("SELECT count(*) FROM bench_arrival").fetchone()
    started = time.time()
    center.execute(
        f"INSERT INTO registry_certificatefact ({COLUMNS}) "
        "SELECT 'C1/C1-BURST-' || i || '/issued', 'C1', 'Province', 'C1-BURST-' || i, "
        "'issued', now(), 'verification', 'pass', 'water_meter', 'PAT-1', 'Maker', 'M1', "
        "'SN' || i, current_date, current_date + 365, 'VM' || i, '', '', "
        "repeat('a', 64), repeat('b', 64) FROM generate_series(1, %s) AS i",
        [burst],
    )
    committed = time.time()  # autocommit: the statement's transaction is committed
    _wait_arrived(national, before + burst, 600)
    (last,) = national.execute(
        "SELECT extract(epoch FROM max(at))::float8 FROM bench_arrival"
    ).fetchone()
    replicated_s = last - committed
    national.execute("CREATE EXTENSION IF NOT EXISTS dblink")
    remote = f"SELECT {COLUMNS} FROM registry_certificatefact WHERE number LIKE ''C1-BURST-%%''"
    started_bare = time.perf_counter()
    national.execute(
        f"INSERT INTO registry_certificatefact ({COLUMNS}) "
        "SELECT 'X' || key, 'X' || issuer, region, 'X' || number, event, at, kind, verdict, "
        "instrument_type, pattern, manufacturer, model, serial, issued_on, valid_until, mark, "
        "supersedes, superseded_by, pdf_sha256, signer_fingerprint "
        f"FROM dblink(%s, '{remote}') AS t (key text, issuer text, region text, number text, "
        "event text, at timestamptz, kind text, verdict text, instrument_type text, "
        "pattern text, manufacturer text, model text, serial text, issued_on date, "
        "valid_until date, mark text, supersedes text, superseded_by text, pdf_sha256 text, "
        "signer_fingerprint text)",
        [conninfo],
    )
    bare_s = time.perf_counter() - started_bare
    return {
        "burst": burst,
        "insert_on_center_s": round(committed - started, 3),
        "replication_s": round(replicated_s, 3),
        "replication_facts_per_s": burst / replicated_s,
        "insert_select_s": round(bare_s, 3),
        "insert_select_facts_per_s": burst / bare_s,
        "ratio": (burst / replicated_s) / (burst / bare_s),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    from tests.support.clusters import Cluster, server_bindir, throwaway_home
    from tests.support.federation import DATABASE, manage, migrated_template

    bindir = server_bindir()
    if bindir is None:
        raise SystemExit("benchmarks/replication.py needs the PostgreSQL server binaries")
    env = {"CALTRACE_FEDERATION_PASSWORD": PASSWORD}
    started = time.monotonic()
    with throwaway_home("caltrace-replbench-") as home:
        clusters: list[Cluster] = []
        try:
            with migrated_template(bindir, home) as template:
                clusters += [template.clone(home / n) for n in ("c1", "c2", "national")]
            for cluster in clusters:
                cluster.start()
            c1, c2, national = clusters
            for cluster, code in ((c1, "C1"), (c2, "C2")):
                _ok(manage(cluster, home / f"{code}-var", "federation", "publish", "--issuer",
                           code, env=env))  # fmt: skip
            national.sql(ARRIVAL_SQL, database=DATABASE)
            for cluster, code in ((c1, "C1"), (c2, "C2")):
                conninfo = cluster.conninfo("caltrace_federation", DATABASE)
                _ok(manage(national, home / "national-var", "federation", "subscribe",
                           f"center_{code.lower()}", "--conninfo", conninfo, env=env))  # fmt: skip
            ready = time.monotonic() - started
            print(f"clusters ready in {ready:.0f} s; {args.rate}/s from each center for "
                  f"{args.seconds:g} s …", flush=True)  # fmt: skip
            urls = {"C1": c1.url("postgres", DATABASE), "C2": c2.url("postgres", DATABASE)}
            with (
                psycopg.connect(national.url("postgres", DATABASE), autocommit=True) as nat,
                psycopg.connect(urls["C1"], autocommit=True) as center,
            ):
                _wait_subscribed(nat)
                lag = lag_phase(urls, nat, args.rate, args.seconds)
                print(f"burst of {args.burst} …", flush=True)
                throughput = throughput_phase(
                    center, nat, c1.conninfo("postgres", DATABASE), args.burst
                )
            return {"clusters_ready_s": round(ready, 1), "lag": lag, "throughput": throughput}
        finally:
            for cluster in clusters:
                cluster.kill()


def _wait_subscribed(national: Any) -> None:
    """Both subscriptions past their initial copy (every table ``ready``)."""
    deadline = time.monotonic() + 120
    while True:
        (pending,) = national.execute(
            "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'"
        ).fetchone()
        (subs,) = national.execute("SELECT count(*) FROM pg_subscription").fetchone()
        if subs == len(CENTERS) and pending == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the subscriptions were not ready in 120 s ({pending} pending)")
        time.sleep(0.2)


def _ok(done: Any) -> None:
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(done.args[1:4])}… failed:\n{done.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0, help="certificates/s per center")
    parser.add_argument("--burst", type=int, default=20_000)
    parser.add_argument("--json", default=None)
    parser.add_argument("--quick", action="store_true", help="the suite's smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rate, args.burst = 3.0, 5.0, 300
    if args.rate <= 0 or args.seconds <= 0 or args.burst <= 0:
        raise SystemExit("--rate, --seconds and --burst: positive numbers")
    from tests.support.clusters import server_bindir

    if server_bindir() is None:
        print("benchmarks/replication.py needs the PostgreSQL server binaries (initdb, pg_ctl)",
              file=sys.stderr)  # fmt: skip
        return 2
    os.environ.setdefault("TMPDIR", tempfile.gettempdir())
    figures = run(args)
    lag, put = figures["lag"], figures["throughput"]
    print(
        f"\nlag of {lag['facts']} facts ({args.rate:g} certificates/s from each of "
        f"{len(CENTERS)} centers for {args.seconds:g} s): p50 {lag['lag_ms']['p50']:.0f} ms, "
        f"p99 {lag['lag_ms']['p99']:.0f} ms, max {lag['lag_ms']['max']:.0f} ms; writers "
        f"behind their schedule by at most {lag['writers_behind_s']} s\n"
        f"burst of {put['burst']} facts: replication {put['replication_facts_per_s']:.0f} "
        f"facts/s ({put['replication_s']} s after the commit), bare INSERT … SELECT over "
        f"dblink {put['insert_select_facts_per_s']:.0f} facts/s ({put['insert_select_s']} s); "
        f"ratio {put['ratio']:.2f}"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
