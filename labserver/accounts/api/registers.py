"""The directorate's API to the national registers (on the national node): a pattern
approved, renewed or withdrawn; an organization designated or its designation withdrawn; a
verifier certified or the certification revoked. Each call is one service of
:mod:`labserver.accounts.registers` (role-checked, audited) and answers the fact written.

Reading the registers is public: the pages under ``/registers/``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import models
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labserver.accounts import registers as national
from labserver.core.errors import DomainError


def _date(data: Any, name: str, *, required: bool = True) -> date | None:
    raw = data.get(name)
    if raw in (None, "") and not required:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise DomainError(f"{name}: expected a date YYYY-MM-DD, got {raw!r}", field=name) from None


def _day(data: Any, name: str) -> date:
    day = _date(data, name)
    assert day is not None
    return day


def _text(data: Any, name: str) -> str:
    raw = data.get(name, "")
    if not isinstance(raw, str):
        raise DomainError(f"{name}: expected a text, got {raw!r}", field=name)
    return raw


def _codes(data: Any, name: str) -> list[str]:
    raw = data.get(name, [])
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise DomainError(f"{name}: expected a list of codes, got {raw!r}", field=name)
    return raw


def fact_json(fact: models.Model) -> dict[str, Any]:
    """A register fact as the API answers it: its public columns."""
    values = {f.attname: getattr(fact, f.attname) for f in fact._meta.concrete_fields}
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def _entry(doing: str, write: Callable[[Any, Any, dict[str, str]], models.Model]) -> type[APIView]:
    """A POST endpoint calling ``write(actor, data, url kwargs)``: 201 with the fact."""

    class Entry(APIView):
        people_only = True

        @extend_schema(
            operation_id=f"registers_{doing}",
            tags=["registers"],
            request=OpenApiTypes.OBJECT,
            responses={
                201: OpenApiResponse(OpenApiTypes.OBJECT, description="The fact written"),
                409: OpenApiResponse(
                    description="The same decision twice, or an end of a number the register "
                    "does not hold"
                ),
                422: OpenApiResponse(description="A value refused, the field named"),
            },
        )
        def post(self, request: Request, **kwargs: str) -> Response:
            if not isinstance(request.data, dict):
                raise DomainError("the body must be a JSON object")
            return Response(fact_json(write(request.user, request.data, kwargs)), status=201)

    Entry.__name__ = Entry.__qualname__ = f"Registers{doing.title().replace('_', '')}View"
    Entry.__doc__ = f"The national registers: {doing.replace('_', ' ')} (the directorate's)."
    return Entry


def _pattern(actor: Any, data: Any, kw: dict[str, str]) -> models.Model:
    return national.approve_pattern(
        actor=actor,
        number=_text(data, "number"),
        instrument_type=_text(data, "instrument_type"),
        manufacturer=_text(data, "manufacturer"),
        model=_text(data, "model"),
        approved_on=_day(data, "approved_on"),
        valid_until=_date(data, "valid_until", required=False),
    )


def _renew(actor: Any, data: Any, kw: dict[str, str]) -> models.Model:
    return national.renew_pattern(
        actor=actor,
        number=kw["number"],
        renewed_on=_day(data, "renewed_on"),
        valid_until=_date(data, "valid_until", required=False),
    )


def _withdraw_pattern(actor: Any, data: Any, kw: dict[str, str]) -> models.Model:
    return national.withdraw_pattern(
        actor=actor, number=kw["number"], withdrawn_on=_day(data, "withdrawn_on")
    )


def _scoped(service: Callable[..., models.Model]) -> Callable[..., models.Model]:
    """A designation's or a certification's POST: the organization's scope and validity."""

    def write(actor: Any, data: Any, kw: dict[str, str]) -> models.Model:
        return service(
            actor=actor,
            number=_text(data, "number"),
            organization=_text(data, "organization"),
            fields=_codes(data, "fields"),
            instrument_types=_codes(data, "instrument_types"),
            valid_from=_day(data, "valid_from"),
            valid_until=_date(data, "valid_until", required=False),
        )

    return write


def _withdraw_designation(actor: Any, data: Any, kw: dict[str, str]) -> models.Model:
    return national.withdraw_designation(
        actor=actor, number=kw["number"], withdrawn_on=_day(data, "withdrawn_on")
    )


def _revoke(actor: Any, data: Any, kw: dict[str, str]) -> models.Model:
    return national.revoke_certification(
        actor=actor, number=kw["number"], revoked_on=_day(data, "revoked_on")
    )


urlpatterns = [
    path("registers/patterns/", _entry("approve_pattern", _pattern).as_view()),
    path(
        "registers/patterns/<str:number>/renew/",
        _entry("renew_pattern", _renew).as_view(),
    ),
    path(
        "registers/patterns/<str:number>/withdraw/",
        _entry("withdraw_pattern", _withdraw_pattern).as_view(),
    ),
    path(
        "registers/designations/",
        _entry("designate", _scoped(national.designate_organization)).as_view(),
    ),
    path(
        "registers/designations/<str:number>/withdraw/",
        _entry("withdraw_designation", _withdraw_designation).as_view(),
    ),
    path(
        "registers/verifiers/",
        _entry("certify_verifier", _scoped(national.certify_verifier)).as_view(),
    ),
    path(
        "registers/verifiers/<str:number>/revoke/",
        _entry("revoke_certification", _revoke).as_view(),
    ),
]
