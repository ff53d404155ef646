"""The public verification page of a certificate: no login, nothing private.

``/verify/<number>`` shows what the certificate itself prints publicly (number, kind,
issuer, the instrument's type, maker, model and serial, the dates), its status (valid;
superseded, with the link to its replacement; revoked, with the date and reason) and the
SHA-256 of the PDF issued; a form checks a file against it. The page is the site's (its
header, its language switch), in the visitor's language, and fits a phone: most QR codes are
scanned on one. A number voided after a database restore (``manage.py reserve_numbers``) is a
410 page that says so, when, and whom to ask, in both languages; any other unknown number is
the site's bilingual 404 page with the field to type another number (rendered here, not
raised, so that the demo's DEBUG shows the same page), which does not repeat the number.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_http_methods

from labserver.core.throttles import VERIFY_UPLOAD, LookupThrottle
from labserver.web.templatetags.names import local_name
from labserver.web.throttling import throttled

from .models import Certificate, CertificateKind
from .national import lookup, registered_page_context
from .reservation import voided, voided_notice
from .services import certificate_state
from .verification import Verdict, verify_upload

# The verdict on a file, as the page names it (the API keeps the codes).
VERDICT_LABELS = {
    "valid": gettext_lazy("Valid: this is the file issued"),
    "superseded": gettext_lazy("Superseded: this file was replaced by an amendment"),
    "revoked": gettext_lazy("Revoked: this certificate was withdrawn"),
    "altered": gettext_lazy("Altered: this is not the file issued"),
    "unknown": gettext_lazy("Unknown: no certificate issued here matches this file"),
}

# The signature checker (the certificates library, no Django) reports in English: its fixed
# sentences are translated here; one naming a date is shown as it is.
LIBRARY_PROBLEMS = frozenset(
    {
        gettext_noop("The signer is not trusted by caltrace's trust list."),
        gettext_noop("The signature does not match the document: the file was altered."),
        gettext_noop("The document was changed after it was signed."),
        gettext_noop("The signature does not cover the whole document."),
        gettext_noop("The time-stamp on the signature could not be verified."),
    }
)


def _shown(verdict: Verdict) -> dict[str, Any]:
    """The verdict in the page's language."""
    return {
        "status": verdict.status,
        "label": VERDICT_LABELS.get(verdict.status, verdict.status),
        "number": verdict.number,
        "problems": [_(p) if p in LIBRARY_PROBLEMS else p for p in verdict.problems],
        "sha256": verdict.sha256,
    }


@require_http_methods(["GET", "POST"])
@throttled(LookupThrottle)
@throttled(*VERIFY_UPLOAD, methods={"POST"})
def verify_page(request: HttpRequest, number: str) -> HttpResponse:
    """The page of certificate ``number``; a POSTed ``file`` is checked against it."""
    certificate = (
        Certificate.objects.select_related(
            "organization",
            "run__job__instrument__instrument_type",
            "position__job__instrument__instrument_type",
        )
        .filter(number=number)
        .first()
    )
    if certificate is None:
        registered = lookup(number)
        if registered is not None:
            return _registered_page(request, registered)
        record = voided(number)
        if record is None:
            return render(request, "web/404.html", status=404)
        notices = {}
        for language in ("vi", "en"):
            with translation.override(language):
                notices[language] = voided_notice(record)
        return render(
            request,
            "issuance/voided.html",
            {"record": record, "notices": notices},
            status=410,
        )
    # The issuing organization's zone: the page's dates and times are the certificate's.
    zone = certificate.organization.zone
    context: dict[str, Any] = {
        "certificate": certificate,
        "state": certificate_state(certificate),
        "instrument": certificate.job.instrument,
        "instrument_type": local_name(certificate.job.instrument.instrument_type),
        "performed_on": timezone.localdate(certificate.run.finished_at, zone),
        "issued_on": timezone.localdate(certificate.issued_at, zone),
        # A verification without a mark is the notice of a failed verification.
        "failed": certificate.kind == CertificateKind.VERIFICATION and not certificate.mark_number,
    }
    status = 200
    if request.method == "POST":
        status = _checked_upload(request, context, certificate.number)
    with timezone.override(zone):
        return render(request, "issuance/verify.html", context, status=status)


def _checked_upload(request: HttpRequest, context: dict[str, Any], number: str) -> int:
    """Check a POSTed file into ``context``; the page's status code."""
    upload = request.FILES.get("file")
    if upload is None:
        context["error"] = _("Choose the PDF file to check.")
        return 400
    if upload.size is not None and upload.size > settings.CALTRACE_MAX_VERIFY_BYTES:
        context["error"] = _("The file is larger than %(size)s bytes.") % {
            "size": settings.CALTRACE_MAX_VERIFY_BYTES
        }
        return 413
    verdict = verify_upload(upload.read())
    context["verdict"] = _shown(verdict)
    if verdict.number not in (None, number):
        context["verdict_other"] = verdict.number
    return 200


def _registered_page(request: HttpRequest, registered: Any) -> HttpResponse:
    """The page of a certificate another node issued, from this node's registry."""
    context = registered_page_context(registered)
    status = 200
    if request.method == "POST":
        status = _checked_upload(request, context, registered.number)
    zone = context.pop("zone")
    with timezone.override(zone or timezone.get_current_timezone()):
        return render(request, "issuance/verify.html", context, status=status)
