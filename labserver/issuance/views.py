"""The public verification page of a certificate: no login, nothing private.

``/verify/<number>`` shows what the certificate itself prints publicly (number, kind,
issuer, the instrument's type, maker, model and serial, the dates), its status (valid;
superseded, with the link to its replacement; revoked, with the date and reason) and the
SHA-256 of the PDF issued; a form checks a file against it. A number voided after a
database restore (``manage.py reserve_numbers``) is a 410 page that says so, when, and whom
to ask, in both languages; any other unknown number is a plain 404 that says nothing more.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from labserver.core.throttles import VERIFY_UPLOAD, LookupThrottle
from labserver.web.throttling import throttled

from .models import Certificate
from .reservation import voided, voided_notice
from .services import certificate_state
from .verification import verify_upload


@require_http_methods(["GET", "POST"])
@throttled(LookupThrottle)
@throttled(*VERIFY_UPLOAD, methods={"POST"})
def verify_page(request: HttpRequest, number: str) -> HttpResponse:
    """The page of certificate ``number``; a POSTed ``file`` is checked against it."""
    certificate = (
        Certificate.objects.select_related("organization", "run__job__instrument__instrument_type")
        .filter(number=number)
        .first()
    )
    if certificate is None:
        record = voided(number)
        if record is None:
            raise Http404("not found")
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
        "instrument": certificate.run.job.instrument,
        "performed_on": timezone.localdate(certificate.run.finished_at, zone),
        "issued_on": timezone.localdate(certificate.issued_at, zone),
    }
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["error"] = "Choose the PDF file to check."
            status = 400
        elif upload.size is not None and upload.size > settings.CALTRACE_MAX_VERIFY_BYTES:
            context["error"] = (
                f"The file is larger than {settings.CALTRACE_MAX_VERIFY_BYTES} bytes."
            )
            status = 413
        else:
            verdict = verify_upload(upload.read())
            context["verdict"] = verdict
            context["verdict_other"] = verdict.number not in (None, certificate.number)
    with timezone.override(zone):
        return render(request, "issuance/verify.html", context, status=status)
