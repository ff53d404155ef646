"""The front office's side of a multi-position run: each instrument on the bench registered,
with its own job of the run's procedure, booked for the same bench (data entered once)."""

from __future__ import annotations

from labserver.accounts.models import Membership, Role, User
from labserver.instruments import services as instruments
from labserver.instruments.models import Instrument
from labserver.jobs import services as jobs
from labserver.jobs.models import Job


def front_office(job: Job) -> User:
    """A quality manager of the job's organization (they register and book)."""
    membership = Membership.objects.filter(
        organization_id=job.organization_id, role=Role.QUALITY_MANAGER, active=True
    ).first()
    assert membership is not None, f"no quality manager in {job.organization}"
    return membership.user


def jobs_for_serials(job: Job, serials: list[str]) -> dict[str, Job]:
    """For each serial but that of ``job``'s instrument, an instrument like it (type, owner,
    maker, specification) with that serial and an accepted job of the same procedure for
    the same bench; ``job`` for its own. By serial."""
    actor = front_office(job)
    model: Instrument = job.instrument
    found: dict[str, Job] = {}
    for serial in serials:
        if serial == model.serial:
            found[serial] = job
            continue
        instrument = instruments.register_instrument(
            actor=actor,
            organization=model.organization,
            owner=model.owner,
            instrument_type=model.instrument_type,
            manufacturer=model.manufacturer,
            model=model.model,
            serial=serial,
            specification=dict(model.specification or {}),
        )
        booked = jobs.create_job(
            actor=actor, instrument=instrument, procedure=job.procedure, bench=job.bench
        )
        found[serial] = jobs.accept_job(actor=actor, job=booked)
    return found
