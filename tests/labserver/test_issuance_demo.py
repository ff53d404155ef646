"""A certificate document for a run of each demo procedure: the demo data set in a live
LIMS, each demo job run by ``caltrace-agent run --simulate`` on its demo bench (as
``tests/agent/test_run_demo.py`` does), reviewed and approved by the demo's people, then
mapped by :func:`labserver.issuance.documents.document_for` and checked by
:meth:`certificates.document.CertificateDocument.check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from agent.cli import main
from certificates.dcc import build_dcc, validate_dcc
from labserver.issuance.documents import document_for
from tests.labserver.test_demo_benches import BENCHES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server: Any, tmp_path: Path, settings: Any) -> dict[str, Path]:
    from labserver.demo import load_demo

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
    demo: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.accounts.models import User
    from labserver.demo import DEMO_PASSWORD
    from labserver.jobs.models import Job
    from labserver.measurements.models import Run
    from labserver.measurements.services import approve_run, review_run

    reviewer = User.objects.get(username="hn-reviewer")
    signatory = User.objects.get(username="hn-signatory")
    kinds: dict[str, str] = {}
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
        validate_dcc(build_dcc(document))
        assert document.procedure.id == procedure_id
        assert sum(len(t.rows) for t in document.results) == run.points.count()
        kinds[procedure_id] = document.kind
        if procedure_id == "thermometer-bath":
            # The fitted correction line travels with its table.
            assert any(t.curve is not None for t in document.results)
        if procedure_id == "nawi-r76":
            assert {c.name.en for t in document.results for c in t.checks} >= {
                "Repeatability",
                "Eccentricity",
            }
    assert kinds == {
        "dmm-dcv": "calibration",
        "nawi-r76": "verification",
        "pressure-gauge-r101": "verification",
        "thermometer-bath": "calibration",
        "water-meter-r49": "verification",
        "water-meter-r49-hot": "verification",
    }
