"""Benchmark of the national public lookup on a registry of ten million certificates, on
PostgreSQL, with the certificate facts partitioned by year.

    .venv/bin/python benchmarks/registry_lookup.py [--database-url URL] [--regenerate]
        [--certificates N] [--lookups N] [--rounds N] [--json PATH] [--quick]

**It needs PostgreSQL** (the partitioned table exists only there). The database is
``--database-url``, by default ``$REGISTRYBENCH_DATABASE_URL`` or
``postgres://postgres@127.0.0.1:5432/caltrace_registrybench``, created when missing (the
user needs CREATEDB and, to load fast, owns the tables it migrates). No PostgreSQL: it
says so and exits 2.

**The data set**: ``--certificates`` (10,000,000 by default) certificates of
``--issuers`` (400) issuers over ``--years`` (2021 to 2026: six yearly partitions), each
with its ``issued`` fact, and the mix of a national registry: 3 % superseded by an
amendment (a ``superseded`` fact), 1 % revoked (a ``revoked`` fact, some years after
issue for the oldest: the facts stay in the partition of the year of issue), 15 %
calibrations, 3 % failed verifications (notices). Numbers are
``<ISSUER>-<SERIES>-<YEAR>-<SEQ>``. The rows are written by PostgreSQL itself
(``INSERT … SELECT`` over ``generate_series``, one statement a year: no row crosses the
socket, which is faster than any ``COPY`` fed from Python), with the table's indexes and
constraints dropped for the load and built again after it, as ``pg_restore`` does, and the
key-once trigger off (the generated keys are distinct by construction; every other trigger
stays). Generating takes minutes, so the spec is stored in the table
``caltrace_bench_dataset`` and a later run with the same spec reuses the data set
(``--regenerate`` forces a new one). ``VACUUM ANALYZE`` ends the load.

**The arms**, alternated in ``--rounds`` rounds (5) after an untimed warm-up, in this
process through Django on one persistent connection, as a server's worker runs them:

* **public lookup**: :func:`labserver.issuance.national.registered_public` for
  ``--lookups`` numbers a round (80 % registered numbers drawn at random from every year
  and issuer, 20 % well-formed numbers nobody registered). Target: p99 under 10 ms.
* **baseline**: the fetch of one fact by its full primary key (key and date of issue:
  one index probe in one partition), through the same ORM and connection, for the same
  registered numbers: the floor under any registry read here.

Each round's percentiles are taken over its calls, and the figures are the medians over
rounds; the ratio is the lookup's p50 over the baseline's. The machine is shared (2
cores): read the spread between rounds. Exit status 1 when the target is missed.
``--quick`` is the suite's smoke test (a few thousand certificates, one round).
"""

from __future__ import annotations

import os
import sys

# This folder holds scripts named like the packages they measure: run as a script, it
# comes first on sys.path and would shadow them.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from datetime import date  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.traceability import (  # noqa: E402
    NoPostgres,
    percentile,
    recreate_database,
    stored_spec,
)

SETTINGS = "benchmarks.trace_site.settings"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/caltrace_registrybench"
DATASET_TABLE = "caltrace_bench_dataset"
GENERATOR_VERSION = 1
LOOKUP_TARGET_MS = 10.0
SERIES = "VC"


@dataclass(frozen=True)
class Spec:
    """What identifies a generated registry."""

    certificates: int
    issuers: int
    first_year: int
    last_year: int

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    def year_of(self, i: int) -> int:
        """The year certificate ``i`` (1-based) was issued in: equal shares per year."""
        return self.first_year + (i - 1) * len(self.years) // self.certificates

    def issuer_of(self, i: int) -> str:
        return f"I{i % self.issuers:03d}"

    def number_of(self, i: int) -> str:
        return f"{self.issuer_of(i)}-{SERIES}-{self.year_of(i)}-{i:08d}"

    def issued_on(self, i: int) -> date:
        return date.fromordinal(date(self.year_of(i), 1, 1).toordinal() + (i * 7919) % 365)


def setup_django(url: str) -> None:
    import django

    os.environ["DATABASE_URL"] = url
    os.environ.pop("DATABASE_OWNER_URL", None)  # the bench's database has one role
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    django.setup()


