"""What the reviewer checks before signing "I checked this run: its evidence…": each point's
readings as the instruments gave them, the reference values the bench bound from its
standards' certificates, the environment recorded, and the instrument I/O log.

All of it is what the LIMS stored at ingest (append-only, :mod:`labserver.measurements`),
never recomputed. Readings are written to the resolution the indicating instrument was read
to (:func:`uncertainty.display.indication_text`); a reading whose resolution is not on record
is written as measured, never to a guessed resolution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext_lazy

from labserver.core.errors import DomainError
from labserver.issuance.documents import indication_resolution
from labserver.jobs.models import parsed_procedure
from labserver.measurements.models import Point, Run, StandardUsage
from labserver.web.templatetags.names import quantity_name
from procedures.definition import ProcedureDefinition
from procedures.errors import ProcedureError
from procedures.record.run import STANDARD_ROLES
from procedures.register import register_resolution
from uncertainty.display import indication_text, number_text, result_texts, unit_symbol
from uncertainty.errors import UncertaintyError

IO_ENTRIES_PER_PAGE = 50

IO_DIRECTIONS = {
    "tx": gettext_lazy("sent"),
    "write": gettext_lazy("sent"),
    "rx": gettext_lazy("received"),
    "read": gettext_lazy("received"),
    "stale": gettext_lazy("discarded (resynchronising)"),
    "event": gettext_lazy("event"),
}


@dataclass(frozen=True)
class ReadingRow:
    index: int
    quantity: str
    value: str
    unit: str
    stable: bool | None
    taken_at: Any
    raw: str


@dataclass(frozen=True)
class ReferenceRow:
    quantity: str
    value: str
    U: str
    k: str
    unit: str
    standard: str
    certificate: str


@dataclass(frozen=True)
class PointEvidence:
    index: int
    test: str
    nominal: str
    unit: str
    readings: list[ReadingRow]
    references: list[ReferenceRow]
    unstable: int


def _text(value: Any) -> str:
    try:
        return number_text(float(value))
    except (TypeError, ValueError, UncertaintyError):
        return str(value) if value is not None else ""


def _registers(point: Point, definition: ProcedureDefinition | None) -> set[str]:
    """The readings of ``point`` that are a register's, whose resolution the procedure binds
    (``resolution_of_readings``): each is shown to the last digit the meter wrote."""
    test = next((t for t in definition.tests if t.id == point.test), None) if definition else None
    quantities = test.model.get("quantities") or {} if test is not None else {}
    return {
        str(name)
        for q in quantities.values()
        if isinstance(q, Mapping)
        for name in q.get("resolution_of_readings") or ()
    }


def _readings(point: Point, definition: ProcedureDefinition | None) -> list[ReadingRow]:
    """Every reading of ``point``; those of the indicating instrument to its resolution, a
    register's to the last digit the meter wrote."""
    resolutions: dict[str, float | None] = {}
    registers = _registers(point, definition)
    rows = []
    for reading in point.readings.all():
        resolution = None
        if reading.quantity in registers:
            try:
                resolution = float(register_resolution(reading.raw, reading.unit))
            except ProcedureError:
                resolution = None  # shown as read, never to a guessed resolution
        elif definition is not None and reading.quantity == point.readings_quantity:
            if reading.unit not in resolutions:
                resolutions[reading.unit] = indication_resolution(point, definition, reading.unit)
            resolution = resolutions[reading.unit]
        try:
            value = indication_text(reading.value, resolution)
        except UncertaintyError:
            value = _text(reading.value)
        rows.append(
            ReadingRow(
                index=reading.index,
                quantity=reading.quantity,
                value=value,
                unit=unit_symbol(reading.unit),
                stable=reading.stable,
                taken_at=reading.timestamp,
                raw=reading.raw,
            )
        )
    return rows


def _usage_for(role: str, quantity: str, usages: Sequence[StandardUsage]) -> StandardUsage | None:
    """The standard a run used in a procedure's ``role`` (a role of another name than the
    run's roles is ``reference``, as the runner names it), for ``quantity`` when several."""
    wanted = role if role in STANDARD_ROLES else "reference"
    matching = [u for u in usages if u.role == wanted]
    return next((u for u in matching if u.function == quantity), matching[0] if matching else None)


