"""The national directorate and its administrator, who enters the national registers
(:mod:`labserver.accounts.registers`): fixtures of the registers' tests, their services'
and their pages'."""

from __future__ import annotations

from typing import Any

import pytest

from labserver.accounts import services as accounts
from labserver.accounts.models import Organization

from .lims import person


@pytest.fixture
def directorate() -> Organization:
    """The national directorate ``TCDL``."""
    return accounts.create_organization(
        actor=None, code="TCDL", name="Directorate", kind="directorate"
    )


@pytest.fixture
def registrar(directorate: Organization) -> Any:
    """The directorate's administrator: who enters the national registers."""
    return person(directorate, "tcdl-admin", "administrator")
