"""What the front office's tests share: an organization's administrator, and a standard whose
certificate falls due on a chosen day."""

from __future__ import annotations

from datetime import timedelta

from labserver.accounts.models import User
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard
from tests.support.lims import TODAY, Center, person


def admin_of(center: Center) -> User:
    """The center's organization administrator (made on first use)."""
    return person(center.org, f"{center.org.code.lower()}-admin", "administrator")


def standard_with_due(center: Center, asset_id: str, days: int | None) -> ReferenceStandard:
    """A pressure standard of the center whose certificate falls due in ``days`` (negative:
    overdue; None: never calibrated)."""
    standard = standards.register_standard(
        actor=center.quality_manager,
        organization=center.org,
        asset_id=asset_id,
        name=f"Pressure standard {asset_id}",
        field="pressure",
        calibration_interval_months=12,
    )
    if days is not None:
        standards.record_certificate(
            actor=center.quality_manager,
            standard=standard,
            number=f"EXT-{asset_id}",
            issuing_lab="An outside laboratory",
            calibrated_on=TODAY - timedelta(days=300),
            issued_on=TODAY - timedelta(days=299),
            due_on=TODAY + timedelta(days=days),
            values=[],
        )
    return standard
