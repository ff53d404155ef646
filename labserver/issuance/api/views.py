"""Certificates: list, read, download, issue, amend, revoke, verification labels; and the
anonymous check of an uploaded certificate file."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labserver.accounts.access import (
    acting_person,
    customer_organization_ids,
    is_agent,
    readable_organization_ids,
)
from labserver.accounts.api.schema import SIGNATURE_REFUSALS
from labserver.accounts.api.scoping import ScopedQuerysetMixin
from labserver.core.api import PdfRenderer
from labserver.core.errors import DomainError, NotFound
from labserver.core.throttles import (
    VERIFY_UPLOAD,
    LookupThrottle,
    RegistryDocumentThrottle,
    client_ip,
)
from labserver.measurements.models import Run

from .. import services
from ..labels import label_sheet
from ..models import Certificate, SigningKeyRecord, certified_instrument
from ..national import registered_public
from ..public import public_certificate
from ..registry_documents import NationalNodeAuthentication, registry_document
from ..reservation import voided, voided_answer
from ..stored_files import Which, open_as_issued
from ..verification import verify_upload
from .serializers import (
    AmendIn,
    IssuedCertificateOut,
    IssueIn,
    PublicCertificateOut,
    RevokeIn,
    SigningKeyOut,
    VerdictOut,
    VerifyIn,
)

RUN_NOT_FOUND = OpenApiResponse(description="`run`: no such run in the caller's organizations")
INCOMPLETE_RECORD = OpenApiResponse(
    description="The records lack something the certificate must state (`incomplete_record`, "
    "the field at fault)"
)
SIGNING_UNAVAILABLE = OpenApiResponse(
    description="The organization's signing key cannot sign (`signing_unavailable`: not "
    "configured, revoked or refused), or the database is unavailable"
)


def revocation_responses(out: Any, what: str) -> dict[int, Any]:
    """The answers of revoking a certificate or a signing key: the record, or a refusal."""
    return {
        200: out,
        409: OpenApiResponse(description=f"The {what} is already revoked"),
        422: OpenApiResponse(description="The revocation does not state its reason"),
    }


def visible_certificates(user: Any) -> Any:
    """Certificates of the caller's organizations, and of the instruments a customer owns."""
    visible = Q(organization__in=readable_organization_ids(user))
    if not is_agent(user):
        visible |= certified_instrument("__owner__in", customer_organization_ids(user))
    return Certificate.objects.filter(visible).select_related(
        "organization",
        "run__job__instrument",
        "position__job__instrument",
        "issued_by",
        "supersedes",
    )


class CertificateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Issued certificates. Another organization's certificate is not found (404)."""

    queryset = Certificate.objects.none()
    serializer_class = IssuedCertificateOut
    filterset_fields = ["kind", "number", "mark_number", "run"]
    search_fields = [
        "number",
        "mark_number",
        "run__job__instrument__serial",
        "position__job__instrument__serial",
    ]
    ordering_fields = ["issued_at", "number"]

    def get_queryset(self) -> Any:
        return visible_certificates(self.request.user).prefetch_related("events__replacement")

    @extend_schema(
        request=IssueIn,
        responses={
            201: IssuedCertificateOut,
            404: RUN_NOT_FOUND,
            409: OpenApiResponse(
                description="The run already has a certificate, or it is not approved"
            ),
            422: INCOMPLETE_RECORD,
            503: SIGNING_UNAVAILABLE,
            **SIGNATURE_REFUSALS,
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Issue the certificate of an approved run (signatory, password re-entered)."""
        actor = acting_person(request.user, action="issuing a certificate")
        body = IssueIn(data=request.data)
        body.is_valid(raise_exception=True)
        run = (
            Run.objects.filter(organization__in=readable_organization_ids(actor))
            .filter(pk=body.validated_data["run"])
            .first()
        )
        if run is None:
            raise NotFound("run: not found", field="run")
        position = None
        if body.validated_data.get("position") is not None:
            number = body.validated_data["position"]
            position = run.positions.filter(number=number).first()
            if position is None:
                raise NotFound(f"position: run {run.pk} has no position {number}", field="position")
        certificate = services.issue_certificate(
            actor=actor, run=run, password=body.validated_data["password"], position=position
        )
        return Response(IssuedCertificateOut(certificate).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=AmendIn,
        responses={
            201: IssuedCertificateOut,
            404: RUN_NOT_FOUND,
            409: OpenApiResponse(
                description="Revoked or already superseded, or the run already has a certificate"
            ),
            422: OpenApiResponse(
                description="No reason, the run is not usable for the amendment, or the records "
                "lack something the certificate must state (the field at fault)"
            ),
            503: SIGNING_UNAVAILABLE,
            **SIGNATURE_REFUSALS,
        },
    )
    @action(detail=True, methods=["post"])
    def amend(self, request: Request, pk: str | None = None) -> Response:
        """Amend: a new certificate with a new number supersedes this one."""
        actor = acting_person(request.user, action="amending a certificate")
        body = AmendIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        run = None
        if data.pop("run") is not None:
            run = (
                Run.objects.filter(organization__in=readable_organization_ids(actor))
                .filter(pk=body.validated_data["run"])
                .first()
            )
            if run is None:
                raise NotFound("run: not found", field="run")
        certificate = services.amend_certificate(
            actor=actor, certificate=self.get_object(), run=run, **data
        )
        return Response(IssuedCertificateOut(certificate).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=RevokeIn,
        responses={
            **revocation_responses(IssuedCertificateOut, "certificate"),
            **SIGNATURE_REFUSALS,
        },
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke: the certificate stays readable, marked revoked with the reason."""
        actor = acting_person(request.user, action="revoking a certificate")
        body = RevokeIn(data=request.data)
        body.is_valid(raise_exception=True)
        certificate = services.revoke_certificate(
            actor=actor, certificate=self.get_object(), **body.validated_data
        )
        fresh = self.get_queryset().get(pk=certificate.pk)
        return Response(IssuedCertificateOut(fresh).data)

    def _file(self, which: Which, filename: str, content_type: str) -> FileResponse:
        certificate = self.get_object()
        # Verified before anything is sent: an altered or missing file is a 409, not a
        # download that breaks off or hands out the altered bytes.
        data = open_as_issued(certificate, which, actor=self.request.user)
        return FileResponse(
            io.BytesIO(data),
            as_attachment=True,
            filename=filename.format(number=certificate.number),
            content_type=content_type,
        )

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The stored file is not as issued, or missing"),
        }
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str | None = None) -> FileResponse:
        """The signed PDF, exactly as issued (refused when the stored bytes differ)."""
        return self._file("pdf", "{number}.pdf", "application/pdf")

    @extend_schema(
        responses={
            (200, "application/xml"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The stored file is not as issued, or missing"),
        }
    )
    @action(detail=True, methods=["get"])
    def dcc(self, request: Request, pk: str | None = None) -> FileResponse:
        """The Digital Calibration Certificate (DCC XML), exactly as issued (refused when
        the stored bytes differ)."""
        return self._file("dcc", "{number}.dcc.xml", "application/xml")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "ids",
                str,
                required=True,
                description="Comma-separated ids of verification certificates",
            )
        ],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="labels",
        renderer_classes=[PdfRenderer, JSONRenderer],
    )
    def labels(self, request: Request, format: str | None = None) -> HttpResponse:
        """An A4 sheet of verification labels (mark, validity, QR code of the public page)."""
        raw = request.query_params.get("ids", "")
        try:
            ids = [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise DomainError("ids: expected comma-separated numbers", field="ids") from None
        if not ids:
            raise DomainError("ids: name at least one certificate", field="ids")
        found = {c.pk: c for c in self.get_queryset().filter(pk__in=ids)}
        missing = next((pk for pk in ids if pk not in found), None)
        if missing is not None:
            raise NotFound(f"ids: certificate {missing} not found", field="ids")
        sheet = label_sheet([found[pk] for pk in ids])
        return HttpResponse(sheet, content_type="application/pdf")


class VerifyView(APIView):
    """Anyone may check a certificate file: is it the one issued, intact, still valid?"""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = list(VERIFY_UPLOAD)
    parser_classes = [MultiPartParser]

    @extend_schema(request=VerifyIn, responses=VerdictOut, auth=[])
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError("file: upload the certificate PDF as 'file'", field="file")
        limit = settings.CALTRACE_MAX_VERIFY_BYTES
        if upload.size is not None and upload.size > limit:
            return Response(
                {
                    "code": "payload_too_large",
                    "detail": f"file: {upload.size} bytes exceeds the limit of {limit} bytes",
                    "field": "file",
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        verdict = verify_upload(upload.read())
        return Response(verdict.as_json())


class PublicCertificateView(APIView):
    """Anyone may look a certificate up by its number: the verification page's facts as
    JSON (``labserver.issuance.public``); a certificate of another node, from this node's
    registry (``labserver.issuance.national``: the national node answers for every
    center's). A number voided after a database restore
    (``manage.py reserve_numbers``) is a 410 that says so and whom to ask; any other
    unknown number is a plain 404."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [LookupThrottle]

    @extend_schema(
        operation_id="public_certificate",
        tags=["public"],
        responses={
            200: PublicCertificateOut,
            404: OpenApiResponse(description="No such number"),
            410: OpenApiResponse(
                description="A number voided after a database restore: ask its issuer",
            ),
        },
        auth=[],
    )
    def get(self, request: Request, number: str) -> Response:
        found = public_certificate(number)
        if found is not None:
            return Response(found)
        # Asked only on a miss: the lookup of an issued number stays one query.
        registered = registered_public(number)
        if registered is not None:
            return Response(registered)
        record = voided(number)
        if record is not None:
            return Response(voided_answer(record), status=status.HTTP_410_GONE)
        raise NotFound("certificate: not found")


class RegistryDocumentView(APIView):
    """The signed PDF of a certificate this node issued, for the national node only, which
    checks it against the registry's facts (``labserver.issuance.registry_documents``)."""

    authentication_classes = [NationalNodeAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [RegistryDocumentThrottle]
    renderer_classes = [PdfRenderer, JSONRenderer]

    @extend_schema(
        operation_id="registry_document",
        tags=["registry"],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            401: OpenApiResponse(description="No `Authorization: National <secret>`"),
            403: OpenApiResponse(description="Not the national node's secret for this node"),
            404: OpenApiResponse(description="No certificate of this number issued here"),
            409: OpenApiResponse(description="The stored file is not as issued, or missing"),
        },
        auth=[],
    )
    def get(self, request: Request, number: str) -> HttpResponse:
        data = registry_document(number, actor=request.user, address=client_ip(request))
        return HttpResponse(data, content_type="application/pdf")


class SigningKeyViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """The keys that signed the caller's organizations' certificates (recorded at first
    use). A quality manager revokes a compromised or withdrawn key: nothing is signed with
    it afterwards; the certificates it signed keep their own status."""

    queryset = SigningKeyRecord.objects.none()
    serializer_class = SigningKeyOut
    filterset_fields = ["fingerprint", "source"]
    ordering_fields = ["first_used_at"]

    def get_queryset(self) -> Any:
        if is_agent(self.request.user):
            return SigningKeyRecord.objects.none()
        return self.scope(SigningKeyRecord.objects.select_related("organization"))

    @extend_schema(
        request=RevokeIn,
        responses={**revocation_responses(SigningKeyOut, "key"), **SIGNATURE_REFUSALS},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        actor = acting_person(request.user, action="revoking a signing key")
        body = RevokeIn(data=request.data)
        body.is_valid(raise_exception=True)
        key = services.revoke_signing_key(actor=actor, key=self.get_object(), **body.validated_data)
        return Response(SigningKeyOut(key).data)