def _rows_sql(spec: Spec, year: int, low: int, high: int) -> str:
    """The facts of certificates ``low`` to ``high`` (all of ``year``), written by the
    server: each certificate's issued fact, a superseded fact for 3 % of them (replaced by
    an amendment of the same issuer, the next certificate of its issuer), a revoked one for
    1 % (up to three years later)."""
    day = f"(date '{year}-01-01' + ((i::bigint * 7919) % 365)::int)"
    issuer = f"'I' || lpad((i % {spec.issuers})::text, 3, '0')"
    number = f"{issuer} || '-{SERIES}-{year}-' || lpad(i::text, 8, '0')"
    verdict = "CASE WHEN i % 7 = 0 THEN '' WHEN i % 33 = 5 THEN 'fail' ELSE 'pass' END"
    kind = (
        "CASE WHEN i % 7 = 0 THEN 'calibration' WHEN i % 33 = 5 THEN 'notice' "
        "ELSE 'verification' END"
    )
    base = f"""
        SELECT i, {issuer} AS issuer, {number} AS number, {day} AS issued_on,
               {kind} AS kind, {verdict} AS verdict
          FROM generate_series({low}, {high}) AS i
    """
    events = """
        (VALUES ('issued', 0, true), ('superseded', 30, false), ('revoked', 400, false))
          AS e(event, days, always)
    """
    return f"""
        INSERT INTO registry_certificatefact
        SELECT b.issuer || '/' || b.number || '/' || e.event, b.issuer,
               'Province ' || (b.i % 63), b.number, e.event,
               (b.issued_on + e.days * (1 + b.i % 3) + time '09:00')
                   AT TIME ZONE 'Asia/Ho_Chi_Minh',
               b.kind, b.verdict,
               (ARRAY['water_meter', 'electricity_meter', 'weighing_instrument',
                      'fuel_dispenser', 'pressure_gauge', 'taximeter'])[1 + b.i % 6],
               'PAT-' || (b.i % 997), 'Maker ' || (b.i % 211), 'M' || (b.i % 89),
               'SN' || b.i, b.issued_on,
               CASE WHEN b.kind = 'verification' THEN b.issued_on + 365 * (1 + b.i % 5) END,
               CASE WHEN b.kind = 'verification' THEN 'VM' || b.i ELSE '' END,
               '',
               CASE WHEN e.event = 'superseded' THEN
                    b.issuer || '-{SERIES}-{year}-' || lpad((b.i + {spec.issuers})::text, 8, '0')
                    ELSE '' END,
               encode(sha256(convert_to('pdf ' || b.i, 'UTF8')), 'hex'),
               md5(b.issuer) || md5(b.issuer || 'key')
          FROM ({base}) AS b CROSS JOIN {events}
         WHERE e.always
            OR (e.event = 'superseded' AND b.i % 33 = 0 AND b.i + {spec.issuers} <= {high})
            OR (e.event = 'revoked' AND b.i % 97 = 1)
    """


def keys_dropped(cursor: Any, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Drop ``table``'s primary key, unique constraints and other indexes for a load, as
    ``pg_restore`` loads before it builds them: the statements that make the constraints
    again (ALTER TABLE), and the other indexes (name, definition)."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY contype",
        [table],
    )
    constraints = [(name, definition) for name, definition in cursor.fetchall()]
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %s::regclass "
        "  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [table],
    )
    indexes = [(n, d.replace(" ON ONLY ", " ON ")) for n, d in cursor.fetchall()]
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in constraints], indexes


