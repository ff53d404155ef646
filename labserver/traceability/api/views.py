"""The chain view and the reverse trace over HTTP.

- ``GET /api/v1/certificates/{id}/chain/`` — the chain of an issued certificate.
- ``GET /api/v1/standards/{id}/chain/?on=YYYY-MM-DD`` — a standard's chain on a date
  (default today, in the lab's time zone).
- ``GET /api/v1/standards/{id}/impact/?from=YYYY-MM-DD&to=YYYY-MM-DD`` — the reverse
  trace, paginated (``page``, ``page_size``), or all of it as CSV with ``?format=csv``.

People only (an agent is refused, 403). The certificate or standard asked about must be
readable by the caller (their organizations, an auditor's grants, a customer's own
certificates), else 404 as if missing. The chain then goes up through the standards of
other organizations too (the institute's national standard above a center's working
standard): their identity, certificate number, laboratory, accreditation and hash are what
the caller's own certificate states as its traceability. The reverse trace lists only the
records of the caller's readable organizations: going down from a standard reaches other
centers' certificates, which stay unseen.

Example, ``GET /api/v1/certificates/7/chain/`` (abridged)::

    {"root": "issued_certificate:7",
     "nodes": [
       {"id": "issued_certificate:7", "kind": "issued_certificate",
        "number": "HN-HC-2025-000001", "status": "valid", "pdf_sha256": "9f2c…", …},
       {"id": "standard:3", "kind": "standard", "asset_id": "HN-W-01", "level": "working", …},
       {"id": "standard_certificate:12", "kind": "standard_certificate",
        "standard": "standard:3", "number": "HN-W-01-2025", "internal": true,
        "due_on": "2025-08-01", "sha256": "41d0…", "top": null, …},
       …,
       {"id": "standard_certificate:2", "number": "BIPM-2024-77", "issuing_lab": "BIPM",
        "accreditation": "CIPM MRA", "top": "external", …},
       {"id": "si", "kind": "si", "name": "International System of Units (SI)"}],
     "edges": [
       {"from": "issued_certificate:7", "to": "standard_certificate:12", "kind": "used",
        "depth": 1, "standard": "standard:3", "used_on": "2025-09-01", "function": "dcv",
        "range_low": 0.0, "range_high": 10.0, "unit": "V",
        "uncertainty": [{"quantity": "dcv", "nominal": 10, "value": 10, "unit": "V",
                         "U": 2e-06, "k": 2, "coverage_probability": 0.95}],
        "valid": false,
        "reasons": ["overdue: certificate HN-W-01-2025 of HN-W-01 was due on 2025-08-01,
                     used on 2025-09-01"]},
       …,
       {"from": "standard_certificate:2", "to": "si", "kind": "traceable_to", "depth": 4,
        "valid": true, "reasons": []}],
     "breaks": [{"edge": ["issued_certificate:7", "standard_certificate:12"], "reasons": […]}],
     "unbroken": false, "truncated": false, "max_depth": 20}

``GET /api/v1/standards/1/impact/?from=2025-01-10&to=2025-01-10`` (abridged)::

    {"standard": "NMI-E-001", "from": "2025-01-10", "to": "2025-01-10", "count": 5,
     "next": null, "previous": null,
     "results": [
       {"kind": "standard_certificate", "id": 4, "number": "HN-R-2025-1", "status": "recorded",
        "organization": "HN", "depth": 1, "run": null, "standard": "NMI-E-001",
        "used_on": "2025-01-10", "function": "dcv", "range_low": 0.0, "range_high": 10.0,
        "unit": "V"},
       …,
       {"kind": "certificate", "id": 7, "number": "HN-HC-2025-000001", "status": "valid",
        "organization": "HN", "depth": 3, "run": "5f0e…", "standard": "HN-W-01",
        "used_on": "2025-03-01", "function": "dcv", "range_low": 0.0, "range_high": 10.0,
        "unit": "V"}]}

With ``&format=csv`` the same rows, all of them, streamed as CSV (columns
``kind, depth, number, status, organization, run, standard, used_on, function, range_low,
range_high, unit, id``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labserver.accounts.access import acting_person, readable_organization_ids
from labserver.core.errors import DomainError, NotFound, NotPermitted
from labserver.issuance.api.views import visible_certificates
from labserver.registry import trace

from .. import queries
from .params import Out, Paging, date_range, query_date, readable_standard


class CsvRenderer(BaseRenderer):
    """``?format=csv``: the view streams the rows itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return data if isinstance(data, bytes | str) else str(data)


