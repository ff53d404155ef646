"""The center's answers to a request: declining with a reason, scheduling its jobs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from labserver.customer_requests.models import CustomerRequest
from labserver.jobs.models import Procedure
from labserver.office.jobs.forms import DATE, PlanForm, ProcedureChoice


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The customer is shown it."),
    )


class ScheduleForm(PlanForm):
    """A day, a bench and a metrologist (the calendar's plan) and the procedure and due date
    of the jobs booked for the request's instruments."""

    procedure = ProcedureChoice(label=_("Procedure"), queryset=Procedure.objects.none())
    due_on = forms.DateField(label=_("Due date"), required=False, widget=DATE)

    field_order = ["procedure", "scheduled_on", "due_on", "bench", "assignee"]

    def __init__(self, *args: Any, request: CustomerRequest, **kwargs: Any) -> None:
        super().__init__(*args, organization_id=request.organization_id, **kwargs)
        del self.fields["reason"]  # a first plan has no reason to give
        fields = set(request.instruments.values_list("instrument_type__field", flat=True))
        self.fields["procedure"].queryset = Procedure.objects.filter(  # type: ignore[attr-defined]
            kind=request.kind, field__in=fields
        ).order_by("procedure_id", "version")
