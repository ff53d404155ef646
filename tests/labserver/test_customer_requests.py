"""Customers' requests through their services and pages (Django's test client): a customer
asks, the center accepts, declines with a reason or schedules the jobs, the customer cancels
what is not yet scheduled; each change appends an event and an audit entry, each refusal
names its field and saves nothing, and nobody sees another organization's requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from labserver.accounts.models import User
from labserver.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from labserver.core.models import AuditEntry
from labserver.customer_requests import services, status
from labserver.customer_requests.models import CustomerRequest, RequestEvent, RequestState
from labserver.jobs import services as job_services
from labserver.jobs.models import Job, JobState
from tests.support.customer_requests import ask
from tests.support.issuing import issued
from tests.support.lims import TODAY, Center, customer_of, person
from tests.support.pages import signed_in

pytestmark = pytest.mark.django_db

DAY = TODAY + timedelta(days=3)


def reception(center: Center) -> User:
    return person(center.org, f"{center.org.code.lower()}-reception", "reception")


def states(request: CustomerRequest) -> list[str]:
    return [step.state for step in status.history(request)]


def audited(action: str, request: CustomerRequest) -> AuditEntry:
    return AuditEntry.objects.get(action=action, object_id=str(request.pk))


def schedule(center: Center, request: CustomerRequest, actor: User | None = None) -> list[Job]:
    return services.schedule_request(
        actor=actor or reception(center),
        request=request,
        procedure=center.procedure,
        scheduled_on=DAY,
        due_on=DAY + timedelta(days=7),
        bench=center.agent,
        assignee=center.metrologist,
    )


# ----------------------------------------------------------------------------- services


def test_a_customer_asks_and_the_request_is_numbered_and_audited(center: Center) -> None:
    request = ask(center)
    assert request.number.startswith("R-")
    assert request.organization_id == center.org.pk
    assert request.customer_id == center.instrument.owner_id
    assert states(request) == [RequestState.SUBMITTED]
    entry = audited("request.submitted", request)
    assert entry.organization_id == center.org.pk
    assert entry.actor_user_id == customer_of(center).pk
    assert (entry.after or {})["instruments"] == [center.instrument.pk]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"place": "on_site", "site_address": " "}, "site_address"),
        ({"wished_on": TODAY - timedelta(days=1)}, "wished_on"),
        ({"instruments": []}, "instruments"),
        ({"kind": "repair"}, "kind"),
    ],
)
def test_a_bad_request_names_its_field_and_saves_nothing(
    center: Center, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        ask(center, **changes)
    assert refused.value.field == field
    assert not CustomerRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="request.").exists()


def test_an_on_site_request_keeps_the_site_address(center: Center) -> None:
    request = ask(center, place="on_site", site_address="Pumping station 4, Hai Phong")
    assert request.get_place_display() == "On site"
    assert request.site_address == "Pumping station 4, Hai Phong"


def test_a_customer_asks_only_for_its_own_instruments(center: Center, other_center: Center) -> None:
    with pytest.raises(NotPermitted):
        ask(center, customer=customer_of(other_center))
    with pytest.raises(NotPermitted):
        ask(center, customer=reception(center))
    assert not CustomerRequest.objects.exists()


def test_the_center_accepts_then_schedules_through_the_job_services(center: Center) -> None:
    request = ask(center)
    services.accept_request(actor=reception(center), request=request)
    jobs = schedule(center, request)
    assert states(request) == [
        RequestState.SUBMITTED,
        RequestState.ACCEPTED,
        RequestState.SCHEDULED,
    ]
    [job] = jobs
    job.refresh_from_db()
    assert (job.state, job.scheduled_on, job.bench, job.assignee) == (
        JobState.SCHEDULED,
        DAY,
        center.agent,
        center.metrologist,
    )
    assert job.instrument == center.instrument
    assert request.number in job.notes
    assert audited("request.accepted", request).before == {"state": "submitted"}
    assert (audited("request.scheduled", request).after or {})["jobs"] == [job.number]
    assert AuditEntry.objects.filter(action="job.scheduled", object_id=str(job.pk)).exists()


def test_only_an_accepted_request_of_the_right_kind_is_scheduled(center: Center) -> None:
    request = ask(center)
    with pytest.raises(InvalidTransition):
        schedule(center, request)
    services.accept_request(actor=reception(center), request=request)
    verification = ask(center, kind="verification")
    services.accept_request(actor=reception(center), request=verification)
    with pytest.raises(DomainError) as refused:
        schedule(center, verification)  # the procedure is a calibration
    assert refused.value.field == "procedure"
    assert not Job.objects.filter(notes__contains=verification.number).exists()
    assert states(verification)[-1] == RequestState.ACCEPTED


def test_the_request_follows_its_jobs_to_the_certificate(center: Center, demo_pki: Any) -> None:
    request = ask(center)
    services.accept_request(actor=center.quality_manager, request=request)
    [job] = schedule(center, request, actor=center.quality_manager)
    job_services.start_job(actor=center.metrologist, job=job)
    assert status.current(request).state == RequestState.IN_WORK
    center.job = Job.objects.get(pk=job.pk)
    certificate = issued(center)
    now = status.current(request)
    assert now.state == RequestState.CERTIFICATE_ISSUED
    assert now.at == certificate.issued_at
    assert [c.number for c in status.certificates(request)] == [certificate.number]
    # The customer's page shows it, with the link to the PDF as issued.
    page = signed_in(customer_of(center)).get(f"/portal/requests/{request.pk}/")
    assert certificate.number in page.content.decode()
    assert f"/portal/certificates/{certificate.number}.pdf" in page.content.decode()
    pdf = signed_in(customer_of(center)).get(f"/portal/certificates/{certificate.number}.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


def test_a_decline_needs_its_reason_and_shows_it(center: Center) -> None:
    request = ask(center)
    with pytest.raises(DomainError) as refused:
        services.decline_request(actor=reception(center), request=request, reason="  ")
    assert refused.value.field == "reason"
    services.decline_request(
        actor=reception(center), request=request, reason="No balance bench until March."
    )
    last = status.current(request)
    assert (last.state, last.reason) == (RequestState.DECLINED, "No balance bench until March.")
    assert audited("request.declined", request).reason == "No balance bench until March."
    with pytest.raises(InvalidTransition):
        services.accept_request(actor=reception(center), request=request)


def test_the_customer_cancels_only_before_scheduling(center: Center) -> None:
    waiting = ask(center)
    services.cancel_request(actor=customer_of(center), request=waiting, reason="Sold it.")
    assert states(waiting)[-1] == RequestState.CANCELLED
    assert audited("request.cancelled", waiting).actor_user_id == customer_of(center).pk
    scheduled = ask(center)
    services.accept_request(actor=reception(center), request=scheduled)
    schedule(center, scheduled)
    with pytest.raises(InvalidTransition):
        services.cancel_request(actor=customer_of(center), request=scheduled)
    assert states(scheduled)[-1] == RequestState.SCHEDULED


def test_the_answers_need_the_center_s_desk(center: Center, other_center: Center) -> None:
    request = ask(center)
    for outsider in (center.metrologist, reception(other_center), customer_of(center)):
        with pytest.raises(NotPermitted):
            services.accept_request(actor=outsider, request=request)
    with pytest.raises(NotPermitted):
        services.cancel_request(actor=customer_of(other_center), request=request)
    assert RequestEvent.objects.filter(request=request).count() == 1


# ----------------------------------------------------------------------------- pages


def test_the_customer_asks_on_the_portal_and_sees_only_its_requests(
    center: Center, other_center: Center
) -> None:
    client = signed_in(customer_of(center))
    form = client.get("/portal/requests/new/")
    assert center.instrument.serial in form.content.decode()
    sent = client.post(
        "/portal/requests/new/",
        {
            "instruments": [center.instrument.pk],
            "kind": "verification",
            "place": "on_site",
            "site_address": "Pumping station 4",
            "wished_on": DAY.isoformat(),
            "note": "",
        },
    )
    request = CustomerRequest.objects.get()
    assert sent.status_code == 302
    assert sent["Location"] == f"/portal/requests/{request.pk}/"
    listing = client.get("/portal/requests/").content.decode()
    assert request.number in listing
    assert "Submitted" in listing
    theirs = ask(other_center)
    assert client.get(f"/portal/requests/{theirs.pk}/").status_code == 404
    assert theirs.number not in listing
    assert signed_in(center.metrologist).get("/portal/requests/").status_code == 403


def test_a_refused_request_form_names_the_field(center: Center) -> None:
    answer = signed_in(customer_of(center)).post(
        "/portal/requests/new/",
        {
            "instruments": [center.instrument.pk],
            "kind": "calibration",
            "place": "on_site",
            "site_address": "",
            "wished_on": DAY.isoformat(),
        },
    )
    assert answer.status_code == 200
    assert "site_address" in answer.context["form"].errors
    assert not CustomerRequest.objects.exists()


def test_the_customer_cancels_on_the_portal(center: Center) -> None:
    request = ask(center)
    client = signed_in(customer_of(center))
    assert "cancel-form" in client.get(f"/portal/requests/{request.pk}/").content.decode()
    answer = client.post(f"/portal/requests/{request.pk}/cancel/", {"reason": "Sold it."})
    assert answer.status_code == 302
    page = client.get(f"/portal/requests/{request.pk}/").content.decode()
    assert "Cancelled by the customer" in page
    assert "Sold it." in page
    assert "cancel-form" not in page


def test_the_desk_answers_on_its_pages(center: Center, other_center: Center) -> None:
    older = ask(center)
    request = ask(center)
    desk = signed_in(reception(center))
    home = desk.get("/").content.decode()
    assert 'id="work-requests-waiting"' in home
    listing = desk.get("/office/requests/").content.decode()
    assert listing.index(request.number) < listing.index(older.number)  # the newest first
    assert desk.post(f"/office/requests/{request.pk}/accept/").status_code == 302
    refused = desk.post(f"/office/requests/{request.pk}/accept/")
    assert refused.status_code == 200
    assert refused.context["accept_form"].non_field_errors()
    planned = desk.post(
        f"/office/requests/{request.pk}/schedule/",
        {
            "procedure": center.procedure.pk,
            "scheduled_on": DAY.isoformat(),
            "bench": center.agent.pk,
            "assignee": center.metrologist.pk,
        },
    )
    assert planned.status_code == 302
    page = desk.get(f"/office/requests/{request.pk}/").content.decode()
    assert "Scheduled" in page
    assert Job.objects.get(notes__contains=request.number).number in page
    declined = desk.post(f"/office/requests/{older.pk}/decline/", {"reason": ""})
    assert "reason" in declined.context["decline_form"].errors
    desk.post(f"/office/requests/{older.pk}/decline/", {"reason": "No bench free."})
    customer_page = signed_in(customer_of(center)).get(f"/portal/requests/{older.pk}/")
    assert "No bench free." in customer_page.content.decode()
    # Another center's desk finds nothing, a metrologist is turned away.
    other_desk = signed_in(reception(other_center))
    assert other_desk.get(f"/office/requests/{request.pk}/").status_code == 404
    assert request.number not in other_desk.get("/office/requests/").content.decode()
    assert signed_in(center.metrologist).get("/office/requests/").status_code == 403


def test_an_overdue_wish_is_marked_for_the_center(center: Center) -> None:
    ask(center)
    desk = signed_in(reception(center))
    assert "late-tag" not in desk.get("/office/requests/").content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=8)):  # the wish was for day 7
        desk = signed_in(reception(center))
        assert "late-tag" in desk.get("/office/requests/").content.decode()


def test_the_pages_speak_vietnamese(center: Center) -> None:
    request = ask(center)
    client = signed_in(customer_of(center))
    client.cookies["django_language"] = "vi"
    page = client.get(f"/portal/requests/{request.pk}/", HTTP_ACCEPT_LANGUAGE="vi")
    text = page.content.decode()
    assert "Đã gửi" in text  # submitted
    assert "Submitted" not in text
    desk = signed_in(reception(center))
    desk.cookies["django_language"] = "vi"
    listing = desk.get("/office/requests/").content.decode()
    assert "Yêu cầu của khách hàng" in listing  # customers' requests
    assert "Đã gửi" in listing


def test_two_answers_at_once_record_only_one(center: Center) -> None:
    request = ask(center)
    seen = RequestEvent.objects.get(request=request)  # what both people saw: submitted
    services.accept_request(actor=reception(center), request=request)
    # the second answer, given on the page as it was
    with pytest.raises(Conflict), transaction.atomic():
        services._append(request, RequestState.DECLINED, actor=reception(center), last=seen)
    assert states(request) == [RequestState.SUBMITTED, RequestState.ACCEPTED]