# ------------------------------------------------------------------ schema of the answers


class NodeOut(serializers.Serializer):  # type: ignore[type-arg]
    """A node: the issued certificate, a standard, a standard certificate, or the SI."""

    id = serializers.CharField(help_text="kind:id, e.g. standard_certificate:12, or si")
    kind = serializers.ChoiceField(
        choices=["issued_certificate", "standard", "standard_certificate", "other_standard", "si"],
        help_text=(
            "other_standard: a standard of another organization (on another node) that "
            "calibrated a standard certificate; its organization, asset_id and certificate "
            "(number) as recorded with that certificate, no record of this node"
        ),
    )
    number = serializers.CharField(required=False)
    asset_id = serializers.CharField(required=False)
    name = serializers.CharField(required=False)
    level = serializers.CharField(required=False)
    organization = serializers.CharField(required=False)
    status = serializers.CharField(required=False, help_text="issued certificate")
    pdf_sha256 = serializers.CharField(required=False, help_text="issued certificate")
    dcc_sha256 = serializers.CharField(required=False, help_text="issued certificate")
    standard = serializers.CharField(required=False, help_text="standard certificate's standard")
    internal = serializers.BooleanField(required=False)
    issuing_lab = serializers.CharField(required=False)
    accreditation = serializers.CharField(required=False)
    calibrated_on = serializers.DateField(required=False)
    due_on = serializers.DateField(required=False)
    sha256 = serializers.CharField(required=False, help_text="standard certificate file")
    top = serializers.ChoiceField(
        choices=["external", "national", "undocumented", "other_organization"],
        required=False,
        allow_null=True,
        help_text="Where the chain ends at this certificate (null: it goes on)",
    )


class ValueOut(serializers.Serializer):  # type: ignore[type-arg]
    """A calibrated value of a certificate: y, U, k, p at a nominal."""

    quantity = serializers.CharField()
    nominal = serializers.FloatField(allow_null=True)
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    U = serializers.FloatField(allow_null=True)
    k = serializers.FloatField(allow_null=True)
    coverage_probability = serializers.FloatField(allow_null=True)


class EdgeOut(Out):
    """A link: ``from`` relied on ``standard`` (its certificate in force: ``to``), or a
    top certificate is traceable to the SI."""

    RENAMED = {"from_": "from"}
    from_ = serializers.CharField(help_text="The node that relied on the standard")
    to = serializers.CharField(help_text="The certificate in force (or the standard: none)")
    kind = serializers.ChoiceField(
        choices=["used", "traceable_to", "calibrated_by"],
        help_text="calibrated_by: a standard certificate to another organization's standard",
    )
    depth = serializers.IntegerField()
    standard = serializers.CharField(required=False)
    certificate = serializers.CharField(required=False, allow_null=True)
    used_on = serializers.DateField(required=False)
    function = serializers.CharField(required=False, allow_null=True)
    range_low = serializers.FloatField(required=False, allow_null=True)
    range_high = serializers.FloatField(required=False, allow_null=True)
    unit = serializers.CharField(required=False, allow_null=True)
    uncertainty = ValueOut(many=True, required=False)
    valid = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Why it is a break")


