"""The certificate as a PDF: A4, bilingual (Vietnamese first, then English), ready to sign.

:func:`render_pdf` prints every field ISO/IEC 17025:2017 7.8.2.1 and 7.8.4.1 ask
of a calibration certificate, and what legal metrology asks of a verification
certificate (the verdict against the MPE, the verification mark and its
validity), from a :class:`~certificates.document.CertificateDocument`:

* a header on every page (issuer, accreditation, title, number) and a footer
  ("Trang x/y · Page x of y", the number, the public verification address);
* on the first page the title, the number and a QR code of the verification
  page, then the item, customer, method, place and dates, environment;
* the results of each test with values rounded per ILAC P14 (``U`` to two
  significant digits, the value to the same decimal place; ``k`` with two
  decimals; ``p`` as a percentage), the checks and fitted curves, and a chart
  of the errors with their ``U`` bars and the ± MPE limits;
* the conformity statement and its decision rule, the traceability of the
  standards used, deviations and remarks, the amendment block, the notes
  7.8.2.1 asks for, the people responsible and what their signatures mean,
  and the end-of-certificate marker.

The output is meant to be archived: fonts embedded (DejaVu Sans), opaque
colours only, document information and XMP metadata that agree, and the DCC
(when given) attached as an associated file. Rendering is deterministic: the
creation date is the date of issue and the file identifier is derived from the
certificate number, so the same document renders to the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final
from xml.sax.saxutils import escape

from certificates._format import (
    CONFORMITY_TEXT,
    LOCATION_TEXT,
    ROLE_TEXT,
    coverage_factor_text,
    date_text,
    datetime_text,
    nfc,
    percent_text,
    plain,
    quantized,
    unit_symbol,
)
from certificates.charts import error_chart
from certificates.document import (
    Bilingual,
    CertificateDocument,
    Conformity,
    Curve,
    Kind,
    ResultRow,
    ResultTable,
)
from certificates.errors import DocumentError
from certificates.fonts import BOLD, REGULAR, register_fonts
from uncertainty.display import indication_text, observed_text

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
    from reportlab.platypus import Flowable  # type: ignore[import-untyped]

__all__ = ["QR_BOX", "dcc_attachment_name", "qr_code_drawing", "render_pdf"]

_MM: Final = 72 / 25.4
PAGE_WIDTH: Final = 210 * _MM
PAGE_HEIGHT: Final = 297 * _MM
_MARGIN_X: Final = 18 * _MM
_HEADER_H: Final = 22 * _MM
_FOOTER_H: Final = 14 * _MM
_TITLE_H: Final = 36 * _MM
_CONTENT_W: Final = PAGE_WIDTH - 2 * _MARGIN_X
_QR_SIZE: Final = 30 * _MM

#: Where the first page draws the QR code of the verification page: (x, y, size), in
#: points from the lower left corner of the A4 page (the quiet zone included).
QR_BOX: Final = (
    PAGE_WIDTH - _MARGIN_X - _QR_SIZE,
    PAGE_HEIGHT - 8 * _MM - _HEADER_H - _QR_SIZE - 1 * _MM,
    _QR_SIZE,
)

_INK: Final = "#1F2937"
_ACCENT: Final = "#1F3A5F"
_MUTED: Final = "#5B6470"
_RULE: Final = "#C9CED6"
#: Written across every page of a preview (:func:`render_pdf` with ``preview=True``).
PREVIEW_WATERMARK: Final = Bilingual(
    "BẢN XEM TRƯỚC — KHÔNG PHẢI GIẤY CHỨNG NHẬN", "PREVIEW — NOT A CERTIFICATE"
)
_WATERMARK_INK: Final = "#B91C1C"
_SHADE: Final = "#EEF2F7"
_WARN: Final = "#FFF4E0"
_FLAG: Final = "†"

_DCC_MIME: Final = "application/xml"


def dcc_attachment_name(number: str) -> str:
    """The name under which the DCC of certificate ``number`` is attached: ``<number>.dcc.xml``."""
    return f"{number}.dcc.xml"


def qr_code_drawing(data: str, size: float) -> Any:
    """A reportlab Drawing of the QR code of ``data`` (error correction M), ``size`` points square.

    The certificate and the label sheet draw their QR codes with this function.
    """
    from reportlab.graphics.barcode.qr import QrCodeWidget  # type: ignore[import-untyped]
    from reportlab.graphics.shapes import Drawing  # type: ignore[import-untyped]

    widget = QrCodeWidget(data, barLevel="M", barWidth=size, barHeight=size, barBorder=4)
    drawing = Drawing(size, size, initialFontName=REGULAR, initialFontSize=8)
    drawing.add(widget)
    return drawing


def _draw_qr_code(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw the QR code of ``data`` straight on ``canvas``, its lower left corner at (x, y).

    The same modules as :func:`qr_code_drawing` (the same encoder, level M, a quiet zone
    of 4 modules), each run of dark modules one filled rectangle, written with the
    canvas's own ``rect``: a QR code of some thousand modules built as a graphics
    Drawing (a validated shape object per run) costs more than the rest of the first
    page, drawn this way a fraction of it.
    """
    from itertools import groupby

    from reportlab.graphics.barcode.qrencoder import (  # type: ignore[import-untyped]
        QRCode,
        QRErrorCorrectLevel,
    )

    code = QRCode(None, QRErrorCorrectLevel.M)
    code.addData(data)
    code.make()
    border = 4
    box = size / (code.getModuleCount() + border * 2.0)
    canvas.saveState()
    canvas.translate(x, y)
    canvas.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(code.modules):
        c = 0
        for dark, run in groupby(bool(module) for module in row):
            count = sum(1 for _ in run)
            if dark:
                top = (r + border + 1) * box
                canvas.rect((c + border) * box, size - top, count * box, box, stroke=0, fill=1)
            c += count
    canvas.restoreState()


# --------------------------------------------------------------------------- styles


@dataclass(frozen=True)
class _Styles:
    body: Any
    small: Any
    label: Any
    cell: Any
    cell_right: Any
    head_cell: Any
    section: Any
    table_title: Any
    end: Any
    verdict: Any


@cache
def _styles() -> _Styles:
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]

    base = ParagraphStyle(
        "caltrace-body",
        fontName=REGULAR,
        fontSize=8.5,
        leading=10.8,
        textColor=colors.HexColor(_INK),
    )
    cell = ParagraphStyle("caltrace-cell", parent=base, fontSize=7.8, leading=9.6)
    return _Styles(
        body=base,
        small=ParagraphStyle("caltrace-small", parent=base, fontSize=7.3, leading=9.2),
        label=ParagraphStyle(
            "caltrace-label", parent=base, fontName=BOLD, fontSize=7.8, leading=9.6
        ),
        cell=cell,
        cell_right=ParagraphStyle("caltrace-cell-r", parent=cell, alignment=TA_RIGHT),
        head_cell=ParagraphStyle(
            "caltrace-head",
            parent=cell,
            fontName=BOLD,
            fontSize=7.2,
            leading=8.8,
            alignment=TA_CENTER,
        ),
        section=ParagraphStyle(
            "caltrace-section",
            parent=base,
            fontName=BOLD,
            fontSize=9.5,
            leading=12,
            spaceBefore=7,
            spaceAfter=3,
            textColor=colors.HexColor(_ACCENT),
        ),
        table_title=ParagraphStyle(
            "caltrace-ttitle",
            parent=base,
            fontName=BOLD,
            fontSize=8.5,
            leading=10.5,
            spaceBefore=4,
            spaceAfter=2,
        ),
        end=ParagraphStyle(
            "caltrace-end", parent=base, fontName=BOLD, alignment=TA_CENTER, spaceBefore=10
        ),
        verdict=ParagraphStyle(
            "caltrace-verdict", parent=base, fontName=BOLD, fontSize=11, leading=14
        ),
    )


