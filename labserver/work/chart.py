"""The error chart of a run, drawn on the server as inline SVG (no script).

One chart per test of the run: each point's result (the server's value of the point's
output, an error or a correction) with its expanded uncertainty U as an error bar, in one
slot per point in the run's order (rising and falling points keep their sequence), and
the point's acceptance band (lower..upper, ± MPE for an error) shaded between red
limits. The axes name the quantity and its unit; small numbers are scaled by a power of
ten that the axis label states. A point judged ``fail`` is drawn as a square, not only in
another colour. A chart never mixes units: a test whose results differ in unit is not
drawn (the table above it holds every number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from labserver.measurements.models import Point
from procedures.acceptance import observed

from .presentation import SUPERSCRIPT, plain

WIDTH, HEIGHT = 640.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 78.0, 12.0, 34.0, 56.0
INK, LIMIT, BAND, GRID, FAIL = "#1b1f24", "#a0161b", "#e3f4e1", "#c9d1d9", "#a0161b"


@dataclass(frozen=True)
class ChartPoint:
    index: int
    nominal: float
    value: float
    U: float | None
    lower: float | None
    upper: float | None
    failed: bool


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Tick values 1, 2 or 5 × 10ⁿ apart that cover ``low``..``high``."""
    if high <= low:
        span = abs(high) or 1.0
        low, high = low - span / 2, high + span / 2
    raw = (high - low) / max(count - 1, 1)
    power = math.floor(math.log10(raw))
    step = next(m * 10.0**power for m in (1, 2, 5, 10) if m * 10.0**power >= raw)
    ticks = []
    value = math.floor(low / step) * step
    while value < high - step * 1e-9:
        ticks.append(value)
        value += step
    ticks.append(value)  # the first tick at or above ``high``
    places = max(0, -power + 1)
    return [round(t, places) for t in ticks]


def _scale_power(values: list[float]) -> int:
    """A power of ten, multiple of 3, to divide small or large numbers by (0: none)."""
    peak = max((abs(v) for v in values), default=0.0)
    if peak == 0 or 1e-2 <= peak < 1e5:
        return 0
    return 3 * math.floor(math.log10(peak) / 3)


def _tick_text(value: float, step: float) -> str:
    places = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    text = f"{value:.{places}f}"
    return "0" if float(text) == 0 else text.replace("-", "−")


def chart_points(points: list[Point]) -> list[ChartPoint]:
    out = []
    for point in points:
        result = point.server_result or {}
        acceptance = result.get("acceptance") or point.acceptance or {}
        if result.get("value") is None:
            continue
        lower, upper = acceptance.get("lower"), acceptance.get("upper")
        out.append(
            ChartPoint(
                index=point.index,
                nominal=point.nominal,
                value=float(result["value"]),
                U=float(result["U"]) if result.get("U") is not None else None,
                lower=float(lower) if lower is not None else None,
                upper=float(upper) if upper is not None else None,
                failed=point.server_conformity in ("fail", "conditional fail"),
            )
        )
    return out


