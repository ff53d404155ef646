"""Out of tolerance (ISO/IEC 17025 7.10): would the verdicts change, the nonconformity
with its reverse-trace snapshot, decisions, recall, customer letters, closing.

The certificates are issued for real from runs the server evaluated (procedure dmm-dcv,
the center's calibrator QT1-CAL-01 bound to the model's ``V_s``); a generated run
(``scenarios.traceability.generated_run``: usages and certificate, no points) and a
working standard calibrated with the calibrator give the cases that cannot be
re-evaluated. Everything goes through the HTTP API but the set-up.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection
from rest_framework.test import APIClient

from labserver.accounts.models import User
from labserver.core.audit import verify_audit
from labserver.core.models import AuditEntry
from labserver.issuance.models import Certificate, SigningKeyRecord
from labserver.measurements.models import Point
from labserver.nonconformities.models import Decision, Nonconformity
from labserver.standards.models import ReferenceStandard
from scenarios.traceability import CenterSetup, generated_run
from tests.support.dbroles import as_owner
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    TODAY,
    Center,
    center_built_once,
    center_world,
    client_for,
    dmm_built_once,
    procedure_built_once,
)
from tests.support.nonconformity import LARGE, SMALL, Case, case_built_once, case_world  # noqa: F401  (CASE_BUILT_ONCE)
from tests.support.tools import require_tool

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def reevaluate(case: Case, shift: float, unit: str = "V", client: APIClient | None = None) -> Any:
    client = client or case.center.client("auditor")
    day = TODAY.isoformat()
    return client.get(
        f"/api/v1/standards/{case.center.standard.pk}/impact/reevaluate/",
        {"from": day, "to": day, "shift": str(shift), "unit": unit},
    )


def by_number(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["number"]: r for r in body["results"]}


# The dmm-dcv procedure's MPE on the 1 V range (Keysight 34465A, 1 year):
# 0.0040 % of the nominal + 0.0007 % of the 1 V range.
MPE = {0: 0.0040e-2 * 0.1 + 0.0007e-2 * 1, 1: 0.0040e-2 * 0.5 + 0.0007e-2, 2: 0.0040e-2 + 0.0007e-2}


def by_hand(point: Point, shift: float) -> tuple[float, float, str]:
    """E = x + δx_res − V_s, so V_s moved by +shift moves E by −shift, U unchanged; the
    procedure's rule is simple acceptance (ILAC G8:09/2019 4.2.1, w = 0): pass when
    −MPE ≤ E ≤ +MPE."""
    error = point.server_result["value"] - shift
    mpe = MPE[point.index]
    return error, point.server_result["U"], "pass" if -mpe <= error <= mpe else "fail"


# ---------------------------------------------------------------------- re-evaluation


def test_a_small_shift_changes_no_verdict(case: Case) -> None:
    response = reevaluate(case, SMALL)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["count"], body["changed"], body["shift"], body["unit"]) == (4, 0, SMALL, "V")
    answer = by_number(body)[case.first.number]
    assert (answer["stored_verdict"], answer["re_evaluated_verdict"], answer["changed"]) == (
        "pass",
        "pass",
        False,
    )
    assert answer["not_re_evaluated"] == []
    points = {p.index: p for p in Point.objects.filter(run=case.first.run)}
    for p in answer["points"]:
        error, U, verdict = by_hand(points[p["index"]], SMALL)
        assert p["quantities"] == ["V_s"]
        assert p["re_evaluated"]["error"] == pytest.approx(error, rel=1e-9, abs=1e-15)
        assert p["re_evaluated"]["U"] == pytest.approx(U, rel=1e-12)
        assert p["re_evaluated"]["conformity"] == verdict == p["stored"]["conformity"] == "pass"
        assert p["re_evaluated"]["decision_rule"] == "simple acceptance"
        assert p["re_evaluated"]["acceptance"]["mpe"] == pytest.approx(MPE[p["index"]])
        assert p["changed"] is False


def test_a_larger_shift_turns_a_pass_into_a_fail(case: Case) -> None:
    body = reevaluate(case, LARGE).json()
    answer = by_number(body)[case.first.number]
    assert (answer["stored_verdict"], answer["re_evaluated_verdict"], answer["changed"]) == (
        "pass",
        "fail",
        True,
    )
    assert body["changed"] == 2  # both certificates issued from real runs
    points = {p.index: p for p in Point.objects.filter(run=case.first.run)}
    flipped = []
    for p in answer["points"]:
        error, U, verdict = by_hand(points[p["index"]], LARGE)
        assert p["re_evaluated"]["error"] == pytest.approx(error, rel=1e-9, abs=1e-15)
        assert p["re_evaluated"]["U"] == pytest.approx(U, rel=1e-12)
        assert p["re_evaluated"]["conformity"] == verdict
        if p["changed"]:
            flipped.append(p["index"])
    # 0.1 V: |E − 20 µV| ≈ 20.2 µV > 11 µV; 0.5 V (27 µV) and 1 V (47 µV) still pass.
    assert flipped == [0]


def test_points_that_cannot_be_re_evaluated_say_why(case: Case) -> None:
    body = by_number(reevaluate(case, LARGE).json())
    indirect = body[case.indirect.number]
    assert indirect["depth"] == 2
    assert (indirect["re_evaluated_verdict"], indirect["changed"], indirect["points"]) == (
        None,
        None,
        [],
    )
    [why] = indirect["not_re_evaluated"]
    assert "indirectly, through QT1-W-01 (depth 2)" in why["reason"]
    empty = body[case.empty.number]
    assert empty["depth"] == 1
    assert empty["changed"] is None
    assert "no points" in empty["not_re_evaluated"][0]["reason"]


def test_a_point_whose_model_binds_nothing_to_the_standard_is_not_re_evaluated(
    case: Case,
) -> None:
    # The same run seen from a standard it used in a role the model binds nothing to.
    from labserver.measurements.models import StandardUsage

    usage = StandardUsage.objects.get(run=case.first.run)
    in_force = case.working.certificate_on(TODAY)
    assert in_force is not None
    StandardUsage.objects.create(
        run=case.first.run,
        standard=case.working,
        certificate=in_force,
        used_on=TODAY,
        role="environment",
        function="temperature",
        range_low=None,
        range_high=None,
        unit="degC",
    )
    assert usage.standard == case.center.standard
    qm = case.center.client("quality_manager")
    day = TODAY.isoformat()
    response = qm.get(
        f"/api/v1/standards/{case.working.pk}/impact/reevaluate/",
        {"from": day, "to": day, "shift": "0.1", "unit": "degC"},
    )
    answer = by_number(response.json())[case.first.number]
    assert answer["points"] == []
    assert answer["changed"] is None
    assert {n["index"] for n in answer["not_re_evaluated"]} == {0, 1, 2}
    assert all(
        "binds no quantity to QT1-W-01's certificate" in n["reason"]
        for n in answer["not_re_evaluated"]
    )


def test_a_shift_in_another_unit_than_the_certificate_is_refused(case: Case) -> None:
    response = reevaluate(case, 20, unit="uV")
    assert response.status_code == 400
    assert response.json()["field"] == "unit"
    assert "'uV'" in response.json()["detail"]
    assert "'V'" in response.json()["detail"]
    missing = reevaluate(case, 20, unit="")
    assert (missing.status_code, missing.json()["field"]) == (400, "unit")


def test_re_evaluation_is_for_people_of_the_standards_organization(
    case: Case, other_center: Center
) -> None:
    assert reevaluate(case, LARGE, client=other_center.client("quality_manager")).status_code == 404
    assert reevaluate(case, LARGE, client=case.center.agent_client()).status_code == 403


# ---------------------------------------------------------------------- the workflow


def open_nc(client: APIClient, case: Case, **changes: Any) -> Any:
    body = {
        "standard": case.center.standard.pk,
        "out_of_tolerance_since": (TODAY - timedelta(days=1)).isoformat(),
        "found_on": TODAY.isoformat(),
        "description": "As-found error +20 µV at 0.1 V on recalibration.",
        "shift": LARGE,
        "shift_unit": "V",
        **changes,
    }
    return client.post("/api/v1/nonconformities/", body, format="json")


def decide(client: APIClient, nc: int, certificate: Certificate, action: str, **more: Any) -> Any:
    body = {"certificate": certificate.pk, "action": action, "reason": f"{action}: reviewed"}
    return client.post(f"/api/v1/nonconformities/{nc}/decisions/", {**body, **more}, format="json")


def pdf_text(data: bytes, tmp_path: Any) -> str:
    pdftotext = require_tool("pdftotext")
    path = tmp_path / "letters.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return " ".join(out.stdout.split())  # lines wrap where the layout wraps them


def test_the_workflow_from_opening_to_closing(case: Case, tmp_path: Any) -> None:
    qm = case.center.client("quality_manager")
    opened = open_nc(qm, case)
    assert opened.status_code == 201, opened.json()
    nc = opened.json()
    assert nc["number"] == f"QT1-NC-{TODAY.year}-0001"
    assert (nc["status"], nc["standard"]["asset_id"]) == ("open", "QT1-CAL-01")
    # The standard is marked out of tolerance (mark_out_of_tolerance) ...
    standard = ReferenceStandard.objects.get(pk=case.center.standard.pk)
    assert standard.out_of_tolerance_since == TODAY - timedelta(days=1)
    # ... and the reverse trace of that moment is stored, with the re-evaluated verdicts.
    issued = {a["number"]: a for a in nc["affected"] if a["kind"] == "certificate"}
    assert set(issued) == {c.number for c in (case.first, case.second, case.empty, case.indirect)}
    assert {a["number"] for a in nc["affected"] if a["kind"] == "standard_certificate"} == {
        "QT1-W-01-1"
    }
    assert issued[case.first.number]["reevaluation"]["changed"] is True
    assert issued[case.first.number]["reevaluation"]["re_evaluated_verdict"] == "fail"
    assert issued[case.indirect.number]["depth"] == 2
    assert sorted(nc["undecided"]) == sorted(issued)
    url = f"/api/v1/nonconformities/{nc['id']}"

    # Closing is refused while a certificate is undecided, naming them.
    refused = qm.post(f"{url}/close/", {}, format="json")
    assert refused.status_code == 409
    assert case.first.number in refused.json()["detail"]

    # Recall: the certificate is revoked through issuance (password re-entered).
    wrong = decide(qm, nc["id"], case.first, "recall", password="wrong")
    assert (wrong.status_code, wrong.json()["field"]) == (403, "password")
    recalled = decide(qm, nc["id"], case.first, "recall", password=PASSWORD)
    assert recalled.status_code == 201, recalled.json()
    assert recalled.json()["recall"] == "revoked"
    page = APIClient().get(f"/verify/{case.first.number}").content.decode()
    assert "Revoked" in page
    assert nc["number"] in page

    # Amend first, then recall instead: the later decision supersedes, none is edited.
    amend = decide(qm, nc["id"], case.second, "amend")
    assert (amend.status_code, amend.json()["recall"]) == (201, "")
    again = decide(qm, nc["id"], case.second, "recall", password=PASSWORD)
    assert again.json()["supersedes"] == amend.json()["id"]
    for certificate in (case.empty, case.indirect):
        assert decide(qm, nc["id"], certificate, "no_action").status_code == 201

    detail = qm.get(f"{url}/").json()
    assert detail["undecided"] == []
    assert [d["action"] for d in detail["decisions"]] == [
        "recall",
        "amend",
        "recall",
        "no_action",
        "no_action",
    ]
    current = {a["number"]: a["decision"]["action"] for a in detail["affected"] if a["decision"]}
    assert current[case.second.number] == "recall"

    # Letters: one per customer organization, each listing its recalled certificates.
    letters = qm.get(f"{url}/letters.pdf")
    assert letters.status_code == 200
    assert letters["Content-Type"] == "application/pdf"
    assert qm.get(f"{url}/letters.pdf").content == letters.content  # deterministic
    text = pdf_text(letters.content, tmp_path)
    assert text.count("Kính gửi / To:") == 2
    for expected in (
        case.first.number,
        case.second.number,
        "QT1-CAL-01",
        "Multifunction calibrator",
        "Customer of QT1",
        "Second customer of QT1",
        "Thu hồi giấy chứng nhận",
        "Recall of certificates",
        "What happens next",
        "Các bước tiếp theo",
        "As-found error +20 µV",
        "Keysight 34465A",
    ):
        assert expected in text, expected
    assert case.empty.number not in text  # no action: not in a letter
    one = qm.get(f"{url}/letters.pdf", {"customer": "QT1-CUST2"})
    one_text = pdf_text(one.content, tmp_path)
    assert case.second.number in one_text
    assert case.first.number not in one_text
    assert qm.get(f"{url}/letters.pdf", {"customer": "NOBODY"}).status_code == 404

    closed = qm.post(f"{url}/close/", {"note": "customers notified"}, format="json")
    assert closed.status_code == 200, closed.json()
    assert (closed.json()["status"], closed.json()["closing_note"]) == (
        "closed",
        "customers notified",
    )
    assert decide(qm, nc["id"], case.empty, "recall", password=PASSWORD).status_code == 409

    actions = set(
        AuditEntry.objects.filter(object_type="nonconformity").values_list("action", flat=True)
    )
    assert actions == {"nonconformity.open", "nonconformity.decide", "nonconformity.close"}
    assert AuditEntry.objects.filter(action="standard.out_of_tolerance").exists()
    assert verify_audit().ok


def test_decisions_are_append_only(case: Case) -> None:
    qm = case.center.client("quality_manager")
    nc = open_nc(qm, case).json()
    first = decide(qm, nc["id"], case.empty, "no_action").json()
    second = decide(qm, nc["id"], case.empty, "amend").json()
    rows = list(Decision.objects.filter(nonconformity_id=nc["id"]).order_by("pk"))
    assert [(d.pk, d.action, d.supersedes_id) for d in rows] == [
        (first["id"], "no_action", None),
        (second["id"], "amend", first["id"]),
    ]
    if connection.vendor != "postgresql":
        return  # the trigger exists on PostgreSQL only
    # As the owner: the trigger refuses even the tables' owner (the runtime role is refused
    # earlier, by its privileges: test_append_only.py).
    with pytest.raises(DatabaseError, match="append-only"), as_owner():
        Decision.objects.filter(pk=first["id"]).update(action="recall")
    with pytest.raises(DatabaseError, match="append-only"), as_owner():
        Decision.objects.filter(pk=second["id"]).delete()
    from labserver.nonconformities.models import AffectedItem

    with pytest.raises(DatabaseError, match="append-only"), as_owner():
        AffectedItem.objects.all().update(status="valid")


def test_only_a_certificate_of_the_snapshot_is_decided(case: Case, other_center: Center) -> None:
    qm = case.center.client("quality_manager")
    nc = open_nc(qm, case).json()
    # Issued after the snapshot: not in it.
    later = generated_run(
        case.setup, used_on=TODAY, standards=[(case.center.standard, "dcv", 0, 10, "V")]
    )
    response = decide(qm, nc["id"], later, "no_action")
    assert (response.status_code, response.json()["field"]) == (400, "certificate")
    unknown = qm.post(
        f"/api/v1/nonconformities/{nc['id']}/decisions/",
        {"certificate": case.first.pk, "action": "ignore", "reason": "x"},
        format="json",
    )
    assert (unknown.status_code, unknown.json()["field"]) == (400, "action")


def test_one_open_nonconformity_per_standard_and_dates_in_order(case: Case) -> None:
    qm = case.center.client("quality_manager")
    late = open_nc(qm, case, found_on=(TODAY + timedelta(days=1)).isoformat())
    assert (late.status_code, late.json()["field"]) == (400, "found_on")
    backwards = open_nc(
        qm,
        case,
        out_of_tolerance_since=TODAY.isoformat(),
        found_on=(TODAY - timedelta(days=1)).isoformat(),
    )
    assert (backwards.status_code, backwards.json()["field"]) == (400, "out_of_tolerance_since")
    assert open_nc(qm, case).status_code == 201
    twice = open_nc(qm, case)
    assert (twice.status_code, twice.json()["field"]) == (409, "standard")
    bad_unit = open_nc(qm, case, shift_unit="mV")
    assert bad_unit.status_code == 409  # the open one comes first
    assert Nonconformity.objects.count() == 1


def test_a_shift_in_the_wrong_unit_opens_nothing(case: Case) -> None:
    qm = case.center.client("quality_manager")
    response = open_nc(qm, case, shift_unit="mV")
    assert (response.status_code, response.json()["field"]) == (400, "unit")
    assert not Nonconformity.objects.exists()
    standard = ReferenceStandard.objects.get(pk=case.center.standard.pk)
    assert standard.out_of_tolerance_since is None  # rolled back with it


@pytest.mark.parametrize("role", ["metrologist", "reviewer", "signatory", "auditor"])
def test_only_the_quality_manager_opens_decides_and_closes(case: Case, role: str) -> None:
    someone = case.center.client(role)
    assert open_nc(someone, case).status_code == 403
    nc = open_nc(case.center.client("quality_manager"), case).json()
    url = f"/api/v1/nonconformities/{nc['id']}"
    assert someone.get(f"{url}/").status_code == 200  # people of the organization read it
    refused = decide(someone, nc["id"], case.empty, "no_action")
    assert refused.status_code == 403
    assert someone.post(f"{url}/close/", {}, format="json").status_code == 403
    assert not Decision.objects.exists()


def test_another_organization_sees_nothing_and_agents_are_refused(
    case: Case, other_center: Center
) -> None:
    nc = open_nc(case.center.client("quality_manager"), case).json()
    url = f"/api/v1/nonconformities/{nc['id']}"
    theirs = other_center.client("quality_manager")
    assert theirs.get("/api/v1/nonconformities/").json()["results"] == []
    assert theirs.get(f"{url}/").status_code == 404
    assert decide(theirs, nc["id"], case.empty, "no_action").status_code == 404
    assert theirs.post(f"{url}/close/", {}, format="json").status_code == 404
    assert theirs.get(f"{url}/letters.pdf").status_code == 404
    other = open_nc(theirs, case)
    assert (other.status_code, other.json()["field"]) == (404, "standard")
    agent = case.center.agent_client()
    assert agent.get("/api/v1/nonconformities/").status_code == 403
    assert agent.get(f"{url}/").status_code == 403
    assert agent.get(f"{url}/letters.pdf").status_code == 403
    assert open_nc(agent, case).status_code == 403
    auditor = client_for(case.center.auditor)
    assert [n["number"] for n in auditor.get("/api/v1/nonconformities/").json()["results"]] == [
        nc["number"]
    ]


def test_a_recall_the_decider_may_not_revoke_is_pending_and_blocks_closing(
    case: Case, other_center: Center
) -> None:
    """A run of another center that used this calibrator (generated), read by this quality
    manager through an audit grant: the recall is recorded as pending, not revoked."""
    from labserver.accounts.models import AuditGrant

    setup = CenterSetup(
        org=other_center.org,
        customer=other_center.instrument.owner,
        operator=other_center.metrologist,
        agent=other_center.agent,
        job=other_center.job,
        procedure=other_center.procedure,
        key=SigningKeyRecord.objects.create(
            organization=other_center.org,
            fingerprint="f" * 64,
            subject="CN=test",
            trust_roots_pem="",
            source=SigningKeyRecord.Source.DEMO,
            first_used_at=case.first.issued_at,
        ),
    )
    foreign = generated_run(
        setup, used_on=TODAY, standards=[(case.center.standard, "dcv", 0, 10, "V")]
    )
    qm_user: User = case.center.quality_manager
    AuditGrant.objects.create(user=qm_user, organization=other_center.org, reason="inquiry")
    qm = client_for(qm_user)
    nc = open_nc(qm, case).json()
    assert foreign.number in nc["undecided"]
    pending = decide(qm, nc["id"], foreign, "recall", password=PASSWORD)
    assert (pending.status_code, pending.json()["recall"]) == (201, "pending")
    assert not foreign.events.exists()  # not revoked: still valid
    for certificate in (case.first, case.second, case.empty, case.indirect):
        decide(qm, nc["id"], certificate, "no_action")
    refused = qm.post(f"/api/v1/nonconformities/{nc['id']}/close/", {}, format="json")
    assert refused.status_code == 409
    assert "pending" in refused.json()["detail"]
    assert foreign.number in refused.json()["detail"]


def test_the_schema_documents_the_nonconformity_endpoints() -> None:
    import yaml

    paths = yaml.safe_load(APIClient().get("/api/schema/").content)["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/nonconformities/"])
    assert "post" in paths["/api/v1/nonconformities/{id}/decisions/"]
    assert "post" in paths["/api/v1/nonconformities/{id}/close/"]
    assert "get" in paths["/api/v1/nonconformities/{id}/letters.pdf"]
    assert "get" in paths["/api/v1/standards/{id}/impact/reevaluate/"]
