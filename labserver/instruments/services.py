"""Registering customers' instruments; audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from labserver.accounts.access import require_role
from labserver.accounts.models import Organization, Role
from labserver.core import audit
from labserver.core.errors import Conflict, DomainError

from .models import Instrument, InstrumentType, PatternApproval


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
    require_role(
        actor,
        organization.pk,
        Role.METROLOGIST,
        Role.QUALITY_MANAGER,
        action="registering an instrument",
    )
    if owner.kind != Organization.Kind.CUSTOMER and owner.pk != organization.pk:
        raise DomainError("owner: must be a customer or the organization itself", field="owner")
    if pattern is not None and pattern.instrument_type_id != instrument_type.pk:
        raise DomainError(
            f"pattern: {pattern.number} approves a {pattern.instrument_type}, not a "
            f"{instrument_type}",
            field="pattern",
        )
    if Instrument.objects.filter(
        organization=organization,
        instrument_type=instrument_type,
        manufacturer=manufacturer,
        serial=serial,
    ).exists():
        raise Conflict(
            f"serial: {manufacturer} {serial} is already registered as a {instrument_type}",
            field="serial",
        )
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
