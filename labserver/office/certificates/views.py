"""Issued certificates, as the signatory and the quality manager handle them outside a
recall: the list of the organization's certificates, one certificate with its history,
amending it (a new number replaces it) and revoking it, each with a reason and the password
re-entered; and an A4 sheet of verification labels for a selection.

The changes go through :mod:`labserver.issuance.services`: the role (amending: signatory
certified for the field; revoking: signatory or quality manager), the password (wrong
passwords count towards the signature lock, :mod:`labserver.accounts.lockout`), the state,
the audit entry. A certificate of another organization is not found (404).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from labserver.accounts.access import has_role, organization_ids_with_role
from labserver.accounts.models import Role, User
from labserver.core.errors import DomainError
from labserver.issuance import services
from labserver.issuance.labels import label_sheet
from labserver.issuance.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    certified_instrument,
)
from labserver.measurements.models import Run, RunState
from labserver.web.access import page_for

from ..refusals import show_refusal, signed_in_person
from .forms import AmendForm, SignedChangeForm

HANDLERS = (Role.SIGNATORY, Role.QUALITY_MANAGER)
PER_PAGE = 50


def _handled(request: HttpRequest) -> QuerySet[Certificate]:
    """The certificates of the organizations where the person signs or manages quality."""
    return Certificate.objects.filter(
        organization__in=organization_ids_with_role(request.user, *HANDLERS)
    ).select_related(
        "organization", "run__job__instrument", "position__job__instrument", "issued_by"
    )


def _certificate(request: HttpRequest, pk: int) -> Certificate:
    found = _handled(request).filter(pk=pk).prefetch_related("events__replacement").first()
    if found is None:
        raise Http404("certificate: not found")
    return found


def _status(certificate: Certificate) -> dict[str, Any]:
    state = services.certificate_state(certificate)
    return {"state": state, "status": state.status, "label": CertificateStatus(state.status).label}


@require_GET
@page_for(*HANDLERS)
def certificates(request: HttpRequest) -> HttpResponse:
    """The organization's certificates, newest first, searchable by number or serial."""
    return _list_page(request)


def _list_page(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    found = _handled(request).prefetch_related("events")
    if query:
        found = found.filter(
            Q(number__icontains=query) | certified_instrument("__serial__icontains", query)
        )
    page = Paginator(found.order_by("-issued_at", "-pk"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [{"certificate": c, **_status(c)} for c in page.object_list]
    context = {
        "rows": rows,
        "page": page,
        "q": query,
        "error": error,
        "verification": CertificateKind.VERIFICATION,
        "selected": set(request.GET.getlist("ids")),
    }
    return render(request, "office/certificates/list.html", context, status=status)


def _other_runs(certificate: Certificate) -> list[Run]:
    """Approved runs of the certificate's instrument, in its organization, with no
    certificate yet: what an amendment may report instead of the same run's results."""
    return list(
        Run.objects.filter(
            organization_id=certificate.organization_id,
            job__instrument_id=certificate.job.instrument_id,
            state=RunState.APPROVED,
            certificates__isnull=True,
        )
        .select_related("job")
        .order_by("-finished_at")
    )


def _certificate_page(
    request: HttpRequest,
    certificate: Certificate,
    *,
    amend: SignedChangeForm | None = None,
    revoke: SignedChangeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = signed_in_person(request)
    org = certificate.organization_id
    context = {
        "certificate": certificate,
        **_status(certificate),
        "events": list(certificate.events.all()),
        "may_amend": has_role(user, org, Role.SIGNATORY),
        "may_revoke": has_role(user, org, *HANDLERS),
        "amend": amend or AmendForm(prefix="amend", runs=_other_runs(certificate)),
        "revoke": revoke or SignedChangeForm(prefix="revoke"),
    }
    return render(request, "office/certificates/certificate.html", context, status=status)


@require_GET
@page_for(*HANDLERS)
def certificate(request: HttpRequest, pk: int) -> HttpResponse:
    return _certificate_page(request, _certificate(request, pk))


def _signed_change(request: HttpRequest, pk: int, which: str) -> HttpResponse:
    found = _certificate(request, pk)
    form: SignedChangeForm
    others: dict[str, Run] = {}
    if which == "amend":
        others = {str(run.pk): run for run in _other_runs(found)}
        form = AmendForm(request.POST, prefix=which, runs=others.values())
    else:
        form = SignedChangeForm(request.POST, prefix=which)
    if form.is_valid():
        user: User = signed_in_person(request)
        data = form.cleaned_data
        try:
            if which == "amend":
                changed = services.amend_certificate(
                    actor=user,
                    certificate=found,
                    password=data["password"],
                    reason=data["reason"],
                    run=others.get(data["run"]),
                )
                note = _("%(old)s is amended: %(new)s replaces it.") % {
                    "old": found.number,
                    "new": changed.number,
                }
            else:
                changed = services.revoke_certificate(
                    actor=user, certificate=found, password=data["password"], reason=data["reason"]
                )
                note = _("%(number)s is revoked.") % {"number": found.number}
        except DomainError as error:
            show_refusal(form, error)
            return _certificate_page(
                request, _certificate(request, pk), status=error.status, **{which: form}
            )
        messages.success(request, note)
        return redirect("office:certificate", changed.pk)
    return _certificate_page(request, found, status=400, **{which: form})


@require_POST
@page_for(Role.SIGNATORY)
def amend(request: HttpRequest, pk: int) -> HttpResponse:
    """Amend: a new certificate with a new number, from the same run, replaces this one."""
    return _signed_change(request, pk, "amend")


@require_POST
@page_for(*HANDLERS)
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke: the certificate stays readable, marked revoked with the reason."""
    return _signed_change(request, pk, "revoke")


@require_GET
@page_for(*HANDLERS)
def labels(request: HttpRequest) -> HttpResponse:
    """One PDF sheet of the verification labels of the certificates ticked on the list."""
    wanted = request.GET.getlist("ids")
    try:
        ids = [int(pk) for pk in wanted]
    except ValueError:
        raise Http404("certificate: not found") from None
    found = {c.pk: c for c in _handled(request).filter(pk__in=ids)}
    if any(pk not in found for pk in ids):
        raise Http404("certificate: not found")
    try:
        sheet = label_sheet([found[pk] for pk in ids], field=_("selection"))
    except DomainError as error:
        return _list_page(request, error=str(error.detail), status=error.status)
    response = HttpResponse(sheet, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="labels.pdf"'
    return response
