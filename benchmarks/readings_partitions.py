"""Benchmark of the look-up of a run's readings with the readings partitioned by year, on
PostgreSQL: is it as fast with several years in the table as with one?

    .venv/bin/python benchmarks/readings_partitions.py [--database-url URL] [--regenerate]
        [--readings N] [--years FIRST-LAST] [--lookups N] [--rounds N] [--json PATH] [--quick]

**It needs PostgreSQL** (the partitioned table exists only there). The database is
``--database-url``, by default ``$READINGSBENCH_DATABASE_URL`` or
``postgres://postgres@127.0.0.1:5432/caltrace_readingsbench``, created when missing (the user
needs CREATEDB and owns the tables it migrates). No PostgreSQL: it says so and exits 2.

**The data set**: ``--readings`` (20,000,000 by default) readings over ``--years`` (2021 to
2026: six yearly partitions of the migrated ``measurements_reading``), in runs of
``--points`` (10) points of ``--per-point`` (10) readings each, a run's readings five seconds
apart and the runs spread evenly over each year (a national node's year has hundreds of
millions of readings; this is what fits in a few minutes on the 2-core development
machine). The rows are written by PostgreSQL itself (``INSERT … SELECT`` over
``generate_series``, one statement a year, the readings of a run together as the LIMS
writes them), with the table's primary key and index dropped for the load and built again
after it, as ``pg_restore`` does. The readings' points are not generated (a run's points
are numbered, nothing more): the benchmark's database drops the foreign key to
``measurements_point``, which the look-up measured here never reads. Two tables beside it
hold the last year's readings only: ``bench_reading_one_year``, partitioned by year as the
LIMS's table (one partition), and ``bench_reading_plain``, a plain table with the same
primary key and index. Generating takes minutes, so the spec is stored in the table
``caltrace_bench_dataset`` and a later run with the same spec reuses the data set
(``--regenerate`` forces a new one). ``VACUUM ANALYZE`` ends the load.

**The arms**, alternated in ``--rounds`` rounds (5) after an untimed warm-up, on one
persistent connection: each is the query the LIMS sends for a run's readings (the prefetch
of its points' readings bounded by the run's window,
:func:`labserver.measurements.partitions.within_runs`; its SQL taken from Django), executed
and fetched, for ``--lookups`` runs a round:

* **one year**: runs of the last year, in the partitioned table holding that year only;
* **all years**: the same runs, in the LIMS's table holding every year;
* **all years, any run**: runs drawn from every year, in the LIMS's table;
* **plain table (baseline)**: the same runs as *one year*, in the plain one-year table;
* **no window**: the same runs in the LIMS's table, the query without the run's window
  (what the look-up costs when the planner cannot prune: every partition's index probed).

Each round's percentiles are taken over its calls, and the figures are the medians over
rounds. The figure is the ratio of *all years* to *one year* (flat: close to 1), and of
each to the baseline. Every answer is checked (the run's readings, all of them). The
machine is shared (2 cores): read the spread between rounds. ``--quick`` is the suite's
smoke test (a few thousand readings, one round).
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
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.registry_lookup import (  # noqa: E402
    Figures,
    described,
    keys_dropped,
    planned_relations,
    prepared,
)
from benchmarks.traceability import NoPostgres, percentile  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/caltrace_readingsbench"
DATASET_TABLE = "caltrace_bench_dataset"
GENERATOR_VERSION = 2  # 2: a run's readings together
TABLE = "measurements_reading"
ONE_YEAR = "bench_reading_one_year"
PLAIN = "bench_reading_plain"
STEP_S = 5  # between two readings of a run
ARMS = ("one_year", "all_years", "all_years_any_run", "baseline", "no_window")


@dataclass(frozen=True)
class Spec:
    """What identifies a generated set of readings."""

    readings: int
    first_year: int
    last_year: int
    points: int
    per_point: int

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    @property
    def per_run(self) -> int:
        return self.points * self.per_point

    @property
    def runs_per_year(self) -> int:
        return self.readings // (len(self.years) * self.per_run)

    def gap_s(self, year: int) -> int:
        """Seconds between the starts of two runs of ``year``."""
        days = (datetime(year + 1, 1, 1, tzinfo=UTC) - datetime(year, 1, 1, tzinfo=UTC)).days
        return days * 86400 // self.runs_per_year

    def run(self, g: int) -> tuple[list[int], datetime, datetime]:
        """Run ``g`` (0-based): its points' ids and the window of its readings."""
        year = self.first_year + g // self.runs_per_year
        k = g % self.runs_per_year
        first = datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=k * self.gap_s(year))
        points = [g * self.points + p + 1 for p in range(self.points)]
        return points, first, first + timedelta(seconds=(self.per_run - 1) * STEP_S)


