"""Reference standards, as the quality manager keeps them: the register of the
organization's standards with the due list (overdue, falling due within 30, 60, 90 days),
registering a standard, and recording a new calibration certificate of one with its document
and calibrated values.

Every change goes through :mod:`labserver.standards.services` (the role, the dates, the
values, the SHA-256 of the document, the audit entry). A standard of another organization is
not found (404); a person without the role is refused (403, :func:`page_for`).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.accounts.access import organization_ids_with_role
from labserver.accounts.models import Organization
from labserver.core.errors import DomainError
from labserver.standards import services
from labserver.standards.due import WINDOWS, due_list, with_certificate_in_force
from labserver.standards.models import ReferenceStandard, StandardCertificate
from labserver.standards.values import readable_values
from labserver.web.access import page_for
from labserver.web.templatetags.names import standard_role
from uncertainty.display import number_text, result_texts, unit_symbol

from ..refusals import show_refusal, signed_in_person
from .forms import CertificateForm, FunctionFormSet, StandardForm, ValueFormSet

KEEPERS = services.KEEPERS
ROW = re.compile(r"^(\w+)\[(\d+)\](?:\.(\w+))?$")


def _kept_ids(request: HttpRequest) -> set[int]:
    return organization_ids_with_role(request.user, *KEEPERS)


def _standard(request: HttpRequest, pk: int) -> ReferenceStandard:
    standard = (
        ReferenceStandard.objects.filter(pk=pk, organization__in=_kept_ids(request))
        .select_related("organization")
        .first()
    )
    if standard is None:
        raise Http404("standard: not found")
    return standard


@page_for(*KEEPERS)
def register(request: HttpRequest) -> HttpResponse:
    """The standards of the person's organizations and the due list."""
    today = timezone.localdate()
    ids = _kept_ids(request)
    due = due_list(ids, today)
    windows = []
    after = 0
    for days in WINDOWS:
        items = due.windows[days]
        windows.append({"days": days, "after": after, "items": items, "id": f"due-{days}"})
        after = days + 1
    context = {
        "today": today,
        "standards": with_certificate_in_force(ids, today),
        "overdue": due.overdue,
        "windows": windows,
    }
    return render(request, "office/standards/register.html", context)


def _organizations(request: HttpRequest) -> list[Organization]:
    return list(Organization.objects.filter(pk__in=_kept_ids(request)).order_by("code"))


@page_for(*KEEPERS)
def new_standard(request: HttpRequest) -> HttpResponse:
    """Register a reference standard in the person's organization (the first one where
    they keep the standards; a choice when they keep several)."""
    organizations = _organizations(request)
    form = StandardForm(request.POST or None)
    functions = FunctionFormSet(request.POST or None, prefix="functions")
    chosen = _chosen_organization(request, organizations)
    if request.method == "POST" and form.is_valid() & functions.is_valid():
        try:
            standard = services.register_standard(
                actor=signed_in_person(request),
                organization=chosen,
                functions=[functions.forms[i].entry() for i in functions.filled()],
                **form.cleaned_data,
            )
        except DomainError as error:
            _show_row_refusal(form, {"functions": functions}, error)
        else:
            messages.success(request, _("%(asset)s is registered.") % {"asset": standard.asset_id})
            return redirect("office:standard", standard.pk)
    context = {
        "form": form,
        "functions": functions,
        "organizations": organizations,
        "chosen": chosen,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "office/standards/new.html", context, status=status)


def _chosen_organization(request: HttpRequest, organizations: list[Organization]) -> Organization:
    wanted = request.POST.get("organization") or request.GET.get("organization")
    for organization in organizations:
        if str(organization.pk) == wanted:
            return organization
    return organizations[0]


@page_for(*KEEPERS)
def standard(request: HttpRequest, pk: int) -> HttpResponse:
    """A standard, its certificates, and the form to record a new one."""
    found = _standard(request, pk)
    return _standard_page(
        request, found, CertificateForm(standard=found), ValueFormSet(prefix="values")
    )


