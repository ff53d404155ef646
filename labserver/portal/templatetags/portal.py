"""Filters of the portal's pages: names in the reader's language, codes as words."""

from __future__ import annotations

from django import template

from labserver.jobs.models import JobState
from labserver.web.templatetags.names import local_name

register = template.Library()


# The same rule as every page's (labserver.web.templatetags.names).
register.filter("local_name", local_name)


@register.filter
def job_state(code: str) -> str:
    """A job's state as the page's language names it (``JobState``'s label)."""
    return str(JobState(code).label)
