"""The demo's instruments under test: ``instruments.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labserver.accounts.models import Organization, User
from labserver.instruments import services as instruments
from labserver.instruments.models import Instrument

from .catalog import Catalog, CatalogRecords
from .reader import Value
from .where import Where, blame


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
