"""Traceability: links between standards, the chain view and the reverse trace.

Hand-built ladders (services, dates chosen to sit on the edges) check the behaviours one
by one; a generated ladder (``scenarios.traceability``) checks that the
recursive CTEs agree with a naive recursive computation in Python, the oracle. Everything
goes through the HTTP API except the set-up.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import importlib
import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection
from rest_framework.test import APIClient

from labserver.accounts import services as accounts
from labserver.accounts.models import AuditGrant
from labserver.issuance.models import Certificate
from labserver.measurements.models import StandardUsage
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard, StandardCertificate, StandardLink
from labserver.standards.services import ReferenceUse
from labserver.traceability.queries import FOREVER, MAX_DEPTH
from scenarios.traceability import (
    LadderSpec,
    generate_ladder,
    generated_run,
)
from tests.support.dbroles import as_owner
from tests.support.ladder import BIPM_FILE, Hand, register, value
from tests.support.lims import client_for, person

pytestmark = pytest.mark.django_db


def chain(client: APIClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return dict(response.json())


def edges_by_standard(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    asset = {n["id"]: n.get("asset_id") for n in graph["nodes"]}
    return {asset[e["standard"]]: e for e in graph["edges"] if e["kind"] == "used"}


# ----------------------------------------------------------------------------------- links


def test_recording_a_certificate_links_each_standard_used_to_its_certificate_in_force(
    hand: Hand,
) -> None:
    link = StandardLink.objects.get(certificate=hand.w1)
    assert (link.standard, link.upstream_certificate, link.used_on) == (
        hand.r,
        hand.r1,
        date(2025, 2, 1),
    )
    assert (link.function, link.range_low, link.range_high, link.unit) == ("dcv", 1, 10, "V")
    # the old argument still works: a plain standard, linked without a range
    plain = StandardLink.objects.get(certificate__number="H-U-2025-1")
    assert (plain.standard, plain.upstream_certificate, plain.function) == (hand.r, hand.r1, "")
    assert set(hand.w1.reference_standards.all()) == {hand.r}


def test_the_api_records_a_certificate_with_the_function_and_range_of_each_standard(
    hand: Hand,
) -> None:
    body = {
        "number": "H-U-2025-9",
        "internal": True,
        "issuing_lab": "Center H-C1",
        "calibrated_on": "2025-07-01",
        "issued_on": "2025-07-02",
        "due_on": "2026-07-01",
        "values": [value(5, 1e-6)],
        "reference_uses": [
            {"asset_id": "H-R", "function": "dcv", "range_low": 0, "range_high": 5, "unit": "V"}
        ],
    }
    url = f"/api/v1/standards/{hand.u.pk}/certificates/"
    response = hand.client().post(url, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["reference_standards"] == ["H-R"]
    link = StandardLink.objects.get(certificate__number="H-U-2025-9")
    assert (link.upstream_certificate, link.range_low, link.range_high) == (hand.r1, 0, 5)
    unknown = {**body, "number": "H-U-2025-10", "reference_uses": [{"asset_id": "H-N"}]}
    refused = hand.client().post(url, unknown, format="json")
    assert refused.status_code == 404
    assert refused.json()["field"] == "reference_uses[0].asset_id"


def test_a_standard_without_a_certificate_then_is_linked_as_a_break(hand: Hand) -> None:
    fresh = register(hand.c1.org, hand.qm, "H-NEW", "reference")
    cert = standards.record_certificate(
        actor=hand.qm,
        standard=hand.u,
        number="H-U-2025-2",
        issuing_lab="Center H-C1",
        internal=True,
        calibrated_on=date(2025, 4, 1),
        issued_on=date(2025, 4, 1),
        due_on=date(2026, 4, 1),
        values=[value(10, 2e-6)],
        reference_standards=[fresh],
    )
    assert StandardLink.objects.get(certificate=cert).upstream_certificate is None
    graph = chain(hand.client(), f"/api/v1/standards/{hand.u.pk}/chain/?on=2025-05-01")
    assert any(r.startswith("no certificate: H-NEW") for b in graph["breaks"] for r in b["reasons"])


def test_the_migration_turns_old_m2m_rows_into_links(hand: Hand) -> None:
    # a certificate recorded before the app: M2M rows, no links
    old = StandardCertificate.objects.create(
        standard=hand.u,
        number="H-U-OLD",
        issuing_lab="Center H-C1",
        internal=True,
        calibrated_on=date(2025, 6, 1),
        issued_on=date(2025, 6, 1),
        due_on=date(2026, 6, 1),
    )
    old.reference_standards.set([hand.r, hand.w])
    migration = importlib.import_module(
        "labserver.traceability.migrations.0002_links_from_m2m_append_only"
    )
    # The models as that migration sees them (the links were then the traceability app's).
    from django.db.migrations.loader import MigrationLoader

    apps = (
        MigrationLoader(connection)
        .project_state(("traceability", "0002_links_from_m2m_append_only"))
        .apps
    )

    class Editor:
        def __init__(self) -> None:
            self.connection = connection

        def execute(self, sql: str, params: Any = None) -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    before = StandardLink.objects.count()
    migration.links_from_m2m(apps, Editor())
    migration.links_from_m2m(apps, Editor())  # twice: nothing doubled
    made = {
        (x.standard, x.upstream_certificate) for x in StandardLink.objects.filter(certificate=old)
    }
    assert made == {(hand.r, hand.r1), (hand.w, hand.w1)}
    assert StandardLink.objects.count() == before + 2


def test_links_and_usages_are_append_only_on_postgresql(hand: Hand) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    # As the owner: the trigger refuses even the tables' owner (the runtime role is refused
    # earlier, by its privileges: test_append_only.py).
    for model in (StandardLink, StandardUsage):
        with pytest.raises(DatabaseError, match="append-only"), as_owner():
            model.objects.filter(standard__in=[hand.r, hand.w]).update(function="tampered")
        with pytest.raises(DatabaseError, match="append-only"), as_owner():
            model.objects.all().delete()


# ------------------------------------------------------------------------------ chain view


def test_the_chain_of_a_certificate_reaches_the_national_standard_and_the_si(hand: Hand) -> None:
    graph = chain(hand.client(), f"/api/v1/certificates/{hand.a.pk}/chain/")
    nodes = {n["id"]: n for n in graph["nodes"]}
    root = nodes[graph["root"]]
    assert root["number"] == hand.a.number
    assert root["pdf_sha256"] == hand.a.pdf_sha256
    assert root["status"] == "valid"
    by_std = edges_by_standard(graph)
    assert [by_std[a]["depth"] for a in ("H-W", "H-R", "H-N")] == [1, 2, 3]
    assert by_std["H-W"]["from"] == graph["root"]
    assert by_std["H-R"]["from"] == by_std["H-W"]["to"] == f"standard_certificate:{hand.w1.pk}"
    assert by_std["H-N"]["from"] == by_std["H-R"]["to"] == f"standard_certificate:{hand.r1.pk}"
    top = nodes[by_std["H-N"]["to"]]
    assert (top["number"], top["issuing_lab"], top["accreditation"], top["top"]) == (
        "BIPM-2024-77",
        "BIPM",
        "CIPM MRA",
        "external",
    )
    assert top["sha256"] == hashlib.sha256(BIPM_FILE).hexdigest() == hand.n1.sha256
    assert nodes[by_std["H-R"]["to"]]["sha256"] == hand.r1.sha256
    si = [e for e in graph["edges"] if e["to"] == "si"]
    assert [(e["from"], e["depth"]) for e in si] == [(top["id"], 4)]
    assert nodes["si"]["kind"] == "si"
    # each link's uncertainty: the values of the certificate in force within the range used
    assert [(v["nominal"], v["U"], v["k"]) for v in by_std["H-W"]["uncertainty"]] == [(10, 2e-6, 2)]
    assert [(v["nominal"], v["U"]) for v in by_std["H-N"]["uncertainty"]] == [
        (1, 1e-8),
        (10, 2e-8),
    ]
    assert by_std["H-R"]["uncertainty"][0]["value"] == 10.0000003
    assert (by_std["H-R"]["function"], by_std["H-R"]["range_low"], by_std["H-R"]["unit"]) == (
        "dcv",
        1,
        "V",
    )
    assert graph["unbroken"] is True
    assert all(e["valid"] for e in graph["edges"])


def test_a_certificate_whose_run_names_no_standard_is_not_documented(hand: Hand) -> None:
    bare = generated_run(hand.c1, used_on=date(2025, 3, 2), standards=[])
    graph = chain(hand.client(), f"/api/v1/certificates/{bare.pk}/chain/")
    assert graph["edges"] == []
    assert graph["unbroken"] is False
    assert graph["breaks"] == [
        {
            "node": f"issued_certificate:{bare.pk}",
            "reasons": [f"not documented: the run of {bare.number} names no standards"],
        }
    ]


def test_an_overdue_link_is_a_break_with_its_reason(hand: Hand) -> None:
    graph = chain(hand.client(), f"/api/v1/certificates/{hand.b.pk}/chain/")
    w = edges_by_standard(graph)["H-W"]
    assert w["valid"] is False
    assert w["reasons"] == [
        "overdue: certificate H-W-2025-1 of H-W was due on 2025-08-01, used on 2025-09-01"
    ]
    assert graph["unbroken"] is False
    assert graph["breaks"] == [{"edge": [w["from"], w["to"]], "reasons": w["reasons"]}]
    # the rest of the chain above is still drawn, and valid
    assert edges_by_standard(graph)["H-N"]["valid"] is True


def test_an_out_of_tolerance_link_is_a_break_with_its_reason(hand: Hand) -> None:
    standards.mark_out_of_tolerance(
        actor=hand.qm, standard=hand.r, since=date(2025, 1, 20), reason="drift at 10 V"
    )
    graph = chain(hand.client(), f"/api/v1/certificates/{hand.a.pk}/chain/")
    by_std = edges_by_standard(graph)
    assert by_std["H-R"]["reasons"] == ["out of tolerance: H-R out of tolerance since 2025-01-20"]
    assert by_std["H-W"]["valid"] is True
    # marked from a later date than the calibration of W: not a break of this chain
    other = register(hand.c1.org, hand.qm, "H-R2", "reference")
    standards.record_certificate(
        actor=hand.qm,
        standard=other,
        number="H-R2-1",
        issuing_lab="Center H-C1",
        internal=True,
        calibrated_on=date(2025, 1, 5),
        issued_on=date(2025, 1, 5),
        due_on=date(2026, 1, 5),
        values=[],
        reference_standards=[hand.n],
    )
    standards.mark_out_of_tolerance(
        actor=hand.nmi_qm, standard=hand.n, since=date(2025, 2, 1), reason="later"
    )
    graph = chain(hand.client(), f"/api/v1/standards/{other.pk}/chain/?on=2025-03-01")
    assert by_std_valid(graph) == {"H-R2": True, "H-N": True}


def by_std_valid(graph: dict[str, Any]) -> dict[str, bool]:
    return {k: e["valid"] for k, e in edges_by_standard(graph).items()}


def test_the_chain_of_a_standard_follows_the_date(hand: Hand) -> None:
    client = hand.tracing()
    graph = chain(client, f"/api/v1/standards/{hand.w.pk}/chain/?on=2025-03-01")
    assert graph["root"] == f"standard:{hand.w.pk}"
    assert by_std_valid(graph) == {"H-W": True, "H-R": True, "H-N": True}
    late = chain(client, f"/api/v1/standards/{hand.w.pk}/chain/?on=2025-08-02")
    assert late["breaks"][0]["reasons"][0].startswith("overdue: certificate H-W-2025-1")
    assert chain(client, f"/api/v1/standards/{hand.w.pk}/chain/?on=2025-08-01")["unbroken"]
    early = chain(client, f"/api/v1/standards/{hand.w.pk}/chain/?on=2025-01-31")
    assert early["edges"][0]["to"] == f"standard:{hand.w.pk}"
    assert early["breaks"][0]["reasons"] == [
        "no certificate: H-W had no calibration certificate on 2025-01-31"
    ]
    bad = client.get(f"/api/v1/standards/{hand.w.pk}/chain/?on=yesterday")
    assert bad.status_code == 400
    assert bad.json()["field"] == "on"


def test_a_retired_standard_and_an_undocumented_internal_certificate_are_breaks(
    hand: Hand,
) -> None:
    ReferenceStandard.objects.filter(pk=hand.r.pk).update(retired_on=date(2025, 1, 31))
    orphan = register(hand.c1.org, hand.qm, "H-O", "reference")
    standards.record_certificate(
        actor=hand.qm,
        standard=orphan,
        number="H-O-1",
        issuing_lab="Center H-C1",
        internal=True,
        calibrated_on=date(2025, 1, 1),
        issued_on=date(2025, 1, 1),
        due_on=date(2026, 1, 1),
        values=[],
    )
    graph = chain(hand.client(), f"/api/v1/certificates/{hand.a.pk}/chain/")
    assert edges_by_standard(graph)["H-R"]["reasons"] == ["retired: H-R was retired on 2025-01-31"]
    graph = chain(hand.client(), f"/api/v1/standards/{orphan.pk}/chain/?on=2025-02-01")
    assert graph["breaks"] == [
        {
            "node": graph["edges"][0]["to"],
            "reasons": [
                "not documented: internal certificate H-O-1 of H-O names no reference standards"
            ],
        }
    ]
    assert not any(e["to"] == "si" for e in graph["edges"])


def test_a_cycle_is_cut_and_named(hand: Hand) -> None:
    # two certificates calibrated on the same day with each other: only raw rows can say it
    x = register(hand.c1.org, hand.qm, "H-X", "reference")
    y = register(hand.c1.org, hand.qm, "H-Y", "reference")
    day = date(2025, 5, 1)
    xc, yc = (
        StandardCertificate.objects.create(
            standard=s,
            number=f"{s.asset_id}-1",
            internal=True,
            issuing_lab="Center H-C1",
            calibrated_on=day,
            issued_on=day,
            due_on=day + timedelta(days=365),
        )
        for s in (x, y)
    )
    StandardLink.objects.create(certificate=xc, standard=y, upstream_certificate=yc, used_on=day)
    StandardLink.objects.create(certificate=yc, standard=x, upstream_certificate=xc, used_on=day)
    graph = chain(hand.client(), f"/api/v1/standards/{x.pk}/chain/?on=2025-05-02")
    reasons = [r for b in graph["breaks"] for r in b["reasons"]]
    assert reasons == ["cycle: certificate H-X-1 is already in this chain"]
    assert max(e["depth"] for e in graph["edges"]) == 3
    # and the reverse trace ends too
    response = hand.client().get(f"/api/v1/standards/{x.pk}/impact/?from=2025-05-01&to=2025-05-01")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {(r["number"], r["depth"]) for r in rows} == {("H-Y-1", 1), ("H-X-1", 2)}


# --------------------------------------------------------------------------- reverse trace


def impact(client: APIClient, standard: ReferenceStandard, start: str, end: str) -> list[Any]:
    rows: list[Any] = []
    url: str | None = f"/api/v1/standards/{standard.pk}/impact/?from={start}&to={end}&page_size=7"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        url = body["next"]
        assert body["count"] >= len(rows)
    return rows


def test_the_reverse_trace_finds_indirect_dependants_at_depth_three(hand: Hand) -> None:
    rows = impact(hand.tracing(), hand.n, "2025-01-10", "2025-01-10")
    found = [(r["kind"], r["number"], r["depth"], r["standard"], r["used_on"]) for r in rows]
    assert found == [
        ("standard_certificate", "H-R-2025-1", 1, "H-N", "2025-01-10"),
        ("standard_certificate", "H-W-2025-1", 2, "H-R", "2025-02-01"),
        ("standard_certificate", "H-U-2025-1", 2, "H-R", "2025-02-01"),
        ("certificate", hand.a.number, 3, "H-W", "2025-03-01"),
        ("certificate", hand.b.number, 3, "H-W", "2025-09-01"),
    ]
    a = rows[3]
    assert (a["run"], a["status"], a["organization"]) == (str(hand.a.run_id), "valid", "H-C1")
    assert (a["function"], a["range_low"], a["range_high"], a["unit"]) == ("dcv", 0, 10, "V")
    assert [r["range_low"] for r in rows[:3]] == [0, 1, None]  # U-1: recorded without a range


def test_the_reverse_trace_respects_the_date_range_exactly_at_its_edges(hand: Hand) -> None:
    client = hand.tracing()
    assert impact(client, hand.n, "2025-01-11", "2025-12-31") == []
    assert impact(client, hand.n, "2024-01-01", "2025-01-09") == []
    assert len(impact(client, hand.n, "2025-01-10", "2025-01-10")) == 5

    def numbers(rows: list[Any]) -> list[str]:
        return [r["number"] for r in rows]

    assert numbers(impact(client, hand.w, "2025-03-01", "2025-03-01")) == [hand.a.number]
    assert numbers(impact(client, hand.w, "2025-03-02", "2025-09-01")) == [hand.b.number]
    assert numbers(impact(client, hand.w, "2025-02-01", "2025-02-28")) == []
    assert numbers(impact(client, hand.w, "2025-09-02", "2025-12-31")) == []


def test_a_new_certificate_ends_what_the_old_one_tainted(hand: Hand) -> None:
    # W recalibrated on 2025-09-15 with U: from then on W's uses rely on W-2, not on W-1
    standards.record_certificate(
        actor=hand.qm,
        standard=hand.w,
        number="H-W-2025-2",
        issuing_lab="Center H-C1",
        internal=True,
        calibrated_on=date(2025, 9, 15),
        issued_on=date(2025, 9, 15),
        due_on=date(2026, 9, 15),
        values=[value(10, 2e-6)],
        reference_standards=[ReferenceUse(hand.u, "dcv", 0, 10, "V")],
    )
    c = generated_run(hand.c1, used_on=date(2025, 10, 1), standards=[(hand.w, "dcv", 0, 10, "V")])
    on_w = [r["number"] for r in impact(hand.client(), hand.w, "2025-01-01", "2025-12-31")]
    assert on_w == [hand.a.number, hand.b.number, c.number]
    depths = {
        r["number"]: r["depth"] for r in impact(hand.tracing(), hand.n, "2025-01-10", "2025-01-10")
    }
    assert depths == {
        "H-R-2025-1": 1,
        "H-W-2025-1": 2,
        "H-U-2025-1": 2,
        "H-W-2025-2": 3,  # N -> R-1 -> U-1 -> W-2
        hand.a.number: 3,  # through W-1
        hand.b.number: 3,
        c.number: 4,  # through W-2 only: W-1's window ended on 2025-09-15
    }


def test_an_unused_standard_has_no_dependants(hand: Hand) -> None:
    assert impact(hand.client(), hand.u, "2020-01-01", "2030-12-31") == []


def test_the_reverse_trace_exports_csv(hand: Hand) -> None:
    client = hand.tracing()
    url = f"/api/v1/standards/{hand.n.pk}/impact/?from=2025-01-01&to=2025-12-31"
    response = client.get(url + "&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    table = list(csv.DictReader(io.StringIO(text)))
    rows = impact(client, hand.n, "2025-01-01", "2025-12-31")
    assert [(t["number"], int(t["depth"]), t["run"] or None) for t in table] == [
        (r["number"], r["depth"], r["run"]) for r in rows
    ]
    assert table[-1]["range_high"] == "10.0"


def test_the_reverse_trace_needs_both_dates_in_order(hand: Hand) -> None:
    client = hand.tracing()
    base = f"/api/v1/standards/{hand.n.pk}/impact/"
    assert client.get(base + "?from=2025-01-01").json()["field"] == "to"
    assert client.get(base + "?from=2025-02-01&to=2025-01-01").json()["field"] == "to"
    assert client.get(base + "?from=2025-01-01&to=2025-12-31&page=9").json()["count"] == 5


# ------------------------------------------------------------------------------------ access


def test_another_organizations_standard_and_certificate_are_not_found(hand: Hand) -> None:
    stranger = hand.client(person(hand.c2.org, "h-c2-qm", "quality_manager"))
    for url in (
        f"/api/v1/certificates/{hand.a.pk}/chain/",
        f"/api/v1/standards/{hand.w.pk}/chain/",
        f"/api/v1/standards/{hand.w.pk}/impact/?from=2025-01-01&to=2025-12-31",
        "/api/v1/certificates/999999/chain/",
    ):
        response = stranger.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_the_reverse_trace_lists_only_what_the_caller_may_read(hand: Hand) -> None:
    # the institute sees its national standard, not the centers' certificates under it
    rows = impact(hand.client(hand.nmi_qm), hand.n, "2025-01-01", "2025-12-31")
    assert rows == []
    grant = person(hand.institute, "h-nmi-auditor", "auditor")
    AuditGrant.objects.create(user=grant, organization=hand.c1.org, reason="audit")
    rows = impact(hand.client(grant), hand.n, "2025-01-01", "2025-12-31")
    assert len(rows) == 5


def test_an_auditor_with_a_grant_reads_and_a_customer_sees_only_its_own(hand: Hand) -> None:
    auditor = person(hand.c2.org, "h-auditor", "auditor")
    assert hand.client(auditor).get(f"/api/v1/standards/{hand.w.pk}/chain/").status_code == 404
    AuditGrant.objects.create(user=auditor, organization=hand.c1.org, reason="annual audit")
    client = hand.client(auditor)
    assert client.get(f"/api/v1/standards/{hand.w.pk}/chain/").status_code == 200
    assert client.get(f"/api/v1/certificates/{hand.a.pk}/chain/").status_code == 200

    own = hand.client(person(hand.c1.customer, "h-customer-1", "customer"))
    assert own.get(f"/api/v1/certificates/{hand.a.pk}/chain/").status_code == 200
    assert own.get(f"/api/v1/standards/{hand.w.pk}/chain/").status_code == 404
    other = hand.client(person(hand.c2.customer, "h-customer-2", "customer"))
    assert other.get(f"/api/v1/certificates/{hand.a.pk}/chain/").status_code == 404


def test_an_agent_is_refused(hand: Hand) -> None:
    _, token = accounts.register_agent(
        actor=hand.qm,
        organization=hand.c1.org,
        name="bench-t",
        public_key=base64.b64encode(b"k" * 32).decode(),
    )
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for url in (
        f"/api/v1/certificates/{hand.a.pk}/chain/",
        f"/api/v1/standards/{hand.w.pk}/chain/",
        f"/api/v1/standards/{hand.w.pk}/impact/?from=2025-01-01&to=2025-12-31",
    ):
        assert agent.get(url).status_code in (403, 404), url
    assert APIClient().get(f"/api/v1/standards/{hand.w.pk}/chain/").status_code in (401, 403)


def test_the_schema_documents_the_traceability_endpoints() -> None:
    import yaml

    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    paths = schema["paths"]
    chain_out = paths["/api/v1/certificates/{id}/chain/"]["get"]["responses"]["200"]
    assert chain_out["content"]["application/json"]["schema"]["$ref"].endswith("/ChainOut")
    assert "/api/v1/standards/{id}/chain/" in paths
    impact_get = paths["/api/v1/standards/{id}/impact/"]["get"]
    assert {p["name"] for p in impact_get["parameters"]} >= {"from", "to", "page", "format"}
    edge = schema["components"]["schemas"]["EdgeOut"]["properties"]
    assert {"from", "to", "uncertainty", "valid", "reasons"} <= set(edge)


# ------------------------------------------------------------- generated ladder and oracle


@pytest.fixture
def ladder(db: Any) -> Any:
    return generate_ladder(LadderSpec(levels=5, standards=50, issued_certificates=500, seed=7))


@pytest.fixture
def ladder_reader(ladder: Any) -> APIClient:
    user = person(ladder.centers[0], "g-auditor", "auditor")
    for org in (ladder.institute, *ladder.centers[1:]):
        AuditGrant.objects.create(user=user, organization=org, reason="whole ladder")
    return client_for(user)


class Oracle:
    """The same questions answered by walking rows in Python, one recursion per step."""

    def __init__(self) -> None:
        self.certs = {c.pk: c for c in StandardCertificate.objects.select_related("standard")}
        self.series: dict[int, list[StandardCertificate]] = {}
        for c in sorted(self.certs.values(), key=lambda c: (c.calibrated_on, c.pk)):
            self.series.setdefault(c.standard_id, []).append(c)
        self.links = list(StandardLink.objects.select_related("standard"))
        self.usages = list(StandardUsage.objects.select_related("standard"))
        self.issued = {c.run_id: c for c in Certificate.objects.all()}

    def window_end(self, cert: StandardCertificate) -> date:
        later = [
            c.calibrated_on
            for c in self.series[cert.standard_id]
            if c.calibrated_on > cert.calibrated_on
        ]
        return min(later) if later else FOREVER

    def impact(self, standard_id: int, start: date, end: date) -> dict[tuple[Any, ...], int]:
        found: dict[tuple[Any, ...], int] = {}

        def visit(std: int, lo: date, hi: date, depth: int) -> None:
            for link in self.links if depth < MAX_DEPTH else []:
                if link.standard_id == std and lo <= link.used_on < hi:
                    cert = self.certs[link.certificate_id]
                    key = (
                        "standard_certificate",
                        cert.number,
                        link.standard.asset_id,
                        str(link.used_on),
                    )
                    found[key] = min(found.get(key, depth + 1), depth + 1)
                    visit(cert.standard_id, cert.calibrated_on, self.window_end(cert), depth + 1)
            for usage in self.usages:
                if usage.standard_id == std and lo <= usage.used_on < hi:
                    ic = self.issued[usage.run_id]
                    key = ("certificate", ic.number, usage.standard.asset_id, str(usage.used_on))
                    found[key] = min(found.get(key, depth + 1), depth + 1)

        visit(standard_id, start, end + timedelta(days=1), 0)
        return found

    def chain_edges(self, issued: Certificate) -> set[tuple[str, str]]:
        edges: set[tuple[str, str]] = set()

        def up(cert_id: int, seen: frozenset[int]) -> None:
            for link in self.links:
                if link.certificate_id == cert_id and link.upstream_certificate_id is not None:
                    edges.add(
                        (
                            f"standard_certificate:{cert_id}",
                            f"standard_certificate:{link.upstream_certificate_id}",
                        )
                    )
                    if link.upstream_certificate_id not in seen:
                        up(link.upstream_certificate_id, seen | {link.upstream_certificate_id})

        for usage in self.usages:
            if usage.run_id == issued.run_id:
                edges.add(
                    (
                        f"issued_certificate:{issued.pk}",
                        f"standard_certificate:{usage.certificate_id}",
                    )
                )
                up(usage.certificate_id, frozenset({usage.certificate_id}))
        return edges


def test_the_generator_is_deterministic_and_set_based(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    spec = LadderSpec(levels=5, standards=50, issued_certificates=500, seed=3, batch=200)
    with django_assert_max_num_queries(120):
        first = generate_ladder(spec)
    assert [len(level) for level in first.levels] == [1, 3, 6, 12, 28]
    assert (first.issued, first.runs) == (500, 500)
    assert first.usages >= 500
    assert first.standard_certificates == 100

    def rows(prefix: str) -> list[tuple[str, str, date]]:
        links = StandardLink.objects.filter(standard__asset_id__startswith=prefix)
        return sorted(
            links.values_list("certificate__number", "upstream_certificate__number", "used_on")
        )

    second = generate_ladder(dataclasses.replace(spec, prefix="K"))
    assert second.usages == first.usages
    assert [r[2] for r in rows("G-")] == [r[2] for r in rows("K-")]
    assert [r[0][1:] for r in rows("G-")] == [r[0][1:] for r in rows("K-")]


def test_the_reverse_trace_equals_the_oracle_on_a_generated_ladder(
    ladder: Any, ladder_reader: APIClient
) -> None:
    oracle = Oracle()
    standards_by_id = ReferenceStandard.objects.in_bulk()
    cases = [
        (ladder.levels[0][0], date(2025, 1, 1), date(2025, 12, 31)),
        (ladder.levels[1][1], date(2025, 1, 1), date(2025, 6, 30)),
        (ladder.levels[2][0], date(2025, 1, 20), date(2025, 1, 31)),
        (ladder.levels[3][2], date(2025, 3, 1), date(2025, 9, 30)),
        (ladder.levels[4][5], date(2025, 5, 1), date(2025, 5, 31)),
    ]
    deep = 0
    for standard_id, start, end in cases:
        rows = impact(ladder_reader, standards_by_id[standard_id], str(start), str(end))
        got = {(r["kind"], r["number"], r["standard"], r["used_on"]): r["depth"] for r in rows}
        assert len(got) == len(rows)
        assert got == oracle.impact(standard_id, start, end), (standard_id, start, end)
        deep = max(deep, *got.values(), 0)
    assert deep >= 4


def test_chains_on_a_generated_ladder_equal_the_oracle_and_reach_the_si(
    ladder: Any, ladder_reader: APIClient
) -> None:
    oracle = Oracle()
    for issued in Certificate.objects.order_by("number")[::50]:
        graph = chain(ladder_reader, f"/api/v1/certificates/{issued.pk}/chain/")
        used = {(e["from"], e["to"]) for e in graph["edges"] if e["kind"] == "used"}
        assert used == oracle.chain_edges(issued)
        nodes = {n["id"]: n for n in graph["nodes"]}
        tops = [n for n in nodes.values() if n.get("top")]
        assert tops
        assert all(n["top"] == "external" for n in tops)
        assert {e["from"] for e in graph["edges"] if e["to"] == "si"} == {n["id"] for n in tops}
        assert all(nodes[n["standard"]]["level"] == "national" for n in tops)
        for node in nodes.values():
            if node["kind"] == "standard_certificate":
                assert node["sha256"] == hashlib.sha256(node["number"].encode()).hexdigest()
        assert graph["unbroken"], graph["breaks"]
        assert max(e["depth"] for e in graph["edges"]) == 6  # 5 levels, then the SI
