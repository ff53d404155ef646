"""The period of a report: from and to (dates, both included), checked."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

# Twenty years of months is already a long chart; a longer period is a typing mistake.
LONGEST_MONTHS = 240


class PeriodForm(forms.Form):
    """``from`` and ``to`` (query parameters; ``from`` is a Python keyword, hence the
    fields added by name). Either may be left out: the default period fills it."""

    def __init__(self, data: Any, *, default_start: date, default_end: date) -> None:
        super().__init__(data)
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, input_formats=["%Y-%m-%d"]
        )
        self.fields["to"] = forms.DateField(
            label=_("To"), required=False, input_formats=["%Y-%m-%d"]
        )
        self.default_start, self.default_end = default_start, default_end

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        start = cleaned.get("from") or self.default_start
        end = cleaned.get("to") or self.default_end
        if end < start:
            self.add_error("to", _("The end of the period is before its start."))
        elif (end.year - start.year) * 12 + end.month - start.month >= LONGEST_MONTHS:
            self.add_error(
                "to", _("The period is longer than %(n)s months.") % {"n": LONGEST_MONTHS}
            )
        cleaned["from"], cleaned["to"] = start, end
        return cleaned