def _t(text: str) -> str:
    """Text for paragraph markup: NFC, with &, < and > escaped."""
    return escape(nfc(text))


def _en(text: str, size: float = 7.0) -> str:
    return f'<font size="{size}" color="{_MUTED}">{_t(text)}</font>'


def _bi(text: Bilingual, *, sep: str = "<br/>", size: float = 7.0) -> str:
    """Vietnamese, then the English in a smaller, muted face (once if both read the same)."""
    if text.vi == text.en:
        return _t(text.vi)
    return f"{_t(text.vi)}{sep}{_en(text.en, size)}"


# Parsed paragraph markup, by (markup, style): most of a certificate's paragraphs are the
# same labels in every certificate, and reportlab's markup parser costs more than laying
# them out. The fragments are read, never changed, by layout and drawing (every render is
# byte-identical with and without this cache: tests/certificates/test_pdf.py).
_PARSED: dict[tuple[str, Any], Any] = {}
_PARSED_MAX: Final = 4096


def _p(markup: str, style: Any) -> Flowable:
    from reportlab.platypus import Paragraph

    key = (markup, style)
    frags = _PARSED.get(key)
    if frags is not None:
        return Paragraph(markup, style, frags=frags)
    paragraph = Paragraph(markup, style)
    if paragraph.style is style and len(_PARSED) < _PARSED_MAX:
        _PARSED[key] = paragraph.frags
    return paragraph


def _section(number: int, title: Bilingual) -> list[Flowable]:
    from reportlab.lib import colors
    from reportlab.platypus import HRFlowable

    styles = _styles()
    return [
        _p(f"{number}. {_t(title.vi.upper())} / {_t(title.en.upper())}", styles.section),
        HRFlowable(
            width="100%", thickness=0.8, color=colors.HexColor(_ACCENT), spaceBefore=0, spaceAfter=3
        ),
    ]


def _grid(
    rows: list[list[Any]],
    widths: Sequence[float],
    *,
    header: bool = False,
    label_column: bool = False,
    extra: Sequence[tuple[Any, ...]] = (),
) -> Flowable:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        # The table sets a cell font even for paragraphs: never the unembedded Helvetica.
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("LINEBELOW", (0, 0), (-1, -1), 0.35, colors.HexColor(_RULE)),
        ("LINEABOVE", (0, 0), (-1, 0), 0.6, colors.HexColor(_ACCENT)),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if header:
        commands += [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(_SHADE)),
            ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor(_ACCENT)),
        ]
    if label_column:
        commands.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor(_SHADE)))
    commands.append(("LINEBELOW", (0, -1), (-1, -1), 0.6, colors.HexColor(_ACCENT)))
    commands += list(extra)
    table = Table(rows, colWidths=list(widths), repeatRows=1 if header else 0)
    table.setStyle(TableStyle(commands))
    return table


def _fields(pairs: Sequence[tuple[Bilingual, str]]) -> Flowable:
    """A two-column table: bilingual label | value markup."""
    styles = _styles()
    rows = [
        [_p(_bi(label, sep=" / ", size=7.0), styles.label), _p(value, styles.cell)]
        for label, value in pairs
    ]
    return _grid(rows, (58 * _MM, _CONTENT_W - 58 * _MM), label_column=True)


# --------------------------------------------------------------------------- the sections


def _item(document: CertificateDocument) -> list[Flowable]:
    instrument = document.instrument
    pairs: list[tuple[Bilingual, str]] = [
        (
            Bilingual("Tên phương tiện đo", "Instrument"),
            f"<b>{_bi(instrument.type, sep=' / ', size=7.8)}</b>",
        ),
        (
            Bilingual("Nhà sản xuất, kiểu", "Manufacturer, model"),
            f"{_t(instrument.manufacturer)}, {_t(instrument.model)}",
        ),
        (Bilingual("Số sản xuất", "Serial number"), f"<b>{_t(instrument.serial)}</b>"),
    ]
    if instrument.identifier:
        pairs.append((Bilingual("Mã nhận dạng", "Identifier"), _t(instrument.identifier)))
    if instrument.description:
        pairs.append((Bilingual("Đặc trưng kỹ thuật", "Specification"), _t(instrument.description)))
    if instrument.condition is not None:
        pairs.append(
            (
                Bilingual("Tình trạng khi nhận", "Condition as received"),
                _bi(instrument.condition, sep=" / ", size=7.8),
            )
        )
    customer = document.customer
    customer_text = f"<b>{_t(customer.name)}</b>"
    if customer.address:
        customer_text += f"<br/>{_t(customer.address)}"
    if customer.contact:
        customer_text += f"<br/>{_t(customer.contact)}"
    pairs.append((Bilingual("Khách hàng", "Customer"), customer_text))
    return [_fields(pairs)]


def _method(document: CertificateDocument) -> list[Flowable]:
    procedure = document.procedure
    procedure_text = (
        f"{_bi(procedure.title, sep=' / ', size=7.8)}<br/>"
        f"<b>{_t(procedure.id)}</b>, phiên bản / version <b>{_t(procedure.version)}</b>"
    )
    if procedure.references:
        procedure_text += "<br/>" + _t("; ".join(procedure.references))
    location = _bi(LOCATION_TEXT[document.location], sep=" / ", size=7.8)
    if document.performed_from == document.performed_to:
        when = date_text(document.performed_from)
    else:
        when = f"{date_text(document.performed_from)} – {date_text(document.performed_to)}"
    pairs: list[tuple[Bilingual, str]] = [
        (Bilingual("Phương pháp", "Method"), procedure_text),
    ]
    if procedure.rounding_method is not None:
        # Right under the method it belongs to: a verifier of a weighing instrument looks
        # there for how the indication's rounding error was eliminated (R 76-1 A.4.4.3).
        pairs.append(
            (
                Bilingual("Loại trừ sai số làm tròn", "Elimination of the rounding error"),
                _bi(procedure.rounding_method, size=7.8),
            )
        )
    pairs.append((Bilingual("Địa điểm thực hiện", "Place of the work"), location))
    if document.received_on is not None:
        pairs.append(
            (Bilingual("Ngày nhận phương tiện", "Date of receipt"), date_text(document.received_on))
        )
    pairs += [
        (Bilingual("Ngày thực hiện", "Date of measurement"), when),
        (Bilingual("Ngày ban hành", "Date of issue"), f"<b>{date_text(document.issued_on)}</b>"),
    ]
    if document.mark is not None:
        pairs += [
            (
                Bilingual("Số tem kiểm định", "Verification mark No."),
                f"<b>{_t(document.mark.number)}</b>",
            ),
            (
                Bilingual("Hiệu lực đến", "Valid until"),
                f"<b>{date_text(document.mark.valid_until)}</b>",
            ),
        ]
    if document.failed_verification:
        pairs.append(
            (
                Bilingual("Tem kiểm định", "Verification mark"),
                "<b>"
                + _bi(
                    Bilingual(
                        "Không: phương tiện đo không đạt yêu cầu kiểm định",
                        "None: the instrument failed its verification",
                    ),
                    size=7.8,
                )
                + "</b>",
            )
        )
    if document.next_due is not None:
        pairs.append(
            (
                Bilingual("Đề nghị hiệu chuẩn lại", "Recommended next calibration"),
                date_text(document.next_due),
            )
        )
    for i, condition in enumerate(document.conditions):
        field = f"conditions[{i}]"
        unit = unit_symbol(condition.unit)
        # As recorded: the value and its U (or half-width of variation) as written.
        text = plain(condition.value, f"{field}.value")
        if condition.uncertainty is not None:
            text += f" ± {plain(condition.uncertainty, f'{field}.uncertainty')}"
        text += f" {_t(unit)}"
        pairs.append((condition.name, text))
    return [_fields(pairs)]


