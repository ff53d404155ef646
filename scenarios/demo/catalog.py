"""The demo's reference data and instruments: ``catalog.yaml`` and ``instruments.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from django.db.models import Model

from labserver.accounts.models import Organization, User
from labserver.instruments import services as instruments
from labserver.instruments.models import Instrument, InstrumentType, PatternApproval
from labserver.jobs import services as jobs
from labserver.jobs.models import Procedure
from procedures.definition import library, load_definition

from .reader import Value, Where, blame

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
class InstrumentSpec:
    """A customer's instrument at ``organization``, under test in the job of ``procedure``."""

    where: Where
    organization: str
    procedure: str
    type: str
    owner: str
    manufacturer: str
    model: str
    serial: str
    pattern: str | None
    specification: dict[str, Any]


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


def read_instruments(top: Value, catalog: Catalog, organizations: set[str]) -> list[InstrumentSpec]:
    """The instruments under test of the organization: one per procedure of the catalog."""
    f = top.fields(("organization", "instruments"))
    organization = f["organization"].one_of(organizations, "organization")
    found: dict[str, InstrumentSpec] = {}
    procedures = {pid for _, pid in catalog.procedures}
    types = {t.code for t in catalog.instrument_types}
    patterns = {p.number for p in catalog.patterns}
    for item in f["instruments"].items():
        i = item.fields(
            ("procedure", "type", "owner", "manufacturer", "model", "serial"),
            ("pattern", "specification"),
        )
        procedure = i["procedure"].one_of(procedures, "procedure in catalog.yaml")
        if procedure in found:
            i["procedure"].fail(f"a second instrument for procedure {procedure}")
        found[procedure] = InstrumentSpec(
            where=item.where,
            organization=organization,
            procedure=procedure,
            type=i["type"].one_of(types, "instrument type"),
            owner=i["owner"].one_of(organizations, "organization"),
            manufacturer=i["manufacturer"].text(),
            model=i["model"].text(),
            serial=i["serial"].text(),
            pattern=i["pattern"].one_of(patterns, "pattern approval") if "pattern" in i else None,
            specification=i["specification"].mapping() if "specification" in i else {},
        )
    return list(found.values())


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


def create_instruments(
    specs: list[InstrumentSpec],
    records: CatalogRecords,
    orgs: dict[str, Organization],
    actors: dict[str, User],
) -> dict[str, Instrument]:
    """Each instrument, registered by its organization's actor in ``actors``, by procedure."""
    found: dict[str, Instrument] = {}
    for spec in specs:
        with blame(spec.where):
            found[spec.procedure] = instruments.register_instrument(
                actor=actors[spec.organization],
                organization=orgs[spec.organization],
                owner=orgs[spec.owner],
                instrument_type=records.types[spec.type],
                manufacturer=spec.manufacturer,
                model=spec.model,
                serial=spec.serial,
                pattern=records.patterns[spec.pattern] if spec.pattern else None,
                specification=spec.specification,
            )
    return found
