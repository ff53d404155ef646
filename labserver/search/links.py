"""Where a found record links to: the first of its pages the person may open.

A page says which roles it admits (:func:`labserver.web.access.page_for` keeps them on the
view as ``caltrace_roles``); a link is offered when the person holds one of them in the
organization the page would look the record up in. So a signatory reaches a certificate's
page in the front office, a metrologist the issued certificate's page, anyone else its
public verification page; the desk reaches customers, instruments (on their customer's
page) and jobs (their planning page). A record no page of the person's roles shows is
listed without a link rather than with one that answers 403.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any

from django.urls import resolve, reverse

from labserver.accounts.access import granted_organization_ids, organization_ids_with_role
from labserver.accounts.models import Organization, Role
from labserver.instruments.models import Instrument
from labserver.issuance.models import Certificate
from labserver.jobs.models import Job

from .queries import STAFF_ROLES

Held = dict[int, set[str]]


def roles_by_organization(user: Any) -> Held:
    """The staff roles ``user`` holds in each organization (a grant counts as auditor)."""
    held: Held = defaultdict(set)
    for role in STAFF_ROLES:
        for organization_id in organization_ids_with_role(user, role):
            held[organization_id].add(role)
    for organization_id in granted_organization_ids(user):
        held[organization_id].add(Role.AUDITOR)
    return held


@cache
def _admits(url_name: str) -> frozenset[str]:
    """The roles the page ``url_name`` (of one record, by its id) admits, read from its view."""
    view = resolve(reverse(url_name, args=[1])).func
    return frozenset(getattr(view, "caltrace_roles", ()))


def _page(url_name: str, arg: Any, organization_id: int | None, held: Held) -> str | None:
    if organization_id is None or not _admits(url_name) & held.get(organization_id, set()):
        return None
    return reverse(url_name, args=[arg])


def _center_of(customer: Organization) -> int | None:
    """The center serving ``customer`` (as the front office reckons it: its account's
    center, else its parent), read from the account fetched with it."""
    account = getattr(customer, "customer_account", None)
    return account.center_id if account is not None else customer.parent_id


def certificate_link(certificate: Certificate, held: Held) -> str:
    organization_id = certificate.organization_id
    return (
        _page("office:certificate", certificate.pk, organization_id, held)
        or _page("work:certificate-issued", certificate.pk, organization_id, held)
        or reverse("verify-page", args=[certificate.number])
    )


def customer_link(customer: Organization, held: Held) -> str | None:
    return _page("office:customer", customer.pk, _center_of(customer), held)


def instrument_link(instrument: Instrument, held: Held) -> str | None:
    return customer_link(instrument.owner, held)


def job_link(job: Job, held: Held) -> str | None:
    return _page("office:job-plan", job.pk, job.organization_id, held)