def _amendment(document: CertificateDocument) -> list[Flowable]:
    from reportlab.lib import colors

    amendment = document.amendment
    if amendment is None:
        return []
    styles = _styles()
    number = _t(amendment.replaces)
    if amendment.type_of_change == "substituted":
        head = f"THAY THẾ GIẤY CHỨNG NHẬN SỐ {number}<br/>" + _en(
            f"Substitute for certificate No. {amendment.replaces}", 8.5
        )
    else:
        head = f"SỬA ĐỔI GIẤY CHỨNG NHẬN SỐ {number}<br/>" + _en(
            f"Amendment to certificate No. {amendment.replaces}", 8.5
        )
    body = (
        f"<b>Lý do / Reason:</b> {_bi(amendment.reason, sep=' / ', size=7.8)}<br/>"
        f"Giấy chứng nhận này thay thế và hủy bỏ giấy chứng nhận số {number}. "
        + _en(
            f"This certificate replaces and supersedes certificate No. {amendment.replaces}.", 7.8
        )
    )
    if amendment.replaces_sha256:
        body += f"<br/>SHA-256 ({number}): {_t(amendment.replaces_sha256)}"
    rows = [[_p(head, styles.verdict)], [_p(body, styles.cell)]]
    return [
        _grid(
            rows,
            (_CONTENT_W,),
            extra=[
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(_WARN)),
                ("BOX", (0, 0), (-1, -1), 1.0, colors.HexColor("#C77700")),
                ("LINEABOVE", (0, 0), (-1, 0), 1.0, colors.HexColor("#C77700")),
            ],
        ),
    ]


@dataclass(frozen=True)
class _Column:
    title: Bilingual
    width: float
    cell: Callable[[ResultRow, str], str]
    right: bool = True


def _exponent(row: ResultRow, where: str) -> int | None:
    """The decimal place of the row's rounded U (ILAC P14), or None when it has no U."""
    if row.expanded_uncertainty is None:
        return None
    from uncertainty.errors import ModelError
    from uncertainty.reporting import round_uncertainty

    try:
        rounded = round_uncertainty(row.expanded_uncertainty)
    except ModelError as error:
        raise DocumentError(str(error), field=f"{where}.expanded_uncertainty") from None
    exponent = rounded.as_tuple().exponent
    assert isinstance(exponent, int)
    return exponent


def _value(row: ResultRow, name: str, where: str) -> str:
    value = getattr(row, name)
    if value is None:
        return "—"
    if name == "indication" and row.counted is not None:
        # A count is a whole number (CertificateDocument.check refused any other).
        return str(int(value))
    if name == "indication" and row.error is None and row.expanded_uncertainty is not None:
        # A result observed as it is carries its U: to the coarser of its resolution and
        # U's last digit (uncertainty.display.observed_text).
        return _display(
            observed_text,
            value,
            row.resolution,
            row.expanded_uncertainty,
            where=f"{where}.{name}",
        )
    if name == "indication" and row.resolution is not None:
        # What the instrument shows: to its resolution, never finer (uncertainty.display).
        return _display(indication_text, value, row.resolution, where=f"{where}.{name}")
    exponent = _exponent(row, where)
    if exponent is None:
        return plain(value, f"{where}.{name}")
    return quantized(value, exponent, f"{where}.{name}")


def _display(function: Callable[..., str], *args: Any, where: str) -> str:
    """A :mod:`uncertainty.display` text, its refusal turned into the document's error."""
    from uncertainty.errors import ModelError

    try:
        return function(*args, where=where)
    except ModelError as error:
        raise DocumentError(str(error), field=where) from None


