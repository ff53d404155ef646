"""A readable rendering of an evaluation: the budget table and the results."""

from __future__ import annotations

import math
from typing import Any

from .display import dof_text
from .errors import UncertaintyError
from .model import Model
from .reporting import format_result


def _num(value: Any, digits: int = 6) -> str:
    if isinstance(value, str):
        return "∞" if value == "inf" else value
    if value is None:
        return ""
    number = float(value)
    if math.isinf(number):
        return "∞"
    if number == 0.0:
        return "0"
    return f"{number:.{digits}g}"


def _dof(value: Any) -> str:
    """Degrees of freedom as a person reads them: whole, ∞ above 10⁶ (never 2.99e+14)."""
    try:
        return dof_text(value)
    except UncertaintyError:
        return _num(value)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]  # fmt: skip
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                      enumerate(zip(r, widths, strict=True))) for r in rows]  # fmt: skip
    return out


def _gum_lines(model: Model, gum: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, out in gum["outputs"].items():
        unit = f" {out['unit']}" if out.get("unit") else ""
        lines.append(f"Uncertainty budget of {name} (GUM, JCGM 100)")
        rows = []
        variance = float(out["u"]) ** 2
        for line in out["budget"]:
            share = 100.0 * line["contribution"] ** 2 / variance if variance else 0.0
            rows.append([
                line["quantity"],
                _num(line["value"], 10),
                line["unit"] or "",
                line["distribution"],
                _num(line["u"], 3),
                _dof(line["dof"]),
                _num(line["sensitivity"], 4),
                _num(line["contribution"], 3),
                f"{share:.1f}",
            ])  # fmt: skip
        headers = ["quantity", "value", "unit", "kind", "u(x_i)", "dof", "c_i", "|c_i| u(x_i)",
                   "% of u²"]  # fmt: skip
        lines += _table(headers, rows)
        if model.is_correlated:
            lines.append("(correlated inputs: the shares of u² do not add up to 100 %)")
        lines.append("")
        lines.append(f"  {name} = {_num(out['value'], 10)}{unit}")
        lines.append(f"  u = {_num(out['u'], 3)}{unit}   dof = {_dof(out['dof'])} "
                     f"({out['dof_method']})")  # fmt: skip
        lines.append(f"  k = {float(out['k']):.2f}   U = {_num(out['U'], 3)}{unit}   "
                     f"p = {100 * float(out['coverage_probability']):g} %")  # fmt: skip
        low, high = out["interval"]
        lines.append(f"  coverage interval [{_num(low, 10)}, {_num(high, 10)}]{unit}")
        if float(out["U"]) > 0:
            reported = format_result(
                out["value"],
                out["U"],
                out.get("unit") or "",
                k=out["k"],
                coverage_probability=out["coverage_probability"],
            )
            lines.append(f"  reported (ILAC P14): {name} = {reported}")
        if "second_order_variance" in out:
            lines.append("  (with the second-order terms of JCGM 100 5.1.2)")
        lines.append("")
    return lines


def _mc_lines(mc: dict[str, Any]) -> list[str]:
    lines = [f"Monte Carlo (JCGM 101): {mc['trials']} trials"
             + (" (adaptive)" if mc.get("adaptive") else "")
             + (f", seed {mc['seed']}" if "seed" in mc else "")]  # fmt: skip
    for name, out in mc["outputs"].items():
        unit = f" {out['unit']}" if out.get("unit") else ""
        low, high = out["interval"]
        warnings = out.get("warnings") or []
        if warnings:
            # No finite variance: the sample's spread is not a standard uncertainty.
            lines.append(f"  {name} = {_num(out['value'], 10)}{unit}   u: not meaningful "
                         "(no finite variance, see the warnings)")  # fmt: skip
        else:
            lines.append(
                f"  {name} = {_num(out['value'], 10)}{unit}   u = {_num(out['u'], 3)}{unit}"
            )
        lines.append(f"  {out['interval_type']} {100 * float(out['coverage_probability']):g} % "
                     f"interval [{_num(low, 10)}, {_num(high, 10)}]{unit}")  # fmt: skip
        for warning in warnings:
            lines.append(f"  warning: {warning}")
    lines.append("")
    return lines


def render_text(model: Model, result: dict[str, Any]) -> str:
    """Render the JSON object of an evaluation as text for a person."""
    title = model.name
    lines = [title, "=" * len(title), ""]
    method = result["method"]
    if method in ("gum", "both"):
        lines += _gum_lines(model, result if method == "gum" else result["gum"])
    if method in ("mc", "both"):
        lines += _mc_lines(result if method == "mc" else result["mc"])
    if method == "both":
        lines.append("Validation of the GUM interval by Monte Carlo (JCGM 101 §8)")
        for name, v in result["validation"].items():
            verdict = "validated" if v["valid"] else "NOT validated"
            lines.append(f"  {name}: d_low = {_num(v['d_low'], 2)}, d_high = "
                         f"{_num(v['d_high'], 2)}, tolerance = {_num(v['tolerance'], 2)}: "
                         f"{verdict}")  # fmt: skip
        lines.append("")
    return "\n".join(lines)
