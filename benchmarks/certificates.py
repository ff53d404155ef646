"""Benchmark of certificate issuing: signed PDFs per second per core, against bare
reportlab + pyHanko producing the same pages, in the same run.

    .venv/bin/python benchmarks/certificates.py [--seconds S] [--rounds N] [--example NAME]
                                           [--keys rsa-3072,p-256] [--naive-seconds S]

The figure is signed certificates per second on one core: the process is pinned to one
CPU (``os.sched_setaffinity``, where the system has it) before anything is measured, so
that "per core" is what it says. Each key (RSA-3072 and ECDSA P-256) has its own demo PKI
(:func:`certificates.pki.ensure_demo_pki`) in a temporary directory; both arms sign with
the same key, the baseline loading it from the demo PKI's ``signer.p12`` (no password).

* **bare reportlab + pyHanko** (the baseline): what a competent developer writes with the
  two libraries. A hand-written platypus script (:func:`baseline_pdf`) lays out the same
  text as caltrace's certificate in plain Paragraphs and Tables, with the same fonts
  (DejaVu Sans from matplotlib, registered once per process as caltrace does), a header
  and a "page x of y" footer on every page, the QR code of the verification page
  (reportlab's own ``QrCode`` flowable) and a simple chart of the errors with their U bars;
  the wording of conformity, place and roles is taken from caltrace's tables of text.
  It does not attach a DCC. Then stock pyHanko used well: ``SimpleSigner.load_pkcs12``
  once, outside the loop, and ``signers.sign_pdf`` with PAdES, SHA-256 and a fixed
  ``bytes_reserved`` (:data:`BASELINE_RESERVED`), so pyHanko does not sign twice.
* **caltrace**: the real issuing path, :func:`certificates.dcc.build_dcc` (the DCC built
  and validated against its schema), :func:`certificates.pdf.render_pdf` with that DCC
  attached, then :meth:`certificates.signing.Signer.sign` with one ``Signer`` created
  before the rounds. The DCC's cost is included: caltrace never issues a PDF without it.
  The time of each stage (render, DCC, sign) is recorded in the same rounds.

Before anything is timed both arms make one certificate and the benchmark checks that
they are the same pages: the same page count (the default example must have 2), and the
baseline's words (``pdftotext``) cover at least :data:`WORDS_TARGET` of caltrace's,
counted with repetition. Without ``pdftotext`` on the PATH the word check is skipped with
a note. A failed check stops the benchmark (exit status 2): the figures would compare
different documents.

Rounds alternate between the arms and the keys; a round repeats one arm for about
``--seconds`` (at least one certificate); each figure is the median over the rounds,
after one untimed certificate of each arm. Targets, for each key: caltrace at least
:data:`SHARE_TARGET` of the baseline's rate, and at least :data:`RATE_TARGET` signed
certificates per second on one core.

For context, no target: stock pyHanko used naively, the PKCS#12 file loaded for every
signature and no ``bytes_reserved`` (pyHanko signs once more to size the signature),
timed for ``--naive-seconds`` per key after the rounds.

The exit status is 1 when a figure misses its target; the figures are printed either way.
"""

from __future__ import annotations

import os
import sys

# This file shares its name with the package it measures: run as a script, its own
# folder comes first on sys.path and would shadow the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from xml.sax.saxutils import escape  # noqa: E402

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402

from certificates._format import CONFORMITY_TEXT, LOCATION_TEXT, ROLE_TEXT  # noqa: E402
from certificates.dcc import build_dcc  # noqa: E402
from certificates.document import Bilingual, CertificateDocument, Kind  # noqa: E402
from certificates.fonts import font_path  # noqa: E402
from certificates.pdf import render_pdf  # noqa: E402
from certificates.pki import KeyAlgorithm, ensure_demo_pki  # noqa: E402
from certificates.signing import Signer  # noqa: E402
from scenarios.certificates import EXAMPLES, example  # noqa: E402

