"""The verification labels of a selection of certificates, on one PDF sheet (A4, 3 × 8).

One function for the API (``GET /api/v1/certificates/labels.pdf``) and the front office's
certificates page: the caller narrows the certificates to what the person may read; this
module refuses a certificate that carries no verification mark, naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from labserver.core.errors import DomainError

from .models import Certificate, CertificateKind


def label_sheet(certificates: Sequence[Certificate], *, field: str = "ids") -> bytes:
    """The PDF sheet of the labels of ``certificates``, in their order.

    Raises:
        DomainError: none given, or one is not a verification (it has no mark); ``field``
            names the input at fault.
    """
    from certificates.labels import Label, render_labels  # reportlab: only when printing

    if not certificates:
        raise DomainError(
            _("%(field)s: name at least one certificate") % {"field": field}, field=field
        )
    labels = []
    for certificate in certificates:
        if certificate.kind != CertificateKind.VERIFICATION:
            raise DomainError(
                _("%(field)s: certificate %(number)s is not a verification: it has no mark")
                % {"field": field, "number": certificate.number},
                field=field,
            )
        if not certificate.mark_number or not certificate.valid_until:
            raise DomainError(
                _(
                    "%(field)s: %(number)s is a notice of failed verification: a failed "
                    "instrument carries no mark"
                )
                % {"field": field, "number": certificate.number},
                field=field,
            )
        instrument = certificate.job.instrument
        labels.append(
            Label(
                certificate_number=certificate.number,
                mark_number=certificate.mark_number,
                instrument=f"{instrument.manufacturer} {instrument.model}",
                serial=instrument.serial,
                valid_until=certificate.valid_until,
                verify_url=certificate.verify_url,
                issuer=certificate.organization.name,
            )
        )
    return render_labels(labels)
