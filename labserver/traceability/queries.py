"""The chain view and the reverse trace, each one recursive CTE in portable SQL.

Both run unchanged on PostgreSQL and SQLite (``WITH RECURSIVE``, ``CAST``, ``||``,
``COUNT(*) OVER ()``); the only vendor difference is how a date parameter is typed.

**Chain view** (:func:`chain_of_certificate`, :func:`chain_of_standard`), upwards. The
seed is the run's standard usages (issued certificate) or the standard with its
certificate in force on a date. Each step follows ``StandardLink`` from a standard
certificate to the standards that calibrated it, with the certificate each had in force
then (pinned when the link was recorded). A row carries the path of certificate ids
seen so far: a certificate already on the path is a cycle and is not followed; the
depth stops at :data:`MAX_DEPTH`. The same query computes, per link, whether it was
valid at the time of use (certificate missing or overdue, standard out of tolerance or
retired); the reasons are worded right after it in Python. The top of a chain is a
national standard's certificate or an external laboratory's certificate (issuing lab,
accreditation, number), then the SI; an internal certificate of a lower standard that
names no reference standards is a break ("not documented").

**Reverse trace** (:func:`impact`), downwards, with the date range applied first. The
recursion runs over ``(standard, certificate, validity window)``: the seed is the
standard over ``[from, to]``; each step takes the links that used a tainted standard
within its window (index ``link_standard_date_idx`` on ``(standard, used_on)``), and
the certificates they produced taint *their* standard over the window in which that
certificate was in force: from its ``calibrated_on`` until the next certificate of the
same standard was calibrated (index ``stdcert_standard_cal_idx``), open-ended when
there is none — a use after the due date still relied on it (and is a break in its own
chain). ``UNION`` removes repeated rows, so the recursion ends on cycles by
:data:`MAX_DEPTH` at the latest. Only then are run usages joined by
``(standard, used_on within the window)`` and the issued certificates by run, both from
covering indexes (``usage_standard_date_cover_idx`` on the usage's standard, date, run,
function, unit and range; ``cert_run_org_idx`` on the certificate's run, organization and
id): on PostgreSQL, index-only scans that read no table page per use, which at two million
certificates made the reverse trace of a mid-level standard over a year 2 to 3 times
faster. Results are grouped to the smallest depth per row, counted with a window
function and cut to one page in the same statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.utils.translation import gettext

from labserver.issuance.models import Certificate
from labserver.issuance.services import certificate_state
from labserver.measurements.models import StandardUsage
from labserver.standards.models import ReferenceStandard, StandardCertificate, StandardLink
from labserver.standards.values import readable_values

MAX_DEPTH = 20
FOREVER = date(9999, 12, 31)
SI_NODE = {"id": "si", "kind": "si", "name": "International System of Units (SI)"}


def _tables() -> dict[str, str]:
    qn = connection.ops.quote_name
    return {
        "link": qn(StandardLink._meta.db_table),
        "usage": qn(StandardUsage._meta.db_table),
        "cert": qn(StandardCertificate._meta.db_table),
        "std": qn(ReferenceStandard._meta.db_table),
        "issued": qn(Certificate._meta.db_table),
        "org": qn("accounts_organization"),
    }


def _date_param() -> str:
    # PostgreSQL must know a bare parameter is a date in a CTE's first term; SQLite keeps
    # dates as ISO text (its CAST AS DATE would turn them into numbers).
    return "CAST(%s AS DATE)" if connection.vendor == "postgresql" else "%s"


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------------------- chain view

_CHAIN_STEP = """
    SELECT ch.depth + 1, ch.certificate_id, l.standard_id, l.upstream_certificate_id,
           l.used_on, l.function, l.range_low, l.range_high, l.unit,
           ch.path || CAST(COALESCE(l.upstream_certificate_id, 0) AS VARCHAR(20)) || ',',
           CASE WHEN l.upstream_certificate_id IS NOT NULL AND ch.path LIKE
                     '%%,' || CAST(l.upstream_certificate_id AS VARCHAR(20)) || ',%%'
                THEN 1 ELSE 0 END
      FROM chain ch JOIN {link} l ON l.certificate_id = ch.certificate_id
     WHERE ch.cycle = 0 AND ch.depth < %s
