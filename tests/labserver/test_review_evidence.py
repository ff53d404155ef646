"""What the reviewer sees before signing "I checked this run: its evidence…" (every reading,
the reference values and their standards, the stability flags, the environment, the
instrument I/O log a page at a time), and the signatory's preview of the certificate before
the password: unsigned, watermarked on every page, unnumbered, nothing stored, no number
taken; then the page that says what was signed."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from certificates.errors import VerificationError
from certificates.pdf import PREVIEW_WATERMARK
from certificates.verify import verify_pdf
from labserver.core.models import AuditEntry
from labserver.issuance.models import Certificate
from labserver.issuance.services import PREVIEW_NUMBER
from labserver.measurements.models import Run
from tests.support.issuing import approved_run, approved_verification, issue, submitted_run
from tests.support.lims import PASSWORD, Center, post_run, run_payload
from tests.support.pages import signed_in
from tests.support.tools import require_tool

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def block(text: str, element_id: str, end: str = "</details>") -> str:
    return text.split(f'id="{element_id}"')[1].split(end)[0]


def run_page(center: Center, run: Run, query: str = "", role: str = "reviewer") -> str:
    page = signed_in(getattr(center, role)).get(f"/work/runs/{run.pk}/{query}")
    assert page.status_code == 200
    return page.content.decode()


def pdf_pages(data: bytes, where: Path) -> list[str]:
    """The text of each page of a PDF (pdftotext ends each page with a form feed)."""
    path = where / "preview.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        [require_tool("pdftotext"), "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return [re.sub(r"\s+", " ", page) for page in out.split("\f") if page.strip()]


# ------------------------------------------------------------------ the evidence


def test_the_run_page_shows_every_reading_to_the_instrument_s_resolution(center: Center) -> None:
    run = submitted_run(center)
    text = run_page(center, run)
    evidence = block(text, "evidence-1")
    point = run.points.get(index=1)
    readings = list(point.readings.order_by("index"))
    assert len(readings) == 5
    rows = evidence.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert len(rows) == len(readings)
    for row, reading in zip(rows, readings, strict=True):
        # The multimeter reads to 1 µV (its d_res is ± 0.5 µV): six decimals, no float noise.
        assert f"{reading.value:.6f} V" in row
        assert "yes" in row  # stable
        assert f"<code>{reading.raw}</code>" in row
    assert "unstable" not in evidence


def test_an_unstable_reading_is_flagged(center: Center) -> None:
    payload = run_payload(center)
    payload["points"][2]["readings"][3]["stable"] = False
    assert post_run(center, payload).status_code == 201
    text = run_page(center, Run.objects.get(pk=payload["run_id"]))
    evidence = block(text, "evidence-2")
    assert "1 unstable reading" in evidence
    assert evidence.count('class="unstable"') == 1
    assert '<strong class="fail">no</strong>' in evidence
    assert "unstable" not in block(text, "evidence-1")


def test_the_reference_values_name_their_standard_and_its_certificate(center: Center) -> None:
    run = submitted_run(center)
    references = block(run_page(center, run), "evidence-0").split('class="references"')[1]
    bound = run.points.get(index=0).model["quantities"]["V_s"]
    # 0.10000002 V ± 0.0000025 V (k = 2), from the calibrator's certificate (ILAC P14).
    assert bound["value"] == pytest.approx(0.10000002)
    assert '<th scope="row">V_s</th>' in references
    assert "0.1000000 V" in references
    assert "0.0000025 V" in references
    assert center.standard.asset_id in references
    assert f"NMI-{center.org.code}-001" in references


def test_the_environment_is_shown_with_its_units(center: Center) -> None:
    payload = run_payload(center)
    # As the runner records it (procedures.runner): the value, the unit, the raw text, when.
    payload["environment"]["temperature"].update(
        raw="T=23.10C", timestamp="2026-11-22T08:00:00.250000+00:00"
    )
    assert post_run(center, payload).status_code == 201
    text = run_page(center, Run.objects.get(pk=payload["run_id"]))
    environment = block(text, "environment", "</section>")
    assert "temperature" in environment
    assert "23.1 °C" in environment
    assert "<code>T=23.10C</code>" in environment
    assert "2026-11-22 15:00:00 UTC+07:00" in environment  # in the organization's zone
    assert "relative humidity" in environment
    assert "45 %" in environment


def test_the_io_log_is_shown_a_page_at_a_time(center: Center) -> None:
    payload = run_payload(center)
    started = datetime.fromisoformat(payload["started_at"])
    payload["raw_io"] = [
        {
            "t": (started + timedelta(seconds=n / 8)).isoformat(),
            "dir": "write" if n % 2 else "read",
            "role": "uut",
            "address": "TCPIP::127.0.0.1::5025::SOCKET",
            "data": f"entry-{n:03d}",
        }
        for n in range(1, 121)
    ]
    assert post_run(center, payload).status_code == 201
    run = Run.objects.get(pk=payload["run_id"])

    first = block(run_page(center, run), "io-log", "</section>")
    assert "Entries 1–50 of 120" in first
    assert "entry-001" in first
    assert "entry-050" in first
    assert "entry-051" not in first
    assert 'href="?io=2#io-log"' in first
    assert "sent" in first
    assert "received" in first

    last = block(run_page(center, run, "?io=3"), "io-log", "</section>")
    assert "Entries 101–120 of 120" in last
    assert "entry-120" in last
    assert "entry-100" not in last
    assert 'href="?io=2#io-log"' in last
    assert "Later entries" not in last
    # A page past the end, or not a number, is the nearest page: never an error page.
    assert "entry-120" in run_page(center, run, "?io=99")
    assert "entry-001" in run_page(center, run, "?io=x")


def test_a_run_without_io_says_so(center: Center) -> None:
    payload = run_payload(center, raw_io=[])
    assert post_run(center, payload).status_code == 201
    text = run_page(center, Run.objects.get(pk=payload["run_id"]))
    assert 'id="no-io"' in text


def test_the_evidence_in_vietnamese(center: Center) -> None:
    run = submitted_run(center)
    client = signed_in(center.reviewer)
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    text = client.get(f"/work/runs/{run.pk}/").content.decode()
    for words in ("Số đọc và giá trị chuẩn", "Nhật ký vào/ra của thiết bị", "nhiệt độ", "Ổn định"):
        assert words in text, words


# ------------------------------------------------------------------ the preview


def test_the_preview_is_the_certificate_unsigned_unnumbered_and_watermarked(
    center: Center, tmp_path: Path
) -> None:
    run = approved_run(center)
    audited = AuditEntry.objects.count()
    response = signed_in(center.signatory).get(f"/work/runs/{run.pk}/preview.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Cache-Control"] == "no-store"
    data = response.content
    assert data.startswith(b"%PDF")
    pages = pdf_pages(data, tmp_path)
    assert pages
    for number, page in enumerate(pages, start=1):
        assert PREVIEW_WATERMARK.en in page, number
        assert PREVIEW_WATERMARK.vi in page, number
    whole = " ".join(pages)
    assert PREVIEW_NUMBER in whole
    assert "CALIBRATION CERTIFICATE" in whole
    assert not re.search(rf"{center.org.code}-(HC|KD)-\d{{4}}-\d{{6}}", whole)
    with pytest.raises(VerificationError, match="no signature"):
        verify_pdf(data, trust_roots=[])
    # Nothing stored, nothing audited; the first certificate issued takes the first number.
    assert not Certificate.objects.exists()
    assert AuditEntry.objects.count() == audited
    issued = issue(center, run)
    assert issued.status_code == 201, issued.json()
    assert issued.json()["number"].endswith("-000001")


def test_the_issue_form_offers_the_preview(center: Center) -> None:
    run = approved_run(center)
    form = block(run_page(center, run, role="signatory"), "form-issue", "</form>")
    assert f'href="/work/runs/{run.pk}/preview.pdf"' in form
    assert form.index("preview.pdf") < form.index('id="issue-password"')


@pytest.mark.parametrize("role", ["metrologist", "reviewer", "quality_manager", "auditor"])
def test_only_a_signatory_may_preview(center: Center, role: str) -> None:
    run = approved_run(center)
    response = signed_in(getattr(center, role)).get(f"/work/runs/{run.pk}/preview.pdf")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_another_organization_s_signatory_does_not_find_the_preview(
    center: Center, other_center: Center
) -> None:
    run = approved_run(center)
    response = signed_in(other_center.signatory).get(f"/work/runs/{run.pk}/preview.pdf")
    assert response.status_code == 404


@pytest.mark.parametrize("when", ["submitted", "issued"])
def test_there_is_no_preview_before_approval_or_after_the_issue(center: Center, when: str) -> None:
    run: Any
    if when == "submitted":
        run = submitted_run(center)
    else:
        run = approved_run(center)
        assert issue(center, run).status_code == 201
    response = signed_in(center.signatory).get(f"/work/runs/{run.pk}/preview.pdf")
    assert response.status_code == 409
    assert "Not signed, nothing was changed" in response.content.decode()
    assert Certificate.objects.count() == (1 if when == "issued" else 0)


def test_after_the_issue_a_page_says_what_was_signed(center: Center) -> None:
    run = approved_run(center)
    client = signed_in(center.signatory)
    response = client.post(f"/work/runs/{run.pk}/issue/", {"password": PASSWORD})
    certificate = Certificate.objects.get(run=run)
    assert response.status_code == 302
    assert response["Location"] == f"/work/certificates/{certificate.pk}/"
    text = client.get(response["Location"]).content.decode()
    assert f"Certificate {certificate.number} issued and signed." in text
    signed = block(text, "signed", "</dl>")
    assert certificate.number in signed
    assert f'href="/work/certificates/{certificate.pk}/pdf/"' in signed
    assert certificate.pdf_sha256 in signed
    assert f'href="/verify/{certificate.number}"' in signed
    assert f"https://lims.example.org/verify/{certificate.number}" in signed
    assert f'href="/work/runs/{run.pk}/"' in signed


def test_the_preview_of_a_verification_takes_no_mark_number(center: Center, tmp_path: Path) -> None:
    run, signatory = approved_verification(center, tmp_path)
    response = signed_in(signatory).get(f"/work/runs/{run.pk}/preview.pdf")
    assert response.status_code == 200
    pages = pdf_pages(response.content, tmp_path)
    whole = " ".join(pages)
    assert "VERIFICATION CERTIFICATE" in whole
    assert all(PREVIEW_WATERMARK.en in page for page in pages)
    assert PREVIEW_NUMBER in whole
    code = center.org.code
    assert not re.search(rf"{code}-KD-\d{{4}}-\d{{6}}|{code}-\d\d-\d{{7}}", whole)
    assert not Certificate.objects.exists()
