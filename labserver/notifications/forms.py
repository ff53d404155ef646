"""The form of a person's notification choices."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class PreferencesForm(forms.Form):
    due = forms.BooleanField(
        required=False,
        label=_("Instruments falling due"),
        help_text=_("90, 60 and 30 days before the due date of their certificate"),
    )
    issued = forms.BooleanField(
        required=False,
        label=_("Certificates issued"),
        help_text=_("When a certificate of your instrument is issued"),
    )
    recall = forms.BooleanField(
        required=False,
        label=_("Recall letters"),
        help_text=_("When a certificate of your instrument is recalled"),
    )
    language = forms.ChoiceField(
        required=False,
        label=_("Language of the e-mails"),
        choices=[("", _("The site's default")), *settings.LANGUAGES],
    )
