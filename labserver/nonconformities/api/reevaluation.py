"""Would the verdicts change? The reverse trace of a standard, its issued certificates
re-evaluated with the standard's certified value moved (:mod:`..reevaluation`), over HTTP:

- ``GET /api/v1/standards/{id}/impact/reevaluate/?from=&to=&shift=&unit=`` — a page of the
  affected issued certificates (``page``, ``page_size``), each with its stored verdict, the
  re-evaluated one and the points behind them.

People only (an agent is refused, 403); the standard must be readable by the caller (else
404 as if missing), and only the caller's readable organizations' certificates are listed,
as in the reverse trace (:mod:`labserver.traceability.api.views`).
"""

from __future__ import annotations

from datetime import date

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labserver.accounts.access import readable_organization_ids
from labserver.traceability.api.params import (
    Out,
    Paging,
    date_range,
    query_float,
    readable_standard,
)

from .. import reevaluation


class AcceptanceOut(serializers.Serializer):  # type: ignore[type-arg]
    """The acceptance limits a verdict was given against (from the procedure)."""

    lower = serializers.FloatField(allow_null=True, required=False)
    upper = serializers.FloatField(allow_null=True, required=False)
    mpe = serializers.FloatField(allow_null=True, required=False)
    rule = serializers.CharField(required=False)
    document = serializers.CharField(required=False)


class StoredPointOut(serializers.Serializer):  # type: ignore[type-arg]
    error = serializers.FloatField(allow_null=True, help_text="The server's value at ingest")
    U = serializers.FloatField(allow_null=True)
    conformity = serializers.CharField(help_text="pass / fail / …; empty: not judged")
    acceptance = AcceptanceOut(allow_null=True)


class ReevaluatedPointOut(StoredPointOut):
    acceptance_interval = serializers.ListField(
        child=serializers.FloatField(allow_null=True), allow_null=True
    )
    decision_rule = serializers.CharField(allow_null=True)


class PointReevaluationOut(serializers.Serializer):  # type: ignore[type-arg]
    """A point evaluated again with the standard's certified value moved."""

    index = serializers.IntegerField()
    test = serializers.CharField()
    nominal = serializers.FloatField()
    unit = serializers.CharField()
    quantities = serializers.ListField(
        child=serializers.CharField(), help_text="The model quantities taken from the standard"
    )
    stored = StoredPointOut()
    re_evaluated = ReevaluatedPointOut()
    changed = serializers.BooleanField()


class NotReevaluatedOut(serializers.Serializer):  # type: ignore[type-arg]
    index = serializers.IntegerField(allow_null=True, help_text="The point (null: all of them)")
    reason = serializers.CharField()


class CertificateReevaluationOut(serializers.Serializer):  # type: ignore[type-arg]
    """An affected issued certificate: its stored verdict and the re-evaluated one."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    organization = serializers.CharField()
    run = serializers.UUIDField()
    depth = serializers.IntegerField(help_text="1: the run used the standard itself")
    stored_verdict = serializers.CharField()
    re_evaluated_verdict = serializers.CharField(
        allow_null=True, help_text="null: not known (points not re-evaluated)"
    )
    changed = serializers.BooleanField(allow_null=True, help_text="null: not known")
    points = PointReevaluationOut(many=True)
    not_re_evaluated = NotReevaluatedOut(many=True)
    checks = serializers.ListField(
        child=serializers.DictField(), allow_null=True, help_text="Test-level checks, recomputed"
    )


class ReevaluationOut(Out):
    """One page of the re-evaluated reverse trace (issued certificates only)."""

    RENAMED = {"from_": "from"}
    standard = serializers.CharField()
    from_ = serializers.DateField()
    to = serializers.DateField()
    shift = serializers.FloatField()
    unit = serializers.CharField()
    count = serializers.IntegerField(help_text="Affected issued certificates")
    changed = serializers.IntegerField(help_text="On this page: verdicts that change")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CertificateReevaluationOut(many=True)


class StandardImpactReevaluationView(APIView):
    people_only = True  # the schema documents the 403 an agent gets

    @extend_schema(
        operation_id="standards_impact_reevaluate",
        tags=["traceability"],
        parameters=[
            OpenApiParameter("from", type=date, required=True, description="First day, included"),
            OpenApiParameter("to", type=date, required=True, description="Last day, included"),
            OpenApiParameter(
                "shift",
                type=float,
                required=True,
                description="How far the standard's certified value moved (+: it was worth more)",
            ),
            OpenApiParameter(
                "unit", type=str, required=True, description="The unit of the certificate's value"
            ),
            OpenApiParameter("page", type=int),
            OpenApiParameter("page_size", type=int, description="At most 500"),
        ],
        responses=ReevaluationOut,
        description=(
            "Would the verdict change? Every issued certificate of the reverse trace, its "
            "points that took a value from the standard's certificate re-evaluated with that "
            "value moved by `shift`, as the server evaluated them at ingest; the others, and "
            "certificates that depend on the standard only through other standards, reported "
            "as not re-evaluated with the reason."
        ),
    )
    def get(self, request: Request, pk: int) -> Response:
        standard = readable_standard(request, pk)
        start, end = date_range(request)
        shift = reevaluation.Shift(
            query_float(request, "shift"), request.query_params.get("unit", "")
        )
        paging = Paging(request)
        affected = reevaluation.affected_certificates(
            standard, start, end, organization_ids=readable_organization_ids(request.user)
        )
        results = reevaluation.reevaluate(
            standard, affected[paging.offset : paging.offset + paging.size], shift
        )

        return Response(
            {
                "standard": standard.asset_id,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "shift": shift.value,
                "unit": shift.unit,
                "count": len(affected),
                "changed": sum(1 for r in results if r["changed"]),
                **paging.links(len(affected)),
                "results": results,
            }
        )
