"""The batch pages: the runs awaiting the person's review, approval or certificate, exceptions
first; many ticked, the password entered once, the outcome shown run by run.

The list is narrowed to the organizations where the person holds the act's role; a run id
posted that is not on the person's list is refused by the form (another organization's run
is never signed from here). The services (:mod:`labserver.measurements.batch`,
:mod:`labserver.issuance.batch`) check everything again and say what is atomic: the
password once for the act, then each run on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from labserver.accounts.access import organization_ids_with_role
from labserver.accounts.models import Role, User
from labserver.core.errors import DomainError
from labserver.issuance.batch import issue_certificates
from labserver.issuance.models import Certificate, CertificateKind
from labserver.measurements.batch import BatchResult, approve_runs, review_runs
from labserver.measurements.models import PositionState, Run, RunPosition, RunSignature, RunState
from labserver.web.access import page_for

from .positions import is_exception, ranked
from .presentation import VERDICTS

FAILING = ("fail", "conditional fail")


@dataclass(frozen=True)
class BatchPage:
    """One act's page: its title, who signs, which runs await it, what its button says."""

    title: Any
    role: str
    state: str
    button: Any
    meaning: Any


PAGES = {
    "review": BatchPage(
        _("Runs to review"),
        Role.REVIEWER,
        RunState.SUBMITTED,
        _("Sign: checked"),
        _("Meaning of this signature, on each run ticked: “I checked this run.”"),
    ),
    "approve": BatchPage(
        _("Runs to approve"),
        Role.SIGNATORY,
        RunState.REVIEWED,
        _("Sign: authorized"),
        _("Meaning of this signature, on each run ticked: “I authorize the results of this run.”"),
    ),
    "issue": BatchPage(
        _("Certificates to issue"),
        Role.SIGNATORY,
        RunState.APPROVED,
        _("Sign and issue"),
        _(
            "Meaning of this signature, on each run ticked: “I authorize the issue of the "
            "certificate of this run, signed with the organization's key.” Each certificate "
            "gets its own number and signature."
        ),
    ),
}


@dataclass(frozen=True)
class PositionLine:
    """A position of a multi-position run awaiting the act: its instrument (its job's), its
    verdict, what makes it an exception (failed, disagreeing, skipped or removed and why),
    and, on the issue page, whether it gets a certificate."""

    position: RunPosition
    verdict: str
    exception: bool

    @property
    def certified(self) -> bool:
        return self.position.state == PositionState.MEASURED and self.position.job_id is not None


@dataclass(frozen=True)
class Row:
    """A run awaiting the act, with what makes it an exception; a multi-position run's
    positions, exceptions first."""

    run: Run
    failed_points: int
    verdict: str
    positions: tuple[PositionLine, ...] = ()

    @property
    def exception(self) -> bool:
        return bool(
            self.failed_points
            or self.run.disagreements
            or any(line.exception for line in self.positions)
        )


def _lines(run: Run) -> tuple[PositionLine, ...]:
    return tuple(
        PositionLine(
            position,
            str(VERDICTS.get(position.server_conformity, position.server_conformity)),
            is_exception(position),
        )
        for position in ranked(run.positions.all())
    )


def awaiting(user: User, act: str) -> list[Row]:
    """The runs awaiting ``act`` in the organizations where ``user`` holds its role, but
    those the four eyes keep from them (the services refuse them too): exceptions first
    (failed points, disagreements between the bench and the server, a multi-position run's
    failed, skipped or removed positions), then by job number. On the issue page a
    multi-position run is listed while a measured position of it has no certificate."""
    page = PAGES[act]
    runs = (
        Run.objects.filter(
            organization_id__in=organization_ids_with_role(user, page.role), state=page.state
        )
        .select_related("job__instrument__instrument_type", "procedure", "organization")
        .annotate(failed=Count("points", filter=Q(points__server_conformity__in=FAILING)))
        .prefetch_related(
            Prefetch(
                "positions",
                RunPosition.objects.select_related("job__instrument__instrument_type"),
            )
        )
        .defer("payload", "raw_io", "response")
    )
    if act == "issue":
        positions = RunPosition.objects.filter(run=OuterRef("pk"))
        waiting = positions.filter(
            state=PositionState.MEASURED, job__isnull=False, certificates__isnull=True
        )
        certified = Certificate.objects.filter(run=OuterRef("pk"))
        runs = runs.filter((~Exists(certified) & ~Exists(positions)) | Exists(waiting))
    else:  # the four eyes: not the runs the person performed, nor, to approve, reviewed
        runs = runs.exclude(operator=user).exclude(
            signatures__user=user, signatures__meaning=RunSignature.Meaning.CHECKED
        )
    rows = [
        Row(
            run,
            run.failed,
            str(VERDICTS.get(run.server_conformity, run.server_conformity)),
            _lines(run),
        )
        for run in runs
    ]
    return sorted(rows, key=lambda row: (not row.exception, row.run.job.number))


