"""The quality manager's pages of in-service lots: the lots, a new lot, and on each lot its
steps in order (import the meters, record the organization's sampling plan, draw the sample,
enter the sampled meters' results, decide), with the plan's operating characteristic as a
table and a chart. Auditors read the same pages without the forms. Every step goes through
:mod:`labserver.lots.services`; another organization's lot is not found (404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labserver.accounts.access import has_role, organization_ids_with_role
from labserver.accounts.models import Organization, Role
from labserver.core.errors import DomainError
from labserver.instruments.customers import customers_of
from labserver.instruments.imports import ImportRefused
from labserver.lots import sampling, services
from labserver.lots.access import LOT_MANAGERS, listed_lots, readable_lots
from labserver.lots.models import Lot, OCModel, Stage
from labserver.office.words import person, submit, type_name
from labserver.web.access import page_for
from uncertainty.display import indication_text

from .chart import oc_chart
from .forms import DecisionForm, DrawForm, LotForm, MetersForm, PlanForm, ResultForm

READERS = (Role.QUALITY_MANAGER, Role.AUDITOR)
# P_a is shown to 0.001 and p to 0.1 %: the resolution the table is read at.
PA_STEP, P_STEP = "0.001", "0.1"


def _manager_ids(request: HttpRequest) -> set[int]:
    return organization_ids_with_role(person(request), *LOT_MANAGERS)


def _lot_form(request: HttpRequest, data: Any = None) -> LotForm:
    return LotForm(data, owners=customers_of(_manager_ids(request)).order_by("name"))


@require_GET
@page_for(*READERS)
def lot_list(request: HttpRequest) -> HttpResponse:
    """The lots the person may read, the newest first."""
    lots = listed_lots(person(request))[:200]
    rows = [
        {"lot": lot, "stage": Stage(lot.stage).label, "type": type_name(lot.instrument_type)}
        for lot in lots
    ]
    return render(
        request, "office/lots/list.html", {"rows": rows, "can_create": bool(_manager_ids(request))}
    )


@require_http_methods(["GET", "POST"])
@page_for(*LOT_MANAGERS)
def lot_create(request: HttpRequest) -> HttpResponse:
    """A new lot, in the (first) organization where the person is quality manager."""
    form = _lot_form(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        organization = Organization.objects.get(pk=min(_manager_ids(request)))
        lot = submit(
            form,
            lambda: services.create_lot(
                actor=person(request),
                organization=organization,
                number=data["number"],
                instrument_type=data["instrument_type"],
                pattern=data["pattern"],
                installed_year=data["installed_year"],
                owner=data["owner"],
            ),
        )
        if lot is not None:
            messages.success(request, _("Lot %(number)s created.") % {"number": lot.number})
            return redirect("office:lot", pk=lot.pk)
    return render(request, "office/lots/new.html", {"form": form})


def _oc(lot: Lot) -> dict[str, Any]:
    """The plan's operating characteristic: the model, the table rows and the chart."""
    plan = lot.plan
    model, points = sampling.operating_characteristic(
        lot.meters.count(), plan.sample_size, plan.acceptance_number
    )
    rows = [
        {
            "p": indication_text(float(point.p) * 100, float(P_STEP)),
            "d": point.nonconforming,
            "pa": indication_text(point.acceptance, float(PA_STEP)),
        }
        for point in points
    ]
    chart = oc_chart(
        [
            (float(point.p) * 100, point.acceptance, f"p = {row['p']} %, Pa = {row['pa']}")
            for point, row in zip(points, rows, strict=True)
        ],
        title=_("Operating characteristic (n = %(n)d, c = %(c)d)")
        % {"n": plan.sample_size, "c": plan.acceptance_number},
        desc=_("Probability of accepting the lot against its fraction of nonconforming meters."),
        x_label=_("Nonconforming meters in the lot (%)"),
        y_label=_("Probability of acceptance"),
    )
    return {"model": OCModel(model).label, "rows": rows, "chart": chart}


