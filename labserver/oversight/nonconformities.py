"""The out-of-tolerance pages of quality managers (ISO/IEC 17025 7.10); auditors read them.

``/quality/nonconformities/`` lists the nonconformities of the person's organizations
and, for a quality manager, has the form that opens one; ``/quality/nonconformities/<id>/``
shows one: the record, the reverse-trace snapshot it was opened with, the decisions, a
decision form per affected certificate, the close button and the customer letters.

Every query is narrowed to the person's organizations
(:func:`labserver.accounts.access.readable_organization_ids`): another organization's
nonconformity is a 404, as in the API. Every change goes through
:mod:`labserver.nonconformities.services` (``open_nonconformity``, ``decide``,
``close_nonconformity``), which check the role, the state and the password and write the
audit entry; a refusal is shown on the page with the service's reason, and nothing is
changed. The forms are offered only to the quality managers of the organization, but a
POST from anyone else still reaches the service, which refuses it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from labserver.accounts.access import (
    has_role,
    organization_ids_with_role,
    readable_organization_ids,
)
from labserver.accounts.models import Role, User
from labserver.core.errors import DomainError
from labserver.issuance.api.views import visible_certificates
from labserver.issuance.models import Certificate, CertificateStatus
from labserver.issuance.services import certificate_state
from labserver.nonconformities import letters, services
from labserver.nonconformities.models import AffectedItem, Decision, Nonconformity
from labserver.standards.models import ReferenceStandard
from labserver.web.access import page_for

from . import graph

READERS = (Role.AUDITOR, Role.QUALITY_MANAGER)

VERDICTS: dict[str, Any] = {"pass": gettext_lazy("pass"), "fail": gettext_lazy("fail")}


class BadField(ValueError):
    """A form field the page cannot use; the message names it."""


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # page_for let in only signed-in people
    return user


def _visible(user: User) -> Any:
    return Nonconformity.objects.filter(
        organization__in=readable_organization_ids(user)
    ).select_related("organization", "standard", "opened_by", "closed_by")


def _nonconformity(user: User, pk: int) -> Nonconformity:
    found = _visible(user).filter(pk=pk).first()
    if found is None:
        raise Http404("nonconformity: not found")
    return found  # type: ignore[no-any-return]


def _verdict(value: Any) -> str:
    return str(VERDICTS.get(value, value or "—"))


def _recall(decision: Decision) -> str:
    """What became of the certificate a decision recalls; nothing for other decisions."""
    return decision.get_recall_display() if decision.recall else ""


# ------------------------------------------------------------------------------ the list


def _openable_standards(user: User) -> list[ReferenceStandard]:
    """The standards the person may open a nonconformity of (quality manager there)."""
    return list(
        ReferenceStandard.objects.filter(
            organization__in=organization_ids_with_role(user, Role.QUALITY_MANAGER)
        )
        .select_related("organization")
        .order_by("organization__code", "asset_id")
    )


def _render_list(
    request: HttpRequest,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _person(request)
    found = (
        _visible(user)
        .annotate(
            certificates=Count(
                "affected",
                filter=Q(affected__kind=AffectedItem.Kind.CERTIFICATE),
                distinct=True,
            ),
            decided=Count("decisions", distinct=True),
        )
        .order_by("-opened_at", "-pk")
    )
    state = request.GET.get("status", "")
    if state in Nonconformity.Status.values:
        found = found.filter(status=state)
    else:
        state = ""
    chosen = (values or {}).get("standard") or request.GET.get("standard", "")
    context = {
        "rows": [{"nc": nc, "status": nc.get_status_display()} for nc in found],
        "state": state,
        "states": Nonconformity.Status.choices,
        "standards": _openable_standards(user),
        # the quality page is a quality manager's: an auditor is not offered a link to a 403
        "quality_manager": bool(organization_ids_with_role(user, Role.QUALITY_MANAGER)),
        "values": {"standard": chosen, **(values or {})},
        "error": error,
    }
    return render(request, "oversight/nonconformities.html", context, status=status)


def _form_date(request: HttpRequest, name: str, label: str) -> date:
    raw = request.POST.get(name, "").strip()
    if not raw:
        raise BadField(_("%(field)s: required") % {"field": label})
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadField(
            _("%(field)s: not a date (YYYY-MM-DD): %(value)s") % {"field": label, "value": raw}
        ) from None


def _form_shift(request: HttpRequest) -> float | None:
    raw = request.POST.get("shift", "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise BadField(
            _("%(field)s: not a number: %(value)s") % {"field": _("Shift"), "value": raw}
        ) from None


def _open(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    names = ("standard", "out_of_tolerance_since", "found_on", "description", "shift", "unit")
    values = {name: request.POST.get(name, "") for name in names}
    try:
        standard = None
        if values["standard"].isdigit():
            standard = (
                ReferenceStandard.objects.filter(organization__in=readable_organization_ids(user))
                .select_related("organization")
                .filter(pk=int(values["standard"]))
                .first()
            )
        if standard is None:
            raise BadField(_("Standard: choose one of the list"))
        since = _form_date(request, "out_of_tolerance_since", _("Out of tolerance since"))
        found_on = _form_date(request, "found_on", _("Found on"))
        shift = _form_shift(request)
    except BadField as bad:
        return _render_list(request, error=str(bad), values=values, status=400)
    try:
        opened = services.open_nonconformity(
            actor=user,
            standard=standard,
            out_of_tolerance_since=since,
            found_on=found_on,
            description=values["description"],
            shift=shift,
            shift_unit=values["unit"].strip(),
        )
    except DomainError as exc:
        return _render_list(request, error=exc.detail, values=values, status=exc.status)
    messages.success(
        request,
        _("Nonconformity %(number)s opened: %(asset)s is marked out of tolerance.")
        % {"number": opened.number, "asset": standard.asset_id},
    )
    return redirect("oversight:nonconformity", pk=opened.pk)


@page_for(*READERS)
def nonconformities(request: HttpRequest) -> HttpResponse:
    """The nonconformities of the person's organizations; a POST opens one."""
    if request.method == "POST":
        return _open(request)
    return _render_list(request)


