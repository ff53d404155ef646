"""The reports' charts, drawn on the server as inline SVG (no script, no style attribute).

The approach of the run page's error chart (:mod:`labserver.work.chart`): a fixed viewBox
the page scales, round tick values (:func:`certificates.charts.nice_ticks`), every text
escaped, a ``<title>`` and ``<desc>`` naming what is drawn, and a ``<title>`` on each bar
with its figure. Colours come from classes in ``reports/reports.css`` (our CSP refuses
inline style), one class per series, so the legend and the bars match. Each chart is a
horizontal grouped bar chart: one row per month, instrument type or person (their labels
stay readable on a phone), one bar per series; the table beside it holds every number.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from certificates.charts import nice_ticks

# Narrow enough that a phone (390 px) shows the texts at nearly their size.
WIDTH = 460.0
LEFT, RIGHT, TOP, BOTTOM = 112.0, 44.0, 40.0, 40.0
BAR, GAP = 14.0, 12.0
LABEL_CHARS = 15


@dataclass(frozen=True)
class Series:
    """One kind of bar: ``key`` names its CSS class (``s-<key>``), ``label`` the legend."""

    key: str
    label: str


@dataclass(frozen=True)
class Row:
    """One group of bars: its label, and per series the figure (``None``: none) and the
    figure as the table writes it."""

    label: str
    values: tuple[float | None, ...]
    texts: tuple[str, ...]


def _text(x: float, y: float, text: str, css: str, anchor: str = "start") -> str:
    return (
        f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    axis: str,
    series: list[Series],
    rows: list[Row],
) -> SafeString | None:
    """The SVG of ``rows``, or ``None`` when there is nothing to draw (no row, or no
    figure above zero)."""
    peak = max((v for row in rows for v in row.values if v is not None), default=0.0)
    if not rows or peak <= 0:
        return None
    ticks = nice_ticks(0.0, peak)
    high = ticks[-1]
    plot_w = WIDTH - LEFT - RIGHT
    group = BAR * len(series) + GAP
    plot_h = group * len(rows)
    height = TOP + plot_h + BOTTOM

    def x_of(value: float) -> float:
        return LEFT + value / high * plot_w

    parts = [
        f'<svg class="report-chart" viewBox="0 0 {WIDTH:.0f} {height:.0f}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    legend_x = LEFT
    for one in series:
        parts.append(
            f'<rect class="key s-{one.key}" x="{legend_x:.1f}" y="10" width="12" height="12"/>'
        )
        parts.append(_text(legend_x + 16, 20, one.label, "legend"))
        legend_x += 30 + 7.5 * len(one.label)
    bottom = TOP + plot_h
    for tick in ticks:
        x = x_of(tick)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="{TOP:.1f}" x2="{x:.1f}" y2="{bottom:.1f}"/>'
        )
        parts.append(_text(x, bottom + 14, f"{tick:g}", "tick", "middle"))
    parts.append(_text(LEFT + plot_w / 2, height - 6, axis, "axis-label", "middle"))
    for i, row in enumerate(rows):
        y0 = TOP + i * group + GAP / 2
        parts.append(
            f'<text class="label" x="{LEFT - 6:.1f}" y="{y0 + BAR * len(series) / 2 + 4:.1f}" '
            f'text-anchor="end"><title>{escape(row.label)}</title>{escape(_short(row.label))}'
            "</text>"
        )
        for j, (one, value, text) in enumerate(zip(series, row.values, row.texts, strict=True)):
            if not value:
                continue  # nothing, or zero: the table says 0
            y = y0 + j * BAR
            width = max(x_of(value) - LEFT, 0.0)
            tip = f"{row.label}: {one.label} {text}"
            parts.append(
                f'<rect class="bar s-{one.key}" x="{LEFT:.1f}" y="{y:.1f}" '
                f'width="{width:.1f}" height="{BAR - 2:.1f}"><title>{escape(tip)}</title></rect>'
            )
            parts.append(_text(LEFT + width + 3, y + BAR - 3, text, "value"))
    parts.append(
        f'<line class="axis" x1="{LEFT:.1f}" y1="{TOP:.1f}" x2="{LEFT:.1f}" y2="{bottom:.1f}"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it is escaped above