def generate(spec: Spec, progress: Callable[[str], None]) -> dict[str, Any]:
    """Load the registry ``spec`` describes into the migrated, empty database."""
    from django.core.management import call_command
    from django.db import connection

    from labserver.registry.partitions import KEY_ONCE_TRIGGER, ensure_years

    call_command("migrate", verbosity=0)
    ensure_years(connection, spec.years)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(f"ALTER TABLE registry_certificatefact DISABLE TRIGGER {KEY_ONCE_TRIGGER}")
        rebuild, indexes = keys_dropped(cursor, "registry_certificatefact")
        count, span = spec.certificates, len(spec.years)
        for n, year in enumerate(spec.years):
            # the certificates year_of() gives to this year
            low, high = -(-n * count // span) + 1, -(-(n + 1) * count // span)
            assert spec.year_of(low) == spec.year_of(high) == year, (low, high, year)
            cursor.execute(_rows_sql(spec, year, low, high))
            progress(f"{year}: certificates {low} to {high} written")
        loaded = time.perf_counter() - started
        for statement in rebuild:
            cursor.execute(statement)
            progress(statement.split('"')[1])
        for name, definition in indexes:
            cursor.execute(definition)
            progress(name)
        cursor.execute(f"ALTER TABLE registry_certificatefact ENABLE TRIGGER {KEY_ONCE_TRIGGER}")
        indexed = time.perf_counter() - started - loaded
        for code in sorted({spec.issuer_of(i) for i in range(spec.issuers)}):
            cursor.execute(
                "INSERT INTO registry_organizationfact VALUES (%s, %s, now(), %s, 'center', "
                "%s, '', '', 'Asia/Ho_Chi_Minh')",
                [f"{code}/described/bench", code, f"Center {code}", "Province"],
            )
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT count(*), pg_total_relation_size('registry_certificatefact') "
            "+ coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
            "WHERE inhparent = 'registry_certificatefact'::regclass), 0) "
            "FROM registry_certificatefact"
        )
        facts, size = cursor.fetchone()
        summary = {
            "facts": int(facts),
            "bytes": int(size),
            "load_s": round(loaded, 1),
            "index_s": round(indexed, 1),
            "total_s": round(time.perf_counter() - started, 1),
        }
        cursor.execute(
            f"CREATE TABLE {DATASET_TABLE} (id integer PRIMARY KEY, description jsonb NOT NULL)"
        )
        description = {**described(spec), "summary": summary}
        cursor.execute(f"INSERT INTO {DATASET_TABLE} VALUES (1, %s)", [json.dumps(description)])
    return description


def described(spec: Any, version: int = GENERATOR_VERSION) -> dict[str, Any]:
    """What identifies a generated data set: its spec and its generator's version."""
    return {"spec": asdict(spec), "generator_version": version}


def prepare(url: str, spec: Spec, regenerate: bool) -> dict[str, Any]:
    """The registry ``spec`` describes: reused when stored, else generated."""
    return prepared(url, described(spec), lambda progress: generate(spec, progress), regenerate)


def prepared(
    url: str,
    description: dict[str, Any],
    generate: Callable[[Callable[[str], None]], dict[str, Any]],
    regenerate: bool,
) -> dict[str, Any]:
    """The data set ``description`` names, in the database at ``url``: reused when the one
    stored there has that description, else made by ``generate`` (given a progress
    printer) in the database made anew. Django is set up on it either way."""
    found = stored_spec(url)
    if found is not None and not regenerate:
        if {k: found.get(k) for k in ("spec", "generator_version")} == description:
            setup_django(url)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            print(f"data set: reused (generated in {found['summary']['total_s']} s)")
            return found
        print("data set: stored with another spec or generator version, generating again")
    recreate_database(url)
    setup_django(url)
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  {time.perf_counter() - started:6.0f} s  {message}", flush=True)

    print(f"data set: generating {description['spec']} …", flush=True)
    return generate(progress)


# ------------------------------------------------------------------ measuring


@dataclass
class Figures:
    rounds: list[dict[str, dict[str, float]]]

    def median(self, arm: str, q: str) -> float:
        return statistics.median(r[arm][q] for r in self.rounds)


def _timed(
    call: Callable[..., object], arguments: list[tuple[Any, ...]], right: Callable[..., bool]
) -> list[float]:
    """Milliseconds of ``call(*a)`` for each ``a`` of ``arguments``; an answer that is not
    ``right(answer, *a)`` stops the benchmark (a fast wrong answer measures nothing)."""
    out = []
    for args in arguments:
        started = time.perf_counter()
        answer = call(*args)
        out.append((time.perf_counter() - started) * 1000)
        if not right(answer, *args):
            raise SystemExit(f"{getattr(call, '__name__', call)}{args} answered {answer!r}")
    return out


