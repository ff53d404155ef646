"""Names shown by the front office in the page's language, and what every office page needs:
the centers whose desk the person runs, and a service's refusal placed next to its field."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.http import HttpRequest
from django.utils.translation import get_language

from labserver.accounts.access import organization_ids_with_role
from labserver.accounts.models import Role, User
from labserver.core.errors import DomainError
from labserver.instruments.models import InstrumentType
from labserver.jobs.models import Procedure

# Who opens the front office's customer and job pages (the services check again).
DESK = (Role.RECEPTION, Role.QUALITY_MANAGER)

T = TypeVar("T")


def vietnamese() -> bool:
    return (get_language() or "").startswith("vi")


def type_name(kind: InstrumentType) -> str:
    """An instrument type's name in the page's language (English when no Vietnamese)."""
    return (kind.name_vi if vietnamese() else "") or kind.name


def procedure_title(procedure: Procedure) -> str:
    """A procedure as the catalogue names it: id, version and title in the page's language."""
    title = (procedure.title_vi if vietnamese() else "") or procedure.title
    return f"{procedure.procedure_id} v{procedure.version} — {title}"


def person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # page_for let in only signed-in people
    return user


def desk_ids(request: HttpRequest) -> set[int]:
    """The organizations whose front office the signed-in person runs."""
    return organization_ids_with_role(person(request), *DESK)


def submit(form: forms.BaseForm, do: Callable[[], T]) -> T | None:
    """Run a service for a valid form; a refusal goes next to the field it names (or above
    the form) and ``None`` is returned: nothing was changed."""
    try:
        return do()
    except DomainError as exc:
        field = (exc.field or "").split(".")[0]
        form.add_error(field if field in form.fields else None, exc.detail)
        return None
