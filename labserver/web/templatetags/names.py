"""Names of records in the page's language: ``{% load names %}`` then ``{{ type|local_name }}``.

Instrument types carry ``name_vi`` and procedures ``title_vi`` beside their English name;
a Vietnamese page shows the Vietnamese one where it was recorded, else the English.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language

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