def _results_table(table: ResultTable, t: int, kind: Kind) -> list[list[Flowable]]:
    """The table of results, then its checks, curve and chart: blocks each kept on one page."""
    from reportlab.platypus import Spacer

    styles = _styles()
    rows = table.rows
    units = {(row.unit, row.counted) for row in rows}
    shared = unit_symbol(rows[0].unit) if len(units) == 1 else None

    def with_unit(text: str, row: ResultRow) -> str:
        if shared is not None or text == "—":
            return text
        return f"{text} {_t(str(row.counted)) if row.counted else unit_symbol(row.unit)}"

    def where(row: ResultRow) -> str:
        return f"results[{t}].rows[{rows.index(row)}]"

    def has(name: str) -> bool:
        return any(getattr(row, name) is not None for row in rows)

    # The unit the header names: a count's in words (xung / pulses), not the unit one.
    counted = rows[0].counted if shared is not None else None
    unit_note = f" ({shared})" if shared else ""
    note = Bilingual(f" ({counted.vi})", f" ({counted.en})") if counted else None

    def titled(title: Bilingual) -> Bilingual:
        if note is not None:
            return Bilingual(title.vi + note.vi, title.en + note.en)
        return Bilingual(title.vi + unit_note, title.en + unit_note)

    columns: list[_Column] = [
        _Column(Bilingual("Điểm đo", "Point"), 24 * _MM, lambda r, w: _t(r.label), right=False)
    ]
    if any(row.instrument_range for row in rows):
        # Two points at the same nominal on two ranges are two different results.
        columns.append(
            _Column(
                Bilingual("Phạm vi đo", "Range"),
                16 * _MM,
                lambda r, w: _t(r.instrument_range) or "—",
                right=False,
            )
        )
    for name, title in (
        ("reference", Bilingual("Giá trị chuẩn", "Reference value")),
        ("indication", Bilingual("Số chỉ", "Indication")),
        ("error", Bilingual("Sai số", "Error")),
    ):
        if has(name):
            columns.append(
                _Column(
                    titled(title),
                    0,
                    lambda r, w, n=name: with_unit(_value(r, n, w), r),  # type: ignore[misc]
                )
            )
    # An error's ± MPE; the largest value a result judged as it is may take (a count, a
    # time: no ± band).
    for name, sign, title in (
        ("mpe", "±", Bilingual("Sai số lớn nhất cho phép", "MPE")),
        ("limit", "≤", Bilingual("Giới hạn cho phép", "Permissible limit")),
    ):
        if has(name):
            columns.append(
                _Column(
                    titled(title),
                    0,
                    lambda r, w, n=name, s=sign: (  # type: ignore[misc]
                        "—"
                        if getattr(r, n) is None
                        else with_unit(f"{s} {plain(getattr(r, n), f'{w}.{n}')}", r)
                    ),
                )
            )
    if has("expanded_uncertainty"):

        def u_cell(r: ResultRow, w: str) -> str:
            if r.expanded_uncertainty is None:
                return "—"
            from uncertainty.reporting import round_uncertainty

            text = with_unit(format(round_uncertainty(r.expanded_uncertainty), "f"), r)
            return f"{text} <b>{_FLAG}</b>" if r.uncertainty_ratio_flag else text

        columns.append(
            _Column(titled(Bilingual("ĐKĐB mở rộng U", "Expanded uncertainty U")), 0, u_cell)
        )
    if has("coverage_factor"):
        columns.append(
            _Column(
                Bilingual("k", "k"),
                11 * _MM,
                lambda r, w: (
                    "—"
                    if r.coverage_factor is None
                    else coverage_factor_text(r.coverage_factor, w + ".coverage_factor")
                ),
            )
        )
    if has("coverage_probability"):
        columns.append(
            _Column(
                Bilingual("p (%)", "p (%)"),
                12 * _MM,
                lambda r, w: (
                    "—"
                    if r.coverage_probability is None
                    else percent_text(r.coverage_probability, w + ".coverage_probability")
                ),
            )
        )
    if has("conformity"):

        def verdict(r: ResultRow, w: str) -> str:
            if r.conformity is None:
                return "—"
            text = CONFORMITY_TEXT[r.conformity]
            mark = (
                f" <b>{_FLAG}</b>"
                if r.uncertainty_ratio_flag and not has("expanded_uncertainty")
                else ""
            )
            return f"{_t(text.vi)} / {_t(text.en)}{mark}"

        columns.append(_Column(Bilingual("Kết luận", "Verdict"), 25 * _MM, verdict, right=False))
    fixed = sum(c.width for c in columns)
    flexible = [c for c in columns if not c.width]
    share = (_CONTENT_W - fixed) / len(flexible) if flexible else 0
    widths = [c.width or share for c in columns]

    header = [_p(_bi(c.title, size=6.5), styles.head_cell) for c in columns]
    body = [
        [
            _p(c.cell(row, where(row)), styles.cell_right if c.right else styles.cell)
            for c in columns
        ]
        for row in rows
    ]
    quantity = (
        "" if table.quantity == table.title else f" — {_bi(table.quantity, sep=' / ', size=8)}"
    )
    flowables: list[Flowable] = [
        _p(f"{_bi(table.title, sep=' / ', size=8)}{quantity}", styles.table_title),
        _grid([header, *body], widths, header=True),
    ]
    notes = []
    if any(row.uncertainty_ratio_flag for row in rows):
        if kind is Kind.VERIFICATION:
            notes.append(
                f"<b>{_FLAG}</b> U &gt; MPE/3: yêu cầu pháp lý U ≤ MPE/3 không được đáp ứng tại "
                "điểm này. "
                + _en("U > MPE/3: the legal requirement U ≤ MPE/3 is not met at this point.", 7.3)
            )
        else:
            # A calibration against a maker's specification has no legal requirement: the
            # ratio is the procedure's own test of whether a statement can be made.
            notes.append(
                f"<b>{_FLAG}</b> U &gt; MPE/3: tỉ số U ≤ MPE/3 mà quy trình yêu cầu không được "
                "đáp ứng tại điểm này. "
                + _en(
                    "U > MPE/3: the ratio U ≤ MPE/3 the procedure asks for is not met at this "
                    "point.",
                    7.3,
                )
            )
    notes += [f"{_t(row.label)}: {_t(row.note)}" for row in rows if row.note]
    flowables += [_p(note, styles.small) for note in notes]
    blocks = [flowables]
    if table.checks:
        blocks.append([Spacer(1, 2 * _MM), _checks(table, t)])
    if table.curve is not None:
        blocks.append(_curve(table.curve, t))
    chart = error_chart(table, width=_CONTENT_W, height=46 * _MM)
    if chart is not None:
        blocks.append([Spacer(1, 2 * _MM), chart])
    return blocks


def _checks(table: ResultTable, t: int) -> Flowable:
    styles = _styles()
    header = [
        _p(_bi(title, size=6.5), styles.head_cell)
        for title in (
            Bilingual("Phép kiểm tra", "Check"),
            Bilingual("Giá trị", "Value"),
            Bilingual("Giới hạn", "Limit"),
            Bilingual("Kết luận", "Verdict"),
        )
    ]
    rows = []
    for c, check in enumerate(table.checks):
        where = f"results[{t}].checks[{c}]"
        unit = _t(unit_symbol(check.unit))
        value = _display(indication_text, check.value, check.resolution, where=f"{where}.value")
        verdict = CONFORMITY_TEXT[check.conformity]
        rows.append(
            [
                _p(_bi(check.name, sep=" / ", size=7.8), styles.cell),
                _p(f"{value} {unit}", styles.cell_right),
                _p(f"{plain(check.limit, where + '.limit')} {unit}", styles.cell_right),
                _p(f"{_t(verdict.vi)} / {_t(verdict.en)}", styles.cell),
            ]
        )
    return _grid(
        [header, *rows], (70 * _MM, 35 * _MM, 35 * _MM, _CONTENT_W - 140 * _MM), header=True
    )


def _curve(curve: Curve, t: int) -> list[Flowable]:
    from uncertainty.errors import ModelError
    from uncertainty.reporting import round_result

    styles = _styles()
    header = [
        _p(_bi(title, size=6.5), styles.head_cell)
        for title in (
            Bilingual("Hệ số", "Coefficient"),
            Bilingual("Giá trị", "Value"),
            Bilingual("Độ không đảm bảo chuẩn", "Standard uncertainty"),
            Bilingual("Đơn vị", "Unit"),
        )
    ]
    rows = []
    for i, term in enumerate(curve.terms):
        where = f"results[{t}].curve.terms[{i}]"
        try:
            # ILAC P14 applied to a coefficient: its u to two significant
            # digits, the value to the same place.
            rounded = round_result(term.value, term.standard_uncertainty)
        except ModelError as error:
            raise DocumentError(str(error), field=f"{where}.standard_uncertainty") from None
        rows.append(
            [
                _p(_t(term.name), styles.cell),
                _p(rounded.value_text, styles.cell_right),
                _p(rounded.uncertainty_text, styles.cell_right),
                _p(_t(unit_symbol(term.unit)), styles.cell),
            ]
        )
    from uncertainty.reporting import round_uncertainty

    where = f"results[{t}].curve"
    try:
        u_text = format(round_uncertainty(curve.expanded_uncertainty), "f")
    except ModelError as error:
        raise DocumentError(str(error), field=f"{where}.expanded_uncertainty") from None
    k_text = coverage_factor_text(curve.coverage_factor, f"{where}.coverage_factor")
    unit = _t(unit_symbol(curve.unit))
    return [
        _p(
            f"<b>{_t('Đường cong hiệu chính')}</b> / {_en('Correction curve', 8)}: "
            f"{_bi(curve.description, sep=' / ', size=7.8)}",
            styles.table_title,
        ),
        _grid([header, *rows], (40 * _MM, 45 * _MM, 45 * _MM, _CONTENT_W - 130 * _MM), header=True),
        _p(
            f"Độ không đảm bảo mở rộng của giá trị hiệu chính đọc trên đường cong / "
            f"{_en('Expanded uncertainty of a correction read off the curve', 7.3)}: "
            f"<b>U = {u_text} {unit}</b> (k = {k_text})",
            styles.small,
        ),
    ]


