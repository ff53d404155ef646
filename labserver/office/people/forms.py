"""The forms of the people pages: an invitation, a role with its certification, a reason,
and the invited person's new password."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from labserver.accounts.models import Role
from labserver.accounts.people import STAFF_ROLES
from labserver.core.fields import MeasurementField

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ROLE_CHOICES = [(role.value, role.label) for role in STAFF_ROLES]


class RoleForm(forms.Form):
    """A role in the organization and, for those who measure, review or sign, the fields
    their certification covers, its number and the date it is valid until."""

    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=Role.METROLOGIST)
    certified_fields = forms.MultipleChoiceField(
        label=_("Fields of the certification"),
        choices=MeasurementField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the person may verify, review or sign."),
    )
    certificate_number = forms.CharField(
        label=_("Certification number"), max_length=64, required=False
    )
    valid_until = forms.DateField(label=_("Certification valid until"), required=False, widget=DATE)

    def __init__(self, *args: Any, fixed_role: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fixed_role:
            # Changing a role's certification: the role itself is the membership's.
            self.fields["role"].widget = forms.HiddenInput()

    def membership(self) -> dict[str, Any]:
        """The cleaned role as the services take it (``fields``: a form's own attribute)."""
        data = dict(self.cleaned_data)
        data["fields"] = data.pop("certified_fields")
        return data


class InviteForm(RoleForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        help_text=_("As electronic signatures print it."),
    )
    email = forms.EmailField(label=_("E-mail address"))

    field_order = ["username", "full_name", "email", "role"]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class NewPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    again = forms.CharField(
        label=_("The same password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("again"):
            self.add_error("again", _("The two passwords differ."))
        return data
