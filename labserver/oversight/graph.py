"""The traceability chain laid out for the page: an SVG graph and the same content as rows.

Input is the chain exactly as :mod:`labserver.traceability.queries` answers it (nodes,
edges, breaks). Levels go left to right: the certificate or standard asked about, the
standards it used (their certificates in force), the standards those used, … up to the
national standard or the external laboratory, then the SI. A node sits in the column of
the deepest link that reaches it, so arrows point right (a cut cycle is the exception).
Every break carries its reason as text beside it and a "✕" label, never colour alone.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from uncertainty.display import number_text, uncertainty_text, unit_symbol

from .actions import certificate_status

NODE_W = 210
NODE_H = 74
COL_GAP = 250
ROW_PITCH = NODE_H + 100
MARGIN = 16
TOP = 76  # room for the labels above the first row's links
LINE = 14
LABEL_CHARS = 34
NODE_CHARS = 30


@dataclass
class Box:
    """A node drawn as a box: where, what it says (the full text in ``title``)."""

    id: str
    kind: str
    x: int
    y: int
    lines: list[str]
    title: str
    broken: bool = False
    reasons: list[str] = field(default_factory=list)
    link: str | None = None

    @property
    def text_x(self) -> int:
        return self.x + 8

    @property
    def text_rows(self) -> list[tuple[int, str]]:
        return [(self.y + 18 + i * 16, line) for i, line in enumerate(self.lines)]

    @property
    def reason_rows(self) -> list[tuple[int, str]]:
        return [(self.y + NODE_H + 16 + i * LINE, line) for i, line in enumerate(self.reasons)]


@dataclass
class Arrow:
    """A link drawn as a curve from one box to the next, its label at the middle."""

    path: str
    x: int
    y: int
    lines: list[str]
    broken: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def label_rows(self) -> list[tuple[int, str]]:
        """What the link is, above its middle; why it is a break, below (clear of the line)."""
        top = self.y - 6 - (len(self.lines) - 1) * LINE
        above = [(top + i * LINE, line) for i, line in enumerate(self.lines)]
        return above + [(self.y + 16 + i * LINE, line) for i, line in enumerate(self.reasons)]


@dataclass
class Drawing:
    width: int
    height: int
    boxes: list[Box]
    arrows: list[Arrow]
    node_w: int = NODE_W
    node_h: int = NODE_H


def _cut(text: str, size: int = NODE_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _num(value: Any) -> str:
    """A number given (a nominal, a range's end, k) as it was written, never an exponent."""
    return number_text(value) if isinstance(value, int | float) else str(value)


def describe_range(edge: dict[str, Any]) -> str:
    """``dcv 0–10 V``: the function and range a link used (what was recorded of it)."""
    parts = [edge.get("function") or ""]
    low, high = edge.get("range_low"), edge.get("range_high")
    unit = unit_symbol(edge.get("unit") or "")
    if low is not None and high is not None:
        parts.append(f"{_num(low)}–{_num(high)} {unit}".strip())
    elif unit:
        parts.append(unit)
    return " ".join(p for p in parts if p)


def describe_uncertainty(value: dict[str, Any]) -> str:
    """``10 V: U = 0.0000020 V (k = 2)``: one calibrated value of the certificate in force."""
    unit = unit_symbol(value.get("unit") or "")
    expanded = value.get("U")
    text = _("U = %(U)s %(unit)s (k = %(k)s)") % {
        # two significant digits (ILAC P14), as the certificates write it
        "U": uncertainty_text(expanded) if isinstance(expanded, int | float) else _num(expanded),
        "unit": unit,
        "k": _num(value.get("k")),
    }
    if value.get("nominal") is not None:
        text = f"{_num(value['nominal'])} {unit}: {text}"
    return text


def node_title(node: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> list[str]:
    """What a node says, first line first (untruncated)."""
    kind = node["kind"]
    if kind == "issued_certificate":
        return [
            node["number"],
            _("issued certificate, %(status)s")
            % {"status": certificate_status(str(node.get("status", "")))},
            node.get("organization", ""),
        ]
    if kind == "standard":
        return [node["asset_id"], node.get("name", ""), node.get("organization", "")]
    if kind == "standard_certificate":
        standard = nodes.get(node["standard"], {})
        lab = node.get("issuing_lab") or ""
        if node.get("accreditation"):
            lab = f"{lab} ({node['accreditation']})"
        top = {
            "external": _("external laboratory"),
            "national": _("national standard"),
            "undocumented": _("not documented"),
            "other_organization": _("calibrated by another organization"),
        }.get(node.get("top") or "", "")
        if not top and node.get("internal"):
            top = _("in-house")
        second = standard.get("asset_id", "")
        if top:
            second = f"{second} · {top}"
        return [node["number"], second, lab, _("due %(date)s") % {"date": node.get("due_on")}]
    if kind == "other_standard":
        # named as its organization's registry names it: no record of this node stands behind
        return [
            node["asset_id"],
            _("standard of another organization: %(code)s") % {"code": node["organization"]},
            _("its certificate %(number)s") % {"number": node["number"]},
        ]
    return [_("SI"), _("International System of Units")]


def node_breaks(chain: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in chain["breaks"]:
        if "node" in item:
            found.setdefault(item["node"], []).extend(item["reasons"])
    return found


def draw(chain: dict[str, Any], links: dict[str, str] | None = None) -> Drawing:
    """Lay the chain out in columns; ``links`` maps node ids to page URLs."""
    everything = {n["id"]: n for n in chain["nodes"]}
    # a standard is drawn only where a link ends at it (no certificate in force): elsewhere
    # its certificate's box names it
    ends = {chain["root"]} | {e["from"] for e in chain["edges"]} | {e["to"] for e in chain["edges"]}
    nodes = {k: n for k, n in everything.items() if k in ends}
    column: dict[str, int] = {chain["root"]: 0}
    for edge in chain["edges"]:
        column[edge["to"]] = max(column.get(edge["to"], 0), int(edge["depth"]))
    for node_id in nodes:
        column.setdefault(node_id, 0)
    parents: dict[str, list[str]] = {}
    for edge in chain["edges"]:
        parents.setdefault(edge["to"], []).append(edge["from"])
    # columns left to right; within one, a node near the middle of the boxes that point to it
    row: dict[str, float] = {}
    order = list(nodes)
    for col in range(max(column.values()) + 1):
        here = [n for n in order if column[n] == col]
        here.sort(
            key=lambda n: (
                sum(row.get(p, 0) for p in parents.get(n, [])) / max(len(parents.get(n, [])), 1),
                order.index(n),
            )
        )
        for i, node_id in enumerate(here):
            row[node_id] = i
    broken_nodes = node_breaks(chain)
    boxes: dict[str, Box] = {}
    for node_id, node in nodes.items():
        full = [line for line in node_title(node, everything) if line]
        reasons = [
            line
            for reason in broken_nodes.get(node_id, [])
            for line in textwrap.wrap("✕ " + reason, LABEL_CHARS)
        ]
        boxes[node_id] = Box(
            id=node_id,
            kind=node["kind"],
            x=MARGIN + column[node_id] * (NODE_W + COL_GAP),
            y=TOP + int(row[node_id]) * ROW_PITCH,
            lines=[_cut(line) for line in full[:4]],
            title=" — ".join(full),
            broken=bool(reasons),
            reasons=reasons,
            link=(links or {}).get(node_id),
        )
    arrows = []
    for edge in chain["edges"]:
        a, b = boxes[edge["from"]], boxes[edge["to"]]
        x1, y1 = a.x + NODE_W, a.y + NODE_H // 2
        x2, y2 = b.x, b.y + NODE_H // 2
        if x2 <= x1:  # a cut cycle points back: go round below
            x2, y2 = b.x + NODE_W // 2, b.y + NODE_H
        mid = (x1 + x2) // 2
        lines = []
        if edge["kind"] == "used":
            lines.append(describe_range(edge))
            lines.append(_("used %(date)s") % {"date": edge["used_on"]})
            values = edge.get("uncertainty") or []
            if values:
                first = describe_uncertainty(values[0])
                if len(values) > 1:
                    first += " " + _("(+%(n)s more)") % {"n": len(values) - 1}
                lines.append(first)
            lines.append("✓ " + _("valid") if edge["valid"] else "✕ " + _("BREAK"))
        elif edge["kind"] == "calibrated_by":
            lines.append(_("calibrated %(date)s") % {"date": edge["used_on"]})
        reasons = [line for r in edge["reasons"] for line in textwrap.wrap(r, LABEL_CHARS)]
        arrows.append(
            Arrow(
                path=f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}",
                x=mid,
                y=(y1 + y2) // 2,
                lines=[_cut(line, LABEL_CHARS + 4) for line in lines if line],
                broken=not edge["valid"],
                reasons=reasons,
            )
        )
    width = MARGIN * 2 + (max(column.values()) + 1) * (NODE_W + COL_GAP) - COL_GAP
    height = TOP + (int(max(row.values())) + 1) * ROW_PITCH
    return Drawing(width=width, height=height, boxes=list(boxes.values()), arrows=arrows)


def table_rows(chain: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per link, level by level from the certificate up to the SI (a level's links
    to the SI after its other links): what relied on what, and whether it held."""
    nodes = {n["id"]: n for n in chain["nodes"]}

    def name(node_id: str) -> str:
        node = nodes[node_id]
        return str(node.get("number") or node.get("asset_id") or node.get("name") or node_id)

    rows = []
    ordered = sorted(chain["edges"], key=lambda e: (e["depth"], e["kind"] == "traceable_to"))
    for edge in ordered:
        target = nodes[edge["to"]]
        if edge["kind"] == "traceable_to":
            source = nodes[edge["from"]]
            rows.append(
                {
                    "to": edge["to"],
                    "depth": edge["depth"],
                    "from": name(edge["from"]),
                    "standard": "",
                    "certificate": _("International System of Units (SI)"),
                    "laboratory": " ".join(
                        p for p in (source.get("issuing_lab"), source.get("accreditation")) if p
                    ),
                    "used_on": "",
                    "range": "",
                    "uncertainty": [],
                    "due_on": "",
                    "valid": True,
                    "reasons": [],
                }
            )
            continue
        if edge["kind"] == "calibrated_by":
            rows.append(_calibrated_by_row(edge, name(edge["from"]), target))
            continue
        standard = nodes[edge["standard"]]
        certificate = target if target["kind"] == "standard_certificate" else {}
        rows.append(
            {
                "to": edge["to"],
                "depth": edge["depth"],
                "from": name(edge["from"]),
                "standard": f"{standard['asset_id']} — {standard.get('name', '')} "
                f"({standard.get('organization', '')})",
                "certificate": certificate.get("number") or _("none"),
                "laboratory": " ".join(
                    p
                    for p in (
                        certificate.get("issuing_lab"),
                        certificate.get("accreditation"),
                        f"({_('in-house')})" if certificate.get("internal") else "",
                    )
                    if p
                ),
                "used_on": edge["used_on"],
                "range": describe_range(edge),
                "uncertainty": [describe_uncertainty(v) for v in edge.get("uncertainty") or []],
                "due_on": certificate.get("due_on") or "",
                "valid": edge["valid"],
                "reasons": edge["reasons"],
            }
        )
    return rows


def _calibrated_by_row(
    edge: dict[str, Any], calibrated: str, other: dict[str, Any]
) -> dict[str, Any]:
    """The row of a certificate calibrated by another organization's standard: that
    standard and its certificate as recorded, the rest of the chain in that organization's
    records."""
    return {
        "to": edge["to"],
        "depth": edge["depth"],
        "from": calibrated,
        "standard": _("%(asset)s (%(code)s): standard of another organization")
        % {"asset": other["asset_id"], "code": other["organization"]},
        "certificate": other["number"],
        "laboratory": _("%(code)s: the chain goes on in its own records")
        % {"code": other["organization"]},
        "used_on": edge["used_on"],
        "range": "",
        "uncertainty": [],
        "due_on": "",
        "valid": True,
        "reasons": [],
    }


def hashes(chain: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, file, SHA-256) of every document that ties the chain."""
    out = []
    for node in chain["nodes"]:
        if node["kind"] == "issued_certificate":
            out.append((node["number"], "PDF", node.get("pdf_sha256") or ""))
            out.append((node["number"], "DCC", node.get("dcc_sha256") or ""))
        elif node["kind"] == "standard_certificate":
            out.append((node["number"], _("certificate file"), node.get("sha256") or ""))
    return out
