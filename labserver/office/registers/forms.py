"""The forms of the national registers' entry pages: a decision's number and dates, a
pattern's type, manufacturer and model, an organization's (a verifier's) scope.

The forms only read what a person typed into the types the services take (a date, a list
of codes); every rule of a register (the number's form, a known organization, a validity
that ends after it begins, a decision registered once) is the service's
(:mod:`labserver.accounts.registers`), whose refusal the page shows on the input at fault.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from labserver.core.fields import MeasurementField

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CODE = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}

# A service's name of an input where the form's differs (``fields`` is a form's own
# attribute).
FORM_NAMES = {"fields": "scope_fields"}


def _number() -> forms.CharField:
    return forms.CharField(
        label=_("Decision number"),
        max_length=64,
        widget=forms.TextInput(attrs=CODE),
        help_text=_("Letters, digits and - _ . : only."),
    )


def _valid_until() -> forms.DateField:
    return forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=DATE,
        help_text=_("Empty: no time limit."),
    )


class PatternForm(forms.Form):
    """A pattern approval decision."""

    number = _number()
    instrument_type = forms.CharField(
        label=_("Instrument type code"), max_length=64, widget=forms.TextInput(attrs=CODE)
    )
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=200)
    model = forms.CharField(label=_("Model"), max_length=200)
    approved_on = forms.DateField(label=_("Approved on"), widget=DATE)
    valid_until = _valid_until()


class RenewPatternForm(forms.Form):
    renewed_on = forms.DateField(label=_("Renewed on"), widget=DATE)
    valid_until = _valid_until()


class WithdrawForm(forms.Form):
    withdrawn_on = forms.DateField(label=_("Withdrawn from"), widget=DATE)


class RevokeForm(forms.Form):
    revoked_on = forms.DateField(label=_("Revoked from"), widget=DATE)


class ScopeForm(forms.Form):
    """A designation's or a certification's scope and validity; a new one names its number
    and organization, an amendment or a renewal keeps those of the entry."""

    number = _number()
    organization = forms.CharField(
        label=_("Organization code"),
        max_length=64,
        widget=forms.TextInput(attrs=CODE),
        help_text=_("An organization of this node or of its registry."),
    )
    scope_fields = forms.MultipleChoiceField(
        label=_("Fields of measurement"),
        choices=MeasurementField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    instrument_types = forms.CharField(
        label=_("Instrument type codes"),
        required=False,
        widget=forms.TextInput(attrs=CODE),
        help_text=_("Separated by commas; a field or a type at least."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    valid_until = _valid_until()

    def __init__(self, *args: Any, entry: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if entry:  # the entry's own number and organization, not the person's input
            del self.fields["number"]
            del self.fields["organization"]

    def decision(self) -> dict[str, Any]:
        """The cleaned input as the services take it."""
        data = dict(self.cleaned_data)
        data["fields"] = data.pop("scope_fields")
        data["instrument_types"] = [t for t in data["instrument_types"].split(",") if t.strip()]
        return data
