"""The registry carried to the national node by PostgreSQL logical replication (issue 21,
point 2), proved on real clusters with nothing between them mocked.

Three clusters of their own on loopback (``wal_level = logical``; the machine's cluster has
``replica``), cloned from one migrated caltrace database (:mod:`tests.support.federation`):
the centers QT1 and QT2, each with its LIMS in a child process issuing, amending and revoking
through its own code with the DEMO PKI, and the national node. The centers publish
(``manage.py federation publish``), the national node subscribes (``federation subscribe``);
what arrives is read from the national node's tables with ``psql`` and ``pg_dump``.

One test walks the whole story, step after step on the same clusters (cloning them per test
would cost the suite tens of seconds each, and pytest-xdist may hand a module's tests to
several workers); each step's assertion says which proof failed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from labserver.federation.replication import (
    ISSUER_COLUMN,
    PUBLICATION,
    PUBLISHED_COLUMNS,
    RECALL_COLUMNS,
    REGISTER_COLUMNS,
    REGISTERS_PUBLICATION,
    REPLICATION_ROLE,
)
from tests.support.clusters import Cluster, ClusterError, server_bindir, throwaway_home
from tests.support.federation import DATABASE, Done, NodeLims, manage, migrated_template

BINDIR = server_bindir()
pytestmark = pytest.mark.skipif(
    BINDIR is None, reason="the PostgreSQL server binaries (initdb, pg_ctl) are not installed"
)

PASSWORD = "replication secret 7f3a"  # the replication role's, from the environment
FETCH_SECRET = "fetch secret 0b62"  # QT1's, that the national node sends
SECRET_ENV = {
    "CALTRACE_FEDERATION_PASSWORD": PASSWORD,
    "CALTRACE_NATIONAL_FETCH_SECRET": FETCH_SECRET,  # read by a center
    "CALTRACE_FETCH_SECRET_QT1": FETCH_SECRET,  # read by the national node
}
ARRIVAL_TIMEOUT_S = 90.0  # generous: it costs nothing when the row comes


@dataclass
class Node:
    name: str
    cluster: Cluster
    var: Path
    lims: NodeLims

    def manage(self, *args: str) -> Done:
        return self.lims.manage(*args)

    def sql(self, statement: str) -> str:
        return self.cluster.sql(statement, database=DATABASE)


@dataclass
class Federation:
    qt1: Node
    qt2: Node
    national: Node


@pytest.fixture(scope="module")
def federation() -> Iterator[Federation]:
    """The three nodes, cloned from one migrated database, started, each with its LIMS
    running (the centers' built at once). Every server and child is ended at the end,
    whatever happened."""
    assert BINDIR is not None
    started = time.monotonic()
    with throwaway_home("caltrace-federation-") as home:
        clusters: list[Cluster] = []
        nodes: list[Node] = []
        try:
            with migrated_template(BINDIR, home) as template:
                clusters += [template.clone(home / name) for name in ("qt1", "qt2", "national")]
            for cluster, name in zip(clusters, ("qt1", "qt2", "national"), strict=True):
                cluster.start()
                var = home / f"{name}-var"
                nodes.append(Node(name, cluster, var, NodeLims(cluster, var, SECRET_ENV)))
            nodes[0].lims.build_center("QT1")
            nodes[1].lims.build_center("QT2")
            print(f"federation: three nodes ready in {time.monotonic() - started:.1f} s")
            yield Federation(*nodes)
        finally:
            for node in nodes:
                node.lims.close()
            for cluster in clusters:
                cluster.kill()


def ok(done: Done) -> str:
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{done.stderr}"
    assert PASSWORD not in done.stdout + done.stderr, "the replication password was printed"
    assert FETCH_SECRET not in done.stdout + done.stderr, "the fetch secret was printed"
    out: str = done.stdout
    return out


def arrived(node: Node, keys: list[str], *, table: str = "registry_certificatefact") -> None:
    """Wait until every one of ``keys`` is in ``node``'s registry (the national node's, or a
    center's national registers), once."""
    if not keys:
        return  # nothing of this table to wait for (a center with no in-house calibration)
    listed = ", ".join(f"'{key}'" for key in keys)
    got = node.cluster.wait_for(
        f"SELECT count(*) FROM {table} WHERE key IN ({listed})",
        str(len(keys)),
        DATABASE,
        ARRIVAL_TIMEOUT_S,
    )
    if got != str(len(keys)):
        log = (node.cluster.log / "pg.log").read_text(encoding="utf-8", errors="replace")
        subscriptions = node.sql("SELECT * FROM pg_stat_subscription")
        raise AssertionError(
            f"{keys} not all on the national node ({got} of them) within "
            f"{ARRIVAL_TIMEOUT_S:g} s; pg_stat_subscription:\n{subscriptions}\n"
            f"its log:\n{log[-4000:]}"
        )


def facts(node: Node, issuer: str, table: str = "registry_certificatefact") -> list[str]:
    columns = ", ".join({**PUBLISHED_COLUMNS, **REGISTER_COLUMNS, **RECALL_COLUMNS}[table])
    of = ISSUER_COLUMN.get(table, "issuer" if table in RECALL_COLUMNS else "authority")
    answer = node.sql(
        f"SELECT t::text FROM (SELECT {columns} FROM {table} WHERE {of} = '{issuer}') t ORDER BY 1"
    )
    return answer.splitlines()


def keys(issuer: str, *pairs: tuple[str, str]) -> list[str]:
    return [f"{issuer}/{number}/{event}" for number, event in pairs]


def forge(node: Node, source: str, **values: str) -> None:
    """A fact written straight into a node's registry by its superuser, as a faulty or
    misconfigured node would publish it: the certificate fact ``source`` with ``values`` in
    place of its own."""
    columns = PUBLISHED_COLUMNS["registry_certificatefact"]
    chosen = ", ".join(f"'{values[c]}'" if c in values else c for c in columns)
    node.sql(
        f"INSERT INTO registry_certificatefact ({', '.join(columns)}) SELECT {chosen} "
        f"FROM registry_certificatefact WHERE key = '{source}'"
    )


def assert_published(
    node: Node, publication: str, columns: dict[str, tuple[str, ...]], code: str
) -> None:
    """``publication`` on ``node`` lists exactly ``columns``, table by table, and lets
    through the rows of ``code`` only."""
    published = node.sql(
        "SELECT tablename, array_to_string(attnames, ','), rowfilter FROM pg_publication_tables "
        f"WHERE pubname = '{publication}' ORDER BY tablename"
    ).splitlines()
    assert [line.split("|")[:2] for line in published] == [
        [table, ",".join(names)] for table, names in sorted(columns.items())
    ]
    assert all(f"'{code}'" in line.split("|")[2] for line in published), published


def status(node: Node, *args: str) -> tuple[int, dict[str, Any]]:
    done = node.manage("federation", "status", "--json", *args)
    assert PASSWORD not in done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


def test_the_registry_crosses_to_the_national_node_and_nothing_else(
    federation: Federation,
) -> None:
    qt1, qt2, national = federation.qt1, federation.qt2, federation.national
    lims1, lims2 = qt1.lims, qt2.lims
    conninfo1 = qt1.cluster.conninfo(REPLICATION_ROLE, DATABASE)
    conninfo2 = qt2.cluster.conninfo(REPLICATION_ROLE, DATABASE)

    # -- publish: a publication of the registry, INSERT only, the public columns, QT1's rows
    said = ok(qt1.manage("federation", "publish"))
    assert f"publication {PUBLICATION} created" in said, said
    assert "issuer is QT1;" in said, said
    assert "its password set from CALTRACE_FEDERATION_PASSWORD" in said, said
    assert_published(qt1, PUBLICATION, PUBLISHED_COLUMNS, "QT1")
    assert (
        qt1.sql(
            f"SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication "
            f"WHERE pubname = '{PUBLICATION}'"
        )
        == "t|f|f|f"
    )
    # the replication role: LOGIN REPLICATION, SELECT on the two registry tables only
    assert (
        qt1.sql(
            f"SELECT rolcanlogin, rolreplication, rolsuper, rolpassword IS NOT NULL FROM pg_authid "
            f"WHERE rolname = '{REPLICATION_ROLE}'"
        )
        == "t|t|f|t"
    )
    readable = qt1.sql(
        "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') "
        f"AND has_table_privilege('{REPLICATION_ROLE}', c.oid, "
        "'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')"
    )
    assert readable == ",".join(sorted(PUBLISHED_COLUMNS)), readable

    # -- subscribe: refused, naming the center, when the publisher has no replication role
    # yet, or no publication
    refused = national.manage("federation", "subscribe", "center_qt2", "--conninfo", conninfo2)
    assert refused.returncode != 0
    assert "center center_qt2: the publisher" in refused.stderr, refused.stderr
    assert f'role "{REPLICATION_ROLE}" does not exist' in refused.stderr, refused.stderr
    as_superuser = qt2.cluster.conninfo("postgres", DATABASE)
    refused = national.manage("federation", "subscribe", "center_qt2", "--conninfo", as_superuser)
    assert refused.returncode != 0
    assert "center center_qt2: the publisher" in refused.stderr, refused.stderr
    assert f"has no publication {PUBLICATION}: run" in refused.stderr, refused.stderr
    assert national.sql("SELECT count(*) FROM pg_subscription") == "0"
    said = ok(national.manage("federation", "subscribe", "center_qt1", "--conninfo", conninfo1))
    assert "subscription center_qt1 created" in said, said
    assert "slot center_qt1" in said, said
    assert "subscription center_qt1 unchanged" in ok(
        national.manage("federation", "subscribe", "center_qt1", "--conninfo", conninfo1)
    )
    assert qt1.sql("SELECT slot_type FROM pg_replication_slots WHERE slot_name = 'center_qt1'") == (
        "logical"
    )

    # -- issued on the center through its LIMS: the facts appear on the national node
    first = lims1.issue()
    arrived(national, keys("QT1", (first, "issued")))
    lims1.revoke(first)
    second = lims1.issue()
    amended = lims1.amend(second)
    expected = keys(
        "QT1", (first, "issued"), (first, "revoked"), (second, "issued"),
        (second, "superseded"), (amended, "issued"),
    )  # fmt: skip
    arrived(national, expected)
    superseded = national.sql(
        f"SELECT superseded_by FROM registry_certificatefact WHERE key = 'QT1/{second}/superseded'"
    )
    assert superseded == amended
    # ... and the national node answers the public check for them, from its registry
    revoked, replaced, valid = (national.lims.public(n) for n in (first, second, amended))
    assert (revoked["status"], revoked["answered_from"], revoked["issuer"]["code"]) == (
        "revoked",
        "registry",
        "QT1",
    )
    assert (replaced["status"], replaced["superseded_by"]) == ("superseded", amended)
    assert valid["status"] == "valid"
    assert national.lims.public("QT1-HC-2099-000001") is None
    # an uploaded PDF is checked against the center's registered key, at the national node
    verdict = national.lims.check(lims1.pdf(amended))
    assert (verdict["status"], verdict["number"], verdict["problems"]) == ("valid", amended, [])
    assert national.lims.check(lims1.pdf(second))["status"] == "superseded"
    # each fact as the center wrote it, its standards too
    for table in PUBLISHED_COLUMNS:
        arrived(
            national,
            qt1.sql(
                f"SELECT key FROM {table} WHERE {ISSUER_COLUMN[table]} = 'QT1' ORDER BY key"
            ).splitlines(),
            table=table,
        )
        assert facts(national, "QT1", table) == facts(qt1, "QT1", table), table
    assert facts(national, "QT1", "registry_reliancefact")

    # -- a personal field never crosses: in the center's database, in no table of the
    # national node's (every table, read by pg_dump)
    assert BINDIR is not None
    center_dump, national_dump = (
        node.cluster.as_owner(
            BINDIR / "pg_dump", "-a", "-h", node.cluster.sockets, "-p", str(node.cluster.port),
            "-U", "postgres", DATABASE,
        )
        for node in (qt1, national)
    )  # fmt: skip
    personal = lims1.personal()
    assert len(personal) == 7, personal
    assert all(personal), personal
    for value in personal:
        assert value in center_dump, f"{value!r} is not even in the center's database"
        assert value not in national_dump, f"{value!r} crossed to the national node"
    assert first in national_dump  # the dump does read what crossed

    # -- the national node stopped mid-stream (a crash): nothing lost, nothing twice
    national.cluster.kill()
    while_down = [lims1.issue(), lims1.issue()]
    national.cluster.start()
    arrived(national, keys("QT1", *((n, "issued") for n in while_down)))
    # -- the center stopped and started: its LIMS and the replication resume
    qt1.cluster.stop()
    qt1.cluster.start()
    after_restart = lims1.issue()
    arrived(national, keys("QT1", (after_restart, "issued")))
    assert facts(national, "QT1") == facts(qt1, "QT1")
    assert national.sql("SELECT count(*) FROM federation_arrival") == "0", "a fact came twice"

    # -- status: enabled, streaming, lag against the publisher, no error
    code, report = status(national)
    assert (code, report["ok"]) == (0, True), report
    [state] = report["subscriptions"]
    assert (state["name"], state["enabled"], state["streaming"]) == ("center_qt1", True, True)
    assert state["lag_bytes"] is not None, state
    assert state["lag_bytes"] >= 0, state
    assert state["last_message_age_s"] is not None, state
    assert (state["sync_errors"], state["contradictions"], state["duplicates"]) == (0, 0, 0)
    # the center's restart cut the apply worker's connection: PostgreSQL counts that as an
    # apply error (at most once: the worker reconnects when the center is back)
    assert state["apply_errors"] in (0, 1), state
    # a subscription that is down and behind: reported, and the exit status says so
    national.sql("ALTER SUBSCRIPTION center_qt1 DISABLE")
    behind = lims1.issue()
    code, report = status(national, "--max-lag-bytes", "0")
    [state] = report["subscriptions"]
    assert code != 0, report
    assert not report["ok"], report
    assert (state["enabled"], state["streaming"]) == (False, False), state
    assert state["lag_bytes"] > 0, state
    assert "disabled" in state["problems"], state
    assert any(p.startswith("behind by") for p in state["problems"]), state
    national.sql("ALTER SUBSCRIPTION center_qt1 ENABLE")
    arrived(national, keys("QT1", (behind, "issued")))
    shown = national.manage("federation", "status")
    assert shown.returncode == 0, shown.stderr
    assert "lag (bytes)" in shown.stdout, shown.stdout
    assert any(
        line.split()[:3] == ["center_qt1", "yes", "yes"] for line in shown.stdout.splitlines()
    ), shown.stdout

    # -- a contradiction is reported with the center and the key, the rows after it flow:
    # a revocation of a number the registry never saw issued
    ghost = "QT1/QT1-HC-1999-9999/revoked"
    forge(qt1, f"QT1/{first}/issued", key=ghost, number="QT1-HC-1999-9999", event="revoked")
    following = lims1.issue()
    arrived(national, keys("QT1", (following, "issued")))
    assert national.sql(f"SELECT count(*) FROM registry_certificatefact WHERE key = '{ghost}'") == (
        "0"
    ), "a contradiction was merged"
    assert national.sql(
        "SELECT subscription, kind, issuer, key, reason FROM federation_arrival"
    ) == (
        f"center_qt1|contradiction|QT1|{ghost}|revoked of certificate QT1-HC-1999-9999 that the "
        "registry never saw issued"
    )

    # -- a second center: its facts meet QT1's without collision
    said = ok(qt2.manage("federation", "publish"))
    assert "issuer is QT2;" in said, said
    ok(national.manage("federation", "subscribe", "center_qt2", "--conninfo", conninfo2))
    of_qt2 = lims2.issue()
    arrived(national, keys("QT2", (of_qt2, "issued")))
    assert facts(national, "QT2") == facts(qt2, "QT2")
    # a node publishing a code that is not its own (a center moved to its own node whose
    # old node still publishes it) sends a number QT1 issued, with other content
    ok(qt2.manage("federation", "publish", "--issuer", "QT2", "--issuer", "QT1"))
    reused = f"QT1/{first}/issued"
    forge(
        qt2, f"QT2/{of_qt2}/issued", key=reused, issuer="QT1", number=first, serial="OTHER-SERIAL"
    )
    more = lims2.issue()
    arrived(national, keys("QT2", (more, "issued")))
    # the national node's facts of QT1 are the center's (its ghost revocation left out)
    assert facts(national, "QT1") == [
        row for row in facts(qt1, "QT1") if not row.startswith(f"({ghost},")
    ], "QT1's facts were changed"
    assert (
        national.sql(
            "SELECT subscription, kind, issuer, key, reason LIKE 'already registered with other "
            f"content%' FROM federation_arrival WHERE key = '{reused}'"
        )
        == f"center_qt2|contradiction|QT1|{reused}|t"
    )
    code, report = status(national)
    assert code == 0, report  # contradictions are reported; they do not stop replication
    by_name = {s["name"]: s for s in report["subscriptions"]}
    assert set(by_name) == {"center_qt1", "center_qt2"}, report
    assert [(s["contradictions"], s["duplicates"]) for s in by_name.values()] == [(1, 0), (1, 0)]
    assert [(c["subscription"], c["key"]) for c in report["contradictions"]] == [
        ("center_qt2", reused),
        ("center_qt1", ghost),
    ], report
    # the command line itself, in a process of its own, as an operator runs it
    done = manage(national.cluster, national.var, "federation", "status")
    assert done.returncode == 0, done.stderr
    table = done.stdout
    assert "contradiction from center_qt2 at" in table, table
    assert reused in table, table

    # -- the national registers, the other way: entered once at the national node by its
    # directorate, published there, subscribed to by the center, enforced by it
    today = date.fromisoformat(national.sql("SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"))
    national.lims.directorate("TCDL")
    said = ok(national.manage("federation", "publish", "--registers"))
    assert f"publication {REGISTERS_PUBLICATION} created" in said, said
    assert "rows whose directorate is TCDL;" in said, said
    assert_published(national, REGISTERS_PUBLICATION, REGISTER_COLUMNS, "TCDL")
    # a fact a center holds already under a key the directorate then uses (written by hand
    # on the center): reported there, never merged, and the facts after it flow
    forged = f"TCDL/pattern/PAT-QT-1/approved/{today}"
    qt1.sql(
        "INSERT INTO registry_patterndecisionfact (key, authority, number, event, at, "
        "instrument_type, manufacturer, model, approved_on) VALUES "
        f"('{forged}', 'TCDL', 'PAT-QT-1', 'approved', now(), 'dmm', 'X', 'FORGED', '{today}')"
    )
    national_conninfo = national.cluster.conninfo(REPLICATION_ROLE, DATABASE)
    said = ok(
        qt1.manage(
            "federation", "subscribe", "national", "--conninfo", national_conninfo,
            "--publication", REGISTERS_PUBLICATION,
        )
    )  # fmt: skip
    assert f"subscription national created: publication {REGISTERS_PUBLICATION}" in said, said
    pattern = national.lims.register(
        "approve_pattern",
        number="PAT-QT-1",
        instrument_type="dmm",
        manufacturer="Keysight",
        model="34465A",
        approved_on=today.isoformat(),
        valid_until=None,
    )
    assert pattern == forged
    expired = national.lims.register(
        "certify_verifier",
        number="KDV-QT1-1",
        organization="QT1",
        fields=["electrical"],
        instrument_types=[],
        valid_from=(today - timedelta(days=400)).isoformat(),
        valid_until=(today - timedelta(days=1)).isoformat(),
    )
    arrived(qt1, [expired], table="registry_verifiercertificationfact")
    for table in REGISTER_COLUMNS:  # each as the directorate wrote it, the forged row apart
        assert [r for r in facts(qt1, "TCDL", table) if not r.startswith(f"({forged},")] == [
            r for r in facts(national, "TCDL", table) if not r.startswith(f"({forged},")
        ], table
    assert len(facts(national, "TCDL", "registry_verifiercertificationfact")) == 1
    assert (
        qt1.sql(
            "SELECT subscription, kind, issuer, key FROM federation_arrival WHERE "
            "table_name = 'registry_patterndecisionfact'"
        )
        == f"national|contradiction|TCDL|{forged}"
    )
    assert qt1.sql(f"SELECT model FROM registry_patterndecisionfact WHERE key = '{forged}'") == (
        "FORGED"
    )
    # the center refuses a run by its verifier whose certification expired, in the register
    # as replicated; renewed at the national node, the next run is accepted
    lims1.enforce("KDV-QT1-1")
    with pytest.raises(ClusterError, match="verifier's certificate KDV-QT1-1 expired on"):
        lims1.issue()
    renewed = national.lims.register(
        "certify_verifier",
        number="KDV-QT1-1",
        organization="QT1",
        fields=["electrical"],
        instrument_types=[],
        valid_from=today.isoformat(),
        valid_until=(today + timedelta(days=365)).isoformat(),
    )
    arrived(qt1, [renewed], table="registry_verifiercertificationfact")
    assert lims1.issue()

    the_national_node_verifies_qt1s_pdfs(federation, amended)
    recall_across_the_country(federation, today)


def the_national_node_verifies_qt1s_pdfs(federation: Federation, amended: str) -> None:
    """The national node fetches each QT1 certificate's signed PDF over HTTP from QT1's
    LIMS, with the secret QT1 expects, checks it against the facts and keys QT1 registered,
    and marks it verified; QT1 audits each fetch."""
    qt1, national = federation.qt1, federation.national
    issued = national.sql(
        "SELECT count(*) FROM registry_certificatefact WHERE issuer = 'QT1' AND event = 'issued'"
    )
    url = qt1.lims.serve()
    said = ok(national.manage("federation", "source", "add", "QT1", "--url", url))
    assert f"source QT1 created: {url}; its secret from CALTRACE_FETCH_SECRET_QT1 (set" in said
    said = ok(national.manage("federation", "fetch"))
    assert said.splitlines() == [f"QT1: {issued} checked: {issued} verified"], said
    assert (
        national.sql(
            "SELECT count(DISTINCT fact_key) FROM federation_documentcheck "
            "WHERE issuer = 'QT1' AND outcome = 'verified'"
        )
        == issued
    )
    assert (
        qt1.sql(
            "SELECT count(*) FROM core_auditentry WHERE action = 'registry.document_fetched' "
            "AND actor = 'node:national'"
        )
        == issued
    )
    code, report = status(national)
    assert code == 0, report
    assert [
        (d["issuer"], d["registered"], d["verified"], d["flagged"], d["unchecked"])
        for d in report["documents"]
    ] == [("QT1", int(issued), int(issued), 0, 0)], report
    assert report["flagged"] == []
    assert national.lims.public(amended)["pdf_check"]["state"] == "verified"


def recall_across_the_country(federation: Federation, today: date) -> None:
    """Issue 21, point 4: QT2's calibrator, which calibrated QT1's ten days ago, is found out
    of tolerance at QT2; the fact reaches the national node, which writes the recall notices
    (``registry_recalls notify``); QT1's reach QT1 by its own publication, QT2's do not; QT1
    opens its nonconformity from them (``registry_recalls open``), naming its certificates."""
    qt1, qt2, national = federation.qt1, federation.qt2, federation.national
    theirs, mine = qt2.lims.standard(), qt1.lims.standard()
    since = today - timedelta(days=20)
    in_force = qt2.sql(
        "SELECT c.number FROM standards_standardcertificate c JOIN standards_referencestandard "
        f"s ON s.id = c.standard_id WHERE s.asset_id = '{theirs}' ORDER BY c.calibrated_on DESC "
        "LIMIT 1"
    )
    qt1.lims.calibrated_by(
        "QT2", theirs, in_force, "QT2-CAL-CERT-1", (today - timedelta(days=10)).isoformat()
    )
    found = qt2.lims.out_of_tolerance(since.isoformat())
    assert found.startswith("QT2-NC-"), found
    fact = f"QT2/{theirs}/out_of_tolerance/{since.isoformat()}"
    arrived(national, [fact], table="registry_standardfact")
    link = f"QT1/{mine}/QT2-CAL-CERT-1/QT2/{theirs}"
    arrived(national, [link], table="registry_calibrationlinkfact")
    assert (
        national.sql(
            f"SELECT upstream_certificate FROM registry_calibrationlinkfact WHERE key = '{link}'"
        )
        == in_force
    ), "the link carries the upstream certificate the center recorded"
    relied = qt1.sql("SELECT key FROM registry_reliancefact WHERE issuer = 'QT1'").splitlines()
    arrived(national, relied, table="registry_reliancefact")

    # -- the national node writes the notices, once
    said = ok(national.manage("registry_recalls", "notify"))
    assert f"{fact}: " in said, said
    assert " to QT1" in said, said
    assert " to QT2" in said, said
    assert "0 new notice(s)" in ok(national.manage("registry_recalls", "notify"))
    to_qt1 = national.sql(
        "SELECT key FROM registry_recallnoticefact WHERE issuer = 'QT1' ORDER BY key"
    ).splitlines()
    certificates = national.sql(
        "SELECT number FROM registry_recallnoticefact WHERE issuer = 'QT1' "
        "AND kind = 'certificate' ORDER BY number"
    ).splitlines()
    # every certificate QT1 issued relied on its calibrator after QT2's calibrated it
    assert (
        certificates
        == qt1.sql(
            "SELECT DISTINCT number FROM registry_reliancefact WHERE issuer = 'QT1' ORDER BY number"
        ).splitlines()
    )
    assert national.sql("SELECT count(*) FROM registry_recallnoticefact WHERE issuer = 'QT2'") != (
        "0"
    )

    # -- each center's notices by a publication of its own, its row filter on the addressee
    national_conninfo = national.cluster.conninfo(REPLICATION_ROLE, DATABASE)
    for code in ("QT1", "QT2"):
        said = ok(national.manage("federation", "publish", "--recalls", "--issuer", code))
        assert f"publication caltrace_recalls_{code.lower()} created" in said, said
        assert f"rows whose addressee is {code};" in said, said
        assert_published(national, f"caltrace_recalls_{code.lower()}", RECALL_COLUMNS, code)
    said = ok(
        qt1.manage(
            "federation", "subscribe", "national_recalls", "--conninfo", national_conninfo,
            "--publication", "caltrace_recalls_qt1",
        )
    )  # fmt: skip
    assert "subscription national_recalls created" in said, said
    arrived(qt1, to_qt1, table="registry_recallnoticefact")
    assert facts(qt1, "QT1", "registry_recallnoticefact") == facts(
        national, "QT1", "registry_recallnoticefact"
    )
    assert qt1.sql("SELECT count(*) FROM registry_recallnoticefact WHERE issuer <> 'QT1'") == (
        "0"
    ), "another center's notices crossed to QT1"

    # -- QT1 opens its own nonconformity, once, listing its certificates
    said = ok(qt1.manage("registry_recalls", "open"))
    assert "1 nonconformity opened" in said, said
    opened = qt1.sql(
        "SELECT n.number, s.asset_id, n.upstream_owner, n.upstream_standard, n.notified_by, "
        "n.opened_by_id IS NULL FROM traceability_nonconformity n "
        "JOIN standards_referencestandard s ON s.id = n.standard_id"
    )
    number = opened.split("|")[0]
    assert opened == f"{number}|{mine}|QT2|{theirs}|{fact}|t", opened
    listed = qt1.sql(
        "SELECT a.number FROM traceability_affecteditem a JOIN traceability_nonconformity n "
        f"ON n.id = a.nonconformity_id WHERE n.number = '{number}' AND a.kind = 'certificate' "
        "ORDER BY a.number"
    ).splitlines()
    assert listed == certificates
    assert "nothing new" in ok(qt1.manage("registry_recalls", "open"))
    assert qt1.sql("SELECT count(*) FROM traceability_nonconformity") == "1"
    assert qt1.sql(
        "SELECT actor, action FROM core_auditentry WHERE object_type = 'nonconformity'"
    ) == ("system|nonconformity.open")
