"""A service's refusal shown on the page's form, beside the input it names.

The services name the field at fault (``DomainError.field``: ``"number"``,
``"values[2].U"``); a page's form shows the message on that input when it has one, and at the
top of the form otherwise. Nothing was saved: the service's transaction rolled back.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest

from labserver.accounts.models import User
from labserver.core.errors import DomainError

# A service's name of a field where the form's differs (``fields`` is a form's own attribute).
FORM_NAMES = {"fields": "certified_fields"}


def show_refusal(
    form: forms.BaseForm, error: DomainError, names: dict[str, str] | None = None
) -> None:
    """Attach ``error`` to ``form``: on its field when the form has one of that name
    (``names``: the form's names of the service's fields, where they differ)."""
    name = (names or FORM_NAMES).get(error.field or "", error.field)
    name = name if name in form.fields else None
    form.add_error(name, str(error.detail))


def signed_in_person(request: HttpRequest) -> User:
    """The signed-in person (``page_for`` let in no one else)."""
    user = request.user
    assert isinstance(user, User)  # page_for let in only signed-in people
    return user
