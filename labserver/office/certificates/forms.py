"""The forms of the certificates' pages: a signature with its reason and password."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SignedChangeForm(forms.Form):
    """Amending or revoking: the reason (printed on the replacement, or kept with the
    revocation) and the person's password, re-entered as their electronic signature."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    password = forms.CharField(
        label=_("Your password (electronic signature)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