class BatchForm(forms.Form):
    """The runs ticked (of those listed), the disagreements acknowledged, the password."""

    runs = forms.MultipleChoiceField(label=_("Runs"), widget=forms.CheckboxSelectMultiple)
    acknowledged = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    comment = forms.CharField(label=_("Comment (optional)"), required=False)
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput)

    def __init__(self, *args: Any, rows: list[Row], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(row.run.pk), row.run.job.number) for row in rows]
        for name in ("runs", "acknowledged"):
            field = self.fields[name]
            assert isinstance(field, forms.MultipleChoiceField)
            field.choices = choices
        self.fields["runs"].error_messages["required"] = _("Tick at least one run.")


def _act(act: str, user: User, runs: list[Run], data: dict[str, Any]) -> BatchResult:
    password, comment = data["password"], data["comment"]
    if act == "review":
        acknowledged = {run.pk for run in runs if str(run.pk) in data["acknowledged"]}
        return review_runs(
            actor=user, runs=runs, password=password, comment=comment, acknowledged=acknowledged
        )
    if act == "approve":
        return approve_runs(actor=user, runs=runs, password=password, comment=comment)
    return issue_certificates(actor=user, runs=runs, password=password)


def batch_done(request: HttpRequest, page: BatchPage, result: BatchResult) -> HttpResponse:
    """The outcome run by run; for an issue, the certificates issued and their labels."""
    numbers = [o.certificate for o in result.done if o.certificate]
    certificates = list(Certificate.objects.filter(number__in=numbers).order_by("number"))
    # A failed verification's notice carries no mark, so no label.
    marked = [
        c.pk for c in certificates if c.kind == CertificateKind.VERIFICATION and c.mark_number
    ]
    context = {
        "page": page,
        "result": result,
        "certificates": certificates,
        "labels": "&".join(f"ids={pk}" for pk in marked),
    }
    return render(request, "work/batch_done.html", context)


@require_GET
@page_for(Role.REVIEWER, Role.SIGNATORY)
def start(request: HttpRequest) -> HttpResponse:
    """The first batch of the person's: the runs to review for a reviewer, else to approve."""
    act = "review" if organization_ids_with_role(request.user, Role.REVIEWER) else "approve"
    return redirect("work:batch", act=act)


@require_http_methods(["GET", "POST"])
@page_for(Role.REVIEWER, Role.SIGNATORY)
def batch(request: HttpRequest, act: str) -> HttpResponse:
    """The runs awaiting ``act`` (review, approve, issue); a POST signs those ticked."""
    page = PAGES.get(act)
    if page is None:
        raise Http404("no such batch")
    user = request.user
    assert isinstance(user, User)  # page_for let in only signed-in people
    rows = awaiting(user, act)
    form = BatchForm(request.POST if request.method == "POST" else None, rows=rows)
    error, status = "", 200
    if form.is_bound and form.is_valid():
        ticked = set(form.cleaned_data["runs"])
        runs = [row.run for row in rows if str(row.run.pk) in ticked]
        try:
            result = _act(act, user, runs, form.cleaned_data)
        except DomainError as exc:
            error, status = exc.detail, exc.status
        else:
            return batch_done(request, page, result)
    elif form.is_bound:
        status = 400
    context = {"act": act, "page": page, "rows": rows, "form": form, "error": error}
    return render(request, "work/batch.html", context, status=status)
