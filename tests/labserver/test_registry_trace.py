"""The reverse trace over the registry (issue 21, point 4): from a standard found out of
tolerance to every registered certificate of every center it touched, at any depth.

The facts are written as replication writes them on the national node (rows of the
registry's tables); the trace reads them through ``labserver.registry.trace`` and the
``GET /api/v1/registry/impact/`` endpoint.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from labserver.accounts import services as accounts
from labserver.registry.models import (
    CalibrationLinkFact,
    StandardFact,
)
from labserver.registry.trace import tainted_standards, touched_certificates
from tests.support.lims import client_for, person
from tests.support.registry import calibrated, certificate, link

pytestmark = pytest.mark.django_db

D = date(2026, 3, 1)
"""The day the institute's national standard calibrated the center's reference."""
D2 = date(2026, 9, 1)
"""The day it calibrated it again (the first calibration's window ends)."""


@pytest.fixture
def country() -> None:
    """The institute (NMI) calibrates QT1's reference REF-1 with its national standard NAT-1
    on D and again on D2; REF-1 calibrates QT1's working standard W-1 on D + 10 days. QT1
    issues with REF-1 and W-1; QT2 issues with NAT-1 directly (a calibration by the
    institute itself) and with its own standard, untouched."""
    StandardFact.objects.bulk_create(
        [
            calibrated("QT1", "REF-1", "NMI-2026-001", D),
            calibrated("QT1", "REF-1", "NMI-2026-077", D2),
            calibrated("QT1", "W-1", "QT1-INT-001", date(2026, 3, 11)),
        ]
    )
    CalibrationLinkFact.objects.bulk_create(
        [
            link("QT1", "REF-1", "NMI-2026-001", ("NMI", "NAT-1", "BIPM-1"), D),
            link("QT1", "REF-1", "NMI-2026-077", ("NMI", "NAT-1", "BIPM-1"), D2),
            link("QT1", "W-1", "QT1-INT-001", ("QT1", "REF-1", "NMI-2026-001"), date(2026, 3, 11)),
        ]
    )
    certificate("QT1", "QT1-HC-2026-000001", date(2026, 2, 1), ("QT1", "REF-1"))  # before D
    certificate("QT1", "QT1-HC-2026-000002", date(2026, 4, 1), ("QT1", "REF-1"))
    certificate("QT1", "QT1-HC-2026-000003", date(2026, 5, 1), ("QT1", "W-1"))
    certificate("QT1", "QT1-HC-2026-000003", date(2026, 6, 1), ("QT1", "W-1"), event="revoked")
    certificate("QT1", "QT1-HC-2026-000004", date(2026, 10, 1), ("QT1", "REF-1"))  # after D2
    certificate("QT2", "QT2-HC-2026-000001", D, ("NMI", "NAT-1"))
    certificate("QT2", "QT2-HC-2026-000002", D, ("QT2", "OWN-1"))


def test_a_national_standard_out_of_tolerance_on_one_day_touches_every_center(
    country: None,
) -> None:
    # NAT-1 found out of tolerance on D alone: its use that day taints REF-1 over the window
    # of the certificate it gave (D until D2), which taints W-1 over its own certificate's.
    tainted = {(t.owner, t.standard, t.depth) for t in tainted_standards("NMI", "NAT-1", D, D)}
    assert tainted == {("NMI", "NAT-1", 0), ("QT1", "REF-1", 1), ("QT1", "W-1", 2)}
    touched = {
        (t.issuer, t.number, t.depth, t.status) for t in touched_certificates("NMI", "NAT-1", D, D)
    }
    assert touched == {
        ("QT2", "QT2-HC-2026-000001", 0, "valid"),
        ("QT1", "QT1-HC-2026-000002", 1, "valid"),
        ("QT1", "QT1-HC-2026-000003", 2, "revoked"),
    }


def test_the_windows_follow_the_certificates_in_force(country: None) -> None:
    # over the whole year NAT-1 also gave REF-1 its second certificate: the later use counts
    numbers = {t.number for t in touched_certificates("NMI", "NAT-1", D, D2)}
    assert "QT1-HC-2026-000004" in numbers
    assert "QT1-HC-2026-000001" not in numbers  # relied on REF-1 before NAT-1 calibrated it
    # a standard of QT2's own is in no chain from NAT-1
    assert "QT2-HC-2026-000002" not in numbers


def test_a_cycle_of_links_ends(country: None) -> None:
    # REF-1 recorded (wrongly) as calibrated by W-1 too: the trace still ends
    CalibrationLinkFact.objects.create(
        key="QT1/REF-1/QT1-INT-XX/QT1/W-1",
        owner="QT1",
        standard="REF-1",
        certificate="QT1-INT-XX",
        upstream_owner="QT1",
        upstream_standard="W-1",
        upstream_certificate="QT1-INT-001",
        used_on=date(2026, 3, 20),
    )
    assert touched_certificates("NMI", "NAT-1", D, D)


def _org(code: str, kind: str) -> Any:
    return accounts.create_organization(actor=None, code=code, name=f"Org {code}", kind=kind)


def test_the_holder_and_the_directorate_see_it_and_nobody_else(country: None) -> None:
    nmi = _org("NMI", "lab")
    directorate = _org("TCDL", "directorate")
    url = "/api/v1/registry/impact/?owner=NMI&standard=NAT-1&from=2026-03-01&to=2026-03-01"
    for user in (
        person(nmi, "nmi-qm", "quality_manager"),
        person(nmi, "nmi-auditor", "auditor"),
        person(directorate, "tcdl-auditor", "auditor"),
    ):
        answer = client_for(user).get(url)
        assert answer.status_code == 200, answer.json()
        body = answer.json()
        assert body["count"] == 3
        assert [(r["issuer"], r["depth"]) for r in body["results"]] == [
            ("QT2", 0),
            ("QT1", 1),
            ("QT1", 2),
        ]
        assert [(s["standard"], s["depth"]) for s in body["standards"]] == [
            ("NAT-1", 0),
            ("REF-1", 1),
            ("W-1", 2),
        ]
    for user in (
        person(nmi, "nmi-metrologist", "metrologist"),
        person(_org("QT9", "provincial_center"), "qt9-qm", "quality_manager"),
    ):
        refused = client_for(user).get(url)
        assert refused.status_code == 403
        assert "an auditor or the quality manager of NMI" in refused.json()["detail"]
    missing = client_for(person(directorate, "tcdl-auditor", "auditor")).get(
        "/api/v1/registry/impact/?standard=NAT-1&from=2026-03-01&to=2026-03-01"
    )
    assert (missing.status_code, missing.json()["field"]) == (400, "owner")
