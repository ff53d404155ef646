"""A center's customers: registered, edited and deactivated (never deleted); each change
audited in the center's chain.

A customer is an :class:`~labserver.accounts.models.Organization` of kind customer whose
parent is the center that serves it; its :class:`~.models.CustomerAccount` holds what the
front office keeps about it (contact, active). Customers created before the front office
(the API, the demo) have no account yet: :func:`customers_of` lists them through their
parent, and the first edit or deactivation opens their account.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from labserver.accounts import services as accounts
from labserver.accounts.access import require_role
from labserver.accounts.models import Organization
from labserver.core import audit
from labserver.core.errors import DomainError

from .models import CustomerAccount
from .services import FRONT_OFFICE

CONTACT_FIELDS = ("contact", "phone", "email", "tax_code")


def customers_of(center_ids: set[int]) -> QuerySet[Organization]:
    """The customer organizations the centers ``center_ids`` serve (by account, or by
    parent for a customer without an account)."""
    return Organization.objects.filter(kind=Organization.Kind.CUSTOMER).filter(
        Q(customer_account__center_id__in=center_ids)
        | Q(customer_account__isnull=True, parent_id__in=center_ids)
    )


def center_id_of(customer: Organization) -> int | None:
    """The center serving ``customer``: its account's, else its parent."""
    account = CustomerAccount.objects.filter(customer=customer).first()
    return account.center_id if account is not None else customer.parent_id


def is_active(customer: Organization) -> bool:
    """Whether the center still serves ``customer`` (no account yet: it does). Reads the
    account fetched with the customer (``select_related("customer_account")``) if it was."""
    account = getattr(customer, "customer_account", None)  # the reverse one-to-one, or none
    return account is None or account.active


def _snapshot(customer: Organization, account: CustomerAccount) -> dict[str, Any]:
    return {
        "code": customer.code,
        "name": customer.name,
        "address": customer.address,
        **{name: getattr(account, name) for name in CONTACT_FIELDS},
        "active": account.active,
    }


@transaction.atomic
def register_customer(
    *,
    actor: Any,
    center: Organization,
    code: str,
    name: str,
    address: str = "",
    contact: str = "",
    phone: str = "",
    email: str = "",
    tax_code: str = "",
) -> CustomerAccount:
    """A new customer organization under ``center``, with its account."""
    require_role(actor, center.pk, *FRONT_OFFICE, action="registering a customer")
    if center.kind == Organization.Kind.CUSTOMER:
        raise DomainError("center: a customer does not serve customers", field="center")
    customer = accounts.create_organization(
        actor=actor,
        code=code,
        name=name,
        kind=Organization.Kind.CUSTOMER,
        parent=center,
        address=address,
        region=center.region,
    )
    account = CustomerAccount.objects.create(
        center=center,
        customer=customer,
        contact=contact,
        phone=phone,
        email=email,
        tax_code=tax_code,
    )
    audit.record(
        actor=actor,
        action="customer.register",
        object_type="customer",
        object_id=customer.pk,
        organization_id=center.pk,
        after=_snapshot(customer, account),
    )
    return account


def _open_account(actor: Any, customer: Organization, action: str) -> CustomerAccount:
    """The customer's account, locked, after checking ``actor`` runs its center's desk."""
    center_id = center_id_of(customer)
    if center_id is None or customer.kind != Organization.Kind.CUSTOMER:
        raise DomainError("customer: not a customer of a center", field="customer")
    require_role(actor, center_id, *FRONT_OFFICE, action=action)
    account, _ = CustomerAccount.objects.get_or_create(
        customer=customer, defaults={"center_id": center_id}
    )
    return CustomerAccount.objects.select_for_update().select_related("customer").get(pk=account.pk)


@transaction.atomic
def edit_customer(
    *,
    actor: Any,
    customer: Organization,
    name: str,
    address: str = "",
    contact: str = "",
    phone: str = "",
    email: str = "",
    tax_code: str = "",
) -> CustomerAccount:
    """Correct a customer's name, address and contact (its code is in numbers: fixed)."""
    account = _open_account(actor, customer, "editing a customer")
    customer = account.customer
    if not account.active:
        raise DomainError("customer: a deactivated customer is not edited", field="active")
    before = _snapshot(customer, account)
    customer.name = name
    customer.address = address
    customer.save(update_fields=["name", "address"])
    for field, value in zip(CONTACT_FIELDS, (contact, phone, email, tax_code), strict=True):
        setattr(account, field, value)
    account.save()
    audit.record(
        actor=actor,
        action="customer.edit",
        object_type="customer",
        object_id=customer.pk,
        organization_id=account.center_id,
        before=before,
        after=_snapshot(customer, account),
    )
    return account


@transaction.atomic
def deactivate_customer(*, actor: Any, customer: Organization, reason: str) -> CustomerAccount:
    """Stop serving a customer: kept on record with its instruments, jobs and
    certificates; no new instrument or job for it."""
    if not reason.strip():
        raise DomainError("reason: a deactivation needs a reason", field="reason")
    account = _open_account(actor, customer, "deactivating a customer")
    if not account.active:
        raise DomainError("customer: already deactivated", field="active")
    before = _snapshot(account.customer, account)
    account.active = False
    account.save(update_fields=["active"])
    audit.record(
        actor=actor,
        action="customer.deactivate",
        object_type="customer",
        object_id=customer.pk,
        organization_id=account.center_id,
        before=before,
        after=_snapshot(account.customer, account),
        reason=reason,
    )
    return account