SHARE_TARGET = 0.80
RATE_TARGET = 5.0
WORDS_TARGET = 0.90
#: The command-line names of the keys, and the demo PKI's names for them.
KEYS: dict[str, KeyAlgorithm] = {"rsa-3072": "rsa-3072", "p-256": "ec-p256"}
#: The baseline's fixed room for the signature (hexadecimal characters, pyHanko's
#: ``bytes_reserved``): ample for a CMS container with a 3072-bit RSA signature and the
#: signer's and CA's certificates, the round figure a developer would pick.
BASELINE_RESERVED = 16384
BASELINE = "bare reportlab + pyHanko (baseline)"
CALTRACE = "caltrace DCC + render_pdf + Signer"
NAIVE = "naive stock pyHanko (context)"
REASON = "Calibration certificate"
LOCATION = "Hà Nội, Việt Nam"
NAME = "caltrace benchmark"

_MM = 72 / 25.4
_PAGE = (210 * _MM, 297 * _MM)
_MARGIN = 18 * _MM
_WIDTH = _PAGE[0] - 2 * _MARGIN


# -- the baseline: a hand-written reportlab script ----------------------------------------

_BASELINE_FONTS = {"BenchSans": "DejaVuSans.ttf", "BenchSans-Bold": "DejaVuSans-Bold.ttf"}
_baseline_fonts_registered = False


def _register_baseline_fonts() -> None:
    """DejaVu Sans regular and bold, registered once per process (as caltrace does)."""
    global _baseline_fonts_registered
    if _baseline_fonts_registered:
        return
    from reportlab.lib.fonts import addMapping  # type: ignore[import-untyped]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

    for name, file_name in _BASELINE_FONTS.items():
        pdfmetrics.registerFont(TTFont(name, str(font_path(file_name))))
    addMapping("BenchSans", 0, 0, "BenchSans")
    addMapping("BenchSans", 1, 0, "BenchSans-Bold")
    addMapping("BenchSans", 0, 1, "BenchSans")
    addMapping("BenchSans", 1, 1, "BenchSans-Bold")
    _baseline_fonts_registered = True


def _bi(text: Bilingual, sep: str = " / ") -> str:
    return escape(text.vi) if text.vi == text.en else f"{escape(text.vi)}{sep}{escape(text.en)}"


def _places(u: float) -> int:
    """Decimal places that give ``u`` two significant digits."""
    return max(0, 1 - math.floor(math.log10(abs(u))))


