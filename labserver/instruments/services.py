"""Registering, editing and retiring customers' instruments; each change audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from labserver.accounts.access import require_role
from labserver.accounts.models import Organization, Role
from labserver.core import audit
from labserver.core.errors import Conflict, DomainError

from .models import CustomerAccount, Instrument, InstrumentType, PatternApproval

# Who registers and edits a customer's instruments (the API's metrologists keep registering).
REGISTRARS = (Role.METROLOGIST, Role.RECEPTION, Role.QUALITY_MANAGER)
# Who edits and retires them, and runs the front office: the desk and the quality manager.
FRONT_OFFICE = (Role.RECEPTION, Role.QUALITY_MANAGER)


@transaction.atomic
def register_instrument(
    *,
    actor: Any,
    organization: Organization,
    owner: Organization,
    instrument_type: InstrumentType,
    manufacturer: str,
    model: str,
    serial: str,
    pattern: PatternApproval | None = None,
    location: str = "",
    specification: dict[str, Any] | None = None,
) -> Instrument:
    require_role(actor, organization.pk, *REGISTRARS, action="registering an instrument")
    if owner.kind != Organization.Kind.CUSTOMER and owner.pk != organization.pk:
        raise DomainError("owner: must be a customer or the organization itself", field="owner")
    if CustomerAccount.objects.filter(customer=owner, active=False).exists():
        raise DomainError(f"owner: the customer {owner.code} is deactivated", field="owner")
    _check_identity(organization, instrument_type, manufacturer, serial, pattern)
    instrument = Instrument.objects.create(
        organization=organization,
        owner=owner,
        instrument_type=instrument_type,
        pattern=pattern,
        manufacturer=manufacturer,
        model=model,
        serial=serial,
        location=location,
        specification=specification or {},
    )
    audit.record(
        actor=actor,
        action="instrument.register",
        object_type="instrument",
        object_id=instrument.pk,
        organization_id=organization.pk,
        after={
            "owner": owner.code,
            "type": instrument_type.code,
            "manufacturer": manufacturer,
            "model": model,
            "serial": serial,
            "pattern": pattern.number if pattern else None,
        },
    )
    return instrument


def _check_identity(
    organization: Organization,
    instrument_type: InstrumentType,
    manufacturer: str,
    serial: str,
    pattern: PatternApproval | None,
    *,
    excluding: int | None = None,
) -> None:
    """The pattern approves this type, and no other instrument of the organization has this
    type, manufacturer and serial."""
    if pattern is not None and pattern.instrument_type_id != instrument_type.pk:
        raise DomainError(
            f"pattern: {pattern.number} approves a {pattern.instrument_type}, not a "
            f"{instrument_type}",
            field="pattern",
        )
    same = Instrument.objects.filter(
        organization=organization,
        instrument_type=instrument_type,
        manufacturer=manufacturer,
        serial=serial,
    )
    if excluding is not None:
        same = same.exclude(pk=excluding)
    if same.exists():
        raise Conflict(
            f"serial: {manufacturer} {serial} is already registered as a {instrument_type}",
            field="serial",
        )


def _snapshot(instrument: Instrument) -> dict[str, Any]:
    return {
        "type": instrument.instrument_type.code,
        "manufacturer": instrument.manufacturer,
        "model": instrument.model,
        "serial": instrument.serial,
        "pattern": instrument.pattern.number if instrument.pattern else None,
        "location": instrument.location,
        "active": instrument.active,
    }


def _locked(instrument: Instrument) -> Instrument:
    return (
        Instrument.objects.select_for_update(of=("self",))
        .select_related("instrument_type", "pattern")
        .get(pk=instrument.pk)
    )


# What identifies an instrument on its certificates: fixed once a job names it.
IDENTITY = ("instrument_type", "manufacturer", "serial")


@transaction.atomic
def edit_instrument(
    *,
    actor: Any,
    instrument: Instrument,
    instrument_type: InstrumentType,
    manufacturer: str,
    model: str,
    serial: str,
    pattern: PatternApproval | None = None,
    location: str = "",
) -> Instrument:
    """Correct an instrument's record. Its identity (type, manufacturer, serial) is what
    its jobs and certificates name: it may change only while no job names it."""
    require_role(actor, instrument.organization_id, *FRONT_OFFICE, action="editing an instrument")
    instrument = _locked(instrument)
    if not instrument.active:
        raise DomainError("instrument: a deactivated instrument is not edited", field="active")
    changed = [
        name
        for name, value in zip(IDENTITY, (instrument_type, manufacturer, serial), strict=True)
        if getattr(instrument, name) != value
    ]
    if changed and instrument.jobs.exists():
        raise DomainError(
            f"{changed[0]}: jobs name this instrument; its type, manufacturer and serial are "
            "fixed (register the other instrument instead)",
            field=changed[0],
        )
    _check_identity(
        instrument.organization,
        instrument_type,
        manufacturer,
        serial,
        pattern,
        excluding=instrument.pk,
    )
    before = _snapshot(instrument)
    instrument.instrument_type = instrument_type
    instrument.manufacturer = manufacturer
    instrument.model = model
    instrument.serial = serial
    instrument.pattern = pattern
    instrument.location = location
    instrument.save()
    audit.record(
        actor=actor,
        action="instrument.edit",
        object_type="instrument",
        object_id=instrument.pk,
        organization_id=instrument.organization_id,
        before=before,
        after=_snapshot(instrument),
    )
    return instrument


@transaction.atomic
def deactivate_instrument(*, actor: Any, instrument: Instrument, reason: str) -> Instrument:
    """Retire an instrument (scrapped, sold, no longer served): kept on record with its
    jobs and certificates, offered for no new job."""
    require_role(
        actor, instrument.organization_id, *FRONT_OFFICE, action="deactivating an instrument"
    )
    if not reason.strip():
        raise DomainError("reason: a deactivation needs a reason", field="reason")
    instrument = _locked(instrument)
    if not instrument.active:
        raise DomainError("instrument: already deactivated", field="active")
    before = _snapshot(instrument)
    instrument.active = False
    instrument.save(update_fields=["active"])
    audit.record(
        actor=actor,
        action="instrument.deactivate",
        object_type="instrument",
        object_id=instrument.pk,
        organization_id=instrument.organization_id,
        before=before,
        after=_snapshot(instrument),
        reason=reason,
    )
    return instrument
