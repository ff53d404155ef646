"""What the staff's search is tested on: a center's desk with two customers (one with a
Vietnamese name), their instruments with serials that begin one another, and a job each,
all registered through the services; and a copy of the test database's rows into another
database (the SQLite one of the search's fallback tests)."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS

from labserver.accounts.models import Organization
from labserver.instruments import customers
from labserver.instruments import services as instruments
from labserver.instruments.models import Instrument
from labserver.jobs import services as jobs
from labserver.jobs.models import Job
from tests.support.lims import Center
from tests.support.office import Desk, make_desk

# Serials that begin one another: "W-100" typed must list W-100 first.
SERIALS = ("W-1000", "W-100A", "W-100", "DN-7")
VIETNAMESE_NAME = "Công ty Cấp nước Đồng Nai"


@dataclass
class Searched:
    desk: Desk
    vietnamese: Organization
    instruments: dict[str, Instrument]
    job: Job


def searched_center(center: Center) -> Searched:
    """``center``'s desk, its customers and their instruments, and a job on W-100."""
    desk = make_desk(center)
    vietnamese = customers.register_customer(
        actor=desk.reception,
        center=center.org,
        code=f"{center.org.code}-DNAI",
        name=VIETNAMESE_NAME,
    ).customer
    registered = {
        serial: instruments.register_instrument(
            actor=desk.reception,
            organization=center.org,
            owner=vietnamese if serial.startswith("DN") else desk.customer,
            instrument_type=center.instrument.instrument_type,
            manufacturer="Keysight",
            model="34461A",
            serial=serial,
        )
        for serial in SERIALS
    }
    job = jobs.create_job(
        actor=center.quality_manager,
        instrument=registered["W-100"],
        procedure=center.procedure,
        bench=center.agent,
    )
    return Searched(desk=desk, vietnamese=vietnamese, instruments=registered, job=job)


def copy_rows(to: str) -> None:
    """Every row of every model of the LIMS (``labserver.*``) in the test database into
    database ``to`` (its tables made from the models), keys kept, so the same records are
    searched there. Foreign keys are checked when the test ends: the rows they point to are
    the LIMS's own, copied too (Django's content types and permissions, which ``to`` made
    for itself, are not)."""
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or not meta.app_config.name.startswith("labserver."):
            continue
        rows = list(model._base_manager.using(DEFAULT_DB_ALIAS).all())
        if rows:
            model._base_manager.using(to).bulk_create(rows)
