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
    """A customer's instrument at ``organization``, under test in the job of ``procedure``;
    ``bench``: the bench with positions where it is mounted (its job is on that bench),
    None for the instrument of ``procedure``'s own bench."""

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
    bench: str | None = None


def read_instruments(top: Value, catalog: Catalog, organizations: set[str]) -> list[InstrumentSpec]:
    """The instruments under test of the organization: one per procedure of the catalog,
    and those mounted at the positions of a bench (``bench:``), each serial once."""
    f = top.fields(("organization", "instruments"))
    organization = f["organization"].one_of(organizations, "organization")
    found: dict[str, InstrumentSpec] = {}
    mounted: list[InstrumentSpec] = []
    serials: set[str] = set()
    procedures = {pid for _, pid in catalog.procedures}
    types = {t.code for t in catalog.instrument_types}
    patterns = {p.number for p in catalog.patterns}
    for item in f["instruments"].items():
        i = item.fields(
            ("procedure", "type", "owner", "manufacturer", "model", "serial"),
            ("pattern", "specification", "bench"),
        )
        procedure = i["procedure"].one_of(procedures, "procedure in catalog.yaml")
        serial = i["serial"].text()
        if serial in serials:
            i["serial"].fail(f"instrument {serial} is registered once")
        serials.add(serial)
        if "bench" not in i and procedure in found:
            i["procedure"].fail(f"a second instrument for procedure {procedure}")
        spec = InstrumentSpec(
            where=item.where,
            organization=organization,
            procedure=procedure,
            type=i["type"].one_of(types, "instrument type"),
            owner=i["owner"].one_of(organizations, "organization"),
            manufacturer=i["manufacturer"].text(),
            model=i["model"].text(),
            serial=serial,
            pattern=i["pattern"].one_of(patterns, "pattern approval") if "pattern" in i else None,
            specification=i["specification"].mapping() if "specification" in i else {},
            bench=i["bench"].text() if "bench" in i else None,
        )
        if spec.bench is None:
            found[procedure] = spec
        else:
            mounted.append(spec)
    return [*found.values(), *mounted]


def create_instruments(
    specs: list[InstrumentSpec],
    records: CatalogRecords,
    orgs: dict[str, Organization],
    actors: dict[str, User],
) -> dict[str, Instrument]:
    """Each instrument, registered by its organization's actor in ``actors``, by serial."""
    found: dict[str, Instrument] = {}
    for spec in specs:
        with blame(spec.where):
            found[spec.serial] = instruments.register_instrument(
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