def _detail(request: HttpRequest, lot: Lot, **given: Any) -> HttpResponse:
    stage = lot.stage
    draw = getattr(lot, "draw", None)
    results = {r.meter.serial: r for r in lot.results.select_related("meter", "certificate")}
    pending = [s for s in draw.serials if s not in results] if draw else []
    context: dict[str, Any] = {
        "lot": lot,
        "type": type_name(lot.instrument_type),
        "stage": stage,
        "stage_label": Stage(stage).label,
        "can_manage": has_role(person(request), lot.organization_id, *LOT_MANAGERS),
        "meter_count": lot.meters.count(),
        "plan": getattr(lot, "plan", None),
        "draw": draw,
        "sample": [(serial, results.get(serial)) for serial in draw.serials] if draw else [],
        "failures": sum(1 for r in results.values() if not r.passed),
        "decision": getattr(lot, "decision", None),
        "oc": _oc(lot) if getattr(lot, "plan", None) else None,
        "problems": given.get("problems", []),
        "meters_form": given.get("meters_form") or MetersForm(),
        "plan_form": given.get("plan_form") or PlanForm(),
        "draw_form": given.get("draw_form") or DrawForm(),
        "result_form": given.get("result_form") or ResultForm(serials=pending),
        "decision_form": given.get("decision_form") or DecisionForm(),
        "algorithm": sampling.DRAW_ALGORITHM,
    }
    return render(request, "office/lots/detail.html", context)


def _found(request: HttpRequest, pk: int) -> Lot:
    return get_object_or_404(readable_lots(person(request)), pk=pk)


def _done(request: HttpRequest, lot: Lot, text: str) -> HttpResponse:
    messages.success(request, text % {"number": lot.number})
    return redirect("office:lot", pk=lot.pk)


@require_GET
@page_for(*READERS)
def lot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _found(request, pk))


@require_POST
@page_for(*LOT_MANAGERS)
def lot_meters(request: HttpRequest, pk: int) -> HttpResponse:
    lot = _found(request, pk)
    form = MetersForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.import_meters(
                actor=person(request), lot=lot, name=upload.name, data=upload.read()
            )
        except ImportRefused as refused:
            # every row's problem in a table (a refusal of the whole file is one of them)
            return _detail(request, lot, meters_form=form, problems=refused.problems)
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            return _done(request, lot, _("The meters of lot %(number)s are imported."))
    return _detail(request, lot, meters_form=form)


def _step(
    request: HttpRequest,
    pk: int,
    make_form: Callable[[Lot], forms.Form],
    act: Callable[[Lot, dict[str, Any]], object],
    done_text: str,
) -> HttpResponse:
    """One step of the lot from its form: the service called with the form's data; its
    refusal shown next to the field it names, the lot's page again with the form."""
    lot = _found(request, pk)
    form = make_form(lot)
    if form.is_valid() and submit(form, lambda: act(lot, form.cleaned_data)) is not None:
        return _done(request, lot, done_text)
    key = {PlanForm: "plan_form", DrawForm: "draw_form", ResultForm: "result_form"}
    return _detail(request, lot, **{key.get(type(form), "decision_form"): form})


@require_POST
@page_for(*LOT_MANAGERS)
def lot_plan(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda lot: PlanForm(request.POST),
        lambda lot, data: services.choose_plan(
            actor=person(request),
            lot=lot,
            sample_size=data["sample_size"],
            acceptance_number=data["acceptance_number"],
            basis=data["basis"],
        ),
        _("The sampling plan of lot %(number)s is recorded."),
    )


@require_POST
@page_for(*LOT_MANAGERS)
def lot_draw(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda lot: DrawForm(request.POST),
        lambda lot, data: services.draw_sample(actor=person(request), lot=lot, seed=data["seed"]),
        _("The sample of lot %(number)s is drawn."),
    )


def _sampled(lot: Lot) -> list[str]:
    draw = getattr(lot, "draw", None)
    return list(draw.serials) if draw else []


@require_POST
@page_for(*LOT_MANAGERS)
def lot_result(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda lot: ResultForm(request.POST, serials=_sampled(lot)),
        lambda lot, data: services.record_result(
            actor=person(request),
            lot=lot,
            serial=data["serial"],
            passed=data["passed"],
            certificate_number=data["certificate_number"],
            note=data["note"],
        ),
        _("The result is recorded in lot %(number)s."),
    )


@require_POST
@page_for(*LOT_MANAGERS)
def lot_decide(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda lot: DecisionForm(request.POST),
        lambda lot, data: services.decide(
            actor=person(request),
            lot=lot,
            valid_until=data["valid_until"],
            reason=data["reason"],
        ),
        _("Lot %(number)s is decided."),
    )
