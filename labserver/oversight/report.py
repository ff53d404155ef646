"""The reverse trace of a standard as a PDF report (reportlab, DejaVu Sans).

Headings are bilingual, Vietnamese first then English, like the certificates: the report
is handed to people who read either. The rows are those of the page and of the CSV
(:func:`labserver.traceability.queries.impact_rows`), all of them.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from typing import Any

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

from certificates.fonts import BOLD, REGULAR, register_fonts

COLUMNS = (
    ("Loại / Kind", "kind", 30),
    ("Độ sâu / Depth", "depth", 16),
    ("Số giấy chứng nhận / Certificate number", "number", 52),
    ("Trạng thái / Status", "status", 24),
    ("Tổ chức / Organization", "organization", 24),
    ("Chuẩn đã dùng / Standard used", "standard", 32),
    ("Ngày sử dụng / Used on", "used_on", 24),
    ("Chức năng, phạm vi / Function, range", "range", 50),
)

KINDS = {
    "certificate": "GCN đã cấp / issued certificate",
    "standard_certificate": "GCN của chuẩn / standard certificate",
}


def _range(row: dict[str, Any]) -> str:
    parts = [row.get("function") or ""]
    low, high, unit = row.get("range_low"), row.get("range_high"), row.get("unit") or ""
    if low is not None and high is not None:
        parts.append(f"{low:g}–{high:g} {unit}".strip())
    elif unit:
        parts.append(unit)
    return " ".join(p for p in parts if p)


def impact_pdf(
    *,
    asset_id: str,
    name: str,
    organization: str,
    start: date,
    end: date,
    made_on: date,
    made_by: str,
    rows: Iterable[dict[str, Any]],
) -> bytes:
    """The report: title with the standard, the range and the report's date, then the rows."""
    register_fonts()
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=8, leading=10)
    head = ParagraphStyle("head", parent=body, fontName=BOLD)
    title = ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=14, leading=18)
    meta = ParagraphStyle("meta", parent=body, fontSize=10, leading=13)

    def cell(text: Any, style: ParagraphStyle = body) -> Paragraph:
        plain = "" if text is None else str(text)
        return Paragraph(plain.replace("&", "&amp;").replace("<", "&lt;"), style)

    data: list[list[Any]] = [[cell(label, head) for label, _key, _width in COLUMNS]]
    count = 0
    for row in rows:
        count += 1
        values = {**row, "kind": KINDS.get(row["kind"], row["kind"]), "range": _range(row)}
        data.append([cell(values.get(key)) for _label, key, _width in COLUMNS])

    story: list[Any] = [
        cell("Truy xuất ngược / Reverse trace", title),
        cell(f"Chuẩn đo lường / Measurement standard: {asset_id} — {name} ({organization})", meta),
        cell(f"Khoảng thời gian / Date range: {start.isoformat()} → {end.isoformat()}", meta),
        cell(f"Ngày lập báo cáo / Report date: {made_on.isoformat()} — {made_by}", meta),
        cell(f"Số dòng / Rows: {count}", meta),
        Spacer(1, 4 * mm),
    ]
    if count:
        table = LongTable(data, colWidths=[w * mm for _l, _k, w in COLUMNS], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f5f8")),
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#c9d1d9")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
    else:
        story.append(
            cell("Không có gì phụ thuộc trong khoảng này / Nothing depends on it in this range")
        )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Reverse trace {asset_id} {start.isoformat()}–{end.isoformat()}",
    )
    doc.build(story)
    return out.getvalue()
