"""Certificate files handed out by the pages (staff and customer portal), as issued only.

The bytes go through :func:`labserver.issuance.stored_files.open_as_issued`; when they are
not the ones issued (or are gone) the person gets a page that says so, in their language,
with the same 409 the API answers, and nothing of the file.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from .models import Certificate
from .stored_files import FileNotAsIssued, Which, open_as_issued


def certificate_file(request: HttpRequest, certificate: Certificate, which: Which) -> HttpResponse:
    """The certificate's PDF or DCC XML as an attachment, or the refusal page."""
    try:
        data = open_as_issued(certificate, which, actor=request.user)
    except FileNotAsIssued as refusal:
        return render(request, "web/file_refused.html", {"refusal": refusal}, status=refusal.status)
    if which == "pdf":
        filename, content_type = f"{certificate.number}.pdf", "application/pdf"
    else:
        filename, content_type = f"{certificate.number}.dcc.xml", "application/xml"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename) or ""
    return response
