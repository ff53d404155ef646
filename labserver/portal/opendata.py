"""The open datasets: what each holds, its fields, and the queries that build it.

Both datasets are built by the database: verification results are counted with one
``GROUP BY`` (month, region, instrument type), and each reference standard's status
today and certificate in force are computed in the same query as the standard (a
correlated subquery and a ``CASE``), so a table of any size is streamed row by row.

The anchors of the audit trail are published as they are signed (see
:mod:`labserver.issuance.anchors`).

On the national node (``CALTRACE_NATIONAL_OPEN_DATA``) the verification results are
counted from the registry instead (:func:`registered_verification_results`): the certificate
facts of every issuer, per province (the issuer's region), instrument type and month of
issue, in the same fields with the same meaning. There a center's verifications count the
same whether the center is hosted on the node (its facts are written with its certificates)
or replicated to it (its facts arrive by its subscription). Only that node does so, not
every node: a center's node would count nothing more than its own certificates, and its own
tables say more than the registry does, which states a verification's legal outcome only
(passed or failed: a conditional pass is a certificate issued, so it counts as passed and
``other`` stays 0 there). The local query keeps the decision rule's own statement, and a
center's figures stay exactly those its records give.

Nothing personal is published: no people, no customers, no serial numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from labserver.accounts.models import Organization
from labserver.core.models import AuditAnchor
from labserver.instruments.models import InstrumentType
from labserver.issuance.anchors import published
from labserver.issuance.models import Certificate, CertificateEvent, CertificateKind
from labserver.registry.models import CertificateFact
from labserver.standards.models import ReferenceStandard, StandardCertificate, Status

#: The licence of the open data; a deployment may state its own.
DEFAULT_LICENSE = {
    "id": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "url": "https://creativecommons.org/licenses/by/4.0/",
}


def license_info() -> dict[str, str]:
    return dict(getattr(settings, "CALTRACE_OPEN_DATA_LICENSE", DEFAULT_LICENSE))


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str  # string, integer, date, month (YYYY-MM)
    unit: str  # "" when the field is not a quantity
    description: Promise


@dataclass(frozen=True)
class Dataset:
    slug: str
    title: Promise
    description: Promise
    fields: tuple[FieldInfo, ...]


COUNT = "1"  # the unit of a count (UCUM's "1", dimensionless)

VERIFICATION_RESULTS = Dataset(
    slug="verification-results",
    title=_("Verification results by instrument type, region and month"),
    description=_(
        "How many legal verifications were certified each month, by the region of the "
        "issuing center and by instrument type, and how many passed, failed or were since "
        "revoked. Each verification is counted once, in the month its first certificate "
        "was issued; an amendment is not counted again."
    ),
    fields=(
        FieldInfo("month", "month", "", _("Month of issue (YYYY-MM), the centers' local time")),
        FieldInfo("region", "string", "", _("Region of the issuing center")),
        FieldInfo("instrument_type", "string", "", _("Code of the instrument type")),
        FieldInfo("instrument_type_name", "string", "", _("Name of the instrument type")),
        FieldInfo(
            "instrument_type_name_vi", "string", "", _("Name of the instrument type, Vietnamese")
        ),
        FieldInfo("issued", "integer", COUNT, _("Verification certificates issued")),
        FieldInfo("passed", "integer", COUNT, _("Of these, instruments that passed")),
        FieldInfo("failed", "integer", COUNT, _("Of these, instruments that failed")),
        FieldInfo(
            "other",
            "integer",
            COUNT,
            _("Of these, with another statement (conditional pass or fail, not judged)"),
        ),
        FieldInfo("revoked", "integer", COUNT, _("Of these, certificates revoked since")),
    ),
)

STANDARDS = Dataset(
    slug="standards",
    title=_("Public register of reference standards"),
    description=_(
        "The reference standards of the verification centers and laboratories, with their "
        "status today and the calibration certificate in force."
    ),
    fields=(
        FieldInfo("organization", "string", "", _("Code of the organization that holds it")),
        FieldInfo("organization_name", "string", "", _("Name of the organization")),
        FieldInfo("asset_id", "string", "", _("Equipment register number")),
        FieldInfo("name", "string", "", _("Name of the standard")),
        FieldInfo(
            "field",
            "string",
            "",
            _(
                "Field of measurement: mass, pressure, temperature, electrical, volume_flow, "
                "length, energy"
            ),
        ),
        FieldInfo("level", "string", "", _("Level: national, reference or working standard")),
        FieldInfo("manufacturer", "string", "", _("Manufacturer")),
        FieldInfo("model", "string", "", _("Model")),
        FieldInfo(
            "status",
            "string",
            "",
            _(
                "Status today: in_service, due (calibration due soon), overdue, "
                "out_of_tolerance, retired"
            ),
        ),
        FieldInfo("certificate", "string", "", _("Number of the calibration certificate in force")),
        FieldInfo("issuing_lab", "string", "", _("Laboratory that issued that certificate")),
        FieldInfo("calibrated_on", "date", "", _("Date of that calibration (ISO 8601)")),
        FieldInfo("due_on", "date", "", _("Date the next calibration is due (ISO 8601)")),
    ),
)

AUDIT_ANCHORS = Dataset(
    slug="audit-anchors",
    title=_("Anchors of the audit trail"),
    description=_(
        "Where each organization's audit trail stood, signed with the organization's "
        "certificate-signing key: keep a copy, and check a trail against it with "
        "verify_audit --anchors. A rewritten or rolled-back trail no longer matches."
    ),
    fields=(
        FieldInfo("organization", "string", "", _("Code of the organization whose key signed")),
        FieldInfo("chain", "string", "", _("The chain anchored: org:<id> or system")),
        FieldInfo("length", "integer", COUNT, _("Entries in the chain when anchored")),
        FieldInfo("head", "string", "", _("SHA-256 of the last of those entries (hex)")),
        FieldInfo("at", "string", "", _("When anchored (ISO 8601, UTC)")),
        FieldInfo(
            "signature",
            "string",
            "",
            _("Detached CMS signature over the statement (DER, base64), with the signer's chain"),
        ),
        FieldInfo(
            "signer_fingerprint", "string", "", _("SHA-256 of the signer's certificate (hex)")
        ),
        FieldInfo(
            "timestamped", "boolean", "", _("Whether the signature carries an RFC 3161 time-stamp")
        ),
    ),
)

DATASETS = (VERIFICATION_RESULTS, STANDARDS, AUDIT_ANCHORS)


# --------------------------------------------------------------- verification results


def national() -> bool:
    """Whether this node publishes the national open data, counted from its registry."""
    return bool(getattr(settings, "CALTRACE_NATIONAL_OPEN_DATA", False))


def verification_results() -> QuerySet[Any]:
    """One row per month, region and instrument type, counted by the database: from the
    registry on the national node, from this node's certificates elsewhere."""
    return registered_verification_results() if national() else local_verification_results()