def _statement_meaning(document: CertificateDocument) -> Bilingual:
    """What the verdict means for the document's kind: a verification passes or fails
    against the MPE of the legal specification; a calibration states conformity to a
    specification by an ILAC G8 decision rule, its guard band taking U into account."""
    statement = document.statement
    assert statement is not None
    passed = statement.conformity in (Conformity.PASS, Conformity.CONDITIONAL_PASS)
    rows = [row for table in document.results for row in table.rows]
    if document.kind is Kind.VERIFICATION and any(row.limit is not None for row in rows):
        return _meaning_with_limits(rows, passed)
    if document.kind is Kind.VERIFICATION:
        if passed:
            return Bilingual(
                "Sai số của phương tiện đo nằm trong sai số lớn nhất cho phép (MPE) của yêu "
                "cầu kỹ thuật dưới đây.",
                "The instrument's errors are within the maximum permissible errors (MPE) of "
                "the specification below.",
            )
        return Bilingual(
            "Sai số của phương tiện đo vượt quá sai số lớn nhất cho phép (MPE) của yêu cầu "
            "kỹ thuật dưới đây.",
            "The instrument's errors exceed the maximum permissible errors (MPE) of the "
            "specification below.",
        )
    return Bilingual(
        "Sự phù hợp với yêu cầu kỹ thuật dưới đây được tuyên bố theo quy tắc quyết định "
        "của ILAC G8:09/2019; dải bảo vệ w tính đến độ không đảm bảo đo U.",
        "Conformity with the specification below is stated by the ILAC G8:09/2019 decision "
        "rule given; its guard band w takes the measurement uncertainty U into account.",
    )


def _meaning_with_limits(rows: Sequence[ResultRow], passed: bool) -> Bilingual:
    """The verdict's meaning where some results are judged as they are against a limit
    (a no-load count, a time to the first pulse): those are not errors, and a failure
    says which kind of result failed."""
    if passed:
        return Bilingual(
            "Sai số của phương tiện đo nằm trong sai số lớn nhất cho phép (MPE) và các kết quả "
            "thử khác nằm trong giới hạn cho phép của yêu cầu kỹ thuật dưới đây.",
            "The instrument's errors are within the maximum permissible errors (MPE), and its "
            "other test results within their permissible limits, of the specification below.",
        )
    failing = (Conformity.FAIL, Conformity.CONDITIONAL_FAIL)
    failed = [row for row in rows if row.conformity in failing]
    vi, en = [], []
    if any(row.limit is None for row in failed):
        vi.append("Sai số của phương tiện đo vượt quá sai số lớn nhất cho phép (MPE)")
        en.append("The instrument's errors exceed the maximum permissible errors (MPE)")
    if any(row.limit is not None for row in failed):
        vi.append("kết quả thử của phương tiện đo vượt quá giới hạn cho phép")
        en.append("the instrument's test results exceed their permissible limits")
    if not vi:  # the verdict failed on a check, not on a row
        return Bilingual(
            "Kết quả của phương tiện đo không đáp ứng yêu cầu kỹ thuật dưới đây.",
            "The instrument's results do not meet the specification below.",
        )
    vi_text = "; ".join(vi)
    en_text = "; ".join(en)
    return Bilingual(
        f"{vi_text[0].upper()}{vi_text[1:]} của yêu cầu kỹ thuật dưới đây.",
        f"{en_text[0].upper()}{en_text[1:]} of the specification below.",
    )


def _statement(document: CertificateDocument) -> list[Flowable]:
    statement = document.statement
    if statement is None:
        return []
    styles = _styles()
    verdict = CONFORMITY_TEXT[statement.conformity]
    colour = (
        "#1B7F3A"
        if statement.conformity in (Conformity.PASS, Conformity.CONDITIONAL_PASS)
        else "#B22222"
    )
    pairs = [
        (
            Bilingual("Kết luận", "Conclusion"),
            f'<font color="{colour}"><b>{_t(verdict.vi.upper())} / '
            f"{_t(verdict.en.upper())}</b></font>",
        ),
        (Bilingual("Ý nghĩa", "Meaning"), _bi(_statement_meaning(document), size=7.8)),
        (Bilingual("Yêu cầu kỹ thuật", "Specification"), _bi(statement.specification, size=7.8)),
        (Bilingual("Quy tắc quyết định", "Decision rule"), _bi(statement.decision_rule, size=7.8)),
        (Bilingual("Phạm vi áp dụng", "Applies to"), _bi(statement.covers, sep=" / ", size=7.8)),
    ]
    del styles
    return [_fields(pairs)]


def _traceability(document: CertificateDocument) -> list[Flowable]:
    styles = _styles()
    intro = _p(
        "Kết quả đo được liên kết chuẩn tới hệ đơn vị đo quốc tế (SI) thông qua các chuẩn dưới "
        "đây và giấy chứng nhận còn hiệu lực của chúng tại thời điểm sử dụng. "
        + _en(
            "The results are metrologically traceable to the SI units through the reference "
            "standards below and their certificates in force when they were used.",
            7.3,
        ),
        styles.small,
    )
    header = [
        _p(_bi(title, size=6.5), styles.head_cell)
        for title in (
            Bilingual("Chuẩn sử dụng", "Standard used"),
            Bilingual("Chức năng, phạm vi, ĐKĐB", "Function, range, uncertainty"),
            Bilingual("Giấy chứng nhận", "Certificate"),
        )
    ]
    rows = []
    for standard in document.standards:
        left = (
            f"<b>{_bi(standard.name, sep=' / ', size=7.3)}</b><br/>"
            f"{_t(standard.manufacturer)} {_t(standard.model)}, "
            f"S/N {_t(standard.serial)}<br/>{_t(standard.asset_id)} ({_t(standard.role)})"
        )
        middle = _t(standard.function_range)
        if standard.uncertainty:
            middle += f"<br/>{_t(standard.uncertainty)}"
        issuer = _t(standard.certificate_issuer)
        if standard.certificate_issuer_accreditation:
            issuer += f" ({_t(standard.certificate_issuer_accreditation)})"
        right = (
            f"Số / No. <b>{_t(standard.certificate_number)}</b><br/>{issuer}<br/>"
            f"{date_text(standard.certificate_date)}, hiệu lực đến / valid until "
            f"{date_text(standard.certificate_valid_until)}"
        )
        rows.append([_p(left, styles.cell), _p(middle, styles.cell), _p(right, styles.cell)])
    table = _grid([header, *rows], (64 * _MM, 44 * _MM, _CONTENT_W - 108 * _MM), header=True)
    return [intro, table]


