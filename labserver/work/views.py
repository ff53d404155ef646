"""My jobs, a run, and the electronic signatures on it; issuing its certificate.

Every page is narrowed to the person's organizations
(:func:`labserver.accounts.access.readable_organization_ids`): another organization's run
or certificate is not found (404), as in the API. Every change goes through the services
(:mod:`labserver.measurements.services`, :mod:`labserver.issuance.services`), which check
the role, the four eyes, the password and the state, and write the audit entry; a refusal
is shown on the run page, and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Prefetch, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from labserver.accounts.access import (
    fields_covered,
    has_role,
    organization_ids_with_role,
    readable_organization_ids,
)
from labserver.accounts.models import Role, User
from labserver.core.errors import DomainError
from labserver.issuance import services as issuance
from labserver.issuance.api.views import visible_certificates
from labserver.issuance.batch import issue_run_certificates
from labserver.issuance.documents import indication_resolution, points_of
from labserver.issuance.files import certificate_file
from labserver.issuance.models import Certificate, CertificateStatus
from labserver.issuance.stored_files import Which
from labserver.jobs.models import Job, JobState, parsed_procedure
from labserver.measurements import services as measurements
from labserver.measurements.models import Run, RunSignature, RunState
from labserver.measurements.partitions import readings_prefetch
from labserver.web.access import page_for
from uncertainty.display import (
    dof_text,
    indication_text,
    parameter_text,
    uncertainty_text,
    unit_symbol,
)
from uncertainty.errors import UncertaintyError

from .batch import PAGES, batch_done
from .chart import error_charts
from .evidence import environment_rows, io_log_page, point_evidence
from .positions import position_rows
from .presentation import VERDICTS, limit_documents, plain, point_rows, sig

WORK_ROLES = (Role.METROLOGIST, Role.REVIEWER, Role.SIGNATORY)
# The run page is also read by the quality manager and the auditor (read-only for them).
RUN_ROLES = (*WORK_ROLES, Role.QUALITY_MANAGER, Role.AUDITOR)
JOBS_PER_PAGE = 50


def verdict_label(statement: str) -> str:
    """The verdict in the page's language (empty when nothing was judged)."""
    return str(VERDICTS.get(statement, statement)) if statement else ""


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # page_for let in only signed-in people
    return user


# ------------------------------------------------------------------ my jobs


@require_GET
@page_for(*WORK_ROLES)
def jobs(request: HttpRequest) -> HttpResponse:
    """The jobs of the person's organizations, a metrologist's own first, by due date."""
    user = _person(request)
    queryset = Job.objects.filter(organization_id__in=readable_organization_ids(user))
    state = request.GET.get("state", "")
    if state in JobState.values:
        queryset = queryset.filter(state=state)
    else:
        state = ""
    if organization_ids_with_role(user, Role.METROLOGIST):
        mine: Any = Case(When(assignee=user, then=0), default=1, output_field=IntegerField())
    else:
        mine = Value(1, output_field=IntegerField())
    queryset = (
        queryset.select_related(
            "instrument__instrument_type", "procedure", "bench", "assignee", "organization"
        )
        .prefetch_related(
            Prefetch(
                "runs",
                queryset=Run.objects.order_by("started_at").only(
                    "id", "job_id", "state", "started_at", "server_conformity", "disagreements"
                ),
            )
        )
        .annotate(mine=mine)
        .order_by("mine", F("due_on").asc(nulls_last=True), "number")
    )
    page = Paginator(queryset, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "job": job,
            "state": job.get_state_display(),
            "mine": job.assignee_id == user.pk,
            "runs": [
                {
                    "run": run,
                    "state": run.get_state_display(),
                    "verdict": verdict_label(run.server_conformity),
                }
                for run in job.runs.all()
            ],
        }
        for job in page.object_list
    ]
    return render(
        request,
        "work/jobs.html",
        {
            "rows": rows,
            "page": page,
            "state": state,
            "states": JobState.choices,
        },
    )


# ------------------------------------------------------------------ a run


def _visible_run(user: User, run_id: Any) -> Run:
    """The run if it is one of the person's organizations', else 404 (without the body as
    received, which repeats every reading and the whole I/O log: loaded if asked for)."""
    queryset = (
        Run.objects.filter(organization_id__in=readable_organization_ids(user))
        .defer("payload")
        .select_related(
            "organization",
            "job__instrument__instrument_type",
            "job__instrument__owner",
            "agent",
            "operator",
            "procedure",
            "supersedes",
        )
    )
    return get_object_or_404(queryset, pk=run_id)


