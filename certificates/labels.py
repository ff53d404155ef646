"""Verification labels (tem kiểm định): an A4 sheet of 3 × 8 labels, each with its QR code.

Each label carries the issuer, "TEM KIỂM ĐỊNH / VERIFICATION MARK", the mark
number, the instrument and its serial number, the date the verification is
valid until, the certificate number and a QR code of the certificate's public
verification page. The sheet fits the common 70 mm × 37 mm A4 label stock
(3 columns, 8 rows, no margins between labels); more than 24 labels continue on
further sheets.

A label whose text cannot fit even in the smallest type is refused, never cut.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Final

from certificates._format import date_text, nfc
from certificates.document import CertificateDocument
from certificates.errors import DocumentError
from certificates.fonts import BOLD, REGULAR, register_fonts

__all__ = ["COLUMNS", "LABEL_HEIGHT", "LABEL_WIDTH", "ROWS", "Label", "render_labels"]

_MM: Final = 72 / 25.4
_PAGE_W: Final = 210 * _MM
_PAGE_H: Final = 297 * _MM
#: Labels per row and rows per sheet.
COLUMNS: Final = 3
ROWS: Final = 8
#: One label, in points: 70 mm × 37.125 mm (the sheet's full height in 8 rows).
LABEL_WIDTH: Final = _PAGE_W / COLUMNS
LABEL_HEIGHT: Final = _PAGE_H / ROWS
_PAD: Final = 2.2 * _MM
_QR: Final = LABEL_HEIGHT - 2 * _PAD
_SMALLEST: Final = 4.5


@dataclass(frozen=True)
class Label:
    """One verification label: what the mark says and where to verify it."""

    certificate_number: str
    mark_number: str
    #: The instrument, e.g. "Cân không tự động cấp III / NAWI class III".
    instrument: str
    serial: str
    valid_until: date
    #: The certificate's public verification page (the QR code's content).
    verify_url: str
    #: The issuing body's name as it should read on the label.
    issuer: str

    @classmethod
    def for_document(cls, document: CertificateDocument) -> Label:
        """The label of a verification certificate (its mark, instrument and issuer).

        Raises:
            DocumentError: the document has no verification mark (``field``: ``mark``).
        """
        if document.mark is None:
            raise DocumentError("only a verification certificate has a label", field="mark")
        return cls(
            certificate_number=document.number,
            mark_number=document.mark.number,
            instrument=str(document.instrument.type),
            serial=document.instrument.serial,
            valid_until=document.mark.valid_until,
            verify_url=document.verify_url,
            issuer=document.issuer.name.vi,
        )


def _check(labels: Sequence[Label]) -> None:
    if not labels:
        raise DocumentError("a label sheet needs at least one label", field="labels")
    for i, label in enumerate(labels):
        if not isinstance(label, Label):
            raise DocumentError(f"not a Label: {label!r}", field=f"labels[{i}]")
        for f in fields(label):
            value = getattr(label, f.name)
            if isinstance(value, str) and not value.strip():
                raise DocumentError("must not be empty", field=f"labels[{i}].{f.name}")
        if not isinstance(label.valid_until, date):
            raise DocumentError("must be a date", field=f"labels[{i}].valid_until")


def _lines(label: Label, scale: float) -> list[tuple[str, str, float, str]]:
    """(font, text, size, colour) of each line of a label's text column."""
    return [
        (BOLD, nfc(label.issuer), 5.6 * scale, "#1F3A5F"),
        (BOLD, "TEM KIỂM ĐỊNH / VERIFICATION MARK", 6.2 * scale, "#B22222"),
        (BOLD, nfc(f"Số / No. {label.mark_number}"), 8.0 * scale, "#000000"),
        (REGULAR, nfc(label.instrument), 5.6 * scale, "#000000"),
        (REGULAR, nfc(f"S/N {label.serial}"), 5.6 * scale, "#000000"),
        (
            BOLD,
            f"Hiệu lực đến / Valid until {date_text(label.valid_until)}",
            6.0 * scale,
            "#000000",
        ),
        (REGULAR, nfc(f"GCN / Cert. {label.certificate_number}"), 5.0 * scale, "#333333"),
    ]


def _layout(
    label: Label, width: float, height: float, where: str
) -> list[tuple[str, str, float, str]]:
    """The wrapped lines of a label at the largest scale that fits ``width`` × ``height``."""
    from reportlab.lib.utils import simpleSplit  # type: ignore[import-untyped]

    scale = 1.0
    while True:
        wrapped: list[tuple[str, str, float, str]] = []
        for font, text, size, colour in _lines(label, scale):
            wrapped += [(font, part, size, colour) for part in simpleSplit(text, font, size, width)]
        total = sum(size * 1.2 for _f, _t, size, _c in wrapped)
        if total <= height:
            return wrapped
        scale -= 0.05
        if 5.0 * scale < _SMALLEST:
            raise DocumentError(
                "the label's text does not fit on a 70 mm × 37 mm label", field=where
            )


def _draw(canvas: Any, label: Label, x: float, y: float, where: str) -> None:
    from reportlab.graphics import renderPDF  # type: ignore[import-untyped]
    from reportlab.lib import colors  # type: ignore[import-untyped]

    from certificates.pdf import qr_code_drawing

    canvas.setStrokeColor(colors.HexColor("#C9CED6"))
    canvas.setLineWidth(0.3)
    canvas.rect(x, y, LABEL_WIDTH, LABEL_HEIGHT, stroke=1, fill=0)
    renderPDF.draw(
        qr_code_drawing(label.verify_url, _QR), canvas, x + LABEL_WIDTH - _PAD - _QR, y + _PAD
    )
    text_w = LABEL_WIDTH - 3 * _PAD - _QR
    lines = _layout(label, text_w, LABEL_HEIGHT - 2 * _PAD, where)
    cursor = y + LABEL_HEIGHT - _PAD
    for font, text, size, colour in lines:
        cursor -= size * 1.2
        canvas.setFillColor(colors.HexColor(colour))
        canvas.setFont(font, size)
        canvas.drawString(x + _PAD, cursor + size * 0.22, text)


def render_labels(labels: Sequence[Label]) -> bytes:
    """An A4 PDF of verification labels, 3 × 8 per sheet (70 mm × 37.125 mm each), in order.

    Deterministic: the same labels give the same bytes.

    Raises:
        DocumentError: no labels, an empty field, or text too long for a label
            (``field``: e.g. ``labels[3].instrument`` or ``labels[3]``).
    """
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

    _check(labels)
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(_PAGE_W, _PAGE_H), invariant=1, pageCompression=1, initialFontName=REGULAR
    )
    canvas.setTitle("Tem kiểm định / Verification labels")
    canvas.setCreator("caltrace")
    per_sheet = COLUMNS * ROWS
    for i, label in enumerate(labels):
        if i and i % per_sheet == 0:
            canvas.showPage()
        slot = i % per_sheet
        row, column = divmod(slot, COLUMNS)
        _draw(
            canvas, label, column * LABEL_WIDTH, _PAGE_H - (row + 1) * LABEL_HEIGHT, f"labels[{i}]"
        )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
