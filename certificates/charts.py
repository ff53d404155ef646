"""The certificate's chart: the errors of one result table, with U bars, against the MPE.

A calibration table is drawn as its errors (indication − reference) with their
expanded uncertainty as bars; a verification table adds the ± MPE limits of
each point. One slot per reported point, in the table's order (rising and
falling pressures keep their sequence), so points of different ranges share
one readable axis. Drawn with reportlab.graphics in opaque colours only (no
transparency: PDF/A friendly).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

from certificates._format import nfc, unit_symbol
from certificates.document import ResultTable
from certificates.fonts import BOLD, REGULAR

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing  # type: ignore[import-untyped]

__all__ = ["chart_points", "error_chart", "nice_ticks"]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 × 10^n apart) covering ``low``..``high``, in their unit."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError(f"no ticks for the range {low}..{high}")
    if high == low:
        span = abs(high) or 1.0
        low, high = low - span / 2, high + span / 2
    raw = (high - low) / max(count - 1, 1)
    power = math.floor(math.log10(raw))
    step = next(m * 10.0**power for m in (1, 2, 5, 10) if m * 10.0**power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(value)
        value += step
    if ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    # Tidy the binary noise of the additions (0.30000000000000004).
    places = max(0, -power + 1)
    return [round(t, places) for t in ticks]


def _tick_text(value: float, step: float) -> str:
    places = max(0, -math.floor(math.log10(step)) if step > 0 else 0)
    text = format(Decimal(repr(round(value, places + 1))).quantize(Decimal(1).scaleb(-places)), "f")
    return "0" if Decimal(text).is_zero() else text


# A chart's axis has room for a short label only: the direction of a point in words on the
# table (", tăng / rising") is an arrow under the chart, explained in its legend.
_SHORT: tuple[tuple[str, str], ...] = (
    (", tăng / rising", " ↑"),
    (", giảm / falling", " ↓"),
    (", vị trí / position ", " #"),
)


def short_label(label: str) -> str:
    """The label of a row as a chart's axis writes it ("450 kPa ↓", "5000 g #2")."""
    for words, mark in _SHORT:
        label = label.replace(words, mark)
    return label


def chart_points(table: ResultTable) -> list[tuple[str, float, float | None, float | None, bool]]:
    """The points a chart of ``table`` draws: (label, error, U, MPE, flagged), in the row unit.

    Rows without an error are left out. Empty when the rows do not share one
    unit (a chart never mixes units).
    """
    units = {row.unit for row in table.rows if row.error is not None}
    if len(units) != 1:
        return []
    return [
        (
            short_label(row.label),
            row.error,
            row.expanded_uncertainty,
            row.mpe,
            row.uncertainty_ratio_flag,
        )
        for row in table.rows
        if row.error is not None
    ]


def error_chart(table: ResultTable, *, width: float, height: float) -> Drawing | None:
    """A chart of the table's errors (U bars, ± MPE when given); ``None`` when nothing to draw.

    ``width`` and ``height`` are in points (1/72 in).
    """
    from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
    from reportlab.lib import colors  # type: ignore[import-untyped]

    points = chart_points(table)
    if not points:
        return None
    unit = unit_symbol(next(row.unit for row in table.rows if row.error is not None))
    values: list[float] = [0.0]
    for _label, error, u, mpe, _flag in points:
        values += [error, error + (u or 0.0), error - (u or 0.0)]
        if mpe is not None:
            values += [mpe, -mpe]
    ticks = nice_ticks(min(values), max(values))
    low, high = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0

    ink = colors.HexColor("#1F3A5F")
    limit = colors.HexColor("#B22222")
    grid = colors.HexColor("#DDDDDD")
    flag = colors.HexColor("#D35400")

    drawing = Drawing(width, height, initialFontName=REGULAR, initialFontSize=8)
    left, right, bottom, top = 46.0, 8.0, 30.0, 18.0
    plot_w = width - left - right
    plot_h = height - bottom - top

    def y_of(value: float) -> float:
        return bottom + (value - low) / (high - low) * plot_h

    drawing.add(Rect(left, bottom, plot_w, plot_h, strokeColor=colors.grey, fillColor=None))
    for tick in ticks:
        y = y_of(tick)
        drawing.add(Line(left, y, left + plot_w, y, strokeColor=grid, strokeWidth=0.4))
        drawing.add(
            String(
                left - 3,
                y - 2.5,
                _tick_text(tick, step),
                fontName=REGULAR,
                fontSize=6.5,
                textAnchor="end",
            )
        )
    if low < 0 < high:
        drawing.add(
            Line(left, y_of(0), left + plot_w, y_of(0), strokeColor=colors.grey, strokeWidth=0.8)
        )
    slot = plot_w / len(points)
    for i, (label, error, u, mpe, flagged) in enumerate(points):
        x = left + slot * (i + 0.5)
        if mpe is not None:
            half = min(slot * 0.42, 14.0)
            for edge in (mpe, -mpe):
                drawing.add(
                    Line(
                        x - half,
                        y_of(edge),
                        x + half,
                        y_of(edge),
                        strokeColor=limit,
                        strokeWidth=1.4,
                    )
                )
        if u is not None:
            cap = min(slot * 0.18, 4.0)
            drawing.add(
                Line(x, y_of(error - u), x, y_of(error + u), strokeColor=ink, strokeWidth=0.9)
            )
            for end in (error - u, error + u):
                drawing.add(
                    Line(x - cap, y_of(end), x + cap, y_of(end), strokeColor=ink, strokeWidth=0.9)
                )
        drawing.add(
            Circle(
                x,
                y_of(error),
                2.2,
                fillColor=flag if flagged else ink,
                strokeColor=flag if flagged else ink,
            )
        )
        drawing.add(
            String(x, bottom - 10, nfc(label), fontName=REGULAR, fontSize=6, textAnchor="middle")
        )

    # The legend names the axis too: the errors are in the rows' unit.
    legend = [("●", ink, nfc(f"Sai số / Error ({unit})"))]
    if any(p[2] is not None for p in points):
        legend.append(("I", ink, nfc("± U")))
    if any(p[3] is not None for p in points):
        legend.append(("—", limit, nfc("± MPE / Sai số lớn nhất cho phép")))
    if any("↑" in p[0] or "↓" in p[0] for p in points):
        legend.append(("↑↓", ink, nfc("tăng, giảm / rising, falling")))
    if any(" #" in p[0] for p in points):
        legend.append(("#", ink, nfc("vị trí / position")))
    x = left
    for mark, colour, text in legend:
        drawing.add(String(x, height - 11, mark, fontName=BOLD, fontSize=8, fillColor=colour))
        drawing.add(String(x + 9, height - 11, text, fontName=REGULAR, fontSize=7))
        from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

        x += 20 + stringWidth(text, REGULAR, 7)
    return drawing