def allowed_actions(user: User, run: Run, signatures: list[RunSignature], issued: bool) -> set[str]:
    """The signatures ``user`` may put on ``run`` now (the services check again)."""
    org = run.organization_id
    signers = {s.meaning: s.user_id for s in signatures}
    performer = run.operator_id == user.pk
    signs_field = run.procedure.field in fields_covered(user, org, Role.SIGNATORY)
    allowed = set()
    if run.state == RunState.SUBMITTED and not performer and has_role(user, org, Role.REVIEWER):
        allowed.add("review")
    if (
        run.state == RunState.REVIEWED
        and signs_field
        and user.pk not in (run.operator_id, signers.get(RunSignature.Meaning.CHECKED))
    ):
        allowed.add("approve")
    if (
        run.state in (RunState.SUBMITTED, RunState.REVIEWED)
        and not performer
        and has_role(user, org, Role.REVIEWER, Role.SIGNATORY)
    ):
        allowed.add("reject")
    # a multi-position run's instruments each get their own certificate, all issued by
    # one signature act while one of them has none
    if run.state == RunState.APPROVED and signs_field:
        if run.positions.exists():
            certified = {c.position_id for c in run.certificates.all()}
            if any(p.pk not in certified for p in issuance.certifiable_positions(run)):
                allowed.add("issue")
        elif not issued:
            allowed.add("issue")
    return allowed


def _standards(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "usage": usage,
            "range": (
                f"{plain(usage.range_low)} … {plain(usage.range_high)} {unit_symbol(usage.unit)}"
            ),
        }
        for usage in run.standard_usages.select_related("standard", "certificate")
    ]


def _check_value(run: Run, check: dict[str, Any], points: dict[int, Any]) -> str:
    """A check value as the certificate prints it: to the coarsest resolution its
    points were read to (uncertainty.display), or as stored when none is on record."""
    unit = str(check.get("unit") or "")
    try:
        definition = parsed_procedure(run.procedure)
        resolutions = [
            r
            for i in points_of(check)
            if i in points and (r := indication_resolution(points[i], definition, unit)) is not None
        ]
        value = float(check["value"])
        return indication_text(value, max(resolutions) if resolutions else None)
    except (KeyError, TypeError, ValueError, DomainError, UncertaintyError):
        return plain(check.get("value"))


def _checks(run: Run) -> list[dict[str, Any]]:
    points = {p.index: p for p in run.points.all()}
    return [
        {
            "check": check.get("check", ""),
            "test": check.get("test", ""),
            "points": ", ".join(str(p) for p in check.get("points") or []),
            "value": _check_value(run, check, points),
            "limit": plain(check.get("limit")),
            "unit": unit_symbol(str(check.get("unit") or "")),
            "passed": check.get("passed") is True,
            "rule": check.get("rule", ""),
        }
        for check in run.server_checks or []
    ]


def _term(value: Any, u: Any) -> tuple[str, str]:
    """A fitted coefficient and its standard uncertainty, the coefficient to two
    significant digits of its own uncertainty (GUM 7.2.6)."""
    try:
        return parameter_text(float(value), float(u))
    except (TypeError, ValueError, UncertaintyError):
        return plain(value), plain(u)


def _spread(value: Any) -> str:
    """A residual standard deviation to two significant digits, like an uncertainty."""
    try:
        return uncertainty_text(float(value))
    except (TypeError, ValueError, UncertaintyError):
        return plain(value)


def _curves(run: Run) -> list[dict[str, Any]]:
    out = []
    for test, curve in (run.server_curves or {}).items():
        coefficients = curve.get("coefficients") or []
        uncertainties = curve.get("u_coefficients") or []
        out.append(
            {
                "test": test,
                "fit": curve.get("fit", ""),
                "degree": curve.get("degree", ""),
                "x": curve.get("x", ""),
                "y": curve.get("y", ""),
                "x0": plain(curve.get("x0")) if curve.get("x0") else "",
                "terms": [
                    dict(zip(("value", "u"), _term(c, u), strict=True), name=f"c{j}")
                    for j, (c, u) in enumerate(zip(coefficients, uncertainties, strict=False))
                ],
                "residual_sd": _spread(curve.get("residual_sd")),
                "chi_square": sig(curve.get("chi_square"), 2, strip=True),
                "dof": dof_text(curve.get("dof")) if curve.get("dof") is not None else "",
            }
        )
    return out


