"""The demo's ladder of reference standards and their certificates: ``standards.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from labserver.accounts.models import Organization, User
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard

from .organizations import OrganizationSpec
from .reader import Value
from .where import Where, blame

_VALUE_KEYS = ("quantity", "nominal", "value", "unit", "U")
_SERIES_KEYS = ("quantity", "unit", "nominals", "value", "U")
_OPTIONAL_VALUE_KEYS = ("k", "coverage_probability")


@dataclass(frozen=True)
class CertificateSpec:
    where: Where
    number: str
    issuing_lab: str
    accreditation: str
    calibrated_days_ago: int
    internal: bool
    used: tuple[str, ...]
    values: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class StandardSpec:
    where: Where
    organization: str
    asset_id: str
    name: str
    field: str
    level: str
    functions: tuple[dict[str, Any], ...]
    calibration_interval_months: int
    manufacturer: str
    model: str
    serial: str
    certificate: CertificateSpec
    # The certificate in force before ``certificate``, when a calibration made with the
    # standard before its last one must find a certificate in force on that day.
    previous: CertificateSpec | None = None


def read_standards(top: Value, organizations: list[OrganizationSpec]) -> list[StandardSpec]:
    """Every group's standards for each of its organizations, in the order written."""
    by_code = {o.code: o for o in organizations}
    found: dict[str, StandardSpec] = {}
    for group in top.fields(("groups",))["groups"].items():
        g = group.fields(("organizations", "standards"))
        for org in g["organizations"].items():
            o = by_code[org.one_of(by_code, "organization")]
            names = {"code": o.code, "name": o.name, "accreditation": o.accreditation}
            for item in g["standards"].items():
                spec = _standard(item, o.code, names, found)
                if spec.asset_id in found:
                    item.fail(f"asset_id {spec.asset_id} is declared twice")
                found[spec.asset_id] = spec
    return list(found.values())


_STANDARD_KEYS = ("asset_id", "name", "field", "level", "functions")
_CERTIFICATE_KEYS = ("number", "issuing_lab", "accreditation", "calibrated_days_ago", "values")


def _standard(
    item: Value, organization: str, names: dict[str, str], earlier: dict[str, StandardSpec]
) -> StandardSpec:
    s = item.fields(
        (*_STANDARD_KEYS, "calibration_interval_months", "certificate"),
        ("manufacturer", "model", "serial", "previous"),
    )

    def text(fields: dict[str, Value], key: str) -> str:
        return fields[key].filled(**names) if key in fields else ""

    certificate = _certificate(s["certificate"], names, earlier)
    previous = _certificate(s["previous"], names, earlier) if "previous" in s else None
    if previous is not None and previous.calibrated_days_ago <= certificate.calibrated_days_ago:
        s["previous"].fail("the previous certificate must be older than the certificate")
    return StandardSpec(
        where=item.where,
        organization=organization,
        asset_id=text(s, "asset_id"),
        name=text(s, "name"),
        field=text(s, "field"),
        level=text(s, "level"),
        functions=tuple(_function(f) for f in s["functions"].items()),
        calibration_interval_months=s["calibration_interval_months"].integer(),
        manufacturer=text(s, "manufacturer"),
        model=text(s, "model"),
        serial=text(s, "serial"),
        certificate=certificate,
        previous=previous,
    )


def _certificate(
    item: Value, names: dict[str, str], earlier: dict[str, StandardSpec]
) -> CertificateSpec:
    """A calibration certificate of a standard; ``used`` names standards declared before."""
    c = item.fields(_CERTIFICATE_KEYS, ("internal", "used"))

    def text(key: str) -> str:
        return c[key].filled(**names) if key in c else ""

    used: list[str] = []
    for u in c["used"].items() if "used" in c else []:
        used.append(u.filled(**names))
        if used[-1] not in earlier:
            u.fail(f"no standard {used[-1]} declared before this one")
    return CertificateSpec(
        where=item.where,
        number=text("number"),
        issuing_lab=text("issuing_lab"),
        accreditation=text("accreditation"),
        calibrated_days_ago=c["calibrated_days_ago"].integer(),
        internal=c["internal"].flag() if "internal" in c else False,
        used=tuple(used),
        values=tuple(v for item in c["values"].items() for v in _values(item)),
    )


