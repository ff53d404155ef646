"""The front office's forms for customers and their instruments: what a person types,
checked for shape here; the rules are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from labserver.accounts.models import Organization
from labserver.instruments.imports import MAX_BYTES
from labserver.instruments.models import InstrumentType, PatternApproval
from labserver.office.words import type_name


class CustomerForm(forms.Form):
    center = forms.ModelChoiceField(
        label=_("Center"), queryset=Organization.objects.none(), empty_label=None
    )
    code = forms.SlugField(
        label=_("Code"),
        max_length=32,
        help_text=_("Short, unique, letters, digits and hyphens (e.g. HN-WATER)."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    address = forms.CharField(
        label=_("Address"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    contact = forms.CharField(label=_("Contact person"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=50, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    tax_code = forms.CharField(label=_("Tax code"), max_length=32, required=False)

    def __init__(
        self, *args: Any, centers: set[int] | None = None, editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            # the code is in the customer's numbers: fixed; the center stays the same
            del self.fields["code"]
            del self.fields["center"]
            return
        queryset = Organization.objects.filter(pk__in=centers or set())
        self.fields["center"].queryset = queryset  # type: ignore[attr-defined]
        if queryset.count() == 1:
            self.fields["center"].widget = forms.HiddenInput()
            self.fields["center"].initial = queryset.first()


class InstrumentTypeChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{type_name(obj)} ({obj.code})"


class InstrumentForm(forms.Form):
    instrument_type = InstrumentTypeChoice(
        label=_("Instrument type"), queryset=InstrumentType.objects.all()
    )
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=200)
    model = forms.CharField(label=_("Model"), max_length=200)
    serial = forms.CharField(label=_("Serial number"), max_length=100)
    pattern = forms.CharField(
        label=_("Pattern approval number"),
        max_length=64,
        required=False,
        help_text=_("For an instrument of group 1 (controlled), if it has one."),
    )
    location = forms.CharField(label=_("Location"), max_length=200, required=False)

    def clean_pattern(self) -> PatternApproval | None:
        number = self.cleaned_data["pattern"].strip()
        if not number:
            return None
        found = PatternApproval.objects.filter(number=number).first()
        if found is None:
            raise forms.ValidationError(
                _("No approved pattern has the number %(number)s."), params={"number": number}
            )
        return found


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet (CSV or XLSX)"),
        help_text=format_lazy(
            _("At most {limit} MiB; the columns are described below."),
            limit=MAX_BYTES // (1024 * 1024),
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
