"""A multi-position run through the API: each position stored and evaluated on its own,
read back by position, a refusal naming the position; a single-position run unchanged."""

from __future__ import annotations

import pytest

from labserver.core.errors import InvalidTransition
from labserver.issuance.models import Certificate
from labserver.issuance.services import issue_certificate, preview_certificate
from labserver.measurements.models import Point, Run, RunPosition
from labserver.measurements.services import approve_run, review_run
from tests.support.lims import PASSWORD, Center, post_run, run_payload
from tests.support.pages import signed_in
from tests.support.position_runs import three_positions

pytestmark = pytest.mark.django_db


def test_each_position_is_stored_evaluated_and_read_back_on_its_own(center: Center) -> None:
    payload = three_positions(center)
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert [
        (p["position"], p["state"], p["conformity"], p["disagreements"])
        for p in answer["positions"]
    ] == [
        (1, "measured", "pass", 0),
        (2, "measured", "pass", 1),  # its bench said fail at point 0: the server's word counts
        (3, "skipped", "", 0),
    ]
    assert answer["disagreements"] == 1
    assert answer["points"] == []
    assert RunPosition.objects.filter(run_id=payload["run_id"]).count() == 3
    assert Point.objects.filter(run_id=payload["run_id"], position__isnull=True).count() == 0

    detail = center.client("reviewer").get(f"/api/v1/runs/{payload['run_id']}/").json()
    assert detail["points"] == []
    assert [p["number"] for p in detail["positions"]] == [1, 2, 3]
    second = detail["positions"][1]
    assert second["serial"] == "MY00000002"
    # Each instrument's own job, found by its serial; none booked for the one not mounted.
    assert detail["positions"][0]["job"] == center.job.number
    assert second["job"] not in (None, center.job.number)
    assert detail["positions"][2]["job"] is None
    assert [p["index"] for p in second["points"]] == [0, 1, 2]
    assert [d["quantity"] for d in second["points"][0]["disagreement"]] == ["conformity"]
    assert len(second["points"][0]["readings"]) == 5
    assert detail["positions"][2]["reason"] == "not mounted"
    assert detail["positions"][2]["points"] == []


def test_a_position_s_point_that_cannot_be_evaluated_is_refused_naming_it(center: Center) -> None:
    payload = three_positions(center)
    payload["positions"][1]["points"][2]["model"]["quantities"]["x"]["samples"][0] = 9.9
    response = post_run(center, payload)
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["field"].startswith("positions[1].points[2].model.quantities.x.samples"), body
    assert not RunPosition.objects.exists()  # nothing half-saved


def test_a_single_position_run_is_read_back_as_before(center: Center) -> None:
    payload = run_payload(center)
    assert post_run(center, payload).status_code == 201
    detail = center.client("reviewer").get(f"/api/v1/runs/{payload['run_id']}/").json()
    assert [p["index"] for p in detail["points"]] == [0, 1, 2]
    assert detail["positions"] == []


def test_a_multi_position_run_is_not_certified_as_one_instrument(center: Center) -> None:
    payload = three_positions(center)
    assert post_run(center, payload).status_code == 201
    run = Run.objects.get(pk=payload["run_id"])
    run = review_run(actor=center.reviewer, run=run, password=PASSWORD)
    run = approve_run(actor=center.signatory, run=run, password=PASSWORD)
    for attempt in (
        lambda: issue_certificate(actor=center.signatory, run=run, password=PASSWORD),
        lambda: preview_certificate(actor=center.signatory, run=run),
    ):
        with pytest.raises(InvalidTransition, match="each is certified on its own"):
            attempt()
    assert not Certificate.objects.filter(run=run).exists()
    client = signed_in(center.signatory)
    page = client.get(f"/work/runs/{run.pk}/")
    assert page.status_code == 200
    # The page issues its instruments' certificates, one each, never one for the run.
    assert "Issue the certificates" in page.content.decode()
    assert client.get(f"/work/runs/{run.pk}/preview.pdf").status_code == 404
