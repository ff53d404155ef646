"""The front office's job forms: booking a customer's instruments in, and planning a job on
the calendar."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from labserver.accounts.models import Agent, Role, User
from labserver.instruments.models import Instrument
from labserver.jobs.models import Procedure
from labserver.office.words import procedure_title, type_name

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InstrumentChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return (
            f"{type_name(obj.instrument_type)} — {obj.manufacturer} {obj.model}, s/n {obj.serial}"
        )


class ProcedureChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return procedure_title(obj)


class BookForm(forms.Form):
    instruments = InstrumentChoices(
        label=_("Instruments"),
        queryset=Instrument.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("One job is created for each instrument chosen."),
    )
    procedure = ProcedureChoice(label=_("Procedure"), queryset=Procedure.objects.all())
    due_on = forms.DateField(label=_("Due date"), required=False, widget=DATE)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, instruments: QuerySet[Instrument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instruments"].queryset = instruments  # type: ignore[attr-defined]
        # the catalogue's procedures for the fields these instruments are measured in
        fields = {i.instrument_type.field for i in instruments}
        self.fields["procedure"].queryset = Procedure.objects.filter(  # type: ignore[attr-defined]
            field__in=fields
        ).order_by("procedure_id", "version")


class PersonChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name or obj.username)


class BenchChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class PlanForm(forms.Form):
    scheduled_on = forms.DateField(label=_("Day"), widget=DATE)
    bench = BenchChoice(
        label=_("Bench"), queryset=Agent.objects.none(), required=False, empty_label=_("(none)")
    )
    assignee = PersonChoice(
        label=_("Metrologist"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("(none)"),
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when a scheduled job is moved or reassigned."),
    )

    def __init__(self, *args: Any, organization_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bench"].queryset = Agent.objects.filter(  # type: ignore[attr-defined]
            organization_id=organization_id, revoked_at__isnull=True
        ).order_by("name")
        self.fields["assignee"].queryset = metrologists(organization_id)  # type: ignore[attr-defined]


def metrologists(organization_id: int) -> QuerySet[User]:
    """The organization's active metrologists, by name."""
    return (
        User.objects.filter(
            memberships__organization_id=organization_id,
            memberships__role=Role.METROLOGIST,
            memberships__active=True,
        )
        .distinct()
        .order_by("full_name", "username")
    )
