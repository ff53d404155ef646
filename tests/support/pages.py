"""The web pages as a signed-in person sees them (Django's test client, logged in without the
form), and a run waiting for its approval.
"""

from __future__ import annotations

from typing import Any

from django.test import Client

from labserver.measurements.models import Run
from labserver.measurements.services import review_run
from tests.support.issuing import submitted_run
from tests.support.lims import PASSWORD, Center


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reviewed(center: Center) -> Run:
    run = submitted_run(center)
    return review_run(actor=center.reviewer, run=run, password=PASSWORD)