# ---------------------------------------------------------------------------- one record


def _affected_rows(nonconformity: Nonconformity, current: dict[int, Decision]) -> list[Any]:
    items = list(nonconformity.affected.all())
    certificates = (
        Certificate.objects.select_related(
            "run__job__instrument__owner", "position__job__instrument__owner"
        )
        .prefetch_related("events")
        .in_bulk([i.certificate_id for i in items if i.certificate_id is not None])
    )
    rows = []
    for item in items:
        certificate = certificates.get(item.certificate_id) if item.certificate_id else None
        now = certificate_state(certificate).status if certificate is not None else None
        decision = current.get(item.certificate_id) if item.certificate_id else None
        again = item.reevaluation or {}
        rows.append(
            {
                "item": item,
                "issued": certificate is not None,
                "certificate": certificate,
                "customer": certificate.job.instrument.owner if certificate else None,
                "range": graph.describe_range(
                    {
                        "function": item.function,
                        "range_low": item.range_low,
                        "range_high": item.range_high,
                        "unit": item.unit,
                    }
                ),
                "status_now": CertificateStatus(now).label if now else "",
                "revoked": now == "revoked",
                "stored_verdict": _verdict(again.get("stored_verdict")) if again else "",
                "re_evaluated": _verdict(again.get("re_evaluated_verdict")) if again else "",
                "changed": bool(again.get("changed")),
                "not_re_evaluated": again.get("not_re_evaluated") or 0,
                "decision": decision,
                "action": decision.get_action_display() if decision else "",
                "recall": _recall(decision) if decision else "",
            }
        )
    return rows


