"""Filters of the portal's pages: names in the reader's language, codes as words."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language

from labserver.jobs.models import JobState

register = template.Library()


@register.filter
def local_name(record: Any) -> str:
    """``name_vi`` (or ``title_vi``) for a Vietnamese reader when recorded, else the name."""
    for english, vietnamese in (("name", "name_vi"), ("title", "title_vi")):
        if hasattr(record, english):
            if (get_language() or "").startswith("vi") and getattr(record, vietnamese, None):
                return str(getattr(record, vietnamese))
            return str(getattr(record, english))
    return str(record)


@register.filter
def job_state(code: str) -> str:
    """A job's state as the page's language names it (``JobState``'s label)."""
    return str(JobState(code).label)
