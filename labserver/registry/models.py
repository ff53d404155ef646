"""The registry's tables: append-only facts keyed globally by their issuer's code.

Every table here is append-only on PostgreSQL (migration 0001): a fact, once written, is
never updated or deleted; a certificate's later state is a later fact (superseded,
revoked). The primary key is the fact's global key, a text built from the issuer's code
and the fact's own identity (:func:`labserver.registry.records.certificate_key`), never a
local sequence: rows from many nodes meet in the national registry without colliding.

The columns are the public ones only. A column added here is published by the node's
registry publication: ``tests/labserver/test_registry.py`` lists them, so adding one is a
reviewed decision.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import pgettext_lazy


class CertificateFact(models.Model):
    """One fact of a certificate: issued, superseded by an amendment, or revoked."""

    class Event(models.TextChoices):
        ISSUED = "issued", pgettext_lazy("registry", "Issued")
        SUPERSEDED = "superseded", pgettext_lazy("registry", "Superseded")
        REVOKED = "revoked", pgettext_lazy("registry", "Revoked")

    class Verdict(models.TextChoices):
        PASS = "pass", pgettext_lazy("registry", "Passed")
        FAIL = "fail", pgettext_lazy("registry", "Failed")
        NONE = "", pgettext_lazy("registry", "No verdict (calibration)")

    key = models.CharField(max_length=200, primary_key=True)
    issuer = models.CharField(max_length=32, help_text="The issuing organization's code")
    region = models.CharField(max_length=100, blank=True, help_text="The issuer's province")
    number = models.CharField(max_length=64)
    event = models.CharField(max_length=16, choices=Event.choices)
    at = models.DateTimeField(help_text="When the event took effect")
    kind = models.CharField(max_length=16, help_text="calibration, verification or notice")
    verdict = models.CharField(max_length=4, choices=Verdict.choices, blank=True)
    instrument_type = models.CharField(max_length=64)
    pattern = models.CharField(max_length=64, blank=True, help_text="Pattern approval number")
    manufacturer = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    serial = models.CharField(max_length=100)
    issued_on = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    mark = models.CharField(max_length=64, blank=True, help_text="Verification mark number")
    supersedes = models.CharField(max_length=64, blank=True)
    superseded_by = models.CharField(max_length=64, blank=True)
    pdf_sha256 = models.CharField(max_length=64)
    signer_fingerprint = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "number", "event"], name="registry_certificate_event_once"
            ),
        ]
        indexes = [
            models.Index(fields=["number", "event"], name="registry_cert_number_idx"),
            models.Index(fields=["issuer", "at"], name="registry_cert_issuer_at_idx"),
            # an uploaded PDF found by its hash (the public check of a file)
            models.Index(fields=["pdf_sha256"], name="registry_cert_sha256_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class RelianceFact(models.Model):
    """A registered certificate relied on a reference standard under one of its
    certificates: the traceability fact that lets the holder of a standard found out of
    tolerance see every certificate it touched, at any node."""

    key = models.CharField(max_length=300, primary_key=True)
    issuer = models.CharField(max_length=32)
    number = models.CharField(max_length=64, help_text="The registered certificate")
    standard_owner = models.CharField(max_length=32, help_text="The standard's organization")
    standard = models.CharField(max_length=64, help_text="The standard's asset id")
    standard_certificate = models.CharField(max_length=100)
    standard_certificate_issuer = models.CharField(max_length=200)
    used_on = models.DateField()

    class Meta:
        indexes = [
            models.Index(
                fields=["standard_owner", "standard", "used_on"],
                name="registry_reliance_std_idx",
            ),
            models.Index(fields=["issuer", "number"], name="registry_reliance_num_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class StandardFact(models.Model):
    """One fact of a reference standard: registered, calibrated (under a certificate), or
    found out of tolerance since a date."""

    class Event(models.TextChoices):
        REGISTERED = "registered", pgettext_lazy("registry", "Registered")
        CALIBRATED = "calibrated", pgettext_lazy("registry", "Calibrated")
        OUT_OF_TOLERANCE = "out_of_tolerance", pgettext_lazy("registry", "Out of tolerance")

    key = models.CharField(max_length=300, primary_key=True)
    owner = models.CharField(max_length=32, help_text="The standard's organization's code")
    standard = models.CharField(max_length=64, help_text="The standard's asset id")
    event = models.CharField(max_length=16, choices=Event.choices)
    at = models.DateTimeField(help_text="When the fact was recorded")
    name = models.CharField(max_length=200)
    field = models.CharField(max_length=32)
    level = models.CharField(max_length=16)
    manufacturer = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    serial = models.CharField(max_length=100, blank=True)
    certificate = models.CharField(max_length=100, blank=True)
    certificate_issuer = models.CharField(max_length=200, blank=True)
    accreditation = models.CharField(max_length=100, blank=True)
    calibrated_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    since = models.DateField(null=True, blank=True, help_text="Out of tolerance since")

    class Meta:
        indexes = [
            models.Index(fields=["owner", "standard", "event"], name="registry_standard_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class CalibrationLinkFact(models.Model):
    """Which standard, under which of its certificates, calibrated which standard's
    certificate: the chain between standards, the way up to the national standards."""

    key = models.CharField(max_length=400, primary_key=True)
    owner = models.CharField(max_length=32)
    standard = models.CharField(max_length=64)
    certificate = models.CharField(max_length=100, help_text="The calibrated standard's")
    upstream_owner = models.CharField(max_length=32)
    upstream_standard = models.CharField(max_length=64)
    upstream_certificate = models.CharField(
        max_length=100, blank=True, help_text="Empty: the upstream had none in force (a break)"
    )
    used_on = models.DateField()

    class Meta:
        indexes = [
            models.Index(
                fields=["upstream_owner", "upstream_standard", "used_on"],
                name="registry_link_upstream_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class OrganizationFact(models.Model):
    """An issuing organization as the registry describes it (a directorate, a center, a
    laboratory; never a customer): its code, name, kind, province, accreditation and the
    time zone its certificates' dates are written in. The latest fact of a code is its
    description."""

    key = models.CharField(max_length=100, primary_key=True)
    code = models.CharField(max_length=32)
    at = models.DateTimeField()
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32)
    region = models.CharField(max_length=100, blank=True)
    accreditation = models.CharField(max_length=100, blank=True)
    parent = models.CharField(max_length=32, blank=True)
    time_zone = models.CharField(
        max_length=64, help_text="The zone its certificates' dates are written in"
    )

    class Meta:
        indexes = [models.Index(fields=["code", "at"], name="registry_org_code_at_idx")]

    def __str__(self) -> str:
        return self.key


class SigningKeyFact(models.Model):
    """A key an issuer signs its certificates with: its first use (with its X.509
    certificate and the roots it chains to, what verifies the signatures it made) and its
    revocation."""

    class Event(models.TextChoices):
        IN_USE = "in_use", pgettext_lazy("registry", "In use")
        REVOKED = "revoked", pgettext_lazy("registry", "Revoked")

    key = models.CharField(max_length=200, primary_key=True)
    issuer = models.CharField(max_length=32)
    fingerprint = models.CharField(max_length=64)
    event = models.CharField(max_length=16, choices=Event.choices)
    at = models.DateTimeField()
    certificate_pem = models.TextField(blank=True)
    trust_roots_pem = models.TextField(blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["issuer", "fingerprint"], name="registry_key_issuer_idx"),
        ]

    def __str__(self) -> str:
        return self.key


# ------------------------------------------------------------------ the national registers
#
# Entered once, at the national node, by the directorate (labserver.registry.national), and
# replicated to the centers that subscribe to its publication of the national registers. The
# ``authority`` is the directorate's organization code: it begins every key.


class PatternDecisionFact(models.Model):
    """A decision on an approved pattern of a measuring instrument: its approval (with its
    validity), a renewal of that validity, or its withdrawal from a day on."""

    class Event(models.TextChoices):
        APPROVED = "approved", pgettext_lazy("registry", "Approved")
        RENEWED = "renewed", pgettext_lazy("registry", "Renewed")
        WITHDRAWN = "withdrawn", pgettext_lazy("registry", "Withdrawn")

    key = models.CharField(max_length=200, primary_key=True)
    authority = models.CharField(max_length=32, help_text="The directorate's code")
    number = models.CharField(max_length=64, help_text="The pattern approval number")
    event = models.CharField(max_length=16, choices=Event.choices)
    at = models.DateTimeField(help_text="When the decision was recorded")
    instrument_type = models.CharField(max_length=64, help_text="The instrument type's code")
    manufacturer = models.CharField(max_length=200)
    model = models.CharField(max_length=200)
    approved_on = models.DateField(help_text="The decision's date (approval or renewal)")
    valid_until = models.DateField(null=True, blank=True, help_text="Empty: no time limit")
    withdrawn_on = models.DateField(null=True, blank=True, help_text="Not in force from")

    class Meta:
        indexes = [
            models.Index(fields=["number", "event"], name="registry_pattern_number_idx"),
            models.Index(fields=["instrument_type"], name="registry_pattern_type_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class ScopedDecisionFact(models.Model):
    """What a designation and a verifier's certification state alike: the decision's
    number, the organization it concerns, its scope and its validity."""

    key = models.CharField(max_length=200, primary_key=True)
    authority = models.CharField(max_length=32, help_text="The directorate's code")
    number = models.CharField(max_length=64, help_text="The decision's (the card's) number")
    organization = models.CharField(max_length=32, help_text="The organization's code")
    event = models.CharField(max_length=16)
    at = models.DateTimeField(help_text="When the decision was recorded")
    fields = models.JSONField(default=list, help_text="Fields of measurement covered")
    instrument_types = models.JSONField(default=list, help_text="Instrument type codes covered")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.key


class DesignationFact(ScopedDecisionFact):
    """An organization designated to verify, with its scope (fields of measurement and
    instrument types) and validity, or the withdrawal of its designation from a day on."""

    class Event(models.TextChoices):
        DESIGNATED = "designated", pgettext_lazy("registry", "Designated")
        WITHDRAWN = "withdrawn", pgettext_lazy("registry", "Withdrawn")

    event = models.CharField(max_length=16, choices=Event.choices)
    withdrawn_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "event"], name="registry_designation_org_idx"),
            models.Index(fields=["number", "event"], name="registry_designation_num_idx"),
        ]


class VerifierCertificationFact(ScopedDecisionFact):
    """A verifier's certification (the verifier's card): its national number, the
    organization the verifier works for, the fields and instrument types it covers and its
    validity, or its revocation from a day on. The holder is identified by the card's number
    only (no name: the holder's organization keeps who holds which card)."""

    class Event(models.TextChoices):
        CERTIFIED = "certified", pgettext_lazy("registry", "Certified")
        REVOKED = "revoked", pgettext_lazy("registry", "Revoked")

    event = models.CharField(max_length=16, choices=Event.choices)
    revoked_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["number", "event"], name="registry_verifier_number_idx"),
            models.Index(fields=["organization"], name="registry_verifier_org_idx"),
        ]