def _render_record(
    request: HttpRequest,
    nonconformity: Nonconformity,
    *,
    error: str = "",
    failed: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _person(request)
    decisions = list(
        nonconformity.decisions.select_related("certificate", "decided_by", "supersedes").order_by(
            "decided_at", "pk"
        )
    )
    superseded = {d.supersedes_id for d in decisions if d.supersedes_id}
    current = {d.certificate_id: d for d in decisions if d.pk not in superseded}
    rows = _affected_rows(nonconformity, current)
    issued = [r for r in rows if r["issued"]]
    keeper = has_role(user, nonconformity.organization_id, Role.QUALITY_MANAGER)
    may_act = keeper and nonconformity.status == Nonconformity.Status.OPEN
    if not may_act:
        failed = ""  # no form to show the refusal beside: it goes on top
    context = {
        "nc": nonconformity,
        "status": nonconformity.get_status_display(),
        "is_open": nonconformity.status == Nonconformity.Status.OPEN,
        "rows": rows,
        "shifted": nonconformity.shift is not None,
        "issued": issued,
        "undecided": [r["item"].number for r in issued if r["decision"] is None],
        "history": [
            {
                "decision": d,
                "action": d.get_action_display(),
                "recall": _recall(d),
                "in_force": d.pk not in superseded,
            }
            for d in decisions
        ],
        "actions": Decision.Action.choices,
        "recalls": any(d.action == Decision.Action.RECALL for d in current.values()),
        "may_act": may_act,
        "error": error,
        "failed": failed,
        "values": values or {},
    }
    return render(request, "oversight/nonconformity.html", context, status=status)


@page_for(*READERS)
def nonconformity(request: HttpRequest, pk: int) -> HttpResponse:
    """One nonconformity: record, snapshot, decisions, forms (quality managers)."""
    return _render_record(request, _nonconformity(_person(request), pk))


@require_POST
@page_for(*READERS)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a decision on one affected certificate (``decide``; a recall revokes)."""
    user = _person(request)
    found = _nonconformity(user, pk)
    raw = request.POST.get("certificate", "")
    certificate = (
        visible_certificates(user).prefetch_related("events").filter(pk=int(raw)).first()
        if raw.isdigit()
        else None
    )
    if certificate is None:
        raise Http404("certificate: not found")
    values = {"action": request.POST.get("action", ""), "reason": request.POST.get("reason", "")}
    try:
        decision = services.decide(
            actor=user,
            nonconformity=found,
            certificate=certificate,
            action=values["action"],
            reason=values["reason"],
            password=request.POST.get("password", ""),
        )
    except DomainError as exc:
        found.refresh_from_db()
        return _render_record(
            request,
            found,
            error=f"{certificate.number}: {exc.detail}",
            failed=str(certificate.pk),
            values=values,
            status=exc.status,
        )
    done = _("Decision recorded for %(number)s: %(action)s.") % {
        "number": certificate.number,
        "action": decision.get_action_display(),
    }
    if decision.recall == Decision.Recall.REVOKED:
        done += " " + _("The certificate is revoked.")
    elif decision.recall == Decision.Recall.PENDING:
        done += " " + _("The recall is pending: a signatory or quality manager revokes it.")
    messages.success(request, done)
    return redirect("oversight:nonconformity", pk=found.pk)


@require_POST
@page_for(*READERS)
def close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close it (``close_nonconformity``: refused until every certificate is decided)."""
    user = _person(request)
    found = _nonconformity(user, pk)
    note = request.POST.get("note", "")
    try:
        services.close_nonconformity(actor=user, nonconformity=found, note=note)
    except DomainError as exc:
        found.refresh_from_db()
        return _render_record(
            request,
            found,
            error=exc.detail,
            failed="close",
            values={"note": note},
            status=exc.status,
        )
    messages.success(request, _("Nonconformity %(number)s closed.") % {"number": found.number})
    return redirect("oversight:nonconformity", pk=found.pk)


@page_for(*READERS)
def letters_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer letters of the recalled certificates (all customers, or ``?customer=``)."""
    found = _nonconformity(_person(request), pk)
    customer = request.GET.get("customer") or None
    try:
        pdf = letters.render_letters(letters.letters_for(found, customer))
    except DomainError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    name = found.number + (f"-{customer}" if customer else "")
    response["Content-Disposition"] = f'attachment; filename="{name}-letters.pdf"'
    return response