class BreakOut(serializers.Serializer):  # type: ignore[type-arg]
    """Where the chain is broken (an edge or a node) and why."""

    edge = serializers.ListField(child=serializers.CharField(), required=False)
    node = serializers.CharField(required=False)
    reasons = serializers.ListField(child=serializers.CharField())


class ChainOut(Out):
    """A traceability chain: nodes, edges and breaks."""

    RENAMED = {"root_": "root"}
    root_ = serializers.CharField(help_text="The id of the node the chain starts from")
    nodes = NodeOut(many=True)
    edges = EdgeOut(many=True)
    breaks = BreakOut(many=True)
    unbroken = serializers.BooleanField()
    truncated = serializers.BooleanField(help_text="Deeper than max_depth: not followed")
    max_depth = serializers.IntegerField()


class ImpactRowOut(serializers.Serializer):  # type: ignore[type-arg]
    """One use of a tainted standard: what it produced, how deep, with what range."""

    kind = serializers.ChoiceField(choices=["certificate", "standard_certificate"])
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField(help_text="valid / superseded / revoked, or recorded")
    organization = serializers.CharField()
    depth = serializers.IntegerField(help_text="1: used the standard itself")
    run = serializers.UUIDField(allow_null=True)
    standard = serializers.CharField(help_text="The standard used at this step (asset id)")
    used_on = serializers.DateField()
    function = serializers.CharField(allow_null=True)
    range_low = serializers.FloatField(allow_null=True)
    range_high = serializers.FloatField(allow_null=True)
    unit = serializers.CharField(allow_null=True)


class ImpactOut(Out):
    """One page of a reverse trace."""

    RENAMED = {"from_": "from"}
    standard = serializers.CharField()
    from_ = serializers.DateField()
    to = serializers.DateField()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ImpactRowOut(many=True)


# ------------------------------------------------------------------------------ the views


class CertificateChainView(APIView):
    people_only = True  # the schema documents the 403 an agent gets

    @extend_schema(
        operation_id="certificates_chain",
        tags=["traceability"],
        responses=ChainOut,
        description="The traceability chain of an issued certificate, up to the SI.",
    )
    def get(self, request: Request, pk: int) -> Response:
        acting_person(request.user, action="reading traceability")
        certificate = (
            visible_certificates(request.user).prefetch_related("events").filter(pk=pk).first()
        )
        if certificate is None:
            raise NotFound("certificate: not found")
        return Response(queries.chain_of_certificate(certificate))


class StandardChainView(APIView):
    people_only = True  # the schema documents the 403 an agent gets

    @extend_schema(
        operation_id="standards_chain",
        tags=["traceability"],
        parameters=[OpenApiParameter("on", type=date, description="The date (default today)")],
        responses=ChainOut,
        description="The traceability chain of a standard as it stood on a date, up to the SI.",
    )
    def get(self, request: Request, pk: int) -> Response:
        standard = readable_standard(request, pk)
        on = query_date(request, "on", timezone.localdate())
        return Response(queries.chain_of_standard(standard, on))


class StandardImpactView(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]
    people_only = True  # the schema documents the 403 an agent gets

    @extend_schema(
        operation_id="standards_impact",
        tags=["traceability"],
        parameters=[
            OpenApiParameter("from", type=date, required=True, description="First day, included"),
            OpenApiParameter("to", type=date, required=True, description="Last day, included"),
            OpenApiParameter("page", type=int),
            OpenApiParameter("page_size", type=int, description="At most 500"),
            OpenApiParameter("format", type=str, enum=["json", "csv"]),
        ],
        responses={200: ImpactOut, (200, "text/csv"): OpenApiTypes.STR},
        description=(
            "Reverse trace: every issued certificate and downstream standard certificate "
            "that depends on the standard's uses in [from, to], directly or through other "
            "standards, one row per use, with the depth of the path."
        ),
    )
    def get(self, request: Request, pk: int) -> Any:
        standard = readable_standard(request, pk)
        start, end = date_range(request)
        orgs = readable_organization_ids(request.user)
        if request.accepted_renderer.format == "csv":
            rows = queries.impact_rows(standard, start, end, organization_ids=orgs)
            response = StreamingHttpResponse(_csv(rows), content_type="text/csv; charset=utf-8")
            name = f"impact-{standard.asset_id}-{start}-{end}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        paging = Paging(request)
        found = queries.impact(
            standard, start, end, organization_ids=orgs, limit=paging.size, offset=paging.offset
        )
        return Response(
            {
                "standard": standard.asset_id,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "count": found.count,
                **paging.links(found.count),
                "results": found.rows,
            }
        )