def measure(spec: Spec, lookups: int, rounds: int, seed: int) -> Figures:
    from labserver.issuance.national import registered_public
    from labserver.registry.models import CertificateFact

    rng = random.Random(seed)
    figures = Figures([])
    for r in range(rounds + 1):  # round 0: the warm-up, not counted
        hits = [rng.randint(1, spec.certificates) for _ in range(lookups - lookups // 5)]
        misses = [
            spec.certificates + rng.randint(1, spec.certificates) for _ in range(lookups // 5)
        ]
        numbers = [(i, spec.number_of(i)) for i in hits + misses]
        rng.shuffle(numbers)
        registered = {spec.number_of(i) for i in hits}
        lookup = _timed(
            registered_public,
            [(number,) for _, number in numbers],
            lambda answer, number, known=registered: (answer is not None) == (number in known),
        )
        keys = [
            (f"{spec.issuer_of(i)}/{spec.number_of(i)}/issued", spec.issued_on(i)) for i in hits
        ]
        base = _timed(
            lambda key, day: CertificateFact.objects.filter(key=key, issued_on=day).first(),
            keys,
            lambda answer, key, day: answer is not None,
        )
        if r == 0:
            continue
        row = {
            arm: {f"p{q}": percentile(values, q) for q in (50, 95, 99)}
            for arm, values in (("lookup", lookup), ("baseline", base))
        }
        figures.rounds.append(row)
        print(
            f"  round {r}: lookup p50 {row['lookup']['p50']:.2f} ms p99 "
            f"{row['lookup']['p99']:.2f} ms; baseline p50 {row['baseline']['p50']:.2f} ms",
            flush=True,
        )
    return figures


def partitions_probed(number: str) -> int:
    """How many partitions the plan of the lookup by number visits (EXPLAIN)."""
    sql = "SELECT * FROM registry_certificatefact WHERE number = %s"
    return len(planned_relations(sql, [number], "[a-z0-9_]+"))


def planned_relations(sql: str, params: list[Any], pattern: str) -> list[str]:
    """The tables matching ``pattern`` that the plan of ``sql`` reads (EXPLAIN)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    text = plan if isinstance(plan, str) else json.dumps(plan)
    return sorted(set(re.findall(rf'"Relation Name": "({pattern})"', text)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("REGISTRYBENCH_DATABASE_URL", DEFAULT_URL),
    )
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--certificates", type=int, default=10_000_000)
    parser.add_argument("--issuers", type=int, default=400)
    parser.add_argument("--years", default="2021-2026", help="FIRST-LAST")
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--json", default=None)
    parser.add_argument("--quick", action="store_true", help="the suite's smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.certificates, args.issuers, args.lookups, args.rounds = 3000, 20, 50, 1
    first, _, last = args.years.partition("-")
    spec = Spec(args.certificates, args.issuers, int(first), int(last or first))
    if spec.certificates < spec.issuers * len(spec.years):
        raise SystemExit("--certificates: at least one per issuer and year")
    try:
        dataset = prepare(args.database_url, spec, args.regenerate)
    except NoPostgres as missing:
        print(missing, file=sys.stderr)
        return 2
    probed = partitions_probed(spec.number_of(1))
    print(
        f"measuring: {args.rounds} rounds of {args.lookups} lookups; the lookup by number "
        f"visits {probed} partitions",
        flush=True,
    )
    figures = measure(spec, args.lookups, args.rounds, args.seed)
    p99 = figures.median("lookup", "p99")
    result: dict[str, Any] = {
        "dataset": dataset,
        "partitions_probed": probed,
        "lookup_ms": {q: figures.median("lookup", q) for q in ("p50", "p95", "p99")},
        "baseline_ms": {q: figures.median("baseline", q) for q in ("p50", "p95", "p99")},
        "ratio_p50": figures.median("lookup", "p50") / figures.median("baseline", "p50"),
        "rounds": figures.rounds,
        "target_p99_ms": LOOKUP_TARGET_MS,
        "met": p99 < LOOKUP_TARGET_MS,
    }
    summary = dataset["summary"]
    print(
        f"\nregistry: {summary['facts']:,} facts of {spec.certificates:,} certificates, "
        f"{summary['bytes'] / 2**30:.1f} GiB, generated in {summary['total_s']} s "
        f"(rows {summary['load_s']} s, indexes {summary['index_s']} s)\n"
        f"public lookup  p50 {result['lookup_ms']['p50']:.2f}  p95 "
        f"{result['lookup_ms']['p95']:.2f}  p99 {p99:.2f} ms  (target p99 < "
        f"{LOOKUP_TARGET_MS:g} ms: {'met' if result['met'] else 'MISSED'})\n"
        f"baseline (key)  p50 {result['baseline_ms']['p50']:.2f}  p95 "
        f"{result['baseline_ms']['p95']:.2f}  p99 {result['baseline_ms']['p99']:.2f} ms\n"
        f"lookup / baseline at p50: {result['ratio_p50']:.1f}"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
