"""Runs through the HTTP API: submission, re-evaluation, idempotency, signatures, refusals."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from labserver.jobs.models import Job
from labserver.measurements.models import Point, Reading, Run, StandardUsage
from labserver.standards import services as standards
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    TODAY,
    Center,
    calibrator_values,
    center_built_once,
    center_world,
    dmm_built_once,
    post_run,
    procedure_built_once,
    run_payload,
)

pytestmark = pytest.mark.django_db


def nothing_stored() -> bool:
    return not (Run.objects.exists() or Point.objects.exists() or Reading.objects.exists())


def test_the_whole_job_life_cycle(center: Center) -> None:
    qm = center.client("quality_manager")
    job = center.job
    assert (
        qm.post(f"/api/v1/jobs/{job.pk}/schedule/", {"bench": "bench-1"}, format="json").json()[
            "state"
        ]
        == "scheduled"
    )
    assert qm.post(f"/api/v1/jobs/{job.pk}/start/").json()["state"] == "in_progress"

    payload = run_payload(center, points=4, readings=6)
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["disagreements"] == 0
    assert [p["conformity"] for p in answer["points"]] == ["pass"] * 4
    run_id = payload["run_id"]
    assert Job.objects.get(pk=job.pk).state == "measured"

    detail = center.client("reviewer").get(f"/api/v1/runs/{run_id}/").json()
    assert len(detail["points"]) == 4
    assert len(detail["points"][0]["readings"]) == 6
    assert detail["standards"][0]["certificate_number"] == "NMI-QT1-001"
    assert detail["signatures"][0]["meaning"] == "performed"

    reviewed = center.client("reviewer").post(
        f"/api/v1/runs/{run_id}/review/", {"password": PASSWORD}, format="json"
    )
    assert reviewed.status_code == 200, reviewed.json()
    approved = center.client("signatory").post(
        f"/api/v1/runs/{run_id}/approve/", {"password": PASSWORD, "comment": "ok"}, format="json"
    )
    assert approved.status_code == 200, approved.json()
    meanings = [(s["meaning"], s["username"]) for s in approved.json()["signatures"]]
    assert meanings == [
        ("performed", center.metrologist.username),
        ("checked", center.reviewer.username),
        ("authorized", center.signatory.username),
    ]
    assert Job.objects.get(pk=job.pk).state == "approved"


def test_the_server_re_evaluates_and_its_numbers_count(center: Center) -> None:
    payload = run_payload(center, points=2)
    response = post_run(center, payload)
    stored = Point.objects.get(run_id=payload["run_id"], index=0)
    agent = payload["points"][0]["result"]
    assert stored.server_result["value"] == pytest.approx(agent["value"], rel=1e-12)
    assert stored.server_result["U"] == pytest.approx(agent["U"], rel=1e-12)
    assert stored.disagreement == []
    assert response.json()["points"][0]["server"]["decision_rule"] == "simple acceptance"


def test_it_flags_an_agent_result_that_disagrees(center: Center) -> None:
    payload = run_payload(center, points=2)
    payload["points"][1]["result"]["U"] *= 0.5  # an agent that halved its uncertainty
    payload["points"][1]["conformity"] = "fail"
    response = post_run(center, payload)
    assert response.status_code == 201
    body = response.json()
    assert body["disagreements"] == 1
    flags = {d["quantity"] for d in body["points"][1]["disagreement"]}
    assert flags == {"U", "conformity"}
    point = Point.objects.get(run_id=payload["run_id"], index=1)
    assert point.server_conformity == "pass"
    assert point.agent_conformity == "fail"
    assert Run.objects.get(pk=payload["run_id"]).disagreements == 1


def test_resubmitting_the_same_run_returns_the_stored_answer(center: Center) -> None:
    payload = run_payload(center)
    first = post_run(center, payload)
    again = post_run(center, payload)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    # key order and spacing do not make it another body
    respaced = json.dumps(payload, indent=2, sort_keys=True).encode()
    assert post_run(center, None, body=respaced).status_code == 200
    assert Run.objects.count() == 1


def test_the_same_run_id_with_another_body_is_a_conflict(center: Center) -> None:
    payload = run_payload(center)
    assert post_run(center, payload).status_code == 201
    changed = copy.deepcopy(payload)
    changed["software_version"] = "caltrace-agent 0.1.1"
    response = post_run(center, changed)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert response.json()["field"] == "run_id"
    assert Run.objects.get().software_version == "caltrace-agent 0.1.0"


def test_it_refuses_an_unsigned_payload(center: Center) -> None:
    response = post_run(center, run_payload(center), signature="")
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert "X-Caltrace-Signature" in response.json()["detail"]
    assert nothing_stored()


def test_it_refuses_a_tampered_payload(center: Center) -> None:
    payload = run_payload(center)
    body = json.dumps(payload).encode()
    signature = post_run.__globals__["sign"](center.agent_key, body)
    tampered = body.replace(b'"stable": true', b'"stable": false', 1)
    assert tampered != body
    response = post_run(center, None, body=tampered, signature=signature)
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert nothing_stored()


def test_it_refuses_a_payload_signed_by_another_key(center: Center) -> None:
    response = post_run(center, run_payload(center), key=Ed25519PrivateKey.generate())
    assert response.status_code == 403
    assert nothing_stored()


def test_a_revoked_agent_cannot_submit(center: Center) -> None:
    center.client("quality_manager").post(
        f"/api/v1/agents/{center.agent.pk}/revoke/", {"reason": "stolen laptop"}, format="json"
    )
    response = post_run(center, run_payload(center))
    assert response.status_code == 401
    assert nothing_stored()


def test_it_refuses_a_run_using_an_overdue_standard(center: Center) -> None:
    standards.record_certificate(
        actor=center.quality_manager,
        standard=center.standard,
        number="OLD-1",
        issuing_lab="NMI",
        calibrated_on=TODAY - timedelta(days=1),
        issued_on=TODAY - timedelta(days=1),
        due_on=TODAY,
        values=calibrator_values(),
    )
    payload = run_payload(center)  # started today: the certificate calibrated yesterday is in force
    assert post_run(center, payload).status_code == 201

    # a second standard whose only certificate ran out last week
    other = standards.register_standard(
        actor=center.quality_manager,
        organization=center.org,
        asset_id="QT1-DMM-09",
        name="Reference DMM",
        field="electrical",
        calibration_interval_months=12,
        functions=[{"role": "reference", "function": "dcv", "unit": "V", "min": 0, "max": 1000}],
    )
    standards.record_certificate(
        actor=center.quality_manager,
        standard=other,
        number="EXT-77",
        issuing_lab="Lab X",
        calibrated_on=TODAY - timedelta(days=400),
        issued_on=TODAY - timedelta(days=399),
        due_on=TODAY - timedelta(days=7),
        values=[],
    )
    job = center.job
    job.refresh_from_db()
    Job.objects.filter(pk=job.pk).update(state="in_progress")
    payload = run_payload(center)
    payload["standards"].append(
        {
            "asset_id": "QT1-DMM-09",
            "role": "reference",
            "function": "dcv",
            "unit": "V",
            "range": [0, 10],
        }
    )
    response = post_run(center, payload)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "standard_not_usable"
    assert body["field"] == "standards[1].asset_id"
    assert "QT1-DMM-09" in body["detail"]
    assert "overdue" in body["detail"]
    assert f"was due on {TODAY - timedelta(days=7)}" in body["detail"]
    assert not Run.objects.filter(pk=payload["run_id"]).exists()


def test_it_refuses_a_standard_out_of_tolerance_on_the_date_of_use(center: Center) -> None:
    center.client("quality_manager").post(
        f"/api/v1/standards/{center.standard.pk}/out-of-tolerance/",
        {"since": str(TODAY - timedelta(days=3)), "reason": "drift found at recalibration"},
        format="json",
    )
    response = post_run(center, run_payload(center))
    assert response.status_code == 422
    assert "out of tolerance" in response.json()["detail"]
    assert nothing_stored()


def test_it_refuses_a_range_the_standard_does_not_cover(center: Center) -> None:
    payload = run_payload(center)
    payload["standards"][0]["range"] = [0, 1100]
    response = post_run(center, payload)
    assert response.status_code == 422
    assert response.json()["field"] == "standards[0].range"
    assert nothing_stored()


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (
            lambda p: p["points"][1]["readings"][2].update(unit="mV"),
            "points[1].model.quantities.x.unit",
            "differs from the unit of the readings (V, mV)",
        ),
        (
            lambda p: p["points"][0]["readings"][0].update(value="1.0"),
            "points[0].readings[0].value",
            "must be a number",
        ),
        (lambda p: p["points"][0].pop("model"), "points[0].model", "required"),
        (lambda p: p.update(started_at="2026-11-22T08:00:00"), "started_at", "UTC offset"),
        (
            lambda p: p["points"][0]["model"]["quantities"]["V_s"].update(U=-1),
            "points[0].model.quantities.V_s.U",
            "must be >= 0",
        ),
        (
            lambda p: p["points"][0]["model"]["quantities"]["x"]["samples"].__setitem__(0, 9.9),
            "points[0].model.quantities.x.samples",
            "do not match",
        ),
        (
            lambda p: p["points"][0]["model"]["quantities"]["V_s"].update(unit="mV"),
            "points[0].model.outputs.E",
            "'mV'",
        ),
        (
            lambda p: p["points"][0]["model"]["quantities"]["x"].update(unit="A"),
            "points[0].model.quantities.x.unit",
            "differs",
        ),
        (
            lambda p: p["points"][0]["model"]["outputs"].update(E="x + __import__('os')"),
            "points[0].model.outputs.E",
            "",
        ),
        (lambda p: p.update(operator="nobody"), "operator", "not an active metrologist"),
        (lambda p: p["procedure"].update(version="2.0.0"), "procedure", "requires dmm-dcv v1.1.0"),
        (lambda p: p.update(job="J-1999-00001"), "job", "no job"),
    ],
)
def test_it_refuses_bad_evidence_naming_the_field(center: Center, mutate, field, words) -> None:
    payload = run_payload(center)
    mutate(payload)
    response = post_run(center, payload)
    assert response.status_code in (400, 403, 422), response.json()
    body = response.json()
    assert body["field"] == field, body
    assert words in body["detail"], body
    assert nothing_stored()


def _with_reference_readings(payload: dict[str, Any], values: list[float]) -> dict[str, Any]:
    """Point 0 also reads its reference (``r``, in mV) and its model subtracts the mean."""
    point = payload["points"][0]
    point["model"]["quantities"]["r"] = {"samples": values, "unit": "mV"}
    point["model"]["outputs"]["E"]["expression"] = "x + d_res - V_s + 0 * r"
    stamp = point["readings"][0]["timestamp"]
    point["readings"] += [
        {
            "quantity": "r",
            "value": v,
            "unit": "mV",
            "timestamp": stamp,
            "stable": True,
            "raw": str(v),
        }
        for v in values
    ]
    return payload


def test_readings_of_several_quantities_are_each_bound_to_their_samples(center: Center) -> None:
    payload = _with_reference_readings(run_payload(center), [0.5, 0.6, 0.7])
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    run = center.client("reviewer").get(f"/api/v1/runs/{payload['run_id']}/").json()
    readings = run["points"][0]["readings"]
    assert [r["quantity"] for r in readings] == ["x"] * 5 + ["r"] * 3
    assert [r["unit"] for r in readings][-3:] == ["mV"] * 3


def test_readings_of_a_quantity_must_all_be_its_samples(center: Center) -> None:
    payload = _with_reference_readings(run_payload(center), [0.5, 0.6, 0.7])
    payload["points"][0]["model"]["quantities"]["r"]["samples"] = [0.5, 0.6]
    response = post_run(center, payload)
    assert response.status_code == 422
    assert response.json()["field"] == "points[0].model.quantities.r.samples"
    assert nothing_stored()


def test_a_reading_of_a_quantity_the_model_lacks_is_refused(center: Center) -> None:
    payload = run_payload(center)
    payload["points"][0]["readings"][0]["quantity"] = "y"
    response = post_run(center, payload)
    assert response.status_code == 422
    assert "no quantity 'y'" in response.json()["detail"]
    assert nothing_stored()


def test_the_limits_come_from_the_procedure_not_from_the_agent(center: Center) -> None:
    payload = run_payload(center)
    point = payload["points"][2]  # 1 V on the 1 V range: ±(0.0040 % of 1 V + 0.0007 % of 1 V)
    point["acceptance"] = {"lower": -1.0, "upper": 1.0, "mpe": 1.0}
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    stored = Point.objects.get(run_id=payload["run_id"], index=2)
    assert stored.acceptance["mpe"] == pytest.approx(47e-6, rel=1e-12)
    assert stored.acceptance["rule"] == "spec"
    assert {d["quantity"] for d in stored.disagreement} == {
        "acceptance.lower",
        "acceptance.upper",
        "acceptance.mpe",
    }


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda p: p["points"][0].update(index=42), "points[0].index", "has no point 42"),
        (lambda p: p["points"][1].update(nominal=7.0), "points[1].nominal", "dcv at 0.5 V"),
        (lambda p: p["points"][1].update(test="acv"), "points[1].test", "not acv"),
    ],
)
def test_points_must_be_the_procedures_points(center: Center, mutate, field, words) -> None:
    payload = run_payload(center)
    mutate(payload)
    response = post_run(center, payload)
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == field
    assert words in response.json()["detail"]
    assert nothing_stored()


def test_it_refuses_nan_in_the_json(center: Center) -> None:
    body = json.dumps(run_payload(center)).replace('"nominal": 1.0', '"nominal": NaN', 1).encode()
    response = post_run(center, None, body=body)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert nothing_stored()


def test_it_refuses_an_oversized_payload(center: Center, settings) -> None:
    settings.CALTRACE_MAX_JSON_BYTES = 20_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20_000
    payload = run_payload(center, points=10, readings=40)
    response = post_run(center, payload)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert nothing_stored()


def test_it_refuses_a_wrong_content_type(center: Center) -> None:
    body = json.dumps(run_payload(center)).encode()
    response = post_run(center, None, body=body, content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert nothing_stored()


def test_an_operator_outside_their_certified_field_cannot_perform(center: Center) -> None:
    from labserver.accounts import services as accounts

    accounts.grant_role(
        actor=None,
        user=center.metrologist,
        organization=center.org,
        role="metrologist",
        fields=["mass"],
    )
    response = post_run(center, run_payload(center))
    assert response.status_code == 403
    assert "does not cover the field 'electrical'" in response.json()["detail"]
    assert nothing_stored()


def test_a_person_cannot_submit_a_run(center: Center) -> None:
    payload = run_payload(center)
    response = center.client("metrologist").post("/api/v1/runs/", payload, format="json")
    assert response.status_code == 403
    assert nothing_stored()


def test_usage_of_each_standard_is_recorded_with_its_certificate(center: Center) -> None:
    payload = run_payload(center)
    post_run(center, payload)
    usage = StandardUsage.objects.get(run_id=payload["run_id"])
    assert usage.certificate.number == "NMI-QT1-001"
    assert (usage.function, usage.range_low, usage.range_high) == ("dcv", 0, 10)
