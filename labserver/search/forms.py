"""The search's input: the query and, for certificates, a status."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from labserver.issuance.models import CertificateStatus

from .queries import MAX_CHARACTERS, MIN_CHARACTERS, words_of


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        max_length=MAX_CHARACTERS,
        error_messages={
            "required": _("Type what to look for: a number, a serial, a name or a code."),
        },
    )
    status = forms.ChoiceField(
        label=_("Certificate status"),
        required=False,
        choices=[("", _("Any status")), *CertificateStatus.choices],
    )

    def clean_q(self) -> Any:
        """At least :data:`MIN_CHARACTERS` letters or digits: punctuation alone finds
        nothing, and one character would list half the register."""
        text = self.cleaned_data["q"]
        if sum(len(word) for word in words_of(text)) < MIN_CHARACTERS:
            raise ValidationError(
                _("Too short: type at least %(count)d letters or digits."),
                params={"count": MIN_CHARACTERS},
                code="too_short",
            )
        return text