def _notes(document: CertificateDocument, dcc_name: str | None) -> list[Flowable]:
    styles = _styles()
    item = "hiệu chuẩn" if document.kind is Kind.CALIBRATION else "kiểm định"
    item_en = "calibrated" if document.kind is Kind.CALIBRATION else "verified"
    notes = []
    for text in document.deviations:
        notes.append(
            f"<b>Sai khác so với phương pháp / Deviation from the method:</b> "
            f"{_bi(text, sep=' / ', size=7.3)}"
        )
    for text in document.remarks:
        notes.append(f"<b>Ghi chú / Remark:</b> {_bi(text, sep=' / ', size=7.3)}")
    notes.append(
        "Sai số = số chỉ − giá trị chuẩn. " + _en("Error = indication − reference value.", 7.3)
    )
    if any(
        row.expanded_uncertainty is not None for table in document.results for row in table.rows
    ):
        notes.append(
            "Độ không đảm bảo đo mở rộng U là độ không đảm bảo chuẩn nhân với hệ số phủ k, "
            "ứng với xác suất phủ p, đánh giá theo JCGM 100:2008 (GUM); U được làm tròn tới hai "
            "chữ số có nghĩa và giá trị đo tới cùng hàng thập phân (ILAC P14). "
            + _en(
                "The expanded uncertainty U is the standard uncertainty multiplied by the "
                "coverage factor k for the coverage probability p, evaluated per JCGM 100:2008 "
                "(GUM); U is rounded to two significant digits and each value to the same "
                "decimal place (ILAC P14).",
                7.3,
            )
        )
    notes.append(
        f"Kết quả chỉ có giá trị đối với phương tiện được {item}. "
        + _en(f"The results relate only to the item {item_en}.", 7.3)
    )
    notes.append(
        "Không được trích sao giấy chứng nhận này nếu không sao toàn bộ, trừ khi có sự đồng ý "
        "bằng văn bản của đơn vị ban hành. "
        + _en(
            "This certificate shall not be reproduced except in full without the written "
            "approval of the issuing laboratory.",
            7.3,
        )
    )
    notes.append(
        f"Xác minh giấy chứng nhận tại / Verify this certificate at: "
        f"<b>{_t(document.verify_url)}</b>"
    )
    if dcc_name is not None:
        notes.append(
            f"Giấy chứng nhận dạng số (DCC, XML) được đính kèm trong tệp PDF này: "
            f"<b>{_t(dcc_name)}</b>. "
            + _en(
                "The machine-readable Digital Calibration Certificate (DCC) is attached to "
                "this PDF.",
                7.3,
            )
        )
    procedure = document.procedure
    software = document.software + (
        f" {document.software_version}" if document.software_version else ""
    )
    notes.append(
        _en(
            f"{software}; run {document.run_id}; procedure {procedure.id} {procedure.version}, "
            f"SHA-256 {procedure.sha256}",
            6.5,
        )
    )
    return [_p(note, styles.small) for note in notes]


def _signatures(document: CertificateDocument) -> list[Flowable]:
    styles = _styles()
    header = [
        _p(_bi(title, size=6.5), styles.head_cell)
        for title in (
            Bilingual("Vai trò", "Role"),
            Bilingual("Họ tên, chức danh", "Name, title"),
            Bilingual("Ý nghĩa của chữ ký", "Meaning of the signature"),
            Bilingual("Thời điểm ký", "Signed at"),
        )
    ]
    order = {"performed": 0, "checked": 1, "authorized": 2}
    people = sorted(document.people, key=lambda p: order.get(p.role, 3))
    rows = []
    for person in people:
        role = ROLE_TEXT.get(person.role, Bilingual(person.role, person.role))
        name = f"<b>{_t(person.name)}</b>"
        if person.title:
            name += f"<br/>{_t(person.title)}"
        rows.append(
            [
                _p(_bi(role), styles.cell),
                _p(name, styles.cell),
                _p(_bi(person.meaning, size=7.3), styles.cell),
                _p(datetime_text(person.signed_at), styles.cell),
            ]
        )
    note = _p(
        "Giấy chứng nhận được ký số bởi đơn vị ban hành (PAdES); các chữ ký trên được ghi nhận "
        "điện tử trong hệ thống quản lý phòng thí nghiệm. "
        + _en(
            "The certificate is digitally signed by the issuing body (PAdES); the signatures "
            "above are electronic records in the laboratory's system.",
            7.3,
        ),
        styles.small,
    )
    return [
        _grid([header, *rows], (30 * _MM, 50 * _MM, _CONTENT_W - 120 * _MM, 40 * _MM), header=True),
        note,
    ]


def _story(document: CertificateDocument, dcc_name: str | None) -> list[Flowable]:
    from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

    styles = _styles()
    noun = "kiểm định" if document.kind is Kind.VERIFICATION else "hiệu chuẩn"
    story: list[Flowable] = [*_amendment(document)]
    if document.amendment is not None:
        story.append(Spacer(1, 3 * _MM))
    n = 0

    def section(title: Bilingual) -> list[Flowable]:
        nonlocal n
        n += 1
        return _section(n, title)

    story += section(Bilingual("Đối tượng và khách hàng", "Item and customer"))
    story += _item(document)
    story += section(
        Bilingual(f"Phương pháp, địa điểm, thời gian {noun}", "Method, place and dates")
    )
    story += _method(document)
    heading = section(Bilingual("Kết quả", "Results"))
    for t, table in enumerate(document.results):
        if not table.rows:
            continue
        rows, *blocks = _results_table(table, t, document.kind)
        # The heading, the table's title and its first rows start on one page;
        # a long table then continues on the next, its header repeated.
        story.append(CondPageBreak(45 * _MM))
        story += [*heading, *rows]
        heading = []
        story += [KeepTogether(block) for block in blocks]
    if document.statement is not None:
        # After the results it refers to (ISO/IEC 17025 7.8.6: the statement says which
        # results it covers and by which decision rule).
        story += section(Bilingual("Kết luận", "Statement of conformity"))
        story += _statement(document)
    story += section(Bilingual("Liên kết chuẩn", "Metrological traceability"))
    story += _traceability(document)
    story += section(Bilingual("Ghi chú", "Notes"))
    story += _notes(document, dcc_name)
    signatures = section(Bilingual("Người chịu trách nhiệm", "Responsible persons"))
    story.append(KeepTogether([*signatures, *_signatures(document)]))
    story.append(_p("— HẾT GIẤY CHỨNG NHẬN / END OF CERTIFICATE —", styles.end))
    return story


# --------------------------------------------------------------------------- pages


def _fit(text: str, font: str, size: float, width: float, smallest: float = 5.5) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

    while size > smallest and stringWidth(text, font, size) > width:
        size -= 0.25
    return size


