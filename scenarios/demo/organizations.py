"""The demo's organizations and people: ``organizations.yaml`` and ``people.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from labserver.accounts import services as accounts
from labserver.accounts.models import Organization, User

from .reader import Value, optional
from .where import Where, blame

# Every demo person's password, printed by ``manage.py loaddemo``: DEMO ONLY.
DEMO_PASSWORD = "demo-only-password"


@dataclass(frozen=True)
class OrganizationSpec:
    where: Where
    code: str
    name: str
    kind: str
    parent: str | None
    accreditation: str
    region: str
    address: str


@dataclass(frozen=True)
class PersonSpec:
    where: Where
    username: str
    full_name: str
    organization: str
    role: str
    fields: tuple[str, ...]
    certificate_number: str


def read_organizations(top: Value) -> list[OrganizationSpec]:
    """The organizations in order; a parent must be declared before its children."""
    found: dict[str, OrganizationSpec] = {}
    for item in top.fields(("organizations",))["organizations"].items():
        f = item.fields(("code", "name", "kind"), ("parent", "accreditation", "region", "address"))
        code = f["code"].text()
        if code in found:
            f["code"].fail(f"organization {code} is declared twice")
        found[code] = OrganizationSpec(
            where=item.where,
            code=code,
            name=f["name"].text(),
            kind=f["kind"].text(),
            parent=f["parent"].one_of(found, "organization above") if "parent" in f else None,
            accreditation=optional(f, "accreditation"),
            region=optional(f, "region"),
            address=optional(f, "address"),
        )
    if not found:
        top.fail("no organization declared")
    return list(found.values())


def read_people(top: Value, organizations: set[str]) -> list[PersonSpec]:
    """The staff of each organization listed, role by role, then the others."""
    f = top.fields(("staff", "people"))
    staff = f["staff"].fields(("organizations", "certificate_number", "roles"))
    people: list[PersonSpec] = []
    for org in staff["organizations"].items():
        code = org.one_of(organizations, "organization")
        for index, item in enumerate(staff["roles"].items(), start=1):
            r = item.fields(("role", "name"), ("fields",))
            role = r["role"].text()
            fields = tuple(r["fields"].texts()) if "fields" in r else ()
            number = staff["certificate_number"].filled(organization=code, index=index)
            people.append(
                PersonSpec(
                    where=item.where,
                    username=f"{code.lower()}-{role.replace('_', '-')}",
                    full_name=r["name"].text(),
                    organization=code,
                    role=role,
                    fields=fields,
                    certificate_number=number if fields else "",
                )
            )
    for item in f["people"].items():
        p = item.fields(("username", "name", "organization", "role"))
        people.append(
            PersonSpec(
                where=item.where,
                username=p["username"].text(),
                full_name=p["name"].text(),
                organization=p["organization"].one_of(organizations, "organization"),
                role=p["role"].text(),
                fields=(),
                certificate_number="",
            )
        )
    return people


def create_organizations(specs: list[OrganizationSpec]) -> dict[str, Organization]:
    """Each organization through ``accounts.create_organization``, by code."""
    created: dict[str, Organization] = {}
    for spec in specs:
        with blame(spec.where):
            created[spec.code] = accounts.create_organization(
                actor=None,
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                parent=created[spec.parent] if spec.parent else None,
                accreditation=spec.accreditation,
                region=spec.region,
                address=spec.address,
            )
    return created


def create_people(specs: list[PersonSpec], orgs: dict[str, Organization]) -> dict[str, User]:
    """Each person with the demo password and their role, by username."""
    created: dict[str, User] = {}
    for spec in specs:
        with blame(spec.where):
            user = accounts.create_user(
                actor=None, username=spec.username, password=DEMO_PASSWORD, full_name=spec.full_name
            )
            accounts.grant_role(
                actor=None,
                user=user,
                organization=orgs[spec.organization],
                role=spec.role,
                fields=list(spec.fields),
                certificate_number=spec.certificate_number,
            )
        created[spec.username] = user
    return created
