"""The forms of the reference standards' pages: what a quality manager types."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from labserver.core.fields import MeasurementField
from labserver.standards.models import ReferenceStandard
from labserver.web.templatetags.names import ROLES
from procedures.definition import ROLES_KNOWN

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PDF_MAGIC = b"%PDF-"


class StandardForm(forms.Form):
    asset_id = forms.CharField(label=_("Asset id"), max_length=64)
    name = forms.CharField(label=pgettext_lazy("standard", "Name"), max_length=200)
    field = forms.ChoiceField(label=_("Field"), choices=MeasurementField.choices)
    level = forms.ChoiceField(
        label=_("Level"),
        choices=ReferenceStandard.Level.choices,
        initial=ReferenceStandard.Level.WORKING,
    )
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=200, required=False)
    model = forms.CharField(label=_("Model"), max_length=200, required=False)
    serial = forms.CharField(label=_("Serial number"), max_length=100, required=False)
    calibration_interval_months = forms.IntegerField(
        label=_("Calibration interval (months)"), min_value=1, max_value=120
    )


class CertificateForm(forms.Form):
    number = forms.CharField(label=_("Certificate number"), max_length=100)
    issuing_lab = forms.CharField(label=_("Issuing laboratory"), max_length=200)
    accreditation = forms.CharField(label=_("Accreditation"), max_length=100, required=False)
    calibrated_on = forms.DateField(label=_("Calibrated on"), widget=DATE)
    issued_on = forms.DateField(label=_("Issued on"), widget=DATE)
    due_on = forms.DateField(label=_("Due on"), widget=DATE)
    document = forms.FileField(
        label=_("Certificate document (PDF)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )
    reference_standards = forms.ModelMultipleChoiceField(
        label=_("Calibrated in-house with"),
        queryset=ReferenceStandard.objects.none(),
        required=False,
        help_text=_("Only for an in-house calibration: the standards that calibrated this one."),
    )

    calibrated_with_owner = forms.CharField(
        label=_("Calibrated with a standard of another organization: its organization's code"),
        max_length=64,
        required=False,
        help_text=_(
            "Only when a standard of another organization, on another node, calibrated this "
            "one (e.g. QT2): its code, its asset id and its certificate, the three together."
        ),
    )
    calibrated_with_standard = forms.CharField(
        label=_("That standard's asset id"), max_length=64, required=False
    )
    calibrated_with_certificate = forms.CharField(
        label=_("That standard's calibration certificate number"),
        max_length=64,
        required=False,
    )

    def __init__(self, *args: Any, standard: ReferenceStandard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        others = ReferenceStandard.objects.filter(organization_id=standard.organization_id).exclude(
            pk=standard.pk
        )
        field = self.fields["reference_standards"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        if others.exists():
            field.queryset = others
        else:  # no other standard could have calibrated it here
            del self.fields["reference_standards"]

    def clean_document(self) -> Any:
        document = self.cleaned_data["document"]
        head = document.read(len(PDF_MAGIC))
        document.seek(0)
        if head != PDF_MAGIC:
            raise forms.ValidationError(_("The document is not a PDF file."))
        return document


def label_row(form: forms.Form, row: int) -> None:
    """The table's header names the column; a screen reader hears the row too."""
    for field in form.fields.values():
        field.widget.attrs["aria-label"] = f"{field.label} ({row})"


class ValueForm(forms.Form):
    """One calibrated value of the certificate: a row of the values table."""

    quantity = forms.CharField(label=_("Quantity"), max_length=64)
    nominal = forms.FloatField(label=_("Nominal"))
    value = forms.FloatField(label=_("Value"))
    unit = forms.CharField(label=_("Unit"), max_length=32)
    U = forms.FloatField(label=_("U"), min_value=0)
    k = forms.FloatField(label=_("k"), min_value=0, required=False)

    def __init__(self, *args: Any, row: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        label_row(self, row)

    def entry(self) -> dict[str, Any]:
        data = self.cleaned_data
        entry = {key: data[key] for key in ("quantity", "nominal", "value", "unit", "U")}
        # No k given: the certificate's k = 2, as the model quantity reads it.
        return entry if data.get("k") is None else {**entry, "k": data["k"]}


class RowFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    """A table of rows, each labelled with its number for a screen reader; empty rows are
    left out. ``empty_message``: the error when every row is empty (None: allowed)."""

    empty_message: Any = None

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "row": (index or 0) + 1}

    def clean(self) -> None:
        super().clean()
        if self.empty_message and not self.filled():
            raise forms.ValidationError(self.empty_message)

    def filled(self) -> list[int]:
        """The indexes of the rows given, in order (the services number them so)."""
        return [i for i, form in enumerate(self.forms) if form.has_changed()]


class ValueRows(RowFormSet):
    empty_message = _("Give at least one calibrated value.")


# formset_factory's classes are subclasses of the formset given; the stubs lose that.
ValueFormSet = cast(
    "type[RowFormSet]", forms.formset_factory(ValueForm, formset=ValueRows, extra=5)
)


class FunctionForm(forms.Form):
    """What the standard may be used for: a role on a bench, a function and its range."""

    role = forms.ChoiceField(
        label=_("Role on the bench"),
        # the roles a procedure gives its standards, named in the page's language
        choices=[("", "—"), *((code, ROLES[code]) for code in ROLES_KNOWN if code in ROLES)],
    )
    function = forms.CharField(
        label=_("Function"),
        max_length=32,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. dcv, mass")}),
    )
    unit = forms.CharField(label=_("Unit"), max_length=32)
    min = forms.FloatField(label=_("From"), required=False)
    max = forms.FloatField(label=_("To"), required=False)

    def __init__(self, *args: Any, row: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        label_row(self, row)

    def entry(self) -> dict[str, Any]:
        data = self.cleaned_data
        entry = {key: data[key] for key in ("role", "function", "unit")}
        return {**entry, **{key: data[key] for key in ("min", "max") if data[key] is not None}}


FunctionFormSet = cast(
    "type[RowFormSet]", forms.formset_factory(FunctionForm, formset=RowFormSet, extra=3)
)