def _function(item: Value) -> dict[str, Any]:
    """What the standard may be used for: a role, a function, its unit and range."""
    f = item.fields(("role", "function", "unit"), ("min", "max"))
    use: dict[str, Any] = {key: f[key].text() for key in ("role", "function", "unit")}
    return use | {key: f[key].number() for key in ("min", "max") if key in f}


def _values(item: Value) -> list[dict[str, Any]]:
    """One calibrated value, or a series of them at several nominals, as the LIMS stores them."""
    is_series = "nominals" in item.entries()
    v = item.fields(_SERIES_KEYS if is_series else _VALUE_KEYS, _OPTIONAL_VALUE_KEYS)
    k = v["k"].number() if "k" in v else 2
    p = v["coverage_probability"].number() if "coverage_probability" in v else 0.95
    quantity, unit = v["quantity"].text(), v["unit"].text()
    if not is_series:
        nominal, value, expanded = (v[key].number() for key in ("nominal", "value", "U"))
        return [_value(quantity, nominal, value, unit, expanded, k, p)]
    value_rule = v["value"].fields(("offset", "relative"))
    u_rule = v["U"].fields(("offset", "relative"))
    a, b = (value_rule[key].number() for key in ("offset", "relative"))
    u0, u1 = (u_rule[key].number() for key in ("offset", "relative"))
    return [
        _value(quantity, x, x + a + b * x, unit, u0 + u1 * abs(x), k, p)
        for x in (n.number() for n in v["nominals"].items())
    ]


def _value(
    quantity: str, nominal: float, value: float, unit: str, expanded: float, k: float, p: float
) -> dict[str, Any]:
    return {
        "quantity": quantity,
        "nominal": nominal,
        "value": value,
        "unit": unit,
        "U": expanded,
        "k": k,
        "coverage_probability": p,
    }


def create_standards(
    specs: list[StandardSpec], orgs: dict[str, Organization], actors: dict[str, User]
) -> dict[str, ReferenceStandard]:
    """Each standard registered by its organization's actor, then its certificates recorded
    (the previous one first): each calibrated ``calibrated_days_ago`` before today (the
    LIMS's date), issued three days later, due after the calibration interval."""
    created: dict[str, ReferenceStandard] = {}
    for spec in specs:
        actor = actors[spec.organization]
        with blame(spec.where):
            standard = standards.register_standard(
                actor=actor,
                organization=orgs[spec.organization],
                asset_id=spec.asset_id,
                name=spec.name,
                field=spec.field,
                level=spec.level,
                functions=[dict(f) for f in spec.functions],
                calibration_interval_months=spec.calibration_interval_months,
                manufacturer=spec.manufacturer,
                model=spec.model,
                serial=spec.serial,
            )
        for cert in (spec.previous, spec.certificate):
            if cert is not None:
                _record(cert, standard, actor, created)
        created[spec.asset_id] = standard
    return created


def _record(
    cert: CertificateSpec,
    standard: ReferenceStandard,
    actor: User,
    created: dict[str, ReferenceStandard],
) -> None:
    calibrated = timezone.localdate() - timedelta(days=cert.calibrated_days_ago)
    months = standard.calibration_interval_months
    with blame(cert.where):
        standards.record_certificate(
            actor=actor,
            standard=standard,
            number=cert.number,
            issuing_lab=cert.issuing_lab,
            accreditation=cert.accreditation,
            calibrated_on=calibrated,
            issued_on=calibrated + timedelta(days=3),
            due_on=calibrated + timedelta(days=round(365.25 * months / 12)),
            values=[dict(v) for v in cert.values],
            internal=cert.internal,
            reference_standards=[created[asset] for asset in cert.used],
        )