#: The registry's kinds of a verification: a certificate, or the notice of a failed one.
REGISTERED_VERIFICATION = ("verification", "notice")


def _registered_verifications() -> QuerySet[CertificateFact]:
    """The registry's verifications, each once: the fact of its first certificate's issue
    (an amendment's fact names the certificate it supersedes)."""
    return CertificateFact.objects.filter(
        event=CertificateFact.Event.ISSUED, kind__in=REGISTERED_VERIFICATION, supersedes=""
    )


def registered_verification_results() -> QuerySet[Any]:
    """The verification results of every issuer the registry holds, counted by the database
    as :func:`local_verification_results` counts this node's: per month of the first issue
    (the issuer's local date), the issuer's province and the instrument type (its names as
    this node's catalogue gives them, empty for a type it does not know); revoked when the
    registry holds the revocation of that first certificate."""
    revoked = CertificateFact.objects.filter(
        issuer=OuterRef("issuer"), number=OuterRef("number"), event=CertificateFact.Event.REVOKED
    )
    types = InstrumentType.objects.filter(code=OuterRef("instrument_type"))

    def type_name(column: str) -> Coalesce:
        return Coalesce(Subquery(types.values(column)[:1]), Value(""))

    verdict = CertificateFact.Verdict
    # ``region_`` and ``instrument_type_``: the fact's own columns may not be aliased to
    # their own names; :func:`verification_row` publishes them without the underscore.
    return (
        _registered_verifications()
        .values(
            month=TruncMonth("issued_on", output_field=DateField()),
            region_=F("region"),
            instrument_type_=F("instrument_type"),
            instrument_type_name=type_name("name"),
            instrument_type_name_vi=type_name("name_vi"),
        )
        .annotate(
            issued=Count("pk"),
            passed=Count("pk", filter=Q(verdict=verdict.PASS)),
            failed=Count("pk", filter=Q(verdict=verdict.FAIL)),
            other=Count("pk", filter=~Q(verdict__in=[verdict.PASS, verdict.FAIL])),
            revoked=Count("pk", filter=Exists(revoked)),
        )
        .order_by("month", "region_", "instrument_type_")
    )


