"""A customer's request for a calibration or a verification of its instruments.

Nothing here is edited in place (the tables are append-only): a request is written once as
the customer asked it, and each change of its state appends a :class:`RequestEvent`. The
request's state is its latest event's, until the center schedules it; then its jobs carry it
on (in work, certificate issued), see :mod:`labserver.customer_requests.status`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from labserver.instruments.models import Instrument
from labserver.jobs.models import Procedure


class RequestState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    SCHEDULED = "scheduled", _("Scheduled")
    DECLINED = "declined", _("Declined")
    IN_WORK = "in_work", _("In work")
    CERTIFICATE_ISSUED = "certificate_issued", _("Certificate issued")
    CANCELLED = "cancelled", _("Cancelled by the customer")


class Place(models.TextChoices):
    LAB = "lab", _("In the laboratory")
    ON_SITE = "on_site", _("On site")


class RequestQuerySet(models.QuerySet["CustomerRequest"]):
    def with_recorded_state(self) -> RequestQuerySet:
        """Each request annotated with ``recorded_state``: its latest event's state (the
        decisions of the customer and the center; the jobs' progress is not in it)."""
        latest = RequestEvent.objects.filter(request=OuterRef("pk")).order_by("-seq")
        return self.annotate(recorded_state=Subquery(latest.values("state")[:1]))

    def in_recorded_states(self, *states: str) -> RequestQuerySet:
        """The requests whose latest event is one of ``states``."""
        # In a Q: the type checker knows only the model's fields, not the annotation.
        return self.with_recorded_state().filter(Q(recorded_state__in=states))


class CustomerRequest(models.Model):
    """What the customer asked for, as it asked it."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="customer_requests"
    )
    customer = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="requests_made"
    )
    number = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=Procedure.Kind.choices)
    place = models.CharField(max_length=16, choices=Place.choices, default=Place.LAB)
    site_address = models.TextField(blank=True)
    wished_on = models.DateField()
    note = models.TextField(blank=True)
    instruments: models.ManyToManyField[Instrument, RequestInstrument] = models.ManyToManyField(
        Instrument, through="RequestInstrument", related_name="requests"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RequestQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="customer_request_unique_number"
            )
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class RequestInstrument(models.Model):
    """One instrument named in a request."""

    request = models.ForeignKey(CustomerRequest, on_delete=models.PROTECT, related_name="items")
    instrument = models.ForeignKey(
        "instruments.Instrument", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "instrument"], name="request_instrument_once"
            )
        ]


class RequestEvent(models.Model):
    """One change of a request's state, with who made it, when and why."""

    request = models.ForeignKey(CustomerRequest, on_delete=models.PROTECT, related_name="events")
    # 1, 2, 3... per request: two answers given at once to the same state cannot both be
    # appended (the rows are append-only, so they cannot be locked for update either).
    seq = models.PositiveIntegerField()
    state = models.CharField(max_length=24, choices=RequestState.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "seq"], name="request_event_seq_once")
        ]
        ordering = ["seq"]


class RequestJob(models.Model):
    """A job the center created to do the request (one per instrument)."""

    request = models.ForeignKey(CustomerRequest, on_delete=models.PROTECT, related_name="jobs")
    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="+")