class RegistryImpactView(APIView):
    """The reverse trace over the registry (:mod:`labserver.registry.trace`): every
    registered certificate of every node that relied on a standard in [from, to], directly
    or through the standards it calibrated. On the national node the registry holds every
    center's facts, so the holder of a standard sees what it touched across the country.

    Asked by an auditor or the quality manager of the standard's organization on this node,
    or by an auditor of the national directorate; anyone else is refused (403)."""

    people_only = True

    @extend_schema(
        operation_id="registry_impact",
        tags=["traceability"],
        parameters=[
            OpenApiParameter("owner", type=str, required=True, description="Organization code"),
            OpenApiParameter("standard", type=str, required=True, description="Asset number"),
            OpenApiParameter("from", type=date, required=True, description="First day, included"),
            OpenApiParameter("to", type=date, required=True, description="Last day, included"),
            OpenApiParameter("page", type=int),
            OpenApiParameter("page_size", type=int, description="At most 500"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Any:
        person = acting_person(request.user, action="tracing a standard through the registry")
        owner = _required(request, "owner")
        standard = _required(request, "standard")
        start, end = date_range(request)
        if not _may_trace(person, owner):
            raise NotPermitted(
                f"tracing a standard of {owner} needs an auditor or the quality manager of "
                f"{owner} on this node, or an auditor of the national directorate"
            )
        tainted = trace.tainted_standards(owner, standard, start, end)
        touched = trace.touched_certificates(owner, standard, start, end)
        paging = Paging(request)
        page = touched[paging.offset : paging.offset + paging.size]
        return Response(
            {
                "owner": owner,
                "standard": standard,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "standards": [
                    {
                        "owner": t.owner,
                        "standard": t.standard,
                        "depth": t.depth,
                        "from": t.start.isoformat(),
                        "to": None if t.end == trace.FOREVER else t.end.isoformat(),
                        "certificate": t.certificate or None,
                    }
                    for t in tainted
                ],
                "count": len(touched),
                **paging.links(len(touched)),
                "results": [
                    {
                        "issuer": t.issuer,
                        "number": t.number,
                        "status": t.status,
                        "depth": t.depth,
                        "standard_owner": t.owner,
                        "standard": t.standard,
                        "used_on": t.used_on.isoformat(),
                    }
                    for t in page
                ],
            }
        )


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if not value:
        raise DomainError(f"{name}: required", field=name)
    return value


def _may_trace(person: Any, owner: str) -> bool:
    """An auditor or quality manager of ``owner`` here, or an auditor of a directorate."""
    from labserver.accounts.access import has_role
    from labserver.accounts.models import Organization, Role

    for org in Organization.objects.filter(
        Q(code=owner) | Q(kind=Organization.Kind.DIRECTORATE)
    ).only("pk", "code", "kind"):
        roles = (Role.AUDITOR, Role.QUALITY_MANAGER) if org.code == owner else (Role.AUDITOR,)
        if has_role(person, org.pk, *roles):
            return True
    return False


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(queries.IMPACT_FIELDS)
    for i, row in enumerate(rows):
        writer.writerow(["" if row[k] is None else row[k] for k in queries.IMPACT_FIELDS])
        if i % 200 == 199:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
