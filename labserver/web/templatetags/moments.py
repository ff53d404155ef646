"""Times on the LIMS's pages, written the way the certificates write them.

``{% load moments %}`` then ``{{ run.started_at|moment }}`` →
``2026-12-06 14:05 UTC+07:00``; ``{{ entry.at|moment:"seconds" }}`` where the order
within a minute matters (the audit trail). The rule is
:func:`uncertainty.display.datetime_text`, the one the certificate's signature block
uses, so a page and the certificate it shows cannot put the same signature on two
different days. Without the offset a reader cannot tell which zone a time is in; work
done before 07:00 in Hanoi is on the previous day in UTC.

Dates alone (``|date:"Y-m-d"``) stay as they are: Django already writes an aware
datetime's date in the current zone.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from uncertainty.display import datetime_text

register = template.Library()

_PRECISIONS = ("", "minutes", "seconds")


@register.filter
def moment(value: datetime | None, precision: str = "") -> str:
    """An aware time in the current zone with its offset: the signed-in person's
    organization's (:mod:`labserver.accounts.zones`), the issuing organization's on the
    public check, else ``settings.TIME_ZONE``.

    ``None`` becomes ``""`` so that ``|default:"—"`` can follow. A naive time is
    written without an offset rather than with a guessed one.

    Raises:
        template.TemplateSyntaxError: ``precision`` is not ``minutes`` or ``seconds``
            (a typo in a template fails its test instead of silently dropping seconds).
    """
    if precision not in _PRECISIONS:
        raise template.TemplateSyntaxError(
            f"moment: precision must be 'minutes' or 'seconds', not {precision!r}"
        )
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        raise template.TemplateSyntaxError(
            f"moment: expects a datetime, not {type(value).__name__} ({value!r}); "
            'a date alone is written with |date:"Y-m-d"'
        )
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return datetime_text(value, seconds=precision == "seconds")