"""

_CHAIN_SELECT = """
SELECT ch.depth, ch.from_certificate_id, ch.standard_id, ch.certificate_id, ch.used_on,
       ch.function, ch.range_low, ch.range_high, ch.unit, ch.cycle,
       s.asset_id, s.name, s.level, o.code, s.out_of_tolerance_since, s.retired_on,
       c.number, c.internal, c.issuing_lab, c.accreditation, c.calibrated_on, c.issued_on,
       c.due_on, c.sha256, c.{values},
       c.calibrated_with_owner, c.calibrated_with_standard, c.calibrated_with_certificate,
       CASE WHEN c.id IS NULL THEN 1 ELSE 0 END,
       CASE WHEN c.due_on < ch.used_on THEN 1 ELSE 0 END,
       CASE WHEN s.out_of_tolerance_since <= ch.used_on THEN 1 ELSE 0 END,
       CASE WHEN s.retired_on <= ch.used_on THEN 1 ELSE 0 END,
       CASE WHEN EXISTS (SELECT 1 FROM {link} up WHERE up.certificate_id = ch.certificate_id)
            THEN 1 ELSE 0 END
  FROM chain ch
  JOIN {std} s ON s.id = ch.standard_id
  JOIN {org} o ON o.id = s.organization_id
  LEFT JOIN {cert} c ON c.id = ch.certificate_id
 ORDER BY ch.depth, ch.path, ch.standard_id
"""

_CHAIN_COLUMNS = (
    "chain(depth, from_certificate_id, standard_id, certificate_id, used_on, "
    "function, range_low, range_high, unit, path, cycle)"
)


def _chain_rows(seed: str, params: list[Any]) -> list[dict[str, Any]]:
    t = _tables()
    sql = (
        f"WITH RECURSIVE {_CHAIN_COLUMNS} AS ({seed} UNION ALL {_CHAIN_STEP.format(**t)}) "
        + _CHAIN_SELECT.format(values=connection.ops.quote_name("values"), **t)
    )
    names = [
        "depth",
        "from_certificate_id",
        "standard_id",
        "certificate_id",
        "used_on",
        "function",
        "range_low",
        "range_high",
        "unit",
        "cycle",
        "asset_id",
        "name",
        "level",
        "organization",
        "out_of_tolerance_since",
        "retired_on",
        "number",
        "internal",
        "issuing_lab",
        "accreditation",
        "calibrated_on",
        "issued_on",
        "due_on",
        "sha256",
        "values",
        "calibrated_with_owner",
        "calibrated_with_standard",
        "calibrated_with_certificate",
        "no_certificate",
        "overdue",
        "out_of_tolerance",
        "retired",
        "has_upstream",
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, MAX_DEPTH])
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def chain_of_certificate(certificate: Certificate) -> dict[str, Any]:
    """The chain of an issued certificate: its run's standards up to the SI."""
    t = _tables()
    seed = f"""
        SELECT 1, CAST(NULL AS BIGINT), u.standard_id, u.certificate_id, u.used_on,
               u.function, u.range_low, u.range_high, u.unit,
               ',' || CAST(u.certificate_id AS VARCHAR(20)) || ',', 0
          FROM {t["usage"]} u JOIN {t["issued"]} i ON i.run_id = u.run_id
         WHERE i.id = %s
    """
    rows = _chain_rows(seed, [certificate.pk])
    state = certificate_state(certificate)
    root = {
        "id": f"issued_certificate:{certificate.pk}",
        "kind": "issued_certificate",
        "number": certificate.number,
        "certificate_kind": certificate.kind,
        "organization": certificate.organization.code,
        "run": str(certificate.run_id),
        "issued_at": certificate.issued_at.isoformat(),
        "status": state.status,
        "pdf_sha256": certificate.pdf_sha256,
        "dcc_sha256": certificate.dcc_sha256,
    }
    graph = _graph(root, rows)
    if not rows:
        graph["breaks"].append(
            {
                "node": root["id"],
                "reasons": [
                    gettext("not documented: the run of %(number)s names no standards")
                    % {"number": certificate.number}
                ],
            }
        )
        graph["unbroken"] = False
    return graph


