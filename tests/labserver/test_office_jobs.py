"""The front office's job pages through Django's test client: jobs booked for several
instruments at once, planned on the week's calendar by bench and by metrologist,
reassigned with a reason (audited), the overdue list, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labserver.core.models import AuditEntry
from labserver.instruments import services as instruments
from labserver.jobs.models import Job, JobState
from tests.support.lims import Center
from tests.support.office import Desk, make_desk
from tests.support.pages import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(center: Center) -> Desk:
    desk = make_desk(center)
    for serial in ("D-1", "D-2"):
        instruments.register_instrument(
            actor=desk.reception,
            organization=center.org,
            owner=desk.customer,
            instrument_type=center.instrument.instrument_type,
            manufacturer="Keysight",
            model="34461A",
            serial=serial,
        )
    return desk


def book(desk: Desk) -> list[Job]:
    chosen = desk.customer.owned_instruments.order_by("serial")
    answer = signed_in(desk.reception).post(
        f"/office/jobs/new/{desk.customer.pk}/",
        {
            "instruments": [i.pk for i in chosen],
            "procedure": desk.center.procedure.pk,
            "due_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
        },
    )
    assert answer.status_code == 302, answer.content.decode()
    return list(Job.objects.filter(instrument__owner=desk.customer).order_by("number"))


def test_jobs_are_booked_for_several_instruments_at_once(desk: Desk) -> None:
    jobs = book(desk)
    assert [j.instrument.serial for j in jobs] == ["D-1", "D-2"]
    assert {j.state for j in jobs} == {JobState.ACCEPTED}
    created = AuditEntry.objects.filter(action="job.create", actor_user_id=desk.reception.pk)
    assert created.count() == 2


def test_booking_without_an_instrument_names_the_field(desk: Desk) -> None:
    page = signed_in(desk.reception).post(
        f"/office/jobs/new/{desk.customer.pk}/", {"procedure": desk.center.procedure.pk}
    )
    assert page.status_code == 200
    assert "instruments-error" in page.content.decode()
    assert not Job.objects.filter(instrument__owner=desk.customer).exists()


def test_a_job_is_planned_then_reassigned_with_a_reason(desk: Desk) -> None:
    job = book(desk)[0]
    client = signed_in(desk.reception)
    day = timezone.localdate()
    url = f"/office/jobs/{job.pk}/plan/"
    plan = {
        "scheduled_on": day.isoformat(),
        "bench": desk.center.agent.pk,
        "assignee": desk.center.metrologist.pk,
    }
    assert client.post(url, plan).status_code == 302
    scheduled = AuditEntry.objects.get(action="job.scheduled", object_id=str(job.pk))
    assert (scheduled.before or {})["scheduled_on"] is None
    assert (scheduled.after or {})["scheduled_on"] == day.isoformat()
    job.refresh_from_db()
    assert (job.state, job.scheduled_on, job.bench_id) == (
        JobState.SCHEDULED,
        day,
        desk.center.agent.pk,
    )
    week = client.get(f"/office/jobs/calendar/?week={day.isoformat()}").content.decode()
    assert job.number in week
    assert desk.center.agent.name in week
    by_person = client.get("/office/jobs/calendar/?by=metrologist").content.decode()
    assert job.number in by_person
    assert desk.center.metrologist.full_name in by_person

    moved = {**plan, "scheduled_on": (day + timedelta(days=1)).isoformat()}
    refused = client.post(url, moved)
    assert refused.status_code == 200
    assert "id_reason_error" in refused.content.decode()
    job.refresh_from_db()
    assert job.scheduled_on == day  # nothing changed
    assert client.post(url, {**moved, "reason": "bench under repair"}).status_code == 302
    entry = AuditEntry.objects.get(action="job.reassign", object_id=str(job.pk))
    assert entry.reason == "bench under repair"
    assert (entry.before or {})["scheduled_on"] == day.isoformat()


def test_the_overdue_jobs_are_listed(desk: Desk) -> None:
    late, on_time = book(desk)
    Job.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    page = signed_in(desk.reception).get("/office/jobs/calendar/")
    overdue = page.context["overdue"]
    assert [row["job"].number for row in overdue] == [late.number]
    assert on_time.number in [row["job"].number for row in page.context["to_schedule"]]


def test_a_metrologist_is_refused_and_another_center_sees_nothing(
    desk: Desk, other_center: Center
) -> None:
    job = book(desk)[0]
    assert signed_in(desk.center.metrologist).get("/office/jobs/calendar/").status_code == 403
    stranger = signed_in(make_desk(other_center).reception)
    assert stranger.get(f"/office/jobs/{job.pk}/plan/").status_code == 404
    assert stranger.get(f"/office/jobs/new/{desk.customer.pk}/").status_code == 404
    assert job.number not in stranger.get("/office/jobs/calendar/").content.decode()


def test_a_deactivated_instrument_gets_no_new_job(desk: Desk) -> None:
    instrument = desk.customer.owned_instruments.get(serial="D-1")
    instruments.deactivate_instrument(actor=desk.reception, instrument=instrument, reason="sold")
    page = signed_in(desk.reception).get(f"/office/jobs/new/{desk.customer.pk}/")
    assert "D-1" not in page.content.decode()
    assert "D-2" in page.content.decode()
