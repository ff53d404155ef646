"""The label of a field of measurement stored by its value (a membership's ``fields``)."""

from __future__ import annotations

from django import template

from labserver.core.fields import MeasurementField

register = template.Library()


@register.filter
def field_label(value: str) -> str:
    """``"mass"`` → "Mass and weighing", in the page's language; an unknown value as is."""
    try:
        return str(MeasurementField(value).label)
    except ValueError:
        return value