def _chart(points: Sequence[tuple[str, float, float]], unit: str) -> Any:
    """Errors and their U bars, one slot per point: a reportlab Drawing."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, String  # type: ignore[import-untyped]

    height = 46 * _MM
    drawing = Drawing(_WIDTH, height)
    low = min(e - u for _, e, u in points)
    high = max(e + u for _, e, u in points)
    span = (high - low) or 1.0
    left, bottom, top = 22 * _MM, 8 * _MM, height - 8 * _MM

    def y(value: float) -> float:
        return bottom + (value - low) / span * (top - bottom)

    for i in range(5):
        value = low + span * i / 4
        drawing.add(Line(left, y(value), _WIDTH, y(value), strokeWidth=0.2))
        drawing.add(
            String(left - 2, y(value) - 2, f"{value:.6f}", fontName="BenchSans", fontSize=6)
        )
    drawing.add(String(left, height - 4 * _MM, f"Sai số / Error ({unit})", fontName="BenchSans"))
    slot = (_WIDTH - left) / len(points)
    for n, (label, error, u) in enumerate(points):
        x = left + slot * (n + 0.5)
        drawing.add(Line(x, y(error - u), x, y(error + u), strokeWidth=0.8))
        drawing.add(Circle(x, y(error), 1.8, fillColor=None))
        drawing.add(String(x, 2 * _MM, label, fontName="BenchSans", fontSize=6.5))
    return drawing


def baseline_pdf(doc: CertificateDocument) -> bytes:
    """The certificate's text laid out with plain reportlab platypus: an unsigned PDF."""
    from reportlab.graphics.barcode.qr import QrCode  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # type: ignore[import-untyped]

    _register_baseline_fonts()
    body = ParagraphStyle("b", fontName="BenchSans", fontSize=8, leading=10)
    small = ParagraphStyle("s", parent=body, fontSize=7, leading=8.8)
    head = ParagraphStyle("h", parent=body, fontName="BenchSans-Bold", fontSize=9.5, leading=13)
    big = ParagraphStyle("t", parent=body, fontName="BenchSans-Bold", fontSize=16, leading=19)
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), "BenchSans"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.3, "#999999"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ]
    )

    def p(text: str, style: Any = body) -> Any:
        return Paragraph(text, style)

    def table(rows: list[list[str]], widths: Sequence[float] | None = None) -> Any:
        t = Table([[p(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
        t.setStyle(grid)
        return t

    def pairs(rows: list[tuple[Bilingual, str]]) -> Any:
        return table([[_bi(k), v] for k, v in rows], [58 * _MM, _WIDTH - 58 * _MM])

    story: list[Any] = []
    verification = doc.kind is Kind.VERIFICATION
    work = "kiểm định" if verification else "hiệu chuẩn"
    qr = QrCode(doc.verify_url, qrLevel="M", width=30 * _MM, height=30 * _MM)
    title = [
        [
            p(
                f"{escape(doc.title.vi)}<br/>{escape(doc.title.en)}<br/>"
                f"Số / No.: {escape(doc.number)}",
                big,
            ),
            [qr, p("Quét để xác minh / Scan to verify", small)],
        ]
    ]
    story.append(Table(title, colWidths=[_WIDTH - 34 * _MM, 34 * _MM]))
    if doc.amendment is not None:
        a = doc.amendment
        story.append(p(f"Thay thế / Replaces {escape(a.replaces)}: {_bi(a.reason)}", head))
    instrument, customer = doc.instrument, doc.customer
    story.append(p("1. ĐỐI TƯỢNG VÀ KHÁCH HÀNG / ITEM AND CUSTOMER", head))
    item = [
        (Bilingual("Tên phương tiện đo", "Instrument"), _bi(instrument.type)),
        (
            Bilingual("Nhà sản xuất, kiểu", "Manufacturer, model"),
            escape(f"{instrument.manufacturer}, {instrument.model}"),
        ),
        (Bilingual("Số sản xuất", "Serial number"), escape(instrument.serial)),
    ]
    if instrument.identifier:
        item.append((Bilingual("Mã nhận dạng", "Identifier"), escape(instrument.identifier)))
    if instrument.description:
        item.append(
            (Bilingual("Đặc trưng kỹ thuật", "Specification"), escape(instrument.description))
        )
    if instrument.condition is not None:
        item.append(
            (Bilingual("Tình trạng khi nhận", "Condition as received"), _bi(instrument.condition))
        )
    lines = [customer.name, customer.address, customer.contact]
    item.append((Bilingual("Khách hàng", "Customer"), "<br/>".join(escape(x) for x in lines if x)))
    story.append(pairs(item))
    story.append(
        p(f"2. PHƯƠNG PHÁP, ĐỊA ĐIỂM, THỜI GIAN {work.upper()} / METHOD, PLACE AND DATES", head)
    )
    proc = doc.procedure
    method = [
        (
            Bilingual("Phương pháp", "Method"),
            f"{_bi(proc.title)}<br/>{escape(proc.id)}, phiên bản / version {escape(proc.version)}"
            f"<br/>{escape('; '.join(proc.references))}",
        ),
        (Bilingual("Địa điểm thực hiện", "Place of the work"), _bi(LOCATION_TEXT[doc.location])),
    ]
    if doc.received_on is not None:
        method.append(
            (Bilingual("Ngày nhận phương tiện", "Date of receipt"), doc.received_on.isoformat())
        )
    when = doc.performed_from.isoformat()
    if doc.performed_to != doc.performed_from:
        when += f" – {doc.performed_to.isoformat()}"
    method += [
        (Bilingual("Ngày thực hiện", "Date of measurement"), when),
        (Bilingual("Ngày ban hành", "Date of issue"), doc.issued_on.isoformat()),
    ]
    if doc.mark is not None:
        method += [
            (Bilingual("Số tem kiểm định", "Verification mark No."), escape(doc.mark.number)),
            (Bilingual("Hiệu lực đến", "Valid until"), doc.mark.valid_until.isoformat()),
        ]
    if doc.next_due is not None:
        method.append(
            (
                Bilingual("Đề nghị hiệu chuẩn lại", "Recommended next calibration"),
                doc.next_due.isoformat(),
            )
        )
    for c in doc.conditions:
        unit = {"degC": "°C"}.get(c.unit, c.unit)
        value = f"{c.value:g}" + (f" ± {c.uncertainty:g}" if c.uncertainty is not None else "")
        method.append((c.name, f"{value} {escape(unit)}"))
    story.append(pairs(method))
    section = 3
    if doc.statement is not None:
        s = doc.statement
        story.append(p(f"{section}. KẾT LUẬN / STATEMENT OF CONFORMITY", head))
        story.append(
            pairs(
                [
                    (Bilingual("Kết luận", "Conclusion"), _bi(CONFORMITY_TEXT[s.conformity])),
                    (Bilingual("Yêu cầu kỹ thuật", "Specification"), _bi(s.specification)),
                    (Bilingual("Quy tắc quyết định", "Decision rule"), _bi(s.decision_rule)),
                    (Bilingual("Phạm vi áp dụng", "Applies to"), _bi(s.covers)),
                ]
            )
        )
        section += 1
    story.append(p(f"{section}. KẾT QUẢ / RESULTS", head))
    section += 1
    chart_points: list[tuple[str, float, float]] = []
    chart_unit = ""
    for t in doc.results:
        if not t.rows:
            continue
        unit = {"degC": "°C"}.get(t.rows[0].unit, t.rows[0].unit)
        story.append(p(_bi(t.title), head))
        columns: list[tuple[str, Callable[[Any, int], str]]] = [
            ("Điểm đo / Point", lambda r, d: escape(r.label)),
            ("Giá trị chuẩn / Reference value", lambda r, d: f"{r.reference:.{d}f}"),
            ("Số chỉ / Indication", lambda r, d: f"{r.indication:.{d}f}"),
            ("Sai số / Error", lambda r, d: f"{r.error:.{d}f}"),
            ("Sai số lớn nhất cho phép / MPE", lambda r, d: f"± {r.mpe:g}"),
            (
                "ĐKĐB mở rộng U / Expanded uncertainty U",
                lambda r, d: f"{r.expanded_uncertainty:.{d}f}",
            ),
            ("k", lambda r, d: f"{r.coverage_factor:.2f}"),
            ("p (%)", lambda r, d: f"{r.coverage_probability * 100:g}"),
            ("Kết luận / Verdict", lambda r, d: _bi(CONFORMITY_TEXT[r.conformity])),
        ]
        attributes = [
            "label",
            "reference",
            "indication",
            "error",
            "mpe",
            "expanded_uncertainty",
            "coverage_factor",
            "coverage_probability",
            "conformity",
        ]
        used = [
            (name, cell)
            for (name, cell), attr in zip(columns, attributes, strict=True)
            if any(getattr(r, attr) is not None for r in t.rows)
        ]
        rows = [[f"{name} ({unit})" if "/" in name else name for name, _ in used]]
        for r in t.rows:
            d = _places(r.expanded_uncertainty) if r.expanded_uncertainty else 6
            rows.append([cell(r, d) for _, cell in used])
        story.append(table(rows))
        for check in t.checks:
            story.append(
                p(f"{_bi(check.name)}: {check.value:g} ≤ {check.limit:g} {escape(check.unit)}")
            )
        if t.curve is not None:
            story.append(p(f"Đường cong hiệu chính / Correction curve: {_bi(t.curve.description)}"))
        chart_points = [
            (r.label, r.error, r.expanded_uncertainty or 0.0) for r in t.rows if r.error is not None
        ]
        chart_unit = unit
    if chart_points:
        story += [Spacer(1, 3 * _MM), _chart(chart_points, chart_unit)]
    story.append(p(f"{section}. LIÊN KẾT CHUẨN / METROLOGICAL TRACEABILITY", head))
    section += 1
    story.append(
        p(
            "Kết quả đo được liên kết chuẩn tới hệ đơn vị đo quốc tế (SI) thông qua các chuẩn "
            "dưới đây và giấy chứng nhận còn hiệu lực của chúng tại thời điểm sử dụng. The "
            "results are metrologically traceable to the SI units through the reference "
            "standards below and their certificates in force when they were used.",
            small,
        )
    )
    standards = [
        [
            "Chuẩn sử dụng / Standard used",
            "Chức năng, phạm vi, ĐKĐB / Function, range, uncertainty",
            "Giấy chứng nhận / Certificate",
        ]
    ]
    for std in doc.standards:
        standards.append(
            [
                f"{_bi(std.name)}<br/>{escape(std.manufacturer)} {escape(std.model)}, S/N "
                f"{escape(std.serial)}<br/>{escape(std.asset_id)} ({escape(std.role)})",
                f"{escape(std.function_range)}<br/>{escape(std.uncertainty)}",
                f"Số / No. {escape(std.certificate_number)}<br/>{escape(std.certificate_issuer)} "
                f"({escape(std.certificate_issuer_accreditation)})<br/>"
                f"{std.certificate_date.isoformat()}, hiệu lực đến / valid until "
                f"{std.certificate_valid_until.isoformat()}",
            ]
        )
    story.append(table(standards, [64 * _MM, 44 * _MM, _WIDTH - 108 * _MM]))
    story.append(p(f"{section}. GHI CHÚ / NOTES", head))
    section += 1
    done_en = "verified" if verification else "calibrated"
    notes = [
        f"Sai khác so với phương pháp / Deviation from the method: {_bi(x)}" for x in doc.deviations
    ]
    notes += [f"Ghi chú / Remark: {_bi(x)}" for x in doc.remarks]
    notes += [
        "Sai số = số chỉ − giá trị chuẩn. Error = indication − reference value.",
        "Độ không đảm bảo đo mở rộng U là độ không đảm bảo chuẩn nhân với hệ số phủ k, ứng với "
        "xác suất phủ p, đánh giá theo JCGM 100:2008 (GUM); U được làm tròn tới hai chữ số có "
        "nghĩa và giá trị đo tới cùng hàng thập phân (ILAC P14). The expanded uncertainty U is "
        "the standard uncertainty multiplied by the coverage factor k for the coverage "
        "probability p, evaluated per JCGM 100:2008 (GUM); U is rounded to two significant "
        "digits and each value to the same decimal place (ILAC P14).",
        f"Kết quả chỉ có giá trị đối với phương tiện được {work}. The results relate only to "
        f"the item {done_en}.",
        "Không được trích sao giấy chứng nhận này nếu không sao toàn bộ, trừ khi có sự đồng ý "
        "bằng văn bản của đơn vị ban hành. This certificate shall not be reproduced except in "
        "full without the written approval of the issuing laboratory.",
        f"Xác minh giấy chứng nhận tại / Verify this certificate at: {escape(doc.verify_url)}",
        escape(
            f"{doc.software} {doc.software_version}; run {doc.run_id}; procedure {proc.id} "
            f"{proc.version}, SHA-256 {proc.sha256}"
        ),
    ]
    story += [p(n, small) for n in notes]
    story.append(p(f"{section}. NGƯỜI CHỊU TRÁCH NHIỆM / RESPONSIBLE PERSONS", head))
    people = [
        [
            "Vai trò / Role",
            "Họ tên, chức danh / Name, title",
            "Ý nghĩa của chữ ký / Meaning of the signature",
            "Thời điểm ký / Signed at",
        ]
    ]
    for person in doc.people:
        role = ROLE_TEXT.get(person.role, Bilingual(person.role, person.role))
        people.append(
            [
                _bi(role, "<br/>"),
                f"{escape(person.name)}<br/>{escape(person.title)}",
                _bi(person.meaning, "<br/>"),
                f"{person.signed_at:%Y-%m-%d %H:%M} UTC",
            ]
        )
    story.append(table(people, [30 * _MM, 50 * _MM, _WIDTH - 120 * _MM, 40 * _MM]))
    story.append(
        p(
            "Giấy chứng nhận được ký số bởi đơn vị ban hành (PAdES); các chữ ký trên được ghi "
            "nhận điện tử trong hệ thống quản lý phòng thí nghiệm. The certificate is digitally "
            "signed by the issuing body (PAdES); the signatures above are electronic records in "
            "the laboratory's system.",
            small,
        )
    )
    story.append(p("— HẾT GIẤY CHỨNG NHẬN / END OF CERTIFICATE —", head))

    issuer = doc.issuer

    def header(canvas: Any, _doc: Any) -> None:
        top = _PAGE[1] - 10 * _MM
        canvas.setFont("BenchSans-Bold", 9)
        canvas.drawString(_MARGIN, top, issuer.name.vi)
        canvas.setFont("BenchSans", 7)
        canvas.drawString(_MARGIN, top - 10, issuer.name.en)
        canvas.drawString(_MARGIN, top - 19, f"{issuer.address} · {issuer.contact}")
        canvas.drawString(
            _MARGIN,
            top - 27,
            f"Công nhận / Accreditation: {issuer.accreditation}, {issuer.accreditation_body}",
        )
        right = _PAGE[0] - _MARGIN
        canvas.drawRightString(right, top, doc.title.vi)
        canvas.drawRightString(right, top - 10, doc.title.en)
        canvas.drawRightString(right, top - 21, f"Số / No. {doc.number}")
        canvas.line(_MARGIN, top - 32, right, top - 32)

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        """Keeps each page until the end to write "page x of y" in its footer."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self.pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for n, state in enumerate(self.pages, start=1):
                self.__dict__.update(state)
                self.setFont("BenchSans", 7.5)
                total = len(self.pages)
                self.drawString(_MARGIN, 10 * _MM, f"Trang {n}/{total} · Page {n} of {total}")
                self.drawCentredString(_PAGE[0] / 2, 10 * _MM, doc.number)
                self.drawRightString(_PAGE[0] - _MARGIN, 10 * _MM, doc.verify_url)
                super().showPage()
            super().save()

    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=_PAGE,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=32 * _MM,
        bottomMargin=20 * _MM,
        title=f"{doc.title.en} {doc.number}",
        author=issuer.name.en,
        pageCompression=1,
        invariant=1,
    )
    template.build(story, onFirstPage=header, onLaterPages=header, canvasmaker=NumberedCanvas)
    return out.getvalue()


# -- signing the baseline with stock pyHanko ------------------------------------------------


def _metadata() -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name="Signature",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=REASON,
        location=LOCATION,
        name=NAME,
    )


def baseline_sign(pdf: bytes, signer: signers.SimpleSigner) -> bytes:
    """Stock pyHanko used well: a signer loaded once, a fixed room for the signature."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, _metadata(), signer=signer, bytes_reserved=BASELINE_RESERVED)
    signed: bytes = out.getvalue()
    return signed


def naive_sign(pdf: bytes, p12: Path) -> bytes:
    """Stock pyHanko used naively: the PKCS#12 loaded for this signature, pyHanko sizing
    the signature by a trial signature."""
    signer = signers.SimpleSigner.load_pkcs12(  # type: ignore[no-untyped-call]
        str(p12), passphrase=None
    )
    if signer is None:
        raise RuntimeError(f"pyHanko could not load {p12}")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, _metadata(), signer=signer)
    signed: bytes = out.getvalue()
    return signed


# -- the same pages ---------------------------------------------------------------------


def page_count(pdf: bytes) -> int:
    """The number of pages of ``pdf``, read with pyHanko's reader."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    count: int = reader.root["/Pages"]["/Count"]
    return count


def pdf_words(pdf: bytes) -> list[str] | None:
    """The words of ``pdf`` as ``pdftotext`` extracts them; None without pdftotext."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    text = subprocess.run(
        [tool, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return text.split()


@dataclass(frozen=True)
class SamePages:
    """What the check before timing found."""

    caltrace_pages: int
    baseline_pages: int
    #: The share of caltrace's words (with repetition) that the baseline's text has too;
    #: None when pdftotext is not installed.
    word_share: float | None
    expected_pages: int | None

    @property
    def ok(self) -> bool:
        """Same page count (the expected one, if any), and enough words shared."""
        pages = self.caltrace_pages == self.baseline_pages
        if self.expected_pages is not None:
            pages = pages and self.caltrace_pages == self.expected_pages
        return pages and (self.word_share is None or self.word_share >= WORDS_TARGET)


def same_pages(caltrace: bytes, baseline: bytes, *, expected_pages: int | None) -> SamePages:
    """Compare the two arms' PDFs: page counts and the share of caltrace's words."""
    share: float | None = None
    ours, theirs = pdf_words(caltrace), pdf_words(baseline)
    if ours is not None and theirs is not None:
        mine, other = Counter(ours), Counter(theirs)
        share = sum(min(n, other[w]) for w, n in mine.items()) / max(1, len(ours))
    return SamePages(page_count(caltrace), page_count(baseline), share, expected_pages)


# -- the measurement --------------------------------------------------------------------


@dataclass
class KeyFigures:
    """One key's measurements: per arm, the rate (certificates/s) of each round, and the
    time of each stage of each timed certificate (ms)."""

    key: str
    rates: dict[str, list[float]] = field(default_factory=dict)
    stages: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    check: SamePages | None = None

    def median(self, arm: str) -> float:
        """The median rate of ``arm`` over the rounds, certificates per second."""
        return statistics.median(self.rates[arm])

    def stage_ms(self, arm: str, stage: str) -> float:
        """The median time of one stage of ``arm``, ms."""
        return statistics.median(self.stages[arm][stage])


class _Arms:
    """Both arms (and the naive one) of one key, each making one signed certificate."""

    def __init__(self, doc: CertificateDocument, key_name: str, directory: Path) -> None:
        pki = ensure_demo_pki(
            directory / key_name, "caltrace benchmark", key_algorithm=KEYS[key_name]
        )
        self.doc = doc
        self.p12 = pki.signer_path
        self.signer = Signer(pki.signing_key())
        loaded = signers.SimpleSigner.load_pkcs12(  # type: ignore[no-untyped-call]
            str(self.p12), passphrase=None
        )
        if loaded is None:
            raise RuntimeError(f"pyHanko could not load {self.p12}")
        self.stock = loaded
        self.figures = KeyFigures(key_name)
        for arm, stages in ((BASELINE, ("render", "sign")), (CALTRACE, ("render", "dcc", "sign"))):
            self.figures.rates[arm] = []
            self.figures.stages[arm] = {stage: [] for stage in stages}
        self.figures.stages[NAIVE] = {"render": [], "sign": []}
        self.figures.rates[NAIVE] = []
        self.record = True

    def _time(self, arm: str, stage: str, started: float) -> float:
        now = time.perf_counter()
        if self.record:
            self.figures.stages[arm][stage].append((now - started) * 1000)
        return now

    def baseline(self) -> bytes:
        started = time.perf_counter()
        pdf = baseline_pdf(self.doc)
        started = self._time(BASELINE, "render", started)
        signed = baseline_sign(pdf, self.stock)
        self._time(BASELINE, "sign", started)
        return signed

    def caltrace(self) -> bytes:
        started = time.perf_counter()
        dcc = build_dcc(self.doc)
        started = self._time(CALTRACE, "dcc", started)
        pdf = render_pdf(self.doc, dcc_xml=dcc)
        started = self._time(CALTRACE, "render", started)
        signed = self.signer.sign(pdf, reason=REASON, location=LOCATION, name=NAME)
        self._time(CALTRACE, "sign", started)
        return signed

    def naive(self) -> bytes:
        started = time.perf_counter()
        pdf = baseline_pdf(self.doc)
        started = self._time(NAIVE, "render", started)
        signed = naive_sign(pdf, self.p12)
        self._time(NAIVE, "sign", started)
        return signed


def _rate(make: Callable[[], bytes], seconds: float) -> float:
    """Certificates per second of ``make`` over about ``seconds``, at least one."""
    count = 0
    started = time.perf_counter()
    while True:
        make()
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count / elapsed


@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """pyHanko's INFO and WARNING messages off while timing; errors still show."""
    logger = logging.getLogger("pyhanko")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def measure(
    *,
    example_name: str,
    keys: Sequence[str],
    rounds: int,
    seconds: float,
    naive_seconds: float,
    directory: Path,
    expected_pages: int | None = None,
    samples: dict[str, tuple[bytes, bytes]] | None = None,
) -> list[KeyFigures]:
    """The benchmark's measurements, per key. Checks the same pages first (once, with the
    first key) and stops there when they differ (``check.ok`` false, no rates). When
    ``samples`` is given, each key's first signed certificate of each arm is put in it,
    ``{key: (baseline, caltrace)}``."""
    doc = example(example_name)
    with _quiet_pyhanko():
        arms = {key: _Arms(doc, key, directory) for key in keys}
        for key, arm in arms.items():  # warm up, untimed, and keep the first certificates
            arm.record = False
            signed = arm.baseline(), arm.caltrace()
            arm.record = True
            if samples is not None:
                samples[key] = signed
        check = same_pages(
            render_pdf(doc, dcc_xml=build_dcc(doc)),
            baseline_pdf(doc),
            expected_pages=expected_pages,
        )
        for arm in arms.values():
            arm.figures.check = check
        if not check.ok:
            return [arm.figures for arm in arms.values()]
        for _ in range(rounds):
            for arm in arms.values():
                for name, make in ((BASELINE, arm.baseline), (CALTRACE, arm.caltrace)):
                    arm.figures.rates[name].append(_rate(make, seconds))
        for arm in arms.values():
            arm.figures.rates[NAIVE].append(_rate(arm.naive, naive_seconds))
    return [arm.figures for arm in arms.values()]


def _pin() -> int | None:
    """Pin this process to one CPU (the first it may run on); which, or None."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return None
    return cpu


def _report(args: argparse.Namespace, figures: list[KeyFigures], cpu: int | None) -> int:
    check = figures[0].check
    assert check is not None
    words = (
        "not checked (pdftotext not on PATH)"
        if check.word_share is None
        else (
            f"{check.word_share:.1%} of caltrace's words in the baseline's text "
            f"(needed >= {WORDS_TARGET:.0%})"
        )
    )
    print(
        f"Same pages: caltrace {check.caltrace_pages} pages, baseline {check.baseline_pages}"
        + (f" (expected {check.expected_pages})" if check.expected_pages else "")
        + f"; {words}"
    )
    if not check.ok:
        print("The two arms do not make the same pages: no figures.")
        return 2
    where = f"one core (pinned to CPU {cpu})" if cpu is not None else "one process (not pinned)"
    print(
        f"Signed certificates per second on {where}, example {args.example} "
        f"({check.caltrace_pages} pages); {args.rounds} rounds of {args.seconds} s, "
        "alternating; median"
    )
    print(f"  {'key':<9} {'arm':<38} {'cert/s':>7}  {'rounds':>11}   stages, median ms")
    status = 0
    for f in figures:
        for arm in (BASELINE, CALTRACE):
            rates = f.rates[arm]
            stages = ", ".join(f"{s} {f.stage_ms(arm, s):.0f}" for s in f.stages[arm])
            spread = f"{min(rates):.2f}-{max(rates):.2f}"
            print(f"  {f.key:<9} {arm:<38} {f.median(arm):>7.2f}  {spread:>11}   {stages}")
        share = f.median(CALTRACE) / f.median(BASELINE)
        share_ok = share >= SHARE_TARGET
        rate_ok = f.median(CALTRACE) >= RATE_TARGET
        print(
            f"  {'':<9} caltrace / baseline {share:6.1%}  (target >= {SHARE_TARGET:.0%})  "
            f"{'met' if share_ok else 'MISSED'}"
        )
        print(
            f"  {'':<9} caltrace {f.median(CALTRACE):.2f} signed {check.caltrace_pages}-page "
            f"certificates/s  (target >= {RATE_TARGET:g})  {'met' if rate_ok else 'MISSED'}"
        )
        status = max(status, 0 if share_ok and rate_ok else 1)
    print(
        f"Context, no target: {NAIVE}, the PKCS#12 loaded for every signature and no "
        f"bytes_reserved, {args.naive_seconds} s per key"
    )
    for f in figures:
        print(
            f"  {f.key:<9} {f.median(NAIVE):>7.2f} cert/s   "
            f"render {f.stage_ms(NAIVE, 'render'):.0f} ms, sign {f.stage_ms(NAIVE, 'sign'):.0f} ms"
        )
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one round (s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per arm and key")
    parser.add_argument(
        "--example", default="dmm-dcv", choices=list(EXAMPLES), help="the certificate"
    )
    parser.add_argument("--keys", default="rsa-3072,p-256", help="comma-separated: rsa-3072,p-256")
    parser.add_argument(
        "--naive-seconds", type=float, default=2.0, help="naive stock pyHanko, per key (s)"
    )
    args = parser.parse_args()
    keys = [k.strip() for k in args.keys.split(",") if k.strip()]
    unknown = [k for k in keys if k not in KEYS]
    if unknown or not keys:
        parser.error(f"--keys: unknown {', '.join(unknown)}; known: {', '.join(KEYS)}")
    # The figure is for a two-page certificate: the default example must be one.
    expected = 2 if args.example == "dmm-dcv" else None
    cpu = _pin()
    with tempfile.TemporaryDirectory(prefix="caltrace-bench-") as directory:
        figures = measure(
            example_name=args.example,
            keys=keys,
            rounds=args.rounds,
            seconds=args.seconds,
            naive_seconds=args.naive_seconds,
            directory=Path(directory),
            expected_pages=expected,
        )
    return _report(args, figures, cpu)


if __name__ == "__main__":
    raise SystemExit(main())
