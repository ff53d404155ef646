"""The forms of a lot's pages: what the quality manager types at each step. The services
check again and name the field at fault."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from labserver.accounts.models import Organization
from labserver.instruments.models import InstrumentType, PatternApproval


class LotForm(forms.Form):
    number = forms.CharField(label=_("Lot number"), max_length=32)
    instrument_type = forms.ModelChoiceField(
        label=_("Instrument type"), queryset=InstrumentType.objects.order_by("name")
    )
    pattern = forms.ModelChoiceField(
        label=_("Pattern approval (if any)"),
        queryset=PatternApproval.objects.order_by("number"),
        required=False,
    )
    installed_year = forms.IntegerField(label=_("Year of installation"), min_value=1900)
    owner = forms.ModelChoiceField(label=_("Owner of the meters"), queryset=Organization.objects)

    def __init__(self, *args: Any, owners: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]


class MetersForm(forms.Form):
    file = forms.FileField(
        label=_("File of the meters (CSV or XLSX)"),
        help_text=_("Columns: serial (required), location (optional)."),
    )


class PlanForm(forms.Form):
    sample_size = forms.IntegerField(label=_("Sample size n"), min_value=1)
    acceptance_number = forms.IntegerField(label=_("Acceptance number c"), min_value=0)
    basis = forms.CharField(
        label=_("Basis of the plan"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "What the organization's n and c come from: its quality levels (e.g. AQL and LQ, "
            "or the producer's and consumer's risks) or the table it adopts."
        ),
    )


class DrawForm(forms.Form):
    seed = forms.IntegerField(
        label=_("Seed (leave empty to draw one at random)"),
        min_value=0,
        max_value=2**63 - 1,
        required=False,
    )


class ResultForm(forms.Form):
    serial = forms.ChoiceField(label=_("Sampled meter"))
    passed = forms.TypedChoiceField(
        label=_("Result"),
        choices=[("1", _("Passed")), ("0", _("Failed"))],
        coerce=lambda value: value == "1",
    )
    certificate_number = forms.CharField(
        label=_("Verification certificate number (if issued)"), max_length=64, required=False
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, serials: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["serial"].choices = [(s, s) for s in serials]  # type: ignore[attr-defined]


class DecisionForm(forms.Form):
    valid_until = forms.DateField(
        label=_("Validity extended until (when accepted)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(
        label=_("Remarks"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
