"""A hand-built ladder of standards (the ``hand`` fixture): national N (external certificate,
with its file) -> reference R -> working W in center 1, W used by two runs, one of them
while its certificate was overdue; dates chosen to sit on the edges of the traceability
rules. Shared by the traceability API's tests and the pages of auditors and quality
managers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from labserver.accounts.models import AuditGrant, Organization, User
from labserver.issuance.models import Certificate
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard, StandardCertificate
from labserver.standards.services import ReferenceUse
from scenarios.traceability import (
    CenterSetup,
    LadderSpec,
    generated_run,
    set_up_centers,
)
from tests.support.lims import client_for, person

BIPM_FILE = b"%PDF-1.7 BIPM calibration certificate of the Josephson standard (test bytes)"
DCV = [{"role": "reference", "function": "dcv", "unit": "V", "min": -100, "max": 100}]


def value(nominal: float, expanded: float, v: float | None = None) -> dict[str, Any]:
    return {
        "quantity": "dcv",
        "nominal": nominal,
        "value": nominal if v is None else v,
        "unit": "V",
        "U": expanded,
        "k": 2,
        "coverage_probability": 0.95,
    }


@dataclass
class Hand:
    """National N (external certificate, with its file) -> reference R -> working W in
    center 1; W used by run A (2025-03-01, in calibration) and run B (2025-09-01, W's
    certificate overdue since 2025-08-01); U in center 1 never used; center 2 apart."""

    c1: CenterSetup
    c2: CenterSetup
    institute: Organization
    qm: User
    nmi_qm: User
    n: ReferenceStandard
    r: ReferenceStandard
    w: ReferenceStandard
    u: ReferenceStandard
    n1: StandardCertificate
    r1: StandardCertificate
    w1: StandardCertificate
    a: Certificate
    b: Certificate
    tracer: User

    def client(self, user: User | None = None) -> APIClient:
        return client_for(user or self.qm)

    def tracing(self) -> APIClient:
        """An auditor of center 1 granted the institute: reads the whole ladder."""
        return client_for(self.tracer)


def register(org: Organization, actor: User, asset: str, level: str) -> ReferenceStandard:
    return standards.register_standard(
        actor=actor,
        organization=org,
        asset_id=asset,
        name=f"DC voltage standard {asset}",
        field="electrical",
        level=level,
        functions=DCV,
        calibration_interval_months=12,
    )


@pytest.fixture
def hand(db: Any) -> Hand:
    institute, (c1, c2) = set_up_centers(LadderSpec(prefix="H", centers=2))
    nmi_qm = person(institute, "h-nmi-qm", "quality_manager")
    qm = person(c1.org, "h-c1-qm", "quality_manager")
    n = register(institute, nmi_qm, "H-N", "national")
    n1 = standards.record_certificate(
        actor=nmi_qm,
        standard=n,
        number="BIPM-2024-77",
        issuing_lab="BIPM",
        accreditation="CIPM MRA",
        calibrated_on=date(2024, 6, 1),
        issued_on=date(2024, 6, 10),
        due_on=date(2026, 6, 1),
        values=[value(1, 1e-8), value(10, 2e-8)],
        file=SimpleUploadedFile("bipm.pdf", BIPM_FILE, content_type="application/pdf"),
    )
    r = register(c1.org, qm, "H-R", "reference")
    r1 = standards.record_certificate(
        actor=qm,
        standard=r,
        number="H-R-2025-1",
        issuing_lab="Center H-C1",
        accreditation="VILAS 001",
        internal=True,
        calibrated_on=date(2025, 1, 10),
        issued_on=date(2025, 1, 12),
        due_on=date(2026, 1, 10),
        values=[value(10, 5e-7, 10.0000003)],
        reference_standards=[ReferenceUse(n, "dcv", 0, 10, "V")],
    )
    w = register(c1.org, qm, "H-W", "working")
    w1 = standards.record_certificate(
        actor=qm,
        standard=w,
        number="H-W-2025-1",
        issuing_lab="Center H-C1",
        internal=True,
        calibrated_on=date(2025, 2, 1),
        issued_on=date(2025, 2, 2),
        due_on=date(2025, 8, 1),
        values=[value(10, 2e-6), value(100, 2e-5)],
        reference_standards=[ReferenceUse(r, "dcv", 1, 10, "V")],
    )
    u = register(c1.org, qm, "H-U", "working")
    standards.record_certificate(
        actor=qm,
        standard=u,
        number="H-U-2025-1",
        issuing_lab="Center H-C1",
        internal=True,
        calibrated_on=date(2025, 2, 1),
        issued_on=date(2025, 2, 2),
        due_on=date(2026, 2, 1),
        values=[value(10, 2e-6)],
        reference_standards=[r],  # the old form: a plain standard, no range
    )
    a = generated_run(c1, used_on=date(2025, 3, 1), standards=[(w, "dcv", 0, 10, "V")])
    b = generated_run(c1, used_on=date(2025, 9, 1), standards=[(w, "dcv", 0, 10, "V")])
    tracer = person(c1.org, "h-c1-auditor", "auditor")
    AuditGrant.objects.create(user=tracer, organization=institute, reason="tracing")
    return Hand(c1, c2, institute, qm, nmi_qm, n, r, w, u, n1, r1, w1, a, b, tracer)
