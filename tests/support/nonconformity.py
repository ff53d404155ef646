"""The case of a standard found out of tolerance (the ``case`` fixture): the center's
calibrator used by two issued certificates of two customers, by a generated run with no
points, and through a working standard it calibrated; and the shifts of its value that
move no verdict (:data:`SMALL`) and that turn a pass into a fail (:data:`LARGE`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from labserver.accounts.models import Organization
from labserver.instruments import services as instruments
from labserver.issuance.models import Certificate, SigningKeyRecord
from labserver.jobs import services as jobs
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard
from labserver.standards.services import ReferenceUse
from scenarios.traceability import CenterSetup, generated_run
from tests.support.issuing import issued
from tests.support.lims import CENTER_BUILT_ONCE, TODAY, Center, CenterWorld
from tests.support.once import fresh

SMALL = 1e-6  # V: moves no verdict
LARGE = 2e-5  # V: more than the 0.1 V point's MPE (11 µV) minus its |error|


@dataclass
class Case:
    center: Center
    first: Certificate  # customer QT1-CUST, three points on the 1 V range
    second: Certificate  # customer QT1-CUST2, its own instrument
    empty: Certificate  # generated run that used the calibrator directly: no points
    indirect: Certificate  # generated run that used W, calibrated with the calibrator
    working: ReferenceStandard
    setup: CenterSetup  # for more generated runs (after the real ones: they number themselves)


def new_job(center: Center, owner: Organization | None = None) -> None:
    """A new accepted job on the bench; another instrument when ``owner`` is given."""
    qm = center.quality_manager
    instrument = center.instrument
    if owner is not None:
        instrument = instruments.register_instrument(
            actor=qm,
            organization=center.org,
            owner=owner,
            instrument_type=center.instrument.instrument_type,
            manufacturer="Fluke",
            model="8846A",
            serial=f"MY{owner.code}",
        )
    job = jobs.create_job(
        actor=qm, instrument=instrument, procedure=center.procedure, bench=center.agent
    )
    center.job = jobs.accept_job(actor=qm, job=job)


@pytest.fixture
def case(center: Center) -> Case:
    """The case built for one test."""
    return build_case(center)


# A module whose tests each run in a transaction (none a live server's) builds the case
# once, on the center built once: it imports the fixtures of CASE_BUILT_ONCE.
CASE_BUILT_ONCE = (*CENTER_BUILT_ONCE, "case_world", "case_built_once")


@pytest.fixture(scope="module")
def case_world(center_world: CenterWorld, django_db_blocker: Any) -> Case:
    """The case, built once in the module's transaction (:mod:`tests.support.once`)."""
    with django_db_blocker.unblock():
        return build_case(center_world.center)


@pytest.fixture(name="case")
def case_built_once(case_world: Case, center: Center) -> Case:
    """The case for one test: its own copies of the records, on the test's center."""
    return dataclasses.replace(fresh(case_world), center=center)


def build_case(center: Center) -> Case:
    from labserver.accounts import services as accounts

    first = issued(center)
    customer2 = accounts.create_organization(
        actor=None, code="QT1-CUST2", name="Second customer of QT1", kind="customer"
    )
    Organization.objects.filter(pk=customer2.pk).update(address="3 Other Road")
    new_job(center, customer2)
    second = issued(center)
    qm = center.quality_manager
    working = standards.register_standard(
        actor=qm,
        organization=center.org,
        asset_id="QT1-W-01",
        name="DC voltage reference",
        field="electrical",
        calibration_interval_months=12,
        functions=[{"role": "reference", "function": "dcv", "unit": "V", "min": 0, "max": 10}],
    )
    standards.record_certificate(
        actor=qm,
        standard=working,
        number="QT1-W-01-1",
        issuing_lab=center.org.name,
        internal=True,
        calibrated_on=TODAY,
        issued_on=TODAY,
        due_on=TODAY + timedelta(days=365),
        values=[{"quantity": "dcv", "nominal": 10, "value": 10, "unit": "V", "U": 1e-5, "k": 2}],
        reference_standards=[ReferenceUse(center.standard, "dcv", 0, 10, "V")],
    )
    setup = CenterSetup(
        org=center.org,
        customer=center.instrument.owner,
        operator=center.metrologist,
        agent=center.agent,
        job=center.job,
        procedure=center.procedure,
        key=SigningKeyRecord.objects.get(organization=center.org),
    )
    empty = generated_run(setup, used_on=TODAY, standards=[(center.standard, "dcv", 0, 10, "V")])
    indirect = generated_run(setup, used_on=TODAY, standards=[(working, "dcv", 0, 10, "V")])
    return Case(center, first, second, empty, indirect, working, setup)