def local_verification_results() -> QuerySet[Any]:
    """One row per month, region and instrument type of this node's certificates."""
    revoked = CertificateEvent.objects.filter(
        certificate=OuterRef("pk"), kind=CertificateEvent.Kind.REVOKED
    )
    instrument_type = "run__job__instrument__instrument_type__"
    return (
        Certificate.objects.filter(kind=CertificateKind.VERIFICATION, supersedes__isnull=True)
        .values(
            month=TruncMonth("issued_at", output_field=DateField()),
            region=F("organization__region"),
            instrument_type=F(instrument_type + "code"),
            instrument_type_name=F(instrument_type + "name"),
            instrument_type_name_vi=F(instrument_type + "name_vi"),
        )
        .annotate(
            issued=Count("pk"),
            passed=Count("pk", filter=Q(run__server_conformity="pass")),
            failed=Count("pk", filter=Q(run__server_conformity="fail")),
            other=Count("pk", filter=~Q(run__server_conformity__in=["pass", "fail"])),
            revoked=Count("pk", filter=Exists(revoked)),
        )
        .order_by("month", "region", "instrument_type")
    )


def verification_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as published: the month as ``YYYY-MM``."""
    month = row["month"]
    named = {name.rstrip("_"): value for name, value in row.items()}
    return {**named, "month": f"{month:%Y-%m}" if month is not None else ""}


def verification_results_updated() -> datetime | None:
    """When the dataset last changed: the last issue or revocation of a verification."""
    if national():
        latest: datetime | None = CertificateFact.objects.filter(
            kind__in=REGISTERED_VERIFICATION
        ).aggregate(at=Max("at"))["at"]
        return latest
    issued = Certificate.objects.filter(kind=CertificateKind.VERIFICATION).aggregate(
        at=Max("issued_at")
    )["at"]
    revoked = CertificateEvent.objects.filter(
        certificate__kind=CertificateKind.VERIFICATION, kind=CertificateEvent.Kind.REVOKED
    ).aggregate(at=Max("at"))["at"]
    return max((t for t in (issued, revoked) if t is not None), default=None)


def monthly_totals(months: int = 12) -> list[dict[str, Any]]:
    """Issued, passed and failed per month over the last ``months`` months (for the chart),
    from the registry on the national node."""
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 - (months - 1)
    first = date(index // 12, index % 12 + 1, 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    by_month: QuerySet[Any, dict[str, Any]]
    if national():
        by_month = (
            _registered_verifications()
            .filter(issued_on__gte=first)
            .values(month=TruncMonth("issued_on", output_field=DateField()))
            .annotate(
                issued=Count("pk"),
                passed=Count("pk", filter=Q(verdict=CertificateFact.Verdict.PASS)),
                failed=Count("pk", filter=Q(verdict=CertificateFact.Verdict.FAIL)),
            )
        )
    else:
        by_month = (
            Certificate.objects.filter(
                kind=CertificateKind.VERIFICATION, supersedes__isnull=True, issued_at__gte=start
            )
            .values(month=TruncMonth("issued_at", output_field=DateField()))
            .annotate(
                issued=Count("pk"),
                passed=Count("pk", filter=Q(run__server_conformity="pass")),
                failed=Count("pk", filter=Q(run__server_conformity="fail")),
            )
        )
    counted = {row["month"]: row for row in by_month.order_by("month")}
    out = []
    for step in range(months):
        i = index + step
        month = date(i // 12, i % 12 + 1, 1)
        row = counted.get(month, {})
        out.append(
            {
                "month": month,
                "issued": row.get("issued", 0),
                "passed": row.get("passed", 0),
                "failed": row.get("failed", 0),
            }
        )
    return out


# --------------------------------------------------------------- reference standards


def standards_register(today: date | None = None) -> QuerySet[Any]:
    """Every reference standard of a center or laboratory, with its status on ``today``
    (as :meth:`ReferenceStandard.status_on` states it) and the certificate in force."""
    today = today or timezone.localdate()
    soon = today + timedelta(days=settings.CALTRACE_DUE_SOON_DAYS)
    in_force = StandardCertificate.objects.filter(
        standard=OuterRef("pk"), calibrated_on__lte=today
    ).order_by("-calibrated_on", "-pk")

    def of_certificate(name: str) -> Subquery:
        return Subquery(in_force.values(name)[:1])

    return (
        ReferenceStandard.objects.exclude(organization__kind=Organization.Kind.CUSTOMER)
        .annotate(
            cert_number=of_certificate("number"),
            cert_lab=of_certificate("issuing_lab"),
            cert_calibrated_on=of_certificate("calibrated_on"),
            cert_due_on=of_certificate("due_on"),
        )
        .annotate(
            status=Case(
                When(retired_on__lte=today, then=Value(Status.RETIRED.value)),
                When(out_of_tolerance_since__lte=today, then=Value(Status.OUT_OF_TOLERANCE.value)),
                When(cert_due_on__isnull=True, then=Value(Status.OVERDUE.value)),
                When(cert_due_on__lt=today, then=Value(Status.OVERDUE.value)),
                When(cert_due_on__lte=soon, then=Value(Status.DUE.value)),
                default=Value(Status.IN_SERVICE.value),
                output_field=CharField(),
            )
        )
        .values(
            "asset_id",
            "name",
            "field",
            "level",
            "manufacturer",
            "model",
            "status",
            "cert_number",
            "cert_lab",
            "cert_calibrated_on",
            "cert_due_on",
            organization_code=F("organization__code"),
            organization_name=F("organization__name"),
        )
        .order_by("organization__code", "asset_id")
    )


def standard_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as published (a retired standard has no certificate in force)."""
    retired = row["status"] == Status.RETIRED
    return {
        "organization": row["organization_code"],
        "organization_name": row["organization_name"],
        "asset_id": row["asset_id"],
        "name": row["name"],
        "field": row["field"],
        "level": row["level"],
        "manufacturer": row["manufacturer"],
        "model": row["model"],
        "status": row["status"],
        "certificate": "" if retired else row["cert_number"] or "",
        "issuing_lab": "" if retired else row["cert_lab"] or "",
        "calibrated_on": None if retired else row["cert_calibrated_on"],
        "due_on": None if retired else row["cert_due_on"],
    }


