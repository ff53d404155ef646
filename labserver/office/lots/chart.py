"""The operating characteristic of a lot's plan as an SVG drawn on the server: the
probability of accepting the lot (0..1) against its fraction nonconforming (%), one point per
row of the table beside it. No script, no style attribute (our CSP): the line's colour comes
from a class in ``office/lots.css``; every text is escaped; ``<title>`` and ``<desc>`` say
what is drawn, and each point's ``<title>`` its figures."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from certificates.charts import nice_ticks

WIDTH, HEIGHT = 440.0, 260.0
LEFT, RIGHT, TOP, BOTTOM = 48.0, 16.0, 16.0, 44.0


def _text(x: float, y: float, text: str, anchor: str = "middle") -> str:
    return (
        f'<text class="oc-tick" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )


def oc_chart(
    points: list[tuple[float, float, str]], *, title: str, desc: str, x_label: str, y_label: str
) -> SafeString:
    """``points``: (p in %, P_a in 0..1, the point's title as the table writes it)."""
    top = nice_ticks(0.0, max(p for p, _pa, _t in points) or 1.0, 6)
    x_max = top[-1] or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(p: float) -> float:
        return LEFT + plot_w * p / x_max

    def y_of(pa: float) -> float:
        return TOP + plot_h * (1.0 - pa)

    parts = [
        f'<svg class="oc-chart" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" role="img" '
        f'aria-labelledby="oc-title oc-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="oc-title">{escape(title)}</title><desc id="oc-desc">{escape(desc)}</desc>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = y_of(tick)
        parts.append(
            f'<line class="oc-grid" x1="{LEFT:.1f}" x2="{WIDTH - RIGHT:.1f}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(_text(LEFT - 6, y + 4, f"{tick:g}", "end"))
    for tick in top:
        parts.append(_text(x_of(tick), HEIGHT - BOTTOM + 16, f"{tick:g}"))
    parts.append(_text(LEFT + plot_w / 2, HEIGHT - 6, x_label))
    parts.append(
        f'<text class="oc-tick" x="12" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    line = " ".join(f"{x_of(p):.1f},{y_of(pa):.1f}" for p, pa, _t in points)
    parts.append(f'<polyline class="oc-line" points="{line}"/>')
    for p, pa, point_title in points:
        parts.append(
            f'<circle class="oc-point" cx="{x_of(p):.1f}" cy="{y_of(pa):.1f}" r="3">'
            f"<title>{escape(point_title)}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