def _disagreements(run: Run) -> list[str]:
    """The run-level disagreements (checks and curves) as text."""
    out = []
    for item in run.disagreement or []:
        what = item.get("check") or item.get("test") or item.get("item", "")
        out.append(
            _("%(item)s %(what)s, %(quantity)s: agent %(agent)s, server %(server)s")
            % {
                "item": item.get("item", ""),
                "what": what,
                "quantity": item.get("quantity", ""),
                "agent": item.get("agent"),
                "server": item.get("server"),
            }
        )
    return out


def _certificates(user: User, run: Run) -> list[dict[str, Any]]:
    found = (
        visible_certificates(user)
        .filter(run=run)
        .select_related("position")
        .prefetch_related("events__replacement")
        .order_by("issued_at", "pk")
    )
    out = []
    for certificate in found:
        status = issuance.certificate_state(certificate).status
        out.append(
            {
                "certificate": certificate,
                "status": status,
                "state": CertificateStatus(status).label,
            }
        )
    return out


def _render_run(
    request: HttpRequest,
    run: Run,
    *,
    error: str = "",
    failed: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _person(request)
    # a multi-position run's points are shown by position
    points = list(
        run.points.filter(position__isnull=True)
        .prefetch_related(readings_prefetch([run]))
        .order_by("index")
    )
    io_log = io_log_page(run, request.GET.get("io"))
    signatures = list(run.signatures.order_by("signed_at", "pk"))
    certificates = _certificates(user, run)
    actions = allowed_actions(user, run, signatures, issued=bool(certificates))
    by_position = {
        item["certificate"].position_id: item
        for item in certificates
        if item["certificate"].position_id is not None
    }
    positions = position_rows(run, by_position)
    context = {
        "run": run,
        "job": run.job,
        "instrument": run.job.instrument,
        "state": run.get_state_display(),
        "verdict": verdict_label(run.server_conformity),
        "verdict_class": "pass"
        if run.server_conformity == "pass"
        else ("fail" if run.server_conformity else ""),
        "signatures": [{"signature": s, "meaning": s.get_meaning_display()} for s in signatures],
        "points": point_rows(points, parsed_procedure(run.procedure)),
        "limit_documents": limit_documents(
            list(run.points.only("server_result")), parsed_procedure(run.procedure)
        ),
        "positions": positions,
        # the column of the meters read through their optical ports, where any was
        "positions_read": any(row.identity for row in positions),
        "charts": error_charts(points),
        "checks": _checks(run),
        "curves": _curves(run),
        "run_disagreements": _disagreements(run),
        "standards": _standards(run),
        "environment": environment_rows(run),
        "evidence": point_evidence(run, points),
        "io_log": io_log,
        "certificates": certificates,
        "actions": actions,
        "error": error,
        "failed": failed,
        "values": values or {},
    }
    return render(request, "work/run.html", context, status=status)


@require_GET
@page_for(*RUN_ROLES)
def run_page(request: HttpRequest, run_id: Any) -> HttpResponse:
    return _render_run(request, _visible_run(_person(request), run_id))


# ------------------------------------------------------------------ signatures


def _sign(
    request: HttpRequest,
    run_id: Any,
    action: str,
    do: Callable[[User, Run, dict[str, str]], None],
    done: str,
) -> HttpResponse:
    """Put ``user``'s signature ``action`` on the run through ``do``; on a refusal show
    the run page again with the service's reason (nothing was changed)."""
    user = _person(request)
    run = _visible_run(user, run_id)
    values = {
        "comment": request.POST.get("comment", ""),
        "reason": request.POST.get("reason", ""),
        "password": request.POST.get("password", ""),
    }
    try:
        do(user, run, values)
    except DomainError as exc:
        run.refresh_from_db()
        shown = {k: v for k, v in values.items() if k != "password"}
        return _render_run(
            request, run, error=exc.detail, failed=action, values=shown, status=exc.status
        )
    messages.success(request, done)
    return redirect("work:run", run_id=run.pk)


@require_POST
@page_for(*RUN_ROLES)
def review(request: HttpRequest, run_id: Any) -> HttpResponse:
    def do(user: User, run: Run, values: dict[str, str]) -> None:
        measurements.review_run(
            actor=user, run=run, password=values["password"], comment=values["comment"]
        )

    return _sign(request, run_id, "review", do, _("Signed: you checked this run."))


@require_POST
@page_for(*RUN_ROLES)
def approve(request: HttpRequest, run_id: Any) -> HttpResponse:
    def do(user: User, run: Run, values: dict[str, str]) -> None:
        measurements.approve_run(
            actor=user, run=run, password=values["password"], comment=values["comment"]
        )

    return _sign(request, run_id, "approve", do, _("Signed: you authorized this run."))


@require_POST
@page_for(*RUN_ROLES)
def reject(request: HttpRequest, run_id: Any) -> HttpResponse:
    def do(user: User, run: Run, values: dict[str, str]) -> None:
        if not values["reason"].strip():
            # The service says so too, after the password; say it first, in the page's words.
            raise DomainError(_("A rejection needs a reason."), field="reason")
        measurements.reject_run(
            actor=user, run=run, password=values["password"], reason=values["reason"]
        )

    return _sign(request, run_id, "reject", do, _("Signed: you rejected this run; it goes back."))


@require_POST
@page_for(*RUN_ROLES)
def issue(request: HttpRequest, run_id: Any) -> HttpResponse:
    user = _person(request)
    run = _visible_run(user, run_id)
    if run.positions.exists():
        return _issue_positions(request, user, run)
    try:
        certificate = issuance.issue_certificate(
            actor=user, run=run, password=request.POST.get("password", "")
        )
    except DomainError as exc:
        run.refresh_from_db()
        return _render_run(request, run, error=exc.detail, failed="issue", status=exc.status)
    messages.success(
        request, _("Certificate %(number)s issued and signed.") % {"number": certificate.number}
    )
    return redirect("work:certificate-issued", pk=certificate.pk)


def _issue_positions(request: HttpRequest, user: User, run: Run) -> HttpResponse:
    """Every measured position's certificate by one signature act; the outcome on the
    batch's page (each certificate, each refusal with its reason, the labels' sheet)."""
    try:
        result = issue_run_certificates(
            actor=user, run=run, password=request.POST.get("password", "")
        )
    except DomainError as exc:
        run.refresh_from_db()
        return _render_run(request, run, error=exc.detail, failed="issue", status=exc.status)
    return batch_done(request, PAGES["issue"], result)


@require_GET
@page_for(*RUN_ROLES)
def certificate_issued(request: HttpRequest, pk: int) -> HttpResponse:
    """What was signed: the number, the signed PDF and DCC, the public check page."""
    certificate: Certificate = get_object_or_404(
        visible_certificates(_person(request)).select_related(
            "run__job", "position__job", "issued_by"
        ),
        pk=pk,
    )
    return render(request, "work/issued.html", {"certificate": certificate})


@require_GET
@page_for(*RUN_ROLES)
def preview(request: HttpRequest, run_id: Any) -> HttpResponse:
    """The certificate the run would be issued as, unsigned, watermarked, unnumbered
    (:func:`labserver.issuance.services.preview_certificate`); a refusal on the run page."""
    user = _person(request)
    run = _visible_run(user, run_id)
    position = None
    if run.positions.exists():
        position = run.positions.filter(number=_position_number(request)).first()
        if position is None:
            raise Http404("no such position")
    try:
        data = issuance.preview_certificate(actor=user, run=run, position=position)
    except DomainError as exc:
        return _render_run(request, run, error=exc.detail, failed="issue", status=exc.status)
    response = HttpResponse(data, content_type="application/pdf")
    job = position.job if position is not None and position.job is not None else run.job
    name = f"preview-{job.number}.pdf"
    response["Content-Disposition"] = content_disposition_header(False, name) or ""
    response["Cache-Control"] = "no-store"
    return response


def _position_number(request: HttpRequest) -> int:
    """The ``position`` asked for (a multi-position run's preview); not a number: 404."""
    try:
        return int(request.GET.get("position", ""))
    except ValueError:
        raise Http404("position: a position number") from None


# ------------------------------------------------------------------ downloads


def _download(request: HttpRequest, pk: int, which: Which) -> HttpResponse:
    """The file as issued, to whom the API would give it (another organization's: 404)."""
    certificate: Certificate = get_object_or_404(visible_certificates(_person(request)), pk=pk)
    return certificate_file(request, certificate, which)


@require_GET
@page_for(*RUN_ROLES)
def certificate_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _download(request, pk, "pdf")


@require_GET
@page_for(*RUN_ROLES)
def certificate_dcc(request: HttpRequest, pk: int) -> HttpResponse:
    return _download(request, pk, "dcc")