def _header(canvas: Canvas, document: CertificateDocument) -> None:
    from reportlab.lib import colors

    issuer = document.issuer
    top = PAGE_HEIGHT - 10 * _MM
    left_w = _CONTENT_W * 0.66
    canvas.setFillColor(colors.HexColor(_ACCENT))
    name = nfc(issuer.name.vi)
    canvas.setFont(BOLD, _fit(name, BOLD, 9.5, left_w))
    canvas.drawString(_MARGIN_X, top, name)
    canvas.setFillColor(colors.HexColor(_MUTED))
    english = nfc(issuer.name.en)
    if english != name:
        canvas.setFont(REGULAR, _fit(english, REGULAR, 7.5, left_w))
        canvas.drawString(_MARGIN_X, top - 10, english)
    lines = [nfc(issuer.address)]
    if issuer.accreditation:
        accreditation = f"Công nhận / Accreditation: {issuer.accreditation}"
        if issuer.accreditation_body:
            accreditation += f", {issuer.accreditation_body}"
        lines.append(nfc(accreditation))
    if issuer.contact:
        lines[0] += f" · {nfc(issuer.contact)}"
    y = top - 19
    for line in lines:
        canvas.setFont(REGULAR, _fit(line, REGULAR, 6.8, left_w))
        canvas.drawString(_MARGIN_X, y, line)
        y -= 8.5
    right = PAGE_WIDTH - _MARGIN_X
    canvas.setFillColor(colors.HexColor(_INK))
    canvas.setFont(BOLD, 7.5)
    canvas.drawRightString(right, top, nfc(document.title.vi))
    canvas.setFont(REGULAR, 7)
    canvas.drawRightString(right, top - 10, document.title.en)
    canvas.setFont(BOLD, 8.5)
    canvas.drawRightString(right, top - 21, nfc(f"Số / No. {document.number}"))
    canvas.setStrokeColor(colors.HexColor(_ACCENT))
    canvas.setLineWidth(1.2)
    rule = PAGE_HEIGHT - 8 * _MM - _HEADER_H + 2 * _MM
    canvas.line(_MARGIN_X, rule, right, rule)


def _title(canvas: Canvas, document: CertificateDocument) -> None:
    from reportlab.lib import colors

    x, y, size = QR_BOX
    _draw_qr_code(canvas, document.verify_url, x, y, size)
    canvas.setFillColor(colors.HexColor(_MUTED))
    canvas.setFont(REGULAR, 6.3)
    canvas.drawCentredString(x + size / 2, y - 1 * _MM, nfc("Quét để xác minh / Scan to verify"))
    width = _CONTENT_W - size - 6 * _MM
    top = PAGE_HEIGHT - 8 * _MM - _HEADER_H - 9 * _MM
    canvas.setFillColor(colors.HexColor(_ACCENT))
    title = nfc(document.title.vi)
    canvas.setFont(BOLD, _fit(title, BOLD, 18, width))
    canvas.drawString(_MARGIN_X, top, title)
    canvas.setFillColor(colors.HexColor(_MUTED))
    canvas.setFont(REGULAR, 12)
    canvas.drawString(_MARGIN_X, top - 15, document.title.en)
    canvas.setFillColor(colors.HexColor(_INK))
    number = nfc(f"Số / No.: {document.number}")
    canvas.setFont(BOLD, _fit(number, BOLD, 13, width))
    canvas.drawString(_MARGIN_X, top - 34, number)


def _footer(canvas: Canvas, document: CertificateDocument, page: int, pages: int) -> None:
    from reportlab.lib import colors

    y = 10 * _MM
    canvas.setStrokeColor(colors.HexColor(_RULE))
    canvas.setLineWidth(0.6)
    canvas.line(_MARGIN_X, y + 9, PAGE_WIDTH - _MARGIN_X, y + 9)
    canvas.setFillColor(colors.HexColor(_INK))
    canvas.setFont(BOLD, 7.5)
    canvas.drawString(_MARGIN_X, y, f"Trang {page}/{pages} · Page {page} of {pages}")
    canvas.setFont(REGULAR, 7.5)
    canvas.drawCentredString(PAGE_WIDTH / 2, y, nfc(document.number))
    url = nfc(document.verify_url)
    canvas.setFont(REGULAR, _fit(url, REGULAR, 7, _CONTENT_W / 2 - 20 * _MM))
    canvas.drawRightString(PAGE_WIDTH - _MARGIN_X, y, url)


def _watermark(canvas: Canvas) -> None:
    """The preview's mark: both languages across the page, translucent so that the
    certificate under it stays readable, and once more along the top edge."""
    from reportlab.lib import colors

    canvas.saveState()
    canvas.setFillColor(colors.HexColor(_WATERMARK_INK))
    canvas.setFont(BOLD, 7.5)
    canvas.drawCentredString(
        PAGE_WIDTH / 2,
        PAGE_HEIGHT - 5 * _MM,
        nfc(f"{PREVIEW_WATERMARK.vi} · {PREVIEW_WATERMARK.en}"),
    )
    canvas.setFillAlpha(0.16)
    canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    canvas.rotate(55)
    width = PAGE_HEIGHT * 0.8
    for text, dy in ((PREVIEW_WATERMARK.vi, 12 * _MM), (PREVIEW_WATERMARK.en, -12 * _MM)):
        line = nfc(text)
        canvas.setFont(BOLD, _fit(line, BOLD, 40, width, smallest=12))
        canvas.drawCentredString(0, dy, line)
    canvas.restoreState()


def _pdf_date(day: date) -> Any:
    from reportlab.lib.utils import TimeStamp  # type: ignore[import-untyped]

    stamp = TimeStamp(invariant=True)
    moment = datetime(day.year, day.month, day.day)
    stamp.YMDhms = (moment.year, moment.month, moment.day, 0, 0, 0)
    stamp.dhh = stamp.dmm = 0
    return stamp


def _xmp(document: CertificateDocument, creator: str, producer: str) -> str:
    created = f"{document.issued_on.isoformat()}T00:00:00Z"
    title = f"{document.title.en} {document.number}"
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about=""'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:pdf="http://ns.adobe.com/pdf/1.3/">\n'
        "<dc:format>application/pdf</dc:format>\n"
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li>'
        "</rdf:Alt></dc:title>\n"
        f"<dc:creator><rdf:Seq><rdf:li>{escape(nfc(document.issuer.name.en))}</rdf:li>"
        "</rdf:Seq></dc:creator>\n"
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(_subject(document))}'
        "</rdf:li></rdf:Alt></dc:description>\n"
        f"<dc:identifier>{escape(document.number)}</dc:identifier>\n"
        f"<xmp:CreateDate>{created}</xmp:CreateDate>\n"
        f"<xmp:ModifyDate>{created}</xmp:ModifyDate>\n"
        f"<xmp:MetadataDate>{created}</xmp:MetadataDate>\n"
        f"<xmp:CreatorTool>{escape(creator)}</xmp:CreatorTool>\n"
        f"<pdf:Producer>{escape(producer)}</pdf:Producer>\n"
        f"<pdf:Keywords>{escape(_keywords(document))}</pdf:Keywords>\n"
        "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="r"?>'
    )


def _subject(document: CertificateDocument) -> str:
    instrument = document.instrument
    return nfc(
        f"{instrument.type.en}, {instrument.manufacturer} {instrument.model}, "
        f"S/N {instrument.serial}"
    )


