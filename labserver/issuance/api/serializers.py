"""Issued certificates as the API shows them, and the bodies of the actions on them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Certificate, CertificateKind, CertificateStatus
from ..services import certificate_state


class IssuedCertificateOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    organization = serializers.CharField(source="organization.code", read_only=True)
    job = serializers.CharField(source="job.number", read_only=True)
    instrument_serial = serializers.CharField(source="job.instrument.serial", read_only=True)
    position = serializers.IntegerField(
        source="position.number",
        read_only=True,
        default=None,
        help_text="The position of a multi-position run whose instrument it certifies",
    )
    issued_by = serializers.CharField(source="issued_by.signature_name", read_only=True)
    supersedes = serializers.CharField(source="supersedes.number", read_only=True, default=None)
    status = serializers.SerializerMethodField()
    superseded_by = serializers.SerializerMethodField()
    revoked_at = serializers.SerializerMethodField()
    revoked_reason = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "id",
            "number",
            "organization",
            "kind",
            "run",
            "position",
            "job",
            "instrument_serial",
            "issued_at",
            "issued_by",
            "pdf_sha256",
            "dcc_sha256",
            "signer_fingerprint",
            "verify_url",
            "supersedes",
            "amendment_reason",
            "mark_number",
            "valid_until",
            "status",
            "superseded_by",
            "revoked_at",
            "revoked_reason",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=["valid", "superseded", "revoked"]))
    def get_status(self, obj: Certificate) -> str:
        return str(certificate_state(obj).status)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_superseded_by(self, obj: Certificate) -> str | None:
        replacement = certificate_state(obj).superseded_by
        return replacement.number if replacement else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_revoked_at(self, obj: Certificate) -> Any:
        when = certificate_state(obj).revoked_at
        return when.isoformat() if when else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_revoked_reason(self, obj: Certificate) -> str | None:
        return certificate_state(obj).revoked_reason or None


class IssueIn(serializers.Serializer):  # type: ignore[type-arg]
    """Issue the certificate of an approved run: the signatory re-enters their password."""

    run = serializers.UUIDField(help_text="The approved run's id")
    position = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=(
            "Of a multi-position run: the position whose instrument is certified (each "
            "measured position gets its own certificate)"
        ),
    )
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class AmendIn(serializers.Serializer):  # type: ignore[type-arg]
    """Amend a certificate (ISO/IEC 17025 7.8.8): a new number replaces it."""

    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    reason = serializers.CharField()
    run = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="A new approved run, if any"
    )


class RevokeIn(serializers.Serializer):  # type: ignore[type-arg]
    """Revoke a certificate: the password again, and the reason published with it."""

    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    reason = serializers.CharField()


class VerifyIn(serializers.Serializer):  # type: ignore[type-arg]
    file = serializers.FileField(help_text="The certificate PDF to check")


class VerdictOut(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(
        choices=["valid", "superseded", "revoked", "altered", "unknown"]
    )
    number = serializers.CharField(allow_null=True)
    problems = serializers.ListField(child=serializers.CharField())
    sha256 = serializers.CharField(help_text="SHA-256 of the uploaded file")
    issued_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the PDF issued under this number"
    )
    signed_at = serializers.DateTimeField(allow_null=True)
    signer = serializers.CharField(allow_null=True)
    level = serializers.CharField(allow_null=True)
    superseded_by = serializers.CharField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_reason = serializers.CharField(allow_null=True)


class PublicIssuerOut(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    accreditation = serializers.CharField(allow_null=True)
    code = serializers.CharField(required=False, help_text="Present for another node's certificate")


class PublicInstrumentOut(serializers.Serializer):  # type: ignore[type-arg]
    type = serializers.CharField()
    type_vi = serializers.CharField(allow_null=True)
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    serial = serializers.CharField()


class PublicPdfCheckOut(serializers.Serializer):  # type: ignore[type-arg]
    """Whether the national node fetched the signed PDF from its issuer and verified it."""

    state = serializers.ChoiceField(
        choices=["verified", "flagged", "unchecked"],
        help_text="flagged: it could not be verified (not the PDF registered, or not signed "
        "with a key the issuer registered)",
    )
    checked_at = serializers.DateTimeField(allow_null=True)


class PublicCertificateOut(serializers.Serializer):  # type: ignore[type-arg]
    """The schema of the public lookup (documentation only: the view answers a dict)."""

    number = serializers.CharField()
    kind = serializers.ChoiceField(choices=CertificateKind.choices)
    status = serializers.ChoiceField(choices=CertificateStatus.choices)
    issuer = PublicIssuerOut()
    instrument = PublicInstrumentOut()
    performed_on = serializers.DateField(
        allow_null=True, help_text="Not known for another node's certificate"
    )
    issued_on = serializers.DateField()
    mark_number = serializers.CharField(allow_null=True, help_text="Verification mark")
    valid_until = serializers.DateField(allow_null=True, help_text="Verification's validity")
    supersedes = serializers.CharField(allow_null=True, help_text="The certificate it amends")
    superseded_by = serializers.CharField(allow_null=True)
    superseded_on = serializers.DateField(allow_null=True)
    revoked_on = serializers.DateField(allow_null=True)
    revoked_reason = serializers.CharField(allow_null=True)
    pdf_sha256 = serializers.CharField(help_text="SHA-256 of the PDF issued")
    pdf_check = PublicPdfCheckOut(
        required=False, help_text="Another node's certificate: this node's check of its PDF"
    )
    answered_from = serializers.ChoiceField(
        choices=["registry"],
        required=False,
        help_text="Present when another node issued it: the answer is this node's registry's",
    )


class SigningKeyOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A key that signed certificates of an organization, as the LIMS recorded it."""

    organization = serializers.CharField(source="organization.code", read_only=True)

    class Meta:
        from ..models import SigningKeyRecord

        model = SigningKeyRecord
        fields = [
            "id",
            "organization",
            "fingerprint",
            "subject",
            "source",
            "valid_from",
            "valid_until",
            "first_used_at",
            "revoked_at",
            "revoked_reason",
            "certificate_pem",
        ]
        read_only_fields = fields
