"""The forms of the certificates' pages: a signature with its reason and password."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from labserver.measurements.models import Run


class SignedChangeForm(forms.Form):
    """Amending or revoking: the reason (printed on the replacement, or kept with the
    revocation) and the person's password, re-entered as their electronic signature."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    password = forms.CharField(
        label=_("Your password (electronic signature)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class AmendForm(SignedChangeForm):
    """Amending: also which run's results the replacement reports, when not the same run's
    (an approved run of the same instrument that has no certificate yet)."""

    run = forms.ChoiceField(label=_("Results from"), required=False)

    field_order = ["run", "reason", "password"]

    def __init__(self, *args: Any, runs: Iterable[Run] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["run"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("the same run"))] + [
            (
                str(run.pk),
                _("run of %(day)s, job %(job)s")
                % {"day": f"{timezone.localtime(run.finished_at):%Y-%m-%d}", "job": run.job.number},
            )
            for run in runs
        ]
