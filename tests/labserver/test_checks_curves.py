"""Test-level checks, fitted curves and certificate-bound quantities of a submitted run.

The runs are real: the procedure runner carries out the shipped procedures on the
simulators (a class III balance over MT-SICS for nawi-r76, a bath with a PRT read by a
DMM for thermometer-bath), the agent's outbox assembles and keeps the payload, and the
LIMS receives those exact bytes. The LIMS computes the checks and curves again from the
stored points and flags every claim of the agent that differs; a model quantity bound to
a standard's certificate must carry that certificate's value, unit and u = U/k.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from labserver.jobs.models import Job
from labserver.measurements.models import Run
from labserver.standards import services as standards
from procedures.record import Point
from tests.support import bath, nawi
from tests.support.bench_runs import (
    BATH,
    NAWI,
    Submitted,
    bath_run,
    lims_standard,
    nawi_run,
    new_job,
)
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    TODAY,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    person,
    post_run,
    procedure_built_once,
    run_payload,
)

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ real runs


@pytest.fixture
def thermometrist(center: Center) -> Any:
    return person(center.org, "qt1-thermo", "metrologist", ["temperature"])


# The tests of what the LIMS does with a tampered or malformed payload need a real payload,
# not a new run each: the outbox's bytes of the first run of each kind are kept (per test
# process), and each later test sets up the LIMS side as for a real run (standards, job) and
# receives a copy of those bytes with its own job number. The agreement tests above run the
# procedure every time.
_RECORDED: dict[tuple[Any, ...], tuple[str, str]] = {}


def recorded(kind: tuple[Any, ...], run: Any, lims_side: Any) -> Submitted:
    """``run()`` the first time ``kind`` is asked for; later, ``lims_side()`` (which returns
    the new job) and a copy of the kept payload bound to that job."""
    if kind not in _RECORDED:
        submitted: Submitted = run()
        _RECORDED[kind] = (json.dumps(submitted.body), submitted.job.number)
        return submitted
    body, number = _RECORDED[kind]
    job: Job = lims_side()
    payload = json.loads(body)
    assert payload["job"] == number
    payload["job"] = job.number
    return Submitted(payload, job)


def recorded_nawi_run(
    center: Center, tmp_path: Path, *, repeat_offsets: tuple[float, ...] = ()
) -> Submitted:
    def lims_side() -> Job:
        lims_standard(center, nawi.weights_record(), "mass")
        return new_job(center, NAWI, "nawi", "mass", dict(nawi.INSTRUMENT))

    return recorded(
        ("nawi", repeat_offsets),
        lambda: nawi_run(center, tmp_path, repeat_offsets=repeat_offsets),
        lims_side,
    )


def recorded_bath_run(center: Center, tmp_path: Path, username: str) -> Submitted:
    def lims_side() -> Job:
        lims_standard(center, bath.prt_record(), "temperature")
        lims_standard(center, bath.dmm_record(), "electrical")
        return new_job(center, BATH, "thermometer", "temperature", {"resolution": 0.01})

    return recorded(("bath", username), lambda: bath_run(center, tmp_path, username), lims_side)


def stored(payload: dict[str, Any]) -> Run:
    return Run.objects.get(pk=payload["run_id"])


# ------------------------------------------------------------------ checks


def test_the_lims_computes_the_checks_again_and_agrees_with_the_bench(
    center: Center, tmp_path: Path
) -> None:
    run = nawi_run(center, tmp_path)
    assert [c["check"] for c in run.body["checks"]] == ["repeatability", "eccentricity"]
    assert "curves" not in run.body
    response = post_run(center, run.body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["disagreements"] == 0, answer
    assert answer["disagreement"] == []
    assert answer["conformity"] == "pass"
    assert answer["checks"] == run.body["checks"]
    kept = stored(run.body)
    assert kept.server_checks == run.body["checks"]
    assert kept.agent_checks == run.body["checks"]
    assert kept.server_conformity == "pass"

    detail = center.client("reviewer").get(f"/api/v1/runs/{kept.pk}/").json()
    assert detail["server_checks"] == run.body["checks"]
    assert detail["server_conformity"] == "pass"
    assert detail["disagreement"] == []
    listed = center.client("reviewer").get("/api/v1/runs/").json()["results"]
    assert {r["id"]: r["server_conformity"] for r in listed}[str(kept.pk)] == "pass"


def test_a_failed_repeatability_fails_the_run_though_every_point_passes(
    center: Center, tmp_path: Path
) -> None:
    # Indications 7501, 7507, 7501 g: a spread of 6 g beyond the MPE of 1 e = 5 g at 7.5 kg.
    run = nawi_run(center, tmp_path, repeat_offsets=(0.0, 6.0, 0.0))
    repeatability = run.body["checks"][0]
    assert repeatability["passed"] is False
    assert Decimal(repeatability["value"]) > Decimal(repeatability["limit"])
    response = post_run(center, run.body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert all(p["conformity"] == "pass" for p in answer["points"])
    assert answer["checks"][0]["passed"] is False
    assert answer["conformity"] == "fail"
    assert answer["disagreements"] == 0
    assert stored(run.body).server_conformity == "fail"


@pytest.mark.parametrize(
    ("tamper", "quantity"),
    [
        (lambda checks: checks[0].update(value="0.0", passed=True), "value"),
        (lambda checks: checks[1].update(passed=False), "passed"),
        (lambda checks: checks[1].update(limit="7.5"), "limit"),
        (lambda checks: checks.pop(0), "check"),
    ],
)
def test_a_tampered_check_claim_is_flagged_and_the_servers_results_count(
    center: Center, tmp_path: Path, tamper: Any, quantity: str
) -> None:
    run = recorded_nawi_run(center, tmp_path, repeat_offsets=(0.0, 6.0, 0.0))
    honest = copy.deepcopy(run.body["checks"])
    tamper(run.body["checks"])
    response = post_run(center, run.body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["disagreements"] == 1  # one check disagrees (in one or more numbers)
    flags = answer["disagreement"]
    assert {f["item"] for f in flags} == {"check"}
    assert quantity in {f["quantity"] for f in flags}
    kept = stored(run.body)
    assert kept.server_checks == honest  # the server's own, whatever the claim
    assert kept.agent_checks == run.body["checks"]
    assert kept.server_conformity == "fail"


def test_a_resumed_run_computes_its_checks_over_every_point() -> None:
    runner, points, *_ = nawi.run_nawi(nawi.ECCENTRIC_OK)
    again = nawi.nawi_runner(nawi.Bench({}, {}), None, None)  # type: ignore[arg-type]
    # Every point done: nothing is measured again, the checks come from the kept points.
    done = [Point.from_json(p) for p in points]
    assert again.run(done=done) == done
    assert again.checks == runner.checks


# ------------------------------------------------------------------ curves


def test_the_lims_fits_the_curve_again_and_agrees_with_the_bench(
    center: Center, tmp_path: Path, thermometrist: Any
) -> None:
    run = bath_run(center, tmp_path, thermometrist.username)
    claimed = run.body["curves"]["comparison"]
    response = post_run(center, run.body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["disagreements"] == 0, answer["disagreement"]
    assert answer["conformity"] == ""  # a calibration: nothing judged
    ours = answer["curves"]["comparison"]
    assert ours["coefficients"] == pytest.approx(claimed["coefficients"], rel=1e-9)
    assert ours["u_coefficients"] == pytest.approx(claimed["u_coefficients"], rel=1e-9)
    detail = center.client("reviewer").get(f"/api/v1/runs/{run.body['run_id']}/").json()
    assert detail["server_curves"]["comparison"]["fit"] == "line"
    assert detail["agent_curves"] == run.body["curves"]


@pytest.mark.parametrize(
    ("tamper", "quantity"),
    [
        (lambda c: c["comparison"]["coefficients"].__setitem__(0, 0.0), "coefficients[0]"),
        (lambda c: c["comparison"].update(chi_square=0.001), "chi_square"),
        # A fit as if the points were independent, where they share certificate terms.
        (lambda c: c["comparison"].update(generalized=False), "generalized"),
        (lambda c: c.clear(), "curve"),
    ],
)
def test_a_tampered_curve_claim_is_flagged(
    center: Center, tmp_path: Path, thermometrist: Any, tamper: Any, quantity: str
) -> None:
    run = recorded_bath_run(center, tmp_path, thermometrist.username)
    honest = copy.deepcopy(run.body["curves"])
    tamper(run.body["curves"])
    if not run.body["curves"]:
        del run.body["curves"]
    response = post_run(center, run.body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["disagreements"] == 1
    [flag] = answer["disagreement"]
    assert (flag["item"], flag["test"], flag["quantity"]) == ("curve", "comparison", quantity)
    kept = stored(run.body)
    assert kept.server_curves["comparison"]["coefficients"] == pytest.approx(
        honest["comparison"]["coefficients"], rel=1e-9
    )


# ------------------------------------------------------------------ strict validation


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (lambda b: b["checks"][0].update(passed="yes"), "checks[0].passed"),
        (lambda b: b["checks"][0].update(value=0.5), "checks[0].value"),
        (lambda b: b["checks"][0].update(value="NaN"), "checks[0].value"),
        (lambda b: b["checks"][0].update(check="linearity"), "checks[0].check"),
        (lambda b: b["checks"][1].update(points=[1, 99]), "checks[1].points"),
        (lambda b: b.update(checks={"repeatability": {}}), "checks"),
        (lambda b: b.update(curves=[]), "curves"),
        (
            lambda b: b.update(curves={"weighing": {**_CURVE, "coefficients": ["1"]}}),
            "curves.weighing.coefficients[0]",
        ),
        (lambda b: b.update(curves={"other": _CURVE}), "curves.other.test"),
    ],
)
def test_it_refuses_malformed_checks_and_curves_naming_the_field(
    center: Center, tmp_path: Path, tamper: Any, field: str
) -> None:
    run = recorded_nawi_run(center, tmp_path)
    tamper(run.body)
    response = post_run(center, run.body)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field, response.json()
    assert not Run.objects.exists()


_CURVE: dict[str, Any] = {
    "test": "weighing",
    "fit": "line",
    "degree": 1,
    "x": "nominal",
    "y": "E",
    "x0": 0.0,
    "weighted": True,
    "x_unit": "g",
    "points": [{"index": 6, "x": 100.0, "y": 0.0, "u_y": 0.1, "residual": 0.0}],
    "coefficients": [0.0, 0.0],
    "u_coefficients": [0.1, 0.1],
    "covariance": [[0.01, 0.0], [0.0, 0.01]],
    "correlation": [[1.0, 0.0], [0.0, 1.0]],
    "residuals": [0.0],
    "residual_sd": 0.0,
    "dof": 1,
    "chi_square": None,
    "values": [{"x": 100.0, "value": 0.0, "u": 0.1}],
}


# ------------------------------------------------------------------ certificate-bound quantities


def test_a_model_quantity_from_the_certificate_in_force_is_accepted(center: Center) -> None:
    payload = run_payload(center, points=3)
    assert payload["points"][2]["model"]["quantities"]["V_s"]["value"] == 1.0000002
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (lambda q: q.update(value=q["value"] + 1e-6), "the model's value is"),
        (lambda q: q.update(U=q["U"] / 2), "standard uncertainty"),
        (lambda q: q.update(k=1), "standard uncertainty"),
        (lambda q: q.pop("unit"), "unit"),
    ],
)
def test_a_model_quantity_that_is_not_the_certificates_refuses_the_run(
    center: Center, tamper: Any, words: str
) -> None:
    payload = run_payload(center, points=3)
    tamper(payload["points"][1]["model"]["quantities"]["V_s"])
    response = post_run(center, payload)
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["field"] == "points[1].model.quantities.V_s", body
    assert words in body["detail"]
    assert f"certificate NMI-QT1-001 of {center.standard.asset_id}" in body["detail"]
    assert not Run.objects.exists()


def test_the_certificate_is_the_one_in_force_on_the_run_date(center: Center) -> None:
    # A recalibration yesterday moved the calibrator's 0.5 V value: the agent still used
    # last year's certificate.
    values = [dict(v) for v in center.standard.certificates.get().values]
    for value in values:
        if value["nominal"] == 0.5:
            value["value"] = 0.5000004
    standards.record_certificate(
        actor=center.quality_manager,
        standard=center.standard,
        number="NMI-QT1-002",
        issuing_lab="National Metrology Institute",
        calibrated_on=TODAY - timedelta(days=1),
        issued_on=TODAY - timedelta(days=1),
        due_on=TODAY + timedelta(days=364),
        values=values,
    )
    response = post_run(center, run_payload(center, points=2))
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["field"] == "points[1].model.quantities.V_s"
    assert "NMI-QT1-002" in body["detail"]
    assert "0.5000004" in body["detail"]


def test_a_bound_quantity_of_a_role_the_run_names_no_standard_for_refuses_it(
    center: Center,
) -> None:
    payload = run_payload(center, points=1)
    payload["standards"][0]["function"] = "dcv-other"
    payload["standards"][0]["role"] = "reference"
    center.standard.functions = [
        *center.standard.functions,
        {"role": "reference", "function": "dcv-other", "unit": "V", "min": 0, "max": 10},
    ]
    center.standard.save(update_fields=["functions"])
    response = post_run(center, payload)
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["field"] == "points[0].model.quantities.V_s"
    assert "no standard used in role source for dcv" in body["detail"]
