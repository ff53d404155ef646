"""Recording the links of a standard certificate to the standards that calibrated it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labserver.core.errors import DomainError

from .models import StandardLink

if TYPE_CHECKING:
    from labserver.standards.models import ReferenceStandard, StandardCertificate


@dataclass(frozen=True)
class ReferenceUse:
    """An upstream standard used for a calibration, with the function and range it served.

    ``range_low``/``range_high`` are in ``unit``; all optional but the standard.
    """

    standard: ReferenceStandard
    function: str = ""
    range_low: float | None = None
    range_high: float | None = None
    unit: str = ""


def as_uses(items: Sequence[ReferenceStandard | ReferenceUse] | None) -> list[ReferenceUse]:
    """Plain standards (the old form of ``reference_standards``) as uses without a range."""
    uses = [item if isinstance(item, ReferenceUse) else ReferenceUse(item) for item in items or []]
    seen: set[tuple[int, str, str]] = set()
    for i, use in enumerate(uses):
        where = f"reference_standards[{i}]"
        key = (use.standard.pk, use.function, use.unit)
        if key in seen:
            raise DomainError(f"{where}: {use.standard.asset_id} named twice", field=where)
        seen.add(key)
        low, high = use.range_low, use.range_high
        if low is not None and high is not None and low > high:
            raise DomainError(f"{where}: range_low {low} exceeds range_high {high}", field=where)
    return uses


def record_links(
    *, certificate: StandardCertificate, uses: list[ReferenceUse]
) -> list[StandardLink]:
    """One link per use, pinning each upstream standard's certificate in force on the
    downstream calibration date (``None`` when it had none: a break in the chain).

    Called inside ``record_certificate``'s transaction, which writes the audit entry.
    """
    when = certificate.calibrated_on
    return StandardLink.objects.bulk_create(
        [
            StandardLink(
                certificate=certificate,
                standard=use.standard,
                upstream_certificate=use.standard.certificate_on(when),
                used_on=when,
                function=use.function,
                range_low=use.range_low,
                range_high=use.range_high,
                unit=use.unit,
            )
            for use in uses
        ]
    )