def _creator(document: CertificateDocument) -> str:
    return f"{document.software} {document.software_version}".strip()


def _keywords(document: CertificateDocument) -> str:
    return f"{document.kind.value}; {document.procedure.id}; {document.number}"


def _attach(canvas: Canvas, document: CertificateDocument, name: str, data: bytes) -> None:
    """Attach ``data`` as an embedded file and associated file (PDF 2.0 / PDF/A-3 ``AF``)."""
    from reportlab.pdfbase.pdfdoc import (  # type: ignore[import-untyped]
        PDFArray,
        PDFDictionary,
        PDFName,
        PDFStream,
        PDFString,
        PDFText,
        PDFZCompress,
    )

    doc = canvas._doc
    stamp = f"D:{document.issued_on.strftime('%Y%m%d')}000000+00'00'"

    class _Stream(PDFStream):  # type: ignore[misc]
        # reportlab writes "endstream" right after the data; the DCC's
        # compressed bytes need the end-of-line ISO 32000 7.3.8.1 asks for.
        def format(self, document: Any) -> bytes:
            data: bytes = super().format(document)
            return data[: -len(b"endstream\n")] + b"\nendstream\n"

    stream = _Stream(
        PDFDictionary(
            {
                "Type": PDFName("EmbeddedFile"),
                # A MIME type as a PDF name: its "/" written #2F (ISO 32000 7.3.5).
                "Subtype": "/" + _DCC_MIME.replace("/", "#2F"),
                "Params": PDFDictionary(
                    {
                        "Size": len(data),
                        "ModDate": PDFString(stamp),
                        "CheckSum": PDFText(
                            hashlib.md5(data, usedforsecurity=False).digest(), enc="raw"
                        ),
                    }
                ),
            }
        ),
        content=data,
        filters=[PDFZCompress],
    )
    stream_ref = doc.Reference(stream)
    spec = PDFDictionary(
        {
            "Type": PDFName("Filespec"),
            "F": PDFString(name),
            "UF": PDFString(name),
            "Desc": PDFString(f"Digital Calibration Certificate (DCC) {document.number}"),
            # The DCC is the same certificate in machine-readable form.
            "AFRelationship": PDFName("Alternative"),
            "EF": PDFDictionary({"F": stream_ref, "UF": stream_ref}),
        }
    )
    spec_ref = doc.Reference(spec)
    catalog = doc.Catalog
    catalog.Names = PDFDictionary(
        {"EmbeddedFiles": PDFDictionary({"Names": PDFArray([PDFString(name), spec_ref])})}
    )
    # reportlab's catalog writes only the keys it knows: teach this one about AF.
    catalog.__NoDefault__ = [*type(catalog).__NoDefault__, "AF"]
    catalog.__Refs__ = [*type(catalog).__Refs__, "AF"]
    catalog.AF = PDFArray([spec_ref])


def _canvas_maker(
    document: CertificateDocument, dcc: tuple[str, bytes] | None, preview: bool
) -> Callable[..., Canvas]:
    from reportlab.pdfbase.pdfdoc import XMP, PDFText
    from reportlab.pdfgen.canvas import Canvas

    class _CertificateCanvas(Canvas):  # type: ignore[misc]
        """Holds the pages back until the end, to write "page x of y" on each."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []
            doc = self._doc
            # Deterministic output: the creation date is the date of issue and
            # the file identifier a digest of the certificate number.
            doc._timeStamp = _pdf_date(document.issued_on)
            digest = hashlib.sha256(f"caltrace certificate {document.number}".encode()).digest()
            ident = PDFText(digest[:16], enc="raw").format(doc)
            doc._ID = b"\n[" + ident + b" " + ident + b"]\n"
            creator = _creator(document)
            producer = doc.info.producer
            doc.Catalog.Metadata = XMP(
                creator=lambda _doc: _xmp(document, creator, producer).encode("utf-8")
            )
            if dcc is not None:
                _attach(self, document, *dcc)

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            pages = len(self._held)
            for page, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                _footer(self, document, page, pages)
                if preview:
                    _watermark(self)
                super().showPage()
            super().save()

    return _CertificateCanvas


def render_pdf(
    document: CertificateDocument, *, dcc_xml: bytes | None = None, preview: bool = False
) -> bytes:
    """The certificate as an unsigned PDF (A4), ready for :class:`certificates.signing.Signer`.

    Calls ``document.check()`` first. ``dcc_xml`` (UTF-8 XML), when given, is
    attached as ``<number>.dcc.xml`` (MIME ``application/xml``), an associated
    file of the document. The same document (and DCC) gives the same bytes:
    the creation date is ``issued_on`` (00:00 UTC) and the file identifier is
    derived from the number.

    ``preview`` renders what a signatory reads before signing: the same pages,
    with :data:`PREVIEW_WATERMARK` across each of them and in the title, and no DCC
    attached (a DCC read out of a preview would carry no mark), though the note that
    names it is kept, so that the pages break where the issued certificate's do.

    Raises:
        DocumentError: the document lacks a field its kind requires or holds a
            value that cannot be printed (``field`` names it).
    """
    import io

    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

    document.check()
    register_fonts()
    if dcc_xml is not None and not isinstance(dcc_xml, bytes):
        raise DocumentError("the DCC is attached as UTF-8 bytes", field="dcc_xml")
    dcc_name = dcc_attachment_name(document.number) if dcc_xml is not None or preview else None
    dcc = (dcc_name, dcc_xml) if dcc_name and dcc_xml is not None and not preview else None
    title = f"{document.title.en} {document.number}"
    if preview:
        title = f"{PREVIEW_WATERMARK.en}: {title}"

    buffer = io.BytesIO()
    template = BaseDocTemplate(
        buffer,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        leftMargin=_MARGIN_X,
        rightMargin=_MARGIN_X,
        topMargin=8 * _MM + _HEADER_H,
        bottomMargin=_FOOTER_H + 6 * _MM,
        title=title,
        creator=_creator(document),
        keywords=_keywords(document),
        author=nfc(document.issuer.name.en),
        subject=_subject(document),
        invariant=1,
        pageCompression=1,
        initialFontName=REGULAR,
        lang="vi",
    )
    body_top = PAGE_HEIGHT - 8 * _MM - _HEADER_H
    bottom = _FOOTER_H + 6 * _MM
    first = Frame(
        _MARGIN_X,
        bottom,
        _CONTENT_W,
        body_top - _TITLE_H - bottom,
        id="first",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    later = Frame(
        _MARGIN_X,
        bottom,
        _CONTENT_W,
        body_top - bottom,
        id="later",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )

    def on_first(canvas: Canvas, _doc: Any) -> None:
        _header(canvas, document)
        _title(canvas, document)

    def on_later(canvas: Canvas, _doc: Any) -> None:
        _header(canvas, document)

    template.addPageTemplates(
        [
            PageTemplate(id="first", frames=[first], onPage=on_first, autoNextPageTemplate="later"),
            PageTemplate(id="later", frames=[later], onPage=on_later),
        ]
    )
    template.build(_story(document, dcc_name), canvasmaker=_canvas_maker(document, dcc, preview))
    return buffer.getvalue()