def _rows_sql(spec: Spec, n: int, year: int) -> str:
    """The readings of the runs of ``year`` (the ``n``-th year), written by the server in the
    order the LIMS writes them: a run's readings together (one series, run by run: two
    series crossed could be joined in either order, scattering a run over the table)."""
    runs, per_run, per_point = spec.runs_per_year, spec.per_run, spec.per_point
    k, i = f"(r / {per_run})", f"(r % {per_run})"
    g = f"({n * runs} + {k})"
    return f"""
        INSERT INTO {TABLE} (index, quantity, value, unit, "timestamp", stable, raw, point_id)
        SELECT {i} % {per_point}, 'x', 10.0 + ({g} % 97) * 1e-6 + ({i} % {per_point}) * 1e-7,
               'V', timestamptz '{year}-01-01 00:00:00+00'
                   + make_interval(secs => {k} * {spec.gap_s(year)} + {i} * {STEP_S}),
               true, '', {g} * {spec.points} + {i} / {per_point} + 1
          FROM generate_series(0::bigint, {runs * per_run - 1}) AS r
    """


def _one_year_tables(cursor: Any, year: int) -> None:
    """The last year's readings again, in a table partitioned as the LIMS's holding that year
    only, and in a plain table; each with the LIMS table's primary key and index."""
    bounds = f"FROM ('{year}-01-01 00:00:00+00') TO ('{year + 1}-01-01 00:00:00+00')"
    cursor.execute(
        f"CREATE TABLE {ONE_YEAR} (LIKE {TABLE} INCLUDING DEFAULTS) "
        'PARTITION BY RANGE ("timestamp")'
    )
    cursor.execute(f"CREATE TABLE {ONE_YEAR}_y{year} PARTITION OF {ONE_YEAR} FOR VALUES {bounds}")
    cursor.execute(f"CREATE TABLE {PLAIN} (LIKE {TABLE} INCLUDING DEFAULTS)")
    source = f'SELECT * FROM {TABLE}_y{year} ORDER BY "timestamp", point_id, index'
    for table in (ONE_YEAR, PLAIN):
        cursor.execute(f"INSERT INTO {table} {source}")
        cursor.execute(f'ALTER TABLE {table} ADD PRIMARY KEY (id, "timestamp")')
        cursor.execute(f"CREATE INDEX {table}_point ON {table} (point_id)")


def generate(spec: Spec, progress: Callable[[str], None]) -> dict[str, Any]:
    """Load the readings ``spec`` describes into the migrated, empty database."""
    from django.core.management import call_command
    from django.db import connection

    from labserver.core.partitions import ensure_years
    from labserver.measurements.partitions import READINGS

    call_command("migrate", verbosity=0)
    ensure_years(connection, READINGS, spec.years)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [TABLE],
        )
        for (name,) in cursor.fetchall():  # the points are not generated
            cursor.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
        rebuild, indexes = keys_dropped(cursor, TABLE)
        for n, year in enumerate(spec.years):
            cursor.execute(_rows_sql(spec, n, year))
            progress(f"{year}: {spec.runs_per_year:,} runs written")
        loaded = time.perf_counter() - started
        for statement in rebuild:
            cursor.execute(statement)
            progress(statement.split('"')[1])
        for name, definition in indexes:
            cursor.execute(definition)
            progress(name)
        _one_year_tables(cursor, spec.last_year)
        progress(f"{ONE_YEAR}, {PLAIN}")
        indexed = time.perf_counter() - started - loaded
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            f"SELECT count(*), (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
            f"WHERE inhparent = '{TABLE}'::regclass) FROM {TABLE}"
        )
        count, size = cursor.fetchone()
        summary = {
            "readings": int(count),
            "bytes": int(size or 0),
            "load_s": round(loaded, 1),
            "index_s": round(indexed, 1),
            "total_s": round(time.perf_counter() - started, 1),
        }
        cursor.execute(
            f"CREATE TABLE {DATASET_TABLE} (id integer PRIMARY KEY, description jsonb NOT NULL)"
        )
        description = {**described(spec, GENERATOR_VERSION), "summary": summary}
        cursor.execute(f"INSERT INTO {DATASET_TABLE} VALUES (1, %s)", [json.dumps(description)])
    return description


def prepare(url: str, spec: Spec, regenerate: bool) -> dict[str, Any]:
    """The readings ``spec`` describes: reused when stored, else generated."""
    description = described(spec, GENERATOR_VERSION)
    return prepared(url, description, lambda progress: generate(spec, progress), regenerate)


# ------------------------------------------------------------------ measuring


def lookup_sql(spec: Spec, g: int, window: bool = True) -> tuple[str, list[Any]]:
    """The SQL the LIMS sends for the readings of run ``g``'s points: the prefetch of
    :func:`labserver.measurements.partitions.readings_prefetch`, as Django builds it."""
    from labserver.measurements.models import Reading, Run
    from labserver.measurements.partitions import within_runs

    points, first, last = spec.run(g)
    readings = Reading.objects.filter(point_id__in=points)
    if window:
        readings = within_runs(readings, [Run(readings_from=first, readings_until=last)])
    sql, params = readings.query.sql_with_params()
    return sql, list(params)


def _timed(cursor: Any, queries: list[tuple[str, list[Any]]], expected: int) -> list[float]:
    """Milliseconds of each query, executed and fetched; a query that does not answer the
    run's ``expected`` readings stops the benchmark (a fast wrong answer measures nothing)."""
    out = []
    for sql, params in queries:
        started = time.perf_counter()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        out.append((time.perf_counter() - started) * 1000)
        if len(rows) != expected:
            raise SystemExit(f"{sql} {params}: {len(rows)} readings, expected {expected}")
    return out


