"""The readings' table partitioned by year, on PostgreSQL, and the look-ups that keep to a
run's years.

A national node keeps tens of readings of each of millions of verifications a year, for
years: ``measurements_reading`` is range-partitioned on the reading's ``timestamp``, a
partition per calendar year in UTC (``measurements_reading_y2026``) and a default partition
(:mod:`labserver.core.partitions`; the operator's yearly step is ``manage.py partitions``).
The readings of a run are taken within seconds to hours of one another, so they live in one
partition, two at a year's turn.

The primary key is (``id``, ``timestamp``) on PostgreSQL, as a partitioned table's must
contain the partition column; Django keeps seeing ``id``. No trigger checks an id across
the partitions (the registry's facts need one for their keys): the ids come from the one
identity sequence, made ``GENERATED ALWAYS``, so an ``INSERT`` cannot give one of its own
(only ``OVERRIDING SYSTEM VALUE``, which the partitioning itself uses to move rows that
already have their ids, and a restore's ``COPY``, which puts back the ids the dump had),
and the table is append-only, so no ``UPDATE`` moves a row to another partition. A check
per insert would cost an index probe in every year's partition, tens of times per run.

A run's readings are found by their points and pruned to the run's window: the first and
last timestamps of its readings, kept on the run when it is received
(``Run.readings_from``, ``Run.readings_until``), bound the query's ``timestamp``, so the
planner visits only the partitions of those years (:func:`within_runs`). A run without the
window (none of its points read anything) is looked up without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from labserver.core.partitions import YearlyTable
from labserver.core.partitions import rebuild as rebuild_table
from labserver.measurements.models import Reading, Run

__all__ = ["READINGS", "readings_prefetch", "rebuild", "within_runs"]

READINGS = YearlyTable(
    parent="measurements_reading",
    column="timestamp",
    keys=(("measurements_reading_pkey", ("id",)),),
    timestamp=True,
    identity="id",
    rows="reading(s)",
)


def rebuild(schema_editor: Any, partitioned: bool) -> None:
    """Make the readings' table partitioned by year (or plain again), rows, sequence,
    constraints, indexes, append-only triggers and grants kept. PostgreSQL only."""
    rebuild_table(schema_editor, READINGS, partitioned)


def within_runs(readings: QuerySet[Reading], runs: Iterable[Run]) -> QuerySet[Reading]:
    """``readings`` bounded to the time windows of ``runs`` (those of one run, or of the runs
    a page shows), so that PostgreSQL visits the partitions of their years only. A run
    without a window leaves the readings unbounded: nothing is left out."""
    windows = Q()
    for run in runs:
        if run.readings_from is None or run.readings_until is None:
            return readings
        windows |= Q(timestamp__gte=run.readings_from, timestamp__lte=run.readings_until)
    return readings.filter(windows) if windows else readings


def readings_prefetch(runs: Iterable[Run], lookup: str = "readings") -> Prefetch[Any]:
    """The prefetch of the points' readings (``lookup`` from the queryset prefetching) kept to
    the windows of ``runs``."""
    return Prefetch(lookup, queryset=within_runs(Reading.objects.all(), list(runs)))
