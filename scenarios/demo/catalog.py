"""The demo's national reference data: ``catalog.yaml`` (instrument types, patterns, procedures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from django.db.models import Model

from labserver.instruments.models import InstrumentType, PatternApproval
from labserver.jobs import services as jobs
from labserver.jobs.models import Procedure
from procedures.definition import library, load_definition

from .reader import Value
from .where import Where, blame

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class InstrumentTypeSpec:
    where: Where
    code: str
    name: str
    name_vi: str
    field: str
    legal_category: str
    verification_interval_months: int | None


@dataclass(frozen=True)
class PatternSpec:
    where: Where
    number: str
    instrument_type: str
    manufacturer: str
    model: str
    approved_on: date


@dataclass(frozen=True)
class Catalog:
    instrument_types: list[InstrumentTypeSpec]
    patterns: list[PatternSpec]
    procedures: list[tuple[Where, str]]


@dataclass(frozen=True)
class CatalogRecords:
    types: dict[str, InstrumentType]
    patterns: dict[str, PatternApproval]
    procedures: dict[str, Procedure]


def read_catalog(top: Value) -> Catalog:
    """Instrument types, approved patterns (of a type above) and shipped procedure ids."""
    f = top.fields(("instrument_types", "pattern_approvals", "procedures"))
    types: list[InstrumentTypeSpec] = []
    for item in f["instrument_types"].items():
        t = item.fields(
            ("code", "name", "name_vi", "field", "legal_category"),
            ("verification_interval_months",),
        )
        months = t.get("verification_interval_months")
        types.append(
            InstrumentTypeSpec(
                where=item.where,
                code=t["code"].text(),
                name=t["name"].text(),
                name_vi=t["name_vi"].text(),
                field=t["field"].text(),
                legal_category=t["legal_category"].text(),
                verification_interval_months=months.integer() if months else None,
            )
        )
    patterns: list[PatternSpec] = []
    for item in f["pattern_approvals"].items():
        p = item.fields(("number", "instrument_type", "manufacturer", "model", "approved_on"))
        patterns.append(
            PatternSpec(
                where=item.where,
                number=p["number"].text(),
                instrument_type=p["instrument_type"].one_of({t.code for t in types}, "type"),
                manufacturer=p["manufacturer"].text(),
                model=p["model"].text(),
                approved_on=p["approved_on"].day(),
            )
        )
    shipped = library()
    procedures = [
        (item.where, item.one_of(shipped, "shipped procedure")) for item in f["procedures"].items()
    ]
    return Catalog(types, patterns, procedures)


def create_catalog(catalog: Catalog) -> CatalogRecords:
    """The instrument types and patterns (reference data, checked by the models' own
    validation), then each procedure registered from its shipped file."""
    types = {
        t.code: _saved(
            InstrumentType(
                code=t.code,
                name=t.name,
                name_vi=t.name_vi,
                field=t.field,
                legal_category=t.legal_category,
                verification_interval_months=t.verification_interval_months,
            ),
            t.where,
        )
        for t in catalog.instrument_types
    }
    patterns = {
        p.number: _saved(
            PatternApproval(
                number=p.number,
                instrument_type=types[p.instrument_type],
                manufacturer=p.manufacturer,
                model=p.model,
                approved_on=p.approved_on,
            ),
            p.where,
        )
        for p in catalog.patterns
    }
    shipped = library()
    procedures: dict[str, Procedure] = {}
    for where, pid in catalog.procedures:
        definition = load_definition(shipped[pid])
        with blame(where):
            procedures[pid] = jobs.register_procedure(actor=None, definition=dict(definition.data))
    return CatalogRecords(types, patterns, procedures)


def _saved(row: M, where: Where) -> M:
    """``row`` saved once its model's validation passes (what fails reported at ``where``)."""
    with blame(where):
        row.full_clean()
    row.save()
    return row