def chain_of_standard(standard: ReferenceStandard, on: date) -> dict[str, Any]:
    """The chain of a standard as it stood on ``on``: its certificate in force up to the SI."""
    t = _tables()
    d = _date_param()
    seed = f"""
        SELECT 1, CAST(NULL AS BIGINT), f.standard_id, f.certificate_id, {d},
               CAST('' AS VARCHAR(64)), CAST(NULL AS DOUBLE PRECISION),
               CAST(NULL AS DOUBLE PRECISION), CAST('' AS VARCHAR(32)),
               ',' || CAST(COALESCE(f.certificate_id, 0) AS VARCHAR(20)) || ',', 0
          FROM (SELECT s.id AS standard_id,
                       (SELECT c.id FROM {t["cert"]} c
                         WHERE c.standard_id = s.id AND c.calibrated_on <= {d}
                         ORDER BY c.calibrated_on DESC, c.id DESC LIMIT 1) AS certificate_id
                  FROM {t["std"]} s WHERE s.id = %s) f
    """
    rows = _chain_rows(seed, [on, on, standard.pk])
    root = {
        "id": f"standard:{standard.pk}",
        "kind": "standard",
        "asset_id": standard.asset_id,
        "name": standard.name,
        "level": standard.level,
        "organization": standard.organization.code,
        "on": on.isoformat(),
    }
    return _graph(root, rows)


