"""Reference standards: registering, recording calibration certificates with their links to
the standards that calibrated them, out of tolerance."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.accounts.access import require_role
from labserver.accounts.models import Organization, Role
from labserver.core import audit
from labserver.core.errors import Conflict, DomainError
from labserver.registry.records import (
    StandardCalibration,
    StandardRegistered,
    Upstream,
    record_out_of_tolerance,
    record_standard,
    record_standard_calibrated,
)

from .models import ReferenceStandard, StandardCertificate, StandardLink
from .values import check_values

KEEPERS = (Role.QUALITY_MANAGER,)

# A certificate dated before this is a typo (year 633), not a calibration.
EARLIEST = date(1900, 1, 1)
# No calibration interval is this long; a later due date is a typo.
LONGEST_INTERVAL_YEARS = 10

# Whether a number is one this LIMS issued is the issuing app's to say: the standards sit
# below it (a run uses standards, a certificate reports a run) and never import it, so it
# registers its answer when it is ready (``labserver.issuance.apps``).
_issued_number_checks: list[Callable[[str], bool]] = []


def register_issued_number_check(check: Callable[[str], bool]) -> None:
    """Add ``check(number) -> bool``: True when this LIMS issued a certificate numbered so."""
    if check not in _issued_number_checks:
        _issued_number_checks.append(check)


def issued_here(number: str) -> bool:
    """Whether ``number`` (spaces around it ignored) is a certificate this LIMS issued."""
    if not _issued_number_checks:
        raise RuntimeError("no app answers whether a certificate number was issued here")
    return any(check(number.strip()) for check in _issued_number_checks)


def _check_functions(functions: list[dict[str, Any]]) -> None:
    for i, entry in enumerate(functions):
        where = f"functions[{i}]"
        if not isinstance(entry, dict):
            raise DomainError(f"{where}: expected an object", field=where)
        for key in ("role", "function", "unit"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise DomainError(f"{where}.{key}: required text", field=f"{where}.{key}")
        low, high = entry.get("min"), entry.get("max")
        for key, value in (("min", low), ("max", high)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise DomainError(f"{where}.{key}: must be a number", field=f"{where}.{key}")
        if low is not None and high is not None and low > high:
            raise DomainError(f"{where}: min {low} exceeds max {high}", field=where)


# The registry's formats: its keys join these with "/", so neither may hold one.
_CODE = re.compile(r"[-A-Za-z0-9_]{1,64}")
_REGISTER_NUMBER = re.compile(r"[-A-Za-z0-9_.:]{1,64}")


@dataclass(frozen=True)
class StandardElsewhere:
    """A standard of another organization, on another node (so not in this database), that
    calibrated a standard of ours: named as the registry names it, by its organization's
    code, its asset id and the calibration certificate of it in force then."""

    owner: str
    asset_id: str
    certificate: str


def _check_elsewhere(
    elsewhere: StandardElsewhere, standard: ReferenceStandard
) -> StandardElsewhere:
    """``elsewhere`` with spaces around its parts dropped; refused, naming the field, when a
    part is missing or not in the registry's format, or when it names the standard's own
    organization (whose standards are in this database: the in-house path links them)."""
    parts = {
        "calibrated_with_owner": (elsewhere.owner, _CODE, _("letters, digits, - and _")),
        "calibrated_with_standard": (
            elsewhere.asset_id,
            _REGISTER_NUMBER,
            _("letters, digits, - _ . :"),
        ),
        "calibrated_with_certificate": (
            elsewhere.certificate,
            _REGISTER_NUMBER,
            _("letters, digits, - _ . :"),
        ),
    }
    clean = {}
    for name, (value, pattern, allowed) in parts.items():
        value = (value or "").strip()
        if not value:
            raise DomainError(_("%(field)s: required") % {"field": name}, field=name)
        if not pattern.fullmatch(value):
            raise DomainError(
                _("%(field)s: %(value)r is not in the registry's format (1 to 64 %(allowed)s)")
                % {"field": name, "value": value, "allowed": allowed},
                field=name,
            )
        clean[name] = value
    if clean["calibrated_with_owner"] == standard.organization.code:
        raise DomainError(
            _(
                "calibrated_with_owner: %(code)s is this standard's own organization: name its "
                "standard in reference_standards (calibrated in-house with)"
            )
            % {"code": standard.organization.code},
            field="calibrated_with_owner",
        )
    return StandardElsewhere(
        clean["calibrated_with_owner"],
        clean["calibrated_with_standard"],
        clean["calibrated_with_certificate"],
    )


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_dates(*, calibrated_on: date, issued_on: date, due_on: date) -> None:
    today = timezone.localdate()
    for name, day in (("calibrated_on", calibrated_on), ("issued_on", issued_on)):
        if day < EARLIEST:
            raise DomainError(f"{name}: {day} is before {EARLIEST.year}", field=name)
        if day > today:
            raise DomainError(f"{name}: {day} is in the future (today is {today})", field=name)
    if not calibrated_on <= issued_on:
        raise DomainError("issued_on: before calibrated_on", field="issued_on")
    if not issued_on < due_on:
        raise DomainError("due_on: must be after issued_on", field="due_on")
    latest = _years_after(calibrated_on, LONGEST_INTERVAL_YEARS)
    if due_on > latest:
        raise DomainError(
            f"due_on: more than {LONGEST_INTERVAL_YEARS} years after calibrated_on "
            f"(at most {latest})",
            field="due_on",
        )


@dataclass(frozen=True)
class ReferenceUse:
    """An upstream standard used for a calibration, with the function and range it served.

    ``range_low``/``range_high`` are in ``unit``; all optional but the standard.
    """

    standard: ReferenceStandard
    function: str = ""
    range_low: float | None = None
    range_high: float | None = None
    unit: str = ""


def as_uses(items: Sequence[ReferenceStandard | ReferenceUse] | None) -> list[ReferenceUse]:
    """Plain standards (the old form of ``reference_standards``) as uses without a range."""
    uses = [item if isinstance(item, ReferenceUse) else ReferenceUse(item) for item in items or []]
    seen: set[tuple[int, str, str]] = set()
    for i, use in enumerate(uses):
        where = f"reference_standards[{i}]"
        key = (use.standard.pk, use.function, use.unit)
        if key in seen:
            raise DomainError(f"{where}: {use.standard.asset_id} named twice", field=where)
        seen.add(key)
        low, high = use.range_low, use.range_high
        if low is not None and high is not None and low > high:
            raise DomainError(f"{where}: range_low {low} exceeds range_high {high}", field=where)
    return uses


def record_links(
    *, certificate: StandardCertificate, uses: list[ReferenceUse]
) -> list[StandardLink]:
    """One link per use, pinning each upstream standard's certificate in force on the
    downstream calibration date (``None`` when it had none: a break in the chain).

    Called inside ``record_certificate``'s transaction, which writes the audit entry.
    """
    when = certificate.calibrated_on
    return StandardLink.objects.bulk_create(
        [
            StandardLink(
                certificate=certificate,
                standard=use.standard,
                upstream_certificate=use.standard.certificate_on(when),
                used_on=when,
                function=use.function,
                range_low=use.range_low,
                range_high=use.range_high,
                unit=use.unit,
            )
            for use in uses
        ]
    )


@transaction.atomic
def register_standard(
    *,
    actor: Any,
    organization: Organization,
    asset_id: str,
    name: str,
    field: str,
    calibration_interval_months: int,
    level: str = ReferenceStandard.Level.WORKING,
    manufacturer: str = "",
    model: str = "",
    serial: str = "",
    functions: list[dict[str, Any]] | None = None,
) -> ReferenceStandard:
    require_role(actor, organization.pk, *KEEPERS, action="registering a reference standard")
    _check_functions(functions or [])
    if ReferenceStandard.objects.filter(organization=organization, asset_id=asset_id).exists():
        raise Conflict(f"asset_id: {asset_id} is already registered", field="asset_id")
    standard = ReferenceStandard.objects.create(
        organization=organization,
        asset_id=asset_id,
        name=name,
        field=field,
        level=level,
        manufacturer=manufacturer,
        model=model,
        serial=serial,
        functions=functions or [],
        calibration_interval_months=calibration_interval_months,
    )
    record_standard(
        StandardRegistered(
            owner=organization.code,
            standard=asset_id,
            name=name,
            field=field,
            level=level,
            manufacturer=manufacturer,
            model=model,
            serial=serial,
        ),
        timezone.now(),
    )
    audit.record(
        actor=actor,
        action="standard.register",
        object_type="reference_standard",
        object_id=standard.pk,
        organization_id=organization.pk,
        after={
            "asset_id": asset_id,
            "name": name,
            "field": field,
            "level": level,
            "functions": standard.functions,
            "calibration_interval_months": calibration_interval_months,
        },
    )
    return standard


@transaction.atomic
def record_certificate(
    *,
    actor: Any,
    standard: ReferenceStandard,
    number: str,
    issuing_lab: str,
    calibrated_on: date,
    issued_on: date,
    due_on: date,
    values: list[dict[str, Any]],
    accreditation: str = "",
    internal: bool = False,
    file: UploadedFile | None = None,
    reference_standards: Sequence[ReferenceStandard | ReferenceUse] | None = None,
    calibrated_with: StandardElsewhere | None = None,
) -> StandardCertificate:
    """Record a calibration certificate of a standard, with its file's SHA-256.

    ``reference_standards`` are the standards used to calibrate it (internal
    calibrations): plain standards, or :class:`ReferenceUse` with the function and range
    each served. Each becomes a :class:`~.models.StandardLink` pinning that standard's
    certificate in force on ``calibrated_on``.

    ``calibrated_with`` is a standard of another organization, on another node, that
    calibrated it: kept with the certificate and registered as the registry's link from it
    (:func:`~labserver.registry.records.record_standard_calibrated`), as a local standard's
    link is, so that the national recall of that standard reaches this one.

    Refused (field named): implausible or disordered dates (``_check_dates``), ``values``
    that are not well-formed calibrated values (``values.check_values``), and an
    external certificate whose number is one this laboratory issued.
    """
    uses = as_uses(reference_standards)
    require_role(
        actor, standard.organization_id, *KEEPERS, action="recording a calibration certificate"
    )
    _check_dates(calibrated_on=calibrated_on, issued_on=issued_on, due_on=due_on)
    check_values(values)
    if calibrated_with is not None:
        calibrated_with = _check_elsewhere(calibrated_with, standard)
    if not internal and issued_here(number):
        # One of ours recorded as an external calibration would make the chain close on
        # itself while showing an outside laboratory at the top.
        raise DomainError(
            f"number: {number} is a certificate this laboratory issued, not an external one",
            field="number",
        )
    if StandardCertificate.objects.filter(standard=standard, number=number).exists():
        raise Conflict(f"number: certificate {number} is already recorded", field="number")
    for use in uses:
        if use.standard.pk == standard.pk:
            raise DomainError(
                "reference_standards: a standard cannot calibrate itself",
                field="reference_standards",
            )
    digest = ""
    if file is not None:
        sha = hashlib.sha256()
        for chunk in file.chunks():
            sha.update(chunk)
        digest = sha.hexdigest()
        file.seek(0)
    certificate = StandardCertificate.objects.create(
        standard=standard,
        number=number,
        issuing_lab=issuing_lab,
        accreditation=accreditation,
        internal=internal,
        calibrated_on=calibrated_on,
        issued_on=issued_on,
        due_on=due_on,
        values=values,
        file=file,
        sha256=digest,
        calibrated_with_owner=calibrated_with.owner if calibrated_with else "",
        calibrated_with_standard=calibrated_with.asset_id if calibrated_with else "",
        calibrated_with_certificate=calibrated_with.certificate if calibrated_with else "",
    )
    links = []
    if uses:
        certificate.reference_standards.set({use.standard for use in uses})
        links = record_links(certificate=certificate, uses=uses)
    upstream = [
        Upstream(
            owner=link.standard.organization.code,
            standard=link.standard.asset_id,
            certificate=link.upstream_certificate.number if link.upstream_certificate else "",
        )
        for link in links
    ]
    if calibrated_with is not None:
        upstream.append(
            Upstream(calibrated_with.owner, calibrated_with.asset_id, calibrated_with.certificate)
        )
    record_standard_calibrated(
        standard.organization.code,
        standard.asset_id,
        StandardCalibration(
            certificate=number,
            certificate_issuer=issuing_lab,
            accreditation=accreditation,
            calibrated_on=calibrated_on,
            due_on=due_on,
            certificate_sha256=digest,
        ),
        timezone.now(),
        upstream,
    )
    audit.record(
        actor=actor,
        action="standard.certificate",
        object_type="standard_certificate",
        object_id=certificate.pk,
        organization_id=standard.organization_id,
        after={
            "standard": standard.asset_id,
            "number": number,
            "issuing_lab": issuing_lab,
            "accreditation": accreditation,
            "calibrated_on": calibrated_on,
            "due_on": due_on,
            "values": values,
            "sha256": digest,
            "reference_standards": [use.standard.asset_id for use in uses],
            **(
                {
                    "calibrated_with": {
                        "owner": calibrated_with.owner,
                        "asset_id": calibrated_with.asset_id,
                        "certificate": calibrated_with.certificate,
                    }
                }
                if calibrated_with is not None
                else {}
            ),
            **(
                {
                    "reference_uses": [
                        {
                            "asset_id": use.standard.asset_id,
                            "function": use.function,
                            "range": [use.range_low, use.range_high],
                            "unit": use.unit,
                        }
                        for use in uses
                    ]
                }
                if any(use.function or use.unit or use.range_low is not None for use in uses)
                else {}
            ),
        },
    )
    return certificate


@transaction.atomic
def mark_out_of_tolerance(
    *, actor: Any, standard: ReferenceStandard, since: date, reason: str
) -> ReferenceStandard:
    """Record that a standard has been out of tolerance since ``since`` (ISO/IEC 17025 7.10)."""
    require_role(
        actor, standard.organization_id, *KEEPERS, action="marking a standard out of tolerance"
    )
    if not reason.strip():
        raise DomainError("reason: required", field="reason")
    standard = ReferenceStandard.objects.select_for_update().get(pk=standard.pk)
    before = standard.out_of_tolerance_since
    standard.out_of_tolerance_since = since
    standard.save(update_fields=["out_of_tolerance_since"])
    record_out_of_tolerance(standard.organization.code, standard.asset_id, since, timezone.now())
    audit.record(
        actor=actor,
        action="standard.out_of_tolerance",
        object_type="reference_standard",
        object_id=standard.pk,
        organization_id=standard.organization_id,
        before={"out_of_tolerance_since": before},
        after={"out_of_tolerance_since": since},
        reason=reason,
    )
    return standard
