"""Names of records in the page's language: ``{% load names %}`` then ``{{ type|local_name }}``.

Instrument types carry ``name_vi`` and procedures ``title_vi`` beside their English name,
a procedure's tests ``title: {en, vi}``; a Vietnamese page shows the Vietnamese one where it
was recorded, else the English. Codes the data carries (an environment quantity, a
standard's role in a run) are named in the page's language.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language, gettext_lazy

register = template.Library()


def _vietnamese() -> bool:
    return (get_language() or "").startswith("vi")


@register.filter
def local_name(record: Any) -> str:
    """``name_vi`` (or ``title_vi``) for a Vietnamese reader when recorded, else the name."""
    for english, vietnamese in (("name", "name_vi"), ("title", "title_vi")):
        if hasattr(record, english):
            if _vietnamese() and getattr(record, vietnamese, None):
                return str(getattr(record, vietnamese))
            return str(getattr(record, english))
    return str(record)


@register.filter
def test_title(test_id: str, procedure: Any) -> str:
    """The title of test ``test_id`` of ``procedure`` (its stored definition's
    ``tests[].title``, ``{en, vi}``) in the page's language; the id if it has none."""
    definition = getattr(procedure, "definition", None) or {}
    for test in definition.get("tests") or []:
        if isinstance(test, dict) and test.get("id") == test_id:
            title = test.get("title") or {}
            if isinstance(title, dict):
                return str(title.get("vi" if _vietnamese() else "en") or title.get("en") or test_id)
    return test_id


# What a bench records of its surroundings, and the roles a procedure gives its standards
# (procedures.definition.ROLES_KNOWN): codes in the data, words on the page.
QUANTITIES = {
    "temperature": gettext_lazy("temperature"),
    "humidity": gettext_lazy("relative humidity"),
    "relative_humidity": gettext_lazy("relative humidity"),
    "pressure": gettext_lazy("air pressure"),
    "air_pressure": gettext_lazy("air pressure"),
}
ROLES = {
    "source": gettext_lazy("source"),
    "reference": gettext_lazy("reference"),
    "uut": gettext_lazy("instrument under test"),
    "environment": gettext_lazy("environment"),
    "readout": gettext_lazy("readout"),
}


@register.filter
def quantity_name(code: str) -> str:
    """An environment quantity's name (``temperature``) in the page's language."""
    return str(QUANTITIES.get(code, code.replace("_", " ")))


@register.filter
def standard_role(code: str) -> str:
    """The role a standard played in a run (``reference``) in the page's language."""
    return str(ROLES.get(code, code.replace("_", " ")))