def _uncertainty(values: Any, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The certificate's calibrated values that the use covered (its unit and range), or all."""
    out = []
    for v in readable_values(values):
        if row["unit"] and v.get("unit") != row["unit"]:
            continue
        nominal = v.get("nominal")
        if isinstance(nominal, int | float):
            if row["range_low"] is not None and nominal < row["range_low"]:
                continue
            if row["range_high"] is not None and nominal > row["range_high"]:
                continue
        out.append(
            {
                key: v.get(key)
                for key in (
                    "quantity",
                    "nominal",
                    "value",
                    "unit",
                    "U",
                    "k",
                    "coverage_probability",
                )
            }
        )
    return out


def _reasons(row: dict[str, Any], used_on: date) -> list[str]:
    reasons = []
    if row["retired"]:
        reasons.append(
            gettext("retired: %(asset)s was retired on %(day)s")
            % {"asset": row["asset_id"], "day": _as_date(row["retired_on"])}
        )
    if row["out_of_tolerance"]:
        since = _as_date(row["out_of_tolerance_since"])
        reasons.append(
            gettext("out of tolerance: %(asset)s out of tolerance since %(day)s")
            % {"asset": row["asset_id"], "day": since}
        )
    if row["no_certificate"]:
        reasons.append(
            gettext("no certificate: %(asset)s had no calibration certificate on %(day)s")
            % {"asset": row["asset_id"], "day": used_on}
        )
    elif row["overdue"]:
        reasons.append(
            gettext(
                "overdue: certificate %(number)s of %(asset)s was due on %(due)s, used on %(day)s"
            )
            % {
                "number": row["number"],
                "asset": row["asset_id"],
                "due": _as_date(row["due_on"]),
                "day": used_on,
            }
        )
    if row["cycle"]:
        reasons.append(
            gettext("cycle: certificate %(number)s is already in this chain")
            % {"number": row["number"]}
        )
    return reasons


def _other_standard(row: dict[str, Any]) -> dict[str, Any]:
    """The node of another organization's standard that calibrated the row's certificate:
    named as that organization's registry names it, never as a record of this database."""
    owner, asset = row["calibrated_with_owner"], row["calibrated_with_standard"]
    return {
        "id": f"other_standard:{owner}/{asset}",
        "kind": "other_standard",
        "organization": owner,
        "asset_id": asset,
        "number": row["calibrated_with_certificate"],
    }


def _calibrated_elsewhere(row: dict[str, Any], target: str) -> dict[str, Any] | None:
    """The link from the row's certificate to the standard of another organization that
    calibrated it, or ``None`` when none did."""
    if not row["calibrated_with_owner"]:
        return None
    other = _other_standard(row)["id"]
    return {
        "from": target,
        "to": other,
        "kind": "calibrated_by",
        "depth": row["depth"] + 1,
        "standard": other,
        "certificate": row["calibrated_with_certificate"],
        "used_on": _iso(row["calibrated_on"]),
        "valid": True,
        "reasons": [],
    }


def _graph(root: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    nodes: dict[str, dict[str, Any]] = {root["id"]: root}
    edges: dict[tuple[Any, ...], dict[str, Any]] = {}
    breaks: list[dict[str, Any]] = []
    truncated = False
    for row in rows:
        used_on = _as_date(row["used_on"])
        assert used_on is not None
        std_id = f"standard:{row['standard_id']}"
        nodes.setdefault(
            std_id,
            {
                "id": std_id,
                "kind": "standard",
                "asset_id": row["asset_id"],
                "name": row["name"],
                "level": row["level"],
                "organization": row["organization"],
                "out_of_tolerance_since": _iso(row["out_of_tolerance_since"]),
                "retired_on": _iso(row["retired_on"]),
            },
        )
        target = std_id
        if row["certificate_id"] is not None:
            target = f"standard_certificate:{row['certificate_id']}"
            if target not in nodes:
                top = None
                elsewhere = _calibrated_elsewhere(row, target)
                if elsewhere is not None:
                    nodes.setdefault(elsewhere["to"], _other_standard(row))
                    edges[(target, elsewhere["to"])] = elsewhere
                if not row["has_upstream"]:
                    if elsewhere is not None:
                        # the chain goes on in that organization's own records, on its node
                        top = "other_organization"
                    elif not row["internal"]:
                        top = "external"
                    elif row["level"] == ReferenceStandard.Level.NATIONAL:
                        top = "national"
                    else:
                        top = "undocumented"
                nodes[target] = {
                    "id": target,
                    "kind": "standard_certificate",
                    "standard": std_id,
                    "number": row["number"],
                    "internal": bool(row["internal"]),
                    "issuing_lab": row["issuing_lab"],
                    "accreditation": row["accreditation"],
                    "calibrated_on": _iso(row["calibrated_on"]),
                    "issued_on": _iso(row["issued_on"]),
                    "due_on": _iso(row["due_on"]),
                    "sha256": row["sha256"],
                    "top": top,
                }
                if top in ("external", "national"):
                    edges[(target, "si")] = {
                        "from": target,
                        "to": "si",
                        "kind": "traceable_to",
                        "depth": row["depth"] + 1,
                        "valid": True,
                        "reasons": [],
                    }
                    nodes.setdefault("si", dict(SI_NODE))
                elif top == "undocumented":
                    breaks.append(
                        {
                            "node": target,
                            "reasons": [
                                gettext(
                                    "not documented: internal certificate %(number)s of "
                                    "%(asset)s names no reference standards"
                                )
                                % {"number": row["number"], "asset": row["asset_id"]}
                            ],
                        }
                    )
                if row["has_upstream"] and row["depth"] >= MAX_DEPTH:
                    truncated = True
                    breaks.append(
                        {
                            "node": target,
                            "reasons": [
                                gettext("too deep: the chain is not followed past %(depth)s")
                                % {"depth": MAX_DEPTH}
                            ],
                        }
                    )
        source = (
            root["id"]
            if row["from_certificate_id"] is None
            else f"standard_certificate:{row['from_certificate_id']}"
        )
        key = (source, target, std_id, used_on, row["function"], row["unit"])
        if key in edges:
            continue
        reasons = _reasons(row, used_on)
        edge = {
            "from": source,
            "to": target,
            "kind": "used",
            "depth": row["depth"],
            "standard": std_id,
            "certificate": target if row["certificate_id"] is not None else None,
            "used_on": used_on.isoformat(),
            "function": row["function"] or None,
            "range_low": row["range_low"],
            "range_high": row["range_high"],
            "unit": row["unit"] or None,
            "uncertainty": _uncertainty(row["values"], row),
            "valid": not reasons,
            "reasons": reasons,
        }
        edges[key] = edge
        if reasons:
            breaks.append({"edge": [source, target], "reasons": reasons})
    return {
        "root": root["id"],
        "nodes": list(nodes.values()),
        "edges": list(edges.values()),
        "breaks": breaks,
        "unbroken": not breaks,
        "truncated": truncated,
        "max_depth": MAX_DEPTH,
    }


def _iso(value: Any) -> str | None:
    when = _as_date(value)
    return when.isoformat() if when else None


# ------------------------------------------------------------------------- reverse trace

_IMPACT = """
WITH RECURSIVE tainted(standard_id, certificate_id, win_from, win_to, depth) AS (
    SELECT s.id, CAST(NULL AS BIGINT), {d}, {d}, 0 FROM {std} s WHERE s.id = %s
  UNION
    SELECT c.standard_id, c.id, c.calibrated_on,
           COALESCE((SELECT MIN(n.calibrated_on) FROM {cert} n
                      WHERE n.standard_id = c.standard_id
                        AND n.calibrated_on > c.calibrated_on), {d}),
           t.depth + 1
      FROM tainted t
      JOIN {link} l ON l.standard_id = t.standard_id
                   AND l.used_on >= t.win_from AND l.used_on < t.win_to
      JOIN {cert} c ON c.id = l.certificate_id
     WHERE t.depth < %s
),
hits(kind, item_id, run_id, via_standard_id, used_on, function, range_low, range_high,
     unit, depth) AS (
    SELECT 'standard_certificate', t.certificate_id, NULL, l.standard_id, l.used_on,
           l.function, l.range_low, l.range_high, l.unit, t.depth
      FROM tainted t
      JOIN {link} l ON l.certificate_id = t.certificate_id
      JOIN tainted p ON p.standard_id = l.standard_id AND p.depth = t.depth - 1
                    AND l.used_on >= p.win_from AND l.used_on < p.win_to
      JOIN {cert} c ON c.id = t.certificate_id
      JOIN {std} s ON s.id = c.standard_id
     WHERE t.depth >= 1 AND s.organization_id IN ({orgs})
  UNION ALL
    SELECT 'certificate', i.id, u.run_id, u.standard_id, u.used_on,
           u.function, u.range_low, u.range_high, u.unit, t.depth + 1
      FROM tainted t
      JOIN {usage} u ON u.standard_id = t.standard_id
                    AND u.used_on >= t.win_from AND u.used_on < t.win_to
      JOIN {issued} i ON i.run_id = u.run_id
     WHERE i.organization_id IN ({orgs})
),
grouped AS (
    SELECT kind, item_id, run_id, via_standard_id, used_on, function, range_low,
           range_high, unit, MIN(depth) AS depth
      FROM hits
     GROUP BY kind, item_id, run_id, via_standard_id, used_on, function, range_low,
              range_high, unit
)
SELECT kind, item_id, run_id, via_standard_id, used_on, function, range_low, range_high,
       unit, depth, COUNT(*) OVER () AS total
  FROM grouped
 ORDER BY depth, kind DESC, used_on, item_id, via_standard_id
"""

IMPACT_FIELDS = (
    "kind",
    "depth",
    "number",
    "status",
    "organization",
    "run",
    "standard",
    "used_on",
    "function",
    "range_low",
    "range_high",
    "unit",
    "id",
)


@dataclass
class ImpactPage:
    count: int
    rows: list[dict[str, Any]] = field(default_factory=list)


def _impact_raw(
    standard: ReferenceStandard,
    start: date,
    end: date,
    organization_ids: Iterable[int],
    limit: int | None,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    orgs = sorted(set(organization_ids))
    if not orgs:
        return 0, []
    t = _tables()
    marks = ", ".join(["%s"] * len(orgs))
    sql = _IMPACT.format(d=_date_param(), orgs=marks, **t)
    params: list[Any] = [start, end + timedelta(days=1), standard.pk, FOREVER, MAX_DEPTH]
    params += orgs + orgs
    if limit is not None:
        sql += " LIMIT %s OFFSET %s"
        params += [limit, offset]
    names = [
        "kind",
        "item_id",
        "run_id",
        "via_standard_id",
        "used_on",
        "function",
        "range_low",
        "range_high",
        "unit",
        "depth",
        "total",
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    total = rows[0]["total"] if rows else 0
    if not rows and offset:
        # past the last page: the count still answers
        total, _ = _impact_raw(standard, start, end, orgs, 1, 0)
    return total, rows


def _describe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The numbers, statuses and standards of one page of reverse-trace rows (3 queries)."""
    issued_ids = [r["item_id"] for r in rows if r["kind"] == "certificate"]
    cert_ids = [r["item_id"] for r in rows if r["kind"] == "standard_certificate"]
    issued = Certificate.objects.select_related("organization").prefetch_related("events")
    issued_by_id = issued.in_bulk(issued_ids)
    certs = StandardCertificate.objects.select_related("standard__organization").in_bulk(cert_ids)
    standards = ReferenceStandard.objects.in_bulk({r["via_standard_id"] for r in rows})
    out = []
    for r in rows:
        if r["kind"] == "certificate":
            c = issued_by_id[r["item_id"]]
            number, status, org = c.number, str(certificate_state(c).status), c.organization.code
        else:
            sc = certs[r["item_id"]]
            number, status, org = sc.number, "recorded", sc.standard.organization.code
        used_on = _as_date(r["used_on"])
        out.append(
            {
                "kind": r["kind"],
                "id": r["item_id"],
                "number": number,
                "status": status,
                "organization": org,
                "depth": r["depth"],
                "run": str(uuid.UUID(str(r["run_id"]))) if r["run_id"] is not None else None,
                "standard": standards[r["via_standard_id"]].asset_id,
                "used_on": used_on.isoformat() if used_on else None,
                "function": r["function"] or None,
                "range_low": r["range_low"],
                "range_high": r["range_high"],
                "unit": r["unit"] or None,
            }
        )
    return out


def impact(
    standard: ReferenceStandard,
    start: date,
    end: date,
    *,
    organization_ids: Iterable[int],
    limit: int | None = None,
    offset: int = 0,
) -> ImpactPage:
    """Everything that depends on ``standard``'s uses in ``[start, end]`` (both included):
    downstream standard certificates and issued certificates, at any depth, one row per use,
    only those of ``organization_ids``; one page of it when ``limit`` is given."""
    total, rows = _impact_raw(standard, start, end, organization_ids, limit, offset)
    return ImpactPage(count=total, rows=_describe(rows))


def impact_rows(
    standard: ReferenceStandard,
    start: date,
    end: date,
    *,
    organization_ids: Iterable[int],
    chunk: int = 500,
) -> Iterator[dict[str, Any]]:
    """All the rows of :func:`impact`, described a chunk at a time (for CSV streaming)."""
    _, rows = _impact_raw(standard, start, end, organization_ids, None, 0)
    for i in range(0, len(rows), chunk):
        yield from _describe(rows[i : i + chunk])