def _value_texts(entry: dict[str, Any]) -> dict[str, str]:
    """A calibrated value as a certificate writes it: U to two significant digits, the
    value to the same place (ILAC P14); nominal and k as given."""
    value, uncertainty = result_texts(entry["value"], entry["U"])
    return {
        "quantity": entry["quantity"],
        "nominal": number_text(entry["nominal"]),
        "value": value,
        "U": uncertainty,
        "k": number_text(entry.get("k") or 2),
        "unit": unit_symbol(entry["unit"]),
    }


def _function_text(entry: dict[str, Any]) -> str:
    """``reference: temperature -50 … 420 °C``: a use of the standard, its bounds as given."""
    low, high = entry.get("min"), entry.get("max")
    bounds = ""
    if low is not None or high is not None:
        low_text = "…" if low is None else number_text(low)
        high_text = "…" if high is None else number_text(high)
        bounds = f" {low_text} … {high_text}"
    return (
        f"{standard_role(str(entry.get('role', '')))}: {entry.get('function')}{bounds} "
        f"{unit_symbol(entry.get('unit', ''))}"
    )


def _standard_page(
    request: HttpRequest,
    found: ReferenceStandard,
    form: CertificateForm,
    values: Any,
    status: int = 200,
) -> HttpResponse:
    certificates = [
        {"certificate": c, "values": [_value_texts(v) for v in readable_values(c.values)]}
        for c in found.certificates.order_by("-calibrated_on", "-pk")
    ]
    context = {
        "standard": found,
        "status": found.status_on(timezone.localdate()),
        "functions": [_function_text(f) for f in found.functions or [] if isinstance(f, dict)],
        "certificates": certificates,
        "form": form,
        "values": values,
    }
    return render(request, "office/standards/standard.html", context, status=status)


def _show_row_refusal(form: Any, tables: dict[str, Any], error: DomainError) -> None:
    """A refusal of ``values[i]`` or ``functions[i]`` (the i-th row given) is shown on the
    row of the table it came from; any other on the form."""
    match = ROW.match(error.field or "")
    if match is None or match.group(1) not in tables:
        show_refusal(form, error)
        return
    table = tables[match.group(1)]
    row = table.forms[table.filled()[int(match.group(2))]]
    key = match.group(3)
    row.add_error(key if key in row.fields else None, str(error.detail))


@page_for(*KEEPERS)
def record_certificate(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a new calibration certificate of the standard, with its PDF and values."""
    if request.method != "POST":
        return redirect("office:standard", pk)
    found = _standard(request, pk)
    form = CertificateForm(request.POST, request.FILES, standard=found)
    values = ValueFormSet(request.POST, prefix="values")
    if form.is_valid() & values.is_valid():
        data = dict(form.cleaned_data)
        uses = list(data.pop("reference_standards", []))
        elsewhere = [
            data.pop(name)
            for name in (
                "calibrated_with_owner",
                "calibrated_with_standard",
                "calibrated_with_certificate",
            )
        ]
        try:
            certificate = services.record_certificate(
                actor=signed_in_person(request),
                standard=found,
                file=data.pop("document"),
                values=[values.forms[i].entry() for i in values.filled()],
                internal=bool(uses),
                reference_standards=uses,
                calibrated_with=services.StandardElsewhere(*elsewhere) if any(elsewhere) else None,
                **data,
            )
        except DomainError as error:
            _show_row_refusal(form, {"values": values}, error)
        else:
            messages.success(
                request,
                _("Certificate %(number)s of %(asset)s is recorded.")
                % {"number": certificate.number, "asset": found.asset_id},
            )
            return redirect("office:standard", found.pk)
    return _standard_page(request, found, form, values, status=400)


@page_for(*KEEPERS)
def certificate_document(request: HttpRequest, pk: int) -> FileResponse:
    """The document of a standard's certificate, as recorded."""
    certificate = (
        StandardCertificate.objects.filter(pk=pk, standard__organization__in=_kept_ids(request))
        .exclude(file="")
        .first()
    )
    if certificate is None or not certificate.file:
        raise Http404("certificate document: not found")
    return FileResponse(
        certificate.file.open("rb"),
        as_attachment=True,
        filename=f"{certificate.number}.pdf",
        content_type="application/pdf",
    )