def _text(x: float, y: float, text: str, **attrs: Any) -> str:
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def error_chart(points: list[Point], *, test: str, chart_id: str) -> SafeString | None:
    """The SVG of the points of one test, or ``None`` when there is nothing to draw: no
    point, mixed units, or results that are not errors (a no-load count, a time to the
    first pulse, judged as they are against a limit: no ± band to draw them in)."""
    units = {str((p.server_result or {}).get("unit") or p.unit) for p in points}
    drawn = chart_points(points)
    if not drawn or len(units) != 1:
        return None
    if any(observed((p.server_result or {}).get("acceptance") or p.acceptance) for p in points):
        return None
    unit = units.pop()
    x_unit = points[0].unit
    output = points[0].output
    values: list[float] = [0.0]
    for p in drawn:
        values += [p.value + (p.U or 0.0), p.value - (p.U or 0.0)]
        values += [v for v in (p.lower, p.upper) if v is not None]
    power = _scale_power(values)
    factor = 10.0**power
    ticks = nice_ticks(min(values) / factor, max(values) / factor)
    low, high = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + (high - value / factor) / (high - low) * plot_h

    unit_text = f"10{str(power).translate(SUPERSCRIPT)} {unit}" if power else unit
    title = _("Error chart of test %(test)s") % {"test": test}
    has_limits = any(p.lower is not None or p.upper is not None for p in drawn)
    if has_limits:
        desc = _(
            "%(output)s of each point with its expanded uncertainty U as a bar, against the "
            "nominal; the acceptance limits are the red lines around the shaded band."
        ) % {"output": output}
    else:
        desc = _(
            "%(output)s of each point with its expanded uncertainty U as a bar, against "
            "the nominal."
        ) % {"output": output}
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="system-ui, sans-serif">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" '
        f'stroke="{GRID}"/>',
    ]
    for tick in ticks:
        y = y_of(tick * factor)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{GRID}" '
            f'stroke-width="{1.5 if tick == 0 else 0.6}"/>'
        )
        parts.append(_text(LEFT - 6, y + 4, _tick_text(tick, step), text_anchor="end"))
    slot = plot_w / len(drawn)
    half = min(slot * 0.4, 22.0)
    cap = min(slot * 0.18, 6.0)
    for i, p in enumerate(drawn):
        x = LEFT + slot * (i + 0.5)
        if p.lower is not None and p.upper is not None:
            top, bottom = y_of(p.upper), y_of(p.lower)
            parts.append(
                f'<rect x="{x - half:.1f}" y="{top:.1f}" width="{2 * half:.1f}" '
                f'height="{max(bottom - top, 0):.1f}" fill="{BAND}"/>'
            )
        for edge in (p.lower, p.upper):
            if edge is not None:
                y = y_of(edge)
                parts.append(
                    f'<line class="limit" x1="{x - half:.1f}" y1="{y:.1f}" x2="{x + half:.1f}" '
                    f'y2="{y:.1f}" stroke="{LIMIT}" stroke-width="2.5"/>'
                )
        colour = FAIL if p.failed else INK
        if p.U is not None:
            a, b = y_of(p.value - p.U), y_of(p.value + p.U)
            parts.append(
                f'<line class="ubar" x1="{x:.1f}" y1="{a:.1f}" x2="{x:.1f}" y2="{b:.1f}" '
                f'stroke="{colour}" stroke-width="1.5"/>'
            )
            for end in (a, b):
                parts.append(
                    f'<line x1="{x - cap:.1f}" y1="{end:.1f}" x2="{x + cap:.1f}" y2="{end:.1f}" '
                    f'stroke="{colour}" stroke-width="1.5"/>'
                )
        y = y_of(p.value)
        label = _("point %(index)s: %(output)s = %(value)s ± %(U)s %(unit)s") % {
            "index": p.index,
            "output": output,
            "value": plain(p.value),
            "U": plain(p.U) if p.U is not None else "?",
            "unit": unit,
        }
        if p.failed:
            parts.append(
                f'<rect class="point fail" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
                f'fill="{colour}"><title>{escape(label)}</title></rect>'
            )
        else:
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                f"<title>{escape(label)}</title></circle>"
            )
        parts.append(_text(x, TOP + plot_h + 16, plain(p.nominal), text_anchor="middle"))
    parts.append(
        _text(
            LEFT + plot_w / 2,
            HEIGHT - 10,
            _("Nominal (%(unit)s)") % {"unit": x_unit},
            text_anchor="middle",
            class_="axis-label",
        )
    )
    y_mid = TOP + plot_h / 2
    y_label = _("%(output)s (%(unit)s)") % {"output": output, "unit": unit_text}
    parts.append(
        f'<text class="axis-label" x="16" y="{y_mid:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 16 {y_mid:.1f})">{escape(y_label)}</text>'
    )
    legend_x = LEFT
    parts.append(f'<circle cx="{legend_x + 5}" cy="16" r="4" fill="{INK}"/>')
    parts.append(_text(legend_x + 14, 20, _("%(output)s ± U") % {"output": output}))
    if has_limits:
        legend_x += 120
        parts.append(
            f'<line x1="{legend_x}" y1="16" x2="{legend_x + 18}" y2="16" stroke="{LIMIT}" '
            f'stroke-width="2.5"/>'
        )
        parts.append(_text(legend_x + 24, 20, _("acceptance limits (± MPE)")))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it is escaped above


def error_charts(points: list[Point]) -> list[dict[str, Any]]:
    """The charts of a run, one per test in the run's order of points."""
    by_test: dict[str, list[Point]] = {}
    for point in points:
        by_test.setdefault(point.test, []).append(point)
    charts = []
    for n, (test, done) in enumerate(by_test.items()):
        svg = error_chart(done, test=test, chart_id=f"chart-{n}")
        if svg is not None:
            charts.append({"test": test, "svg": svg})
    return charts
