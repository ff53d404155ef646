"""A federated pair of nodes upgraded to the certificate facts partitioned by year
(registry 0008), proved on two clusters of their own: the publisher's table stays in its
publication (now published through the partitioned table), the replication role keeps its
grant, and the subscriber, after the documented ``REFRESH PUBLICATION``, receives the
facts written since, loses none written between the upgrade and the refresh, and records
the facts it had already as duplicates ([The registry's yearly
partitions](docs/operators/partitions.md)).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from labserver.federation.replication import PUBLISHED_COLUMNS, REPLICATION_ROLE
from tests.support.clusters import Cluster, server_bindir, throwaway_home
from tests.support.federation import DATABASE, manage, migrated_template

BINDIR = server_bindir()
pytestmark = pytest.mark.skipif(
    BINDIR is None, reason="the PostgreSQL server binaries (initdb, pg_ctl) are not installed"
)
ENV = {"CALTRACE_FEDERATION_PASSWORD": "upgrade secret"}
COLUMNS = ", ".join(PUBLISHED_COLUMNS["registry_certificatefact"])
TIMEOUT_S = 90.0  # generous: it costs nothing when the row comes
NOW = timezone.localdate().year  # the migration makes this year's partition
LATER = NOW + 5  # a year without its partition: the default one


def fact(number: str, day: str) -> str:
    return (
        f"INSERT INTO registry_certificatefact ({COLUMNS}) VALUES ('C1/{number}/issued', 'C1', "
        f"'P', '{number}', 'issued', now(), 'verification', 'pass', 'water_meter', '', '', '', "
        f"'SN', '{day}', NULL, '', '', '', '{'a' * 64}', '{'b' * 64}')"
    )


@pytest.fixture(scope="module")
def nodes() -> Iterator[tuple[Cluster, Cluster, Path]]:
    assert BINDIR is not None
    with throwaway_home("caltrace-upgrade-") as home:
        clusters: list[Cluster] = []
        try:
            with migrated_template(BINDIR, home) as template:
                clusters += [template.clone(home / name) for name in ("center", "national")]
            for cluster in clusters:
                cluster.start()
            yield clusters[0], clusters[1], home
        finally:
            for cluster in clusters:
                cluster.kill()


def run(cluster: Cluster, home: Path, *args: str) -> str:
    done = manage(cluster, home / f"var-{cluster.port}", *args, env=ENV)
    assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


def count(cluster: Cluster, expected: str) -> str:
    return cluster.wait_for(
        "SELECT count(*) FROM registry_certificatefact", expected, DATABASE, TIMEOUT_S
    )


def kind(cluster: Cluster) -> str:
    return cluster.sql(
        "SELECT relkind FROM pg_class WHERE relname = 'registry_certificatefact'",
        database=DATABASE,
    )


def test_a_federated_pair_upgraded_loses_no_fact(nodes: tuple[Cluster, Cluster, Path]) -> None:
    center, national, home = nodes
    # both nodes as they were before registry 0008: the plain table
    for cluster in (center, national):
        run(cluster, home, "migrate", "registry", "0007")
        assert kind(cluster) == "r"
    run(center, home, "federation", "publish", "--issuer", "C1")
    center.sql(fact("C1-2024-1", "2024-03-01"), database=DATABASE)
    conninfo = center.conninfo(REPLICATION_ROLE, DATABASE)
    run(national, home, "federation", "subscribe", "center_c1", "--conninfo", conninfo)
    assert count(national, "1") == "1"

    # the upgrade: both migrate
    for cluster in (center, national):
        run(cluster, home, "migrate")
        assert kind(cluster) == "p"
    published = center.sql(
        "SELECT p.pubviaroot, pg_get_expr(r.prqual, r.prrelid), "
        f"       has_table_privilege('{REPLICATION_ROLE}', r.prrelid, 'SELECT') "
        "  FROM pg_publication p JOIN pg_publication_rel r ON r.prpubid = p.oid "
        " WHERE r.prrelid = 'registry_certificatefact'::regclass",
        database=DATABASE,
    )
    assert published == "t|((issuer)::text = 'C1'::text)|t", published
    # a fact written between the upgrade and the refresh: not applied yet ...
    center.sql(fact(f"C1-{NOW}-2", f"{NOW}-05-01"), database=DATABASE)
    national.sql(
        "ALTER SUBSCRIPTION center_c1 REFRESH PUBLICATION WITH (copy_data = true)",
        database=DATABASE,
    )
    # ... and copied by the refresh; the one the national node had is a duplicate
    assert count(national, "2") == "2"
    center.sql(fact(f"C1-{LATER}-3", f"{LATER}-01-01"), database=DATABASE)
    assert count(national, "3") == "3"
    placed = national.sql(
        "SELECT string_agg(tableoid::regclass::text || ' ' || key, ', ' ORDER BY key) "
        "FROM registry_certificatefact",
        database=DATABASE,
    )
    assert placed == (
        "registry_certificatefact_y2024 C1/C1-2024-1/issued, "
        f"registry_certificatefact_y{NOW} C1/C1-{NOW}-2/issued, "
        f"registry_certificatefact_default C1/C1-{LATER}-3/issued"
    ), placed
    arrivals = national.sql(
        "SELECT string_agg(kind || ' ' || key, ', ') FROM federation_arrival", database=DATABASE
    )
    assert arrivals == "duplicate C1/C1-2024-1/issued", arrivals
