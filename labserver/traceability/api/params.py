"""What the reverse-trace views read from a request and how they page their answers: the
reverse trace (:mod:`.views`) and its re-evaluation
(:mod:`labserver.nonconformities.api.reevaluation`) take the same standard, the same
``from``/``to`` and the same ``page``/``page_size``, and answer pages of the same shape."""

from __future__ import annotations

from datetime import date
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from labserver.accounts.access import acting_person, readable_organization_ids
from labserver.core.api import Pagination
from labserver.core.errors import DomainError, NotFound
from labserver.standards.models import ReferenceStandard


class Out(serializers.Serializer):  # type: ignore[type-arg]
    """An answer's schema; ``RENAMED`` maps attribute names to keys Python cannot use."""

    RENAMED: dict[str, str] = {}

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        for attribute, key in self.RENAMED.items():
            fields[key] = fields.pop(attribute)
        return fields


def query_date(request: Request, name: str, default: date | None) -> date:
    """The ISO date ``name`` of the query string (required when ``default`` is ``None``)."""
    raw = request.query_params.get(name)
    if not raw:
        if default is None:
            raise DomainError(f"{name}: required (YYYY-MM-DD)", field=name)
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"{name}: not an ISO date: {raw!r}", field=name) from None


def date_range(request: Request) -> tuple[date, date]:
    """The required ``from`` and ``to`` of a reverse trace, in order."""
    start = query_date(request, "from", None)
    end = query_date(request, "to", None)
    if end < start:
        raise DomainError("to: before from", field="to")
    return start, end


def query_int(request: Request, name: str, default: int) -> int:
    """The whole number ``name`` of the query string, ``default`` when absent."""
    raw = request.query_params.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise DomainError(f"{name}: not a number: {raw!r}", field=name) from None


def query_float(request: Request, name: str) -> float:
    """The required number ``name`` of the query string."""
    raw = request.query_params.get(name)
    if not raw:
        raise DomainError(f"{name}: required (a number)", field=name)
    try:
        return float(raw)
    except ValueError:
        raise DomainError(f"{name}: not a number: {raw!r}", field=name) from None


def readable_standard(request: Request, pk: int) -> ReferenceStandard:
    """The standard asked about, when the person asking may read it (404 otherwise, as if
    missing; an agent is refused)."""
    acting_person(request.user, action="reading traceability")
    found = (
        ReferenceStandard.objects.filter(organization__in=readable_organization_ids(request.user))
        .select_related("organization")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound("standard: not found")
    return found


class Paging:
    """The page asked for (``page`` from 1, ``page_size`` within the API's limits) and the
    links to its neighbours once the number of rows is known."""

    def __init__(self, request: Request) -> None:
        self.request = request
        size = query_int(request, Pagination.page_size_query_param, Pagination.page_size)
        self.size = min(max(size, 1), Pagination.max_page_size)
        self.page = max(query_int(request, "page", 1), 1)
        self.offset = (self.page - 1) * self.size

    def links(self, count: int) -> dict[str, str | None]:
        """``next`` and ``previous``: the same query string on the neighbouring pages."""

        def link(n: int) -> str | None:
            if n < 1 or (n - 1) * self.size >= count:
                return None
            params = self.request.query_params.copy()
            params["page"] = str(n)
            return self.request.build_absolute_uri(f"{self.request.path}?{params.urlencode()}")

        return {"next": link(self.page + 1), "previous": link(self.page - 1)}
