"""The customer's forms: asking for a calibration or a verification, and cancelling it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from labserver.customer_requests.models import Place
from labserver.instruments.models import Instrument
from labserver.jobs.models import Procedure
from labserver.web.templatetags.names import local_name

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InstrumentChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return (
            f"{local_name(obj.instrument_type)} — {obj.manufacturer} {obj.model}, "
            f"{_('s/n')} {obj.serial}"
        )


class RequestForm(forms.Form):
    instruments = InstrumentChoices(
        label=_("Instruments"),
        queryset=Instrument.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The instruments of one center in a request."),
    )
    kind = forms.ChoiceField(
        label=_("What for"), choices=Procedure.Kind.choices, widget=forms.RadioSelect
    )
    place = forms.ChoiceField(
        label=_("Where"), choices=Place.choices, initial=Place.LAB, widget=forms.RadioSelect
    )
    site_address = forms.CharField(
        label=_("Address of the site"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required on site: where the center's staff are to come."),
    )
    wished_on = forms.DateField(label=_("Wished date"), widget=DATE)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, instruments: QuerySet[Instrument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instruments"].queryset = instruments  # type: ignore[attr-defined]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
