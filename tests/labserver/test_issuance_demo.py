"""A certificate document for a run of each demo procedure: the demo data set in a live
LIMS, each demo job run by ``caltrace-agent run --simulate`` on its demo bench (as
``tests/agent/test_run_demo.py`` does), reviewed and approved by the demo's people, then
mapped by :func:`labserver.issuance.documents.document_for` and checked by
:meth:`certificates.document.CertificateDocument.check`.

Each is then rendered, PDF and DCC, and read back as its reader would (issue 16, the
certificate-wide test; ``tests/support/readable.py``): every shipped procedure, in
its kind (the demo runs each procedure's own kind, calibration or verification), the
bilingual text both languages share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from agent.cli import main
from certificates._format import plain
from certificates.dcc import build_dcc, validate_dcc
from certificates.pdf import render_pdf
from labserver.issuance.documents import document_for
from procedures.definition import library, load_definition
from tests.support.demo import BENCHES
from tests.support.readable import (
    CONDITION_NAMES,
    dcc_numbers,
    dcc_text,
    pdf_text,
    problems,
    rounding_problems,
)
from uncertainty.display import indication_text, unit_symbol

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server: Any, tmp_path: Path, settings: Any) -> dict[str, Path]:
    from scenarios.demo import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    summary = load_demo(tmp_path / "demo")
    benches: dict[str, Path] = {}
    for org, name, path in summary.benches:
        if org == "HN":
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("http://127.0.0.1:8000", live_server.url), "utf-8")
            benches[name] = path
    return benches


def test_each_demo_procedure_gives_a_complete_certificate_document(
    demo: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from labserver.accounts.models import User
    from labserver.jobs.models import Job
    from labserver.measurements.models import Run
    from labserver.measurements.services import approve_run, review_run
    from scenarios.demo import DEMO_PASSWORD

    reviewer = User.objects.get(username="hn-reviewer")
    signatory = User.objects.get(username="hn-signatory")
    kinds: dict[str, str] = {}
    unreadable: list[str] = []
    resolutions: dict[str, set[float | None]] = {}
    environments: set[str] = set()
    for bench_name, procedure_id in BENCHES.items():
        job = Job.objects.get(bench__name=bench_name, state="scheduled")
        args = ["run", "--bench", str(demo[bench_name]), "--job", job.number, "--simulate"]
        status = main([*args, "--seed", "7"])
        out = capsys.readouterr()
        assert status == 0, out.out + out.err
        run = Run.objects.get(job=job)
        review_run(actor=reviewer, run=run, password=DEMO_PASSWORD)
        approve_run(actor=signatory, run=run, password=DEMO_PASSWORD)
        run.refresh_from_db()
        document = document_for(
            run,
            number=f"HN-XX-2026-{len(kinds) + 1:06d}",
            issued_at=timezone.now(),
            verify_url="https://lims.example.org/verify/x",
            mark_number="HN-26-0000001" if run.procedure.kind == "verification" else None,
        )
        document.check()
        # The DCC of each is valid against the DCC 3.1.2 schema.
        xml = build_dcc(document)
        validate_dcc(xml)
        # Issue 16: no unverified reference, raw key, ASCII unit, unrounded float, or
        # indication finer than its resolution, in the PDF or the DCC.
        text = pdf_text(render_pdf(document, dcc_xml=xml), tmp_path)
        unreadable += problems(text, what=f"{procedure_id}.pdf")
        unreadable += rounding_problems(document, text, what=f"{procedure_id}.pdf")
        unreadable += problems(dcc_text(xml), what=f"{procedure_id}.xml")
        unreadable += problems(" ".join(dcc_numbers(xml)), what=f"{procedure_id}.xml numbers")
        resolutions[procedure_id] = {
            row.resolution for table in document.results for row in table.rows
        }
        assert document.procedure.id == procedure_id
        # Issue 16: environmental conditions on every certificate whose procedure records
        # them (ISO/IEC 17025 7.8.4.1 b), in the PDF in both languages with their values.
        definition = load_definition(library()[procedure_id])
        recorded = {condition.name.en: condition for condition in document.conditions}
        for quantity in definition.environment:
            condition = recorded[CONDITION_NAMES[quantity]]
            assert f"{condition.name.vi} / {condition.name.en}" in text
            assert f"{plain(condition.value, quantity)} {unit_symbol(condition.unit)}" in text
            environments.add(procedure_id)
        # The rounding-error method (R 76-1 A.4.4.3) with the method, both languages.
        if definition.rounding_statement is not None:
            for language in ("vi", "en"):
                assert definition.rounding_statement[language] in text
                assert definition.rounding_statement[language] in dcc_text(xml)
        assert sum(len(t.rows) for t in document.results) == run.points.count()
        kinds[procedure_id] = document.kind
        if procedure_id == "thermometer-bath":
            # The fitted correction line travels with its table.
            assert any(t.curve is not None for t in document.results)
        if procedure_id == "electricity-meter-r46":
            # The no-load count and the time to the first pulse are what was observed,
            # against their limits (1 pulse, 93 s), not errors; then the errors in %.
            judged = [row for t in document.results[:2] for row in t.rows]
            assert [(r.error, r.mpe, r.limit, r.unit) for r in judged] == [
                (None, None, 1.0, "1"),
                (None, None, 93.0, "s"),
            ]
            count, time = judged
            # The count: a whole number of pulses, in words, with no U and no U/MPE flag
            # (a count is exact); the time: to the bench's 0.01 s, with its U.
            assert count.counted is not None
            assert count.counted.en == "pulses"
            assert count.indication == 0.0
            assert count.resolution == 1.0
            assert count.expanded_uncertainty is None
            assert not count.uncertainty_ratio_flag
            assert time.resolution == 0.01
            assert time.expanded_uncertainty is not None
            assert not time.uncertainty_ratio_flag
            for words in ("Số chỉ (xung)", "Indication (pulses)", "≤ 1 ", "≤ 93 "):
                assert words in text, words
            assert "0 A 0 ≤ 1 Đạt / Pass" in text
            assert time.indication is not None
            assert f" {indication_text(time.indication, 0.01)} ≤ 93 " in text
            assert {row.unit for t in document.results[2:] for row in t.rows} == {"%"}
            # The register test: its own table, the register's error against the MPE at
            # Imax; the readings in kWh are not printed as an indication in %.
            register = document.results[-1]
            assert register.test_id == "register"
            assert (register.title.vi, register.title.en) == (
                "Kiểm tra cơ cấu đếm ở Imax, cos φ = 1",
                "Register test at Imax, cos φ = 1",
            )
            (row,) = register.rows
            assert (row.unit, row.mpe, row.indication) == ("%", 2.0, None)
            # the demo meter errs by +0.21 %: its register within its 0.01 kWh over 4 kWh
            assert row.error is not None
            assert abs(row.error - 0.21) <= 0.25 + 1e-9
            assert "Register test at Imax" in text
            # The meter's specification in words with units, never a raw key.
            for words in (
                "Dòng điện khởi động I_st / Starting current I_st: 0.02 A",
                "Hằng số công tơ / Meter constant: 10000 imp/kWh",
                "Điện áp chuẩn U_ref / Reference voltage U_ref: 230 V",
                "Tần số chuẩn f_ref / Reference frequency f_ref: 50 Hz",
                "Số pha / Number of phases: 1",
            ):
                assert words in text, words
            # The DCC says the same: the count's words, its limit, no uncertainty on it.
            assert "xung / pulses" in dcc_text(xml)
            assert "Permissible limit (≤)" in dcc_text(xml)
        if procedure_id == "fuel-dispenser-r117":
            assert "Lưu lượng lớn nhất Q_max / Maximum flow rate Q_max: 40 L/min" in text
            assert "Lượng đo nhỏ nhất MMQ / Minimum measured quantity MMQ: 5 L" in text
        if procedure_id == "nawi-r76":
            assert {c.name.en for t in document.results for c in t.checks} >= {
                "Repeatability",
                "Eccentricity",
            }
    assert not unreadable, "\n".join(unreadable)
    # The resolutions the indications are printed to come from what the bench bound: the
    # gauge's 2 kPa division, the scale's test-mode d_T = 0.5 g, the thermometer's 0.01 °C.
    assert resolutions["pressure-gauge-r101"] == {2.0}
    assert resolutions["nawi-r76"] == {0.5}
    assert resolutions["thermometer-bath"] == {0.01}
    # The pressure and weighing procedures record the room's temperature too (1.2.0).
    assert environments >= {"dmm-dcv", "thermometer-bath", "nawi-r76", "pressure-gauge-r101"}
    assert kinds == {
        "dmm-dcv": "calibration",
        "nawi-r76": "verification",
        "pressure-gauge-r101": "verification",
        "thermometer-bath": "calibration",
        "water-meter-r49": "verification",
        "water-meter-r49-hot": "verification",
        "fuel-dispenser-r117": "verification",
        "electricity-meter-r46": "verification",
    }