def _on(table: str, query: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    return query[0].replace(f'"{TABLE}"', f'"{table}"'), query[1]


def measure(spec: Spec, lookups: int, rounds: int, seed: int) -> Figures:
    from django.db import connection

    rng = random.Random(seed)
    runs = spec.runs_per_year
    last = (len(spec.years) - 1) * runs
    figures = Figures([])
    with connection.cursor() as cursor:
        for r in range(rounds + 1):  # round 0: the warm-up, not counted
            recent = [lookup_sql(spec, last + rng.randrange(runs)) for _ in range(lookups)]
            anywhere = [lookup_sql(spec, rng.randrange(last + runs)) for _ in range(lookups)]
            unbounded = [
                lookup_sql(spec, last + rng.randrange(runs), window=False) for _ in range(lookups)
            ]
            arms = {
                "one_year": [_on(ONE_YEAR, q) for q in recent],
                "all_years": recent,
                "all_years_any_run": anywhere,
                "baseline": [_on(PLAIN, q) for q in recent],
                "no_window": unbounded,
            }
            timed: dict[str, list[float]] = {arm: [] for arm in ARMS}
            # the arms interleaved in chunks, so that a busy moment of the machine falls on all
            for start in range(0, lookups, 10):
                for arm in ARMS:
                    timed[arm] += _timed(cursor, arms[arm][start : start + 10], spec.per_run)
            if r == 0:
                continue
            row = {
                arm: {f"p{q}": percentile(values, q) for q in (50, 95, 99)}
                for arm, values in timed.items()
            }
            figures.rounds.append(row)
            print(
                f"  round {r}: "
                + "; ".join(
                    f"{arm} p50 {row[arm]['p50']:.3f} p99 {row[arm]['p99']:.3f} ms" for arm in ARMS
                ),
                flush=True,
            )
    return figures


def partitions_visited(spec: Spec, g: int, window: bool = True) -> list[str]:
    """The partitions the plan of run ``g``'s look-up reads (EXPLAIN)."""
    sql, params = lookup_sql(spec, g, window)
    return planned_relations(sql, params, f"{TABLE}_[a-z0-9_]+")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("READINGSBENCH_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--readings", type=int, default=20_000_000)
    parser.add_argument("--years", default="2021-2026", help="FIRST-LAST")
    parser.add_argument("--points", type=int, default=10, help="points of a run")
    parser.add_argument("--per-point", type=int, default=10, help="readings of a point")
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--json", default=None)
    parser.add_argument("--quick", action="store_true", help="the suite's smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.readings, args.lookups, args.rounds = 6000, 30, 1
    first, _, last = args.years.partition("-")
    spec = Spec(args.readings, int(first), int(last or first), args.points, args.per_point)
    if spec.runs_per_year < 1:
        raise SystemExit("--readings: at least one run per year")
    try:
        dataset = prepare(args.database_url, spec, args.regenerate)
    except NoPostgres as missing:
        print(missing, file=sys.stderr)
        return 2
    recent = (len(spec.years) - 1) * spec.runs_per_year
    visited = partitions_visited(spec, recent)
    every = partitions_visited(spec, recent, window=False)
    print(
        f"measuring: {args.rounds} rounds of {args.lookups} look-ups an arm; a run's look-up "
        f"visits {', '.join(visited)} ({len(every)} without its window)",
        flush=True,
    )
    figures = measure(spec, args.lookups, args.rounds, args.seed)
    ms = {arm: {q: figures.median(arm, q) for q in ("p50", "p95", "p99")} for arm in ARMS}
    result: dict[str, Any] = {
        "dataset": dataset,
        "partitions_visited": visited,
        "partitions_without_window": every,
        "ms": ms,
        "all_over_one_year": {q: ms["all_years"][q] / ms["one_year"][q] for q in ("p50", "p99")},
        "all_over_baseline": {q: ms["all_years"][q] / ms["baseline"][q] for q in ("p50", "p99")},
        "rounds": figures.rounds,
    }
    summary = dataset["summary"]
    print(
        f"\nreadings: {summary['readings']:,} over {len(spec.years)} years "
        f"({spec.runs_per_year:,} runs of {spec.per_run} readings a year), "
        f"{summary['bytes'] / 2**30:.1f} GiB, generated in {summary['total_s']} s "
        f"(rows {summary['load_s']} s, indexes {summary['index_s']} s)"
    )
    for arm in ARMS:
        print(
            f"{arm:18s} p50 {ms[arm]['p50']:.3f}  p95 {ms[arm]['p95']:.3f}  "
            f"p99 {ms[arm]['p99']:.3f} ms"
        )
    ratio, base = result["all_over_one_year"], result["all_over_baseline"]
    print(
        f"all years / one year: p50 {ratio['p50']:.2f}, p99 {ratio['p99']:.2f}; "
        f"all years / plain one-year table: p50 {base['p50']:.2f}, p99 {base['p99']:.2f}"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