def _references(
    point: Point, definition: ProcedureDefinition | None, usages: Sequence[StandardUsage]
) -> list[ReferenceRow]:
    """The model's inputs bound from a standard's certificate (``certificate: ROLE`` in the
    procedure), with the value the bench bound and the standard and certificate it came from."""
    if definition is None:
        return []
    test = next((t for t in definition.tests if t.id == point.test), None)
    if test is None:
        return []
    bound = (point.model or {}).get("quantities") or {}
    rows = []
    for name, spec in (test.model.get("quantities") or {}).items():
        if not isinstance(spec, Mapping) or "certificate" not in spec:
            continue
        entry = bound.get(name)
        if not isinstance(entry, Mapping) or entry.get("value") is None:
            continue
        value, expanded = _text(entry["value"]), ""
        if entry.get("U") is not None:
            try:
                value, expanded = result_texts(float(entry["value"]), float(entry["U"]))
            except (TypeError, ValueError, UncertaintyError):
                expanded = _text(entry["U"])
        usage = _usage_for(str(spec["certificate"]), str(spec.get("quantity", "")), usages)
        rows.append(
            ReferenceRow(
                quantity=name,
                value=value,
                U=expanded,
                k=_text(entry.get("k")) if entry.get("k") is not None else "",
                unit=unit_symbol(str(entry.get("unit") or spec.get("unit") or "")),
                standard=f"{usage.standard.asset_id} — {usage.standard.name}" if usage else "",
                certificate=usage.certificate.number if usage else "",
            )
        )
    return rows


def point_evidence(run: Run, points: Sequence[Point]) -> list[PointEvidence]:
    """Per point: every reading with its stability flag, and the reference values."""
    try:
        definition: ProcedureDefinition | None = parsed_procedure(run.procedure)
    except DomainError:
        definition = None  # the readings are still shown, as measured
    usages = list(run.standard_usages.select_related("standard", "certificate"))
    out = []
    for point in points:
        readings = _readings(point, definition)
        out.append(
            PointEvidence(
                index=point.index,
                test=point.test,
                nominal=_text(point.nominal),
                unit=unit_symbol(point.unit),
                readings=readings,
                references=_references(point, definition, usages),
                unstable=sum(1 for r in readings if r.stable is False),
            )
        )
    return out


def _instant(text: str) -> datetime | None:
    """An entry's ISO 8601 time, if it is one with its offset (never a guessed zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def environment_rows(run: Run) -> list[dict[str, Any]]:
    """The environment as recorded: each quantity's value, the raw text and when it was read
    (``at``, the bench's ``timestamp`` when it is a time with its offset)."""
    out = []
    for name, entry in (run.environment or {}).items():
        row: dict[str, Any] = {"name": quantity_name(name), "value": ""}
        if isinstance(entry, Mapping):
            unit = unit_symbol(str(entry.get("unit") or ""))
            row["value"] = f"{_text(entry.get('value'))} {unit}".strip()
            row["raw"] = str(entry.get("raw") or "")
            row["at"] = _instant(str(entry.get("timestamp") or ""))
        elif entry is not None:
            row["value"] = str(entry)
        out.append(row)
    return out


def io_log_page(run: Run, number: Any) -> Page:  # type: ignore[type-arg]
    """One page of the run's instrument I/O log, oldest first, as the agent sent it.

    Each entry on the page is a dict of: ``n`` (its place in the log, from 1), ``t`` (the
    time as sent), ``at`` (that time, when it is one with its offset) and ``since`` (the
    seconds from the run's start to the millisecond, the order and spacing of the
    exchanges that a time to the second would hide), ``direction`` (translated),
    ``role``, ``address`` and ``data``."""
    entries = [
        {
            "n": n,
            "t": str(entry.get("t", "")),
            "at": (at := _instant(str(entry.get("t", "")))),
            "since": f"{(at - run.started_at).total_seconds():.3f} s" if at else "",
            "direction": str(IO_DIRECTIONS.get(str(entry.get("dir", "")), entry.get("dir", ""))),
            "role": str(entry.get("role", "")),
            "address": str(entry.get("address", "")),
            "data": str(entry.get("data", "")),
        }
        for n, entry in enumerate(run.raw_io or [], start=1)
        if isinstance(entry, Mapping)
    ]
    return Paginator(entries, IO_ENTRIES_PER_PAGE).get_page(number)
