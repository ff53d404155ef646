"""The demo data set as this folder's YAML files declare it, read and checked.

:func:`read_demo` reads ``organizations.yaml``, ``people.yaml``, ``catalog.yaml``,
``standards.yaml``, ``instruments.yaml`` and ``benches.yaml`` (each file's comments give
its format) into :class:`DemoData`: typed records, each with the place it was written.
The shape of every file and every reference between them (a parent, an owner, a
procedure, a pattern, a standard used, a bench's standard, the people who register the
records) are checked before anything is created; a mistake raises
:class:`~scenarios.demo.where.DemoDataError` naming the file, the line and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .benches import Benches, read_benches
from .catalog import Catalog, read_catalog
from .instruments import InstrumentSpec, read_instruments
from .organizations import OrganizationSpec, PersonSpec, read_organizations, read_people
from .reader import read_yaml
from .standards import StandardSpec, read_standards
from .where import Where

DATA_DIR = Path(__file__).resolve().parent
"""The folder of the demo's YAML files."""

REGISTRAR = "quality_manager"
"""The role of the person who registers an organization's standards, instruments, agents."""


@dataclass(frozen=True)
class DemoData:
    organizations: list[OrganizationSpec]
    people: list[PersonSpec]
    catalog: Catalog
    standards: list[StandardSpec]
    instruments: list[InstrumentSpec]
    benches: Benches

    @property
    def marker(self) -> str:
        """The code of the first organization: while it exists, the demo is loaded."""
        return self.organizations[0].code

    def registrars(self) -> dict[str, str]:
        """The username of each organization's registrar, by organization code."""
        return {p.organization: p.username for p in self.people if p.role == REGISTRAR}


def read_demo(folder: Path = DATA_DIR) -> DemoData:
    """The demo data set declared in ``folder``, checked."""
    organizations = read_organizations(read_yaml(folder / "organizations.yaml"))
    codes = {o.code for o in organizations}
    people = read_people(read_yaml(folder / "people.yaml"), codes)
    catalog = read_catalog(read_yaml(folder / "catalog.yaml"))
    standards = read_standards(read_yaml(folder / "standards.yaml"), organizations)
    instruments = read_instruments(read_yaml(folder / "instruments.yaml"), catalog, codes)
    benches = read_benches(
        read_yaml(folder / "benches.yaml"),
        codes,
        standards,
        instruments,
        {p.username for p in people},
    )
    data = DemoData(organizations, people, catalog, standards, instruments, benches)
    registrars = data.registrars()
    registered: list[tuple[Where, str]] = [
        *((s.where, s.organization) for s in standards),
        *((i.where, i.organization) for i in instruments),
        *((a.where, a.organization) for a in benches.agents),
        *((b.where, b.organization) for b in benches.benches),
    ]
    for where, organization in registered:
        if organization not in registrars:
            raise where.error(f"{organization} has no {REGISTRAR} in people.yaml to register this")
    return data
