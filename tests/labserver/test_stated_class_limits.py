"""A center's own electricity procedure with a stated class table (``class_limits:``), in
the LIMS: registered by version, the run of a meter of the stated class posted by the
bench, evaluated again with the table of the registered definition (the bench's numbers,
limits and citation, point for point), approved and issued; the certificate cites the
table as the center's transcription in both languages.

The table is the TEST FIXTURE of :mod:`tests.support.electricity` (class ``T1``, made-up
limits of a made-up document), never IEC's values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.outbox import Outbox
from labserver.accounts.models import User
from labserver.instruments.models import InstrumentType
from labserver.issuance.services import issue_certificate
from labserver.jobs.models import Job, parsed_procedure
from labserver.measurements.models import Point, Run
from labserver.standards.models import ReferenceStandard
from simulation.bench import SimulatedBench
from simulation.world import SimulatedWorld
from tests.support.bench_runs import lims_standard, new_job, published, run_into
from tests.support.electricity import (
    STATED_METER,
    OneMeter,
    electricity_runner,
    one_meter_roles,
    reference_meter,
    stated_definition,
)
from tests.support.issuing import approve_with
from tests.support.lims import PASSWORD, TODAY, Center, post_run, with_serial
from tests.support.pages import signed_in
from tests.support.readable import pdf_text

pytestmark = pytest.mark.django_db

CITATION_EN = (
    "TEST-FIXTURE 0001:2026 Table T, as transcribed in procedure "
    "electricity-meter-stated-test 1.0.0 by Tester Transcriber, checked by Tester Checker"
)
CITATION_VI = (
    "TEST-FIXTURE 0001:2026 Table T, do Tester Transcriber chép lại trong quy trình "
    "electricity-meter-stated-test 1.0.0, Tester Checker kiểm tra"
)


def bench_run(center: Center, tmp_path: Path, error: float) -> tuple[dict[str, Any], Any]:
    """A T1 meter erring by ``error`` % verified by the center's stated procedure on the
    simulated bench, into an outbox: the body the agent sends, and the runner."""
    reference = lims_standard(center, reference_meter(), "electrical")
    ReferenceStandard.objects.filter(pk=reference.pk).update(
        manufacturer="Caltrace", model="MTB-1", serial="MTB-0042"
    )
    definition = stated_definition()
    job = new_job(center, definition, "electricity-meter", "electrical", dict(STATED_METER))
    InstrumentType.objects.filter(code="electricity-meter").update(verification_interval_months=60)
    with (
        Outbox(tmp_path / "outbox.sqlite3") as box,
        SimulatedBench(one_meter_roles(error), SimulatedWorld(seed=5)) as bench,
    ):
        runner = electricity_runner(
            bench,
            OneMeter(),
            [],
            on=TODAY,
            instrument=STATED_METER,
            reference=published(reference),
            definition=definition,
        )
        body = run_into(box, runner, job, center.metrologist.username)
    return body, runner


def test_the_lims_applies_the_registered_table_and_the_certificate_cites_the_transcription(
    center: Center, tmp_path: Path, demo_pki: Path
) -> None:
    body, runner = bench_run(center, tmp_path, 0.4)
    response = post_run(center, body)
    assert response.status_code == 201, response.json()
    assert response.json()["disagreements"] == 0
    run = Run.objects.get(pk=body["run_id"])
    # The table the LIMS applied is the one of the definition it registered.
    registered = parsed_procedure(run.procedure)
    assert registered.class_limits is not None
    assert registered.class_limits.of("T1").citation == CITATION_EN
    stored = {p.index: p for p in Point.objects.filter(run=run)}
    assert sorted(stored) == list(range(11))
    for index, evaluation in runner.evaluations.items():
        assert stored[index].server_result == evaluation.to_json()
        assert stored[index].disagreement == []
    # the accuracy points and the register test's
    accuracy = [stored[i].server_result["acceptance"] for i in range(2, 11)]
    assert {(a["rule"], a["document"]) for a in accuracy} == {
        ("electricity_meter_stated", CITATION_EN)
    }
    assert [a["mpe"] for a in accuracy] == [2.5, 1.5, 1.5, 1.5, 2.25, 1.75, 2.0, 2.0, 1.5]
    assert run.server_conformity == "pass"
    # The run page names the table its limits came from, in the reader's language.
    client = signed_in(center.reviewer)
    page = client.get(f"/work/runs/{run.pk}/").content.decode()
    assert f"<li>{CITATION_EN}</li>" in page
    client.cookies["django_language"] = "vi"
    page = client.get(f"/work/runs/{run.pk}/").content.decode()
    assert "Giới hạn đã áp dụng" in page
    assert f"<li>{CITATION_VI}</li>" in page
    with_serial(center)  # the addresses a certificate prints
    run = approve_with(center, run, "electrical")
    signatory = User.objects.get(username=f"{center.org.code.lower()}-signatory-electrical")
    certificate = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    with certificate.pdf.open("rb") as handle:
        text = " ".join(pdf_text(handle.read(), tmp_path).split())
    assert CITATION_EN in text
    assert CITATION_VI in text


def test_a_class_the_registered_table_does_not_state_is_refused_by_the_lims(
    center: Center, tmp_path: Path
) -> None:
    """The limits are the registered table's, not the bench's word: the run of a meter
    the job records as class T2, which the table does not state, is refused, naming the
    class and the classes it states."""
    body, _ = bench_run(center, tmp_path, 0.0)
    instrument = Job.objects.get(number=body["job"]).instrument
    instrument.specification = {**instrument.specification, "accuracy_class": "T2"}
    instrument.save(update_fields=["specification"])
    response = post_run(center, body)
    assert response.status_code == 422, response.json()
    detail = response.json()["detail"]
    assert "the limits cannot be set" in detail
    assert "class 'T2' is not in the procedure's class_limits (it states T1)" in detail
