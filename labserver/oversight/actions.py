"""Codes the auditors' pages print, in the page's language: the audit trail's actions, the
status of a certificate.

An entry stores its action as a code (``certificate.issue``, ``job.measured``): the code is
what the hash covers and what a filter matches, so it never changes; the pages print its
label beside it. A code without a label here (an action added later) prints as the code.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from labserver.issuance.models import CertificateStatus
from labserver.jobs.models import JobState

LABELS = {
    "agent.register": gettext_lazy("Bench agent registered"),
    "agent.revoke": gettext_lazy("Bench agent revoked"),
    "certificate.amend": gettext_lazy("Certificate amended"),
    "certificate.issue": gettext_lazy("Certificate issued"),
    "certificate.revoke": gettext_lazy("Certificate revoked"),
    "certificate.file_altered": gettext_lazy("Stored certificate file refused: altered"),
    "certificate.file_missing": gettext_lazy("Stored certificate file refused: missing"),
    "instrument.register": gettext_lazy("Instrument registered"),
    "job.create": gettext_lazy("Job created"),
    "login.fail": gettext_lazy("Sign-in refused: wrong password"),
    "login.lock": gettext_lazy("Sign-in locked"),
    "membership.grant": gettext_lazy("Role granted"),
    "nonconformity.open": gettext_lazy("Nonconformity opened"),
    "nonconformity.decide": gettext_lazy("Decision on an affected certificate"),
    "nonconformity.close": gettext_lazy("Nonconformity closed"),
    "numbering.reserved": gettext_lazy("Certificate numbers voided after a restore"),
    "organization.create": gettext_lazy("Organization created"),
    "procedure.register": gettext_lazy("Procedure registered"),
    "report.download": gettext_lazy("Report downloaded (CSV)"),
    "run.submit": gettext_lazy("Run submitted"),
    "run.review": gettext_lazy("Run reviewed"),
    "run.approve": gettext_lazy("Run approved"),
    "run.reject": gettext_lazy("Run rejected"),
    "signature.fail": gettext_lazy("Signature refused: wrong password"),
    "signature.lock": gettext_lazy("Electronic signing locked"),
    "signing_key.first_use": gettext_lazy("Signing key first used"),
    "signing_key.revoke": gettext_lazy("Signing key revoked"),
    "standard.register": gettext_lazy("Reference standard registered"),
    "standard.certificate": gettext_lazy("Calibration certificate of a standard recorded"),
    "standard.out_of_tolerance": gettext_lazy("Standard marked out of tolerance"),
    "token.issue": gettext_lazy("API token issued"),
    "user.create": gettext_lazy("User created"),
    "user.unlock": gettext_lazy("Account unlocked"),
}


def action_label(code: str) -> str:
    """The label of an audit action; a job's move names its new state."""
    if code in LABELS:
        return str(LABELS[code])
    family, _dot, rest = code.partition(".")
    if family == "job" and rest in JobState.values:
        return _("Job moved to: %(state)s") % {"state": JobState(rest).label}
    return code


def certificate_status(code: str) -> str:
    """An issued certificate's status (``valid``) in the page's language; a standard's
    certificate in a reverse trace is ``recorded``."""
    if code in CertificateStatus.values:
        return str(CertificateStatus(code).label)
    if code == "recorded":
        return _("recorded")
    return code