def standards_updated() -> datetime | None:
    """When the register last changed: the last standard or certificate recorded."""
    latest = [
        ReferenceStandard.objects.aggregate(at=Max("created_at"))["at"],
        StandardCertificate.objects.aggregate(at=Max("created_at"))["at"],
    ]
    return max((t for t in latest if t is not None), default=None)


# --------------------------------------------------------------- audit anchors


def anchor_rows() -> Iterator[dict[str, Any]]:
    """Every anchor, oldest first, as the anchors endpoint and files publish it."""
    for anchor in AuditAnchor.objects.order_by("at", "id").iterator(chunk_size=2000):
        item = published(anchor)
        statement = item["statement"]
        yield {
            "organization": statement["organization"],
            "chain": statement["chain"],
            "length": statement["length"],
            "head": statement["head"],
            "at": statement["at"],
            "signature": item["signature"],
            "signer_fingerprint": item["signer_fingerprint"],
            "timestamped": item["timestamped"],
        }


def anchors_updated() -> datetime | None:
    """When the anchors last changed: the latest anchor."""
    latest: datetime | None = AuditAnchor.objects.aggregate(at=Max("at"))["at"]
    return latest


def rows_of(slug: str) -> Iterator[dict[str, Any]]:
    """The published rows of dataset ``slug``, read from the database in chunks."""
    if slug == VERIFICATION_RESULTS.slug:
        for row in verification_results().iterator(chunk_size=2000):
            yield verification_row(row)
    elif slug == AUDIT_ANCHORS.slug:
        yield from anchor_rows()
    else:
        for row in standards_register().iterator(chunk_size=2000):
            yield standard_row(row)


__all__ = [
    "AUDIT_ANCHORS",
    "DATASETS",
    "STANDARDS",
    "VERIFICATION_RESULTS",
    "anchor_rows",
    "local_verification_results",
    "monthly_totals",
    "national",
    "registered_verification_results",
    "rows_of",
    "standard_row",
    "standards_register",
    "verification_results",
    "verification_row",
]