# ------------------------------------------------------------------ recall notices
#
# Written at the national node by ``manage.py registry_recalls notify``
# (labserver.registry.recalls) from the reverse trace of a standard found out of tolerance,
# and replicated to each affected center by the publication of its own notices (a row filter
# on ``issuer``): the center opens its own nonconformity from them.


class RecallNoticeFact(models.Model):
    """The national registry's notice to an issuer that one of its certificates (or one of
    its standards) relied, at some depth, on a standard found out of tolerance.

    One notice a certificate (or a standard) and out-of-tolerance fact: its key is the fact's
    key followed by the addressee's code and the certificate's number (or the standard's
    asset id), so writing the notices of one fact again writes nothing new."""

    class Kind(models.TextChoices):
        CERTIFICATE = "certificate", pgettext_lazy("registry", "Issued certificate")
        STANDARD = "standard", pgettext_lazy("registry", "Reference standard")

    key = models.CharField(max_length=600, primary_key=True)
    at = models.DateTimeField(help_text="When the national node wrote it")
    owner = models.CharField(max_length=32, help_text="The out-of-tolerance standard's owner")
    standard = models.CharField(max_length=64, help_text="The out-of-tolerance standard")
    out_of_tolerance = models.CharField(
        max_length=300, help_text="The key of the out-of-tolerance fact it answers"
    )
    since = models.DateField(help_text="Out of tolerance since (the fact's)")
    found_on = models.DateField(help_text="The day the fact was recorded")
    issuer = models.CharField(max_length=32, help_text="The organization it is addressed to")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    number = models.CharField(
        max_length=100, help_text="The affected certificate (a standard's: its calibration's)"
    )
    affected_standard = models.CharField(
        max_length=64, blank=True, help_text="The affected standard (kind standard)"
    )
    via_owner = models.CharField(max_length=32, help_text="The owner of the standard relied on")
    via_standard = models.CharField(max_length=64, help_text="The standard relied on")
    depth = models.PositiveSmallIntegerField(help_text="1: relied on the standard itself")
    used_on = models.DateField(help_text="The day it relied on it")
    window_start = models.DateField(help_text="The standard relied on was suspect from")
    window_end = models.DateField(null=True, blank=True, help_text="Empty: open-ended")

    class Meta:
        indexes = [
            models.Index(fields=["issuer", "out_of_tolerance"], name="registry_recall_issuer_idx"),
        ]

    def __str__(self) -> str:
        return self.key
