"""The LIMS of the tests: two centers, role personas, an agent with its key, a job ready to
run, the runs an agent submits, the DEMO PKI that signs.

Tests go through the HTTP API (DRF's client over the full Django stack) and,
for what the API does not expose, through the services. The fixtures here reach the LIMS
tests through ``tests/labserver/conftest.py``; the agent's tests build their center with
:func:`make_center`.
"""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from labserver.accounts import services as accounts
from labserver.accounts.models import Agent, Organization, User
from labserver.instruments.models import Instrument, InstrumentType
from labserver.jobs import services as jobs
from labserver.jobs.models import Job, Procedure
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard
from procedures.acceptance import limits_for
from procedures.definition import library, load_definition
from procedures.record import (
    Acceptance,
    Point,
    ProcedureRef,
    Reading,
    Result,
    RunHeader,
    RunRecord,
    StandardUsed,
)
from procedures.scope import point_scope
from tests.support.once import fresh, module_transaction
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model

PASSWORD = "correct horse battery staple"
# The lab's date (settings.TIME_ZONE), as the server reckons it: never the machine's UTC date,
# which differs from it from 17:00 to 24:00 UTC.
TODAY = timezone.localdate()


def client_for(user: User) -> APIClient:
    client = APIClient()
    token = accounts.issue_api_token(actor=None, user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@dataclass
class Center:
    org: Organization
    metrologist: User
    reviewer: User
    signatory: User
    quality_manager: User
    auditor: User
    agent: Agent
    agent_token: str
    agent_key: Ed25519PrivateKey
    instrument: Instrument
    standard: ReferenceStandard
    procedure: Procedure
    job: Job

    def client(self, role: str) -> APIClient:
        return client_for(getattr(self, role))

    def agent_client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.agent_token}")
        return client


DEFINITION = load_definition(library()["dmm-dcv"])
PROCEDURE: dict[str, Any] = dict(DEFINITION.data)


# The calibrator's certificate: the voltage it delivers at each nominal of the DC-voltage
# procedure (V) with its expanded uncertainty (k = 2). The model's V_s is bound to it.
CALIBRATOR: dict[float, tuple[float, float]] = {
    nominal: (nominal + 2e-7 * nominal, 2e-6 + 5e-6 * abs(nominal))
    for nominal in sorted({p.nominal for p in DEFINITION.points})
}
CALIBRATOR[10.0] = (10.000002, 4e-6)


def calibrator_values() -> list[dict[str, Any]]:
    """The ``values`` of the calibrator's certificate, for ``record_certificate``."""
    return [
        {
            "quantity": "dcv",
            "nominal": nominal,
            "value": value,
            "unit": "V",
            "U": U,
            "k": 2,
            "coverage_probability": 0.95,
        }
        for nominal, (value, U) in CALIBRATOR.items()
    ]


def person(org: Organization, username: str, role: str, fields: list[str] | None = None) -> User:
    user = User.objects.filter(username=username).first() or accounts.create_user(
        actor=None, username=username, password=PASSWORD, full_name=username.title()
    )
    accounts.grant_role(actor=None, user=user, organization=org, role=role, fields=fields)
    return user


def make_center(code: str, dmm: InstrumentType, procedure: Procedure) -> Center:
    org = accounts.create_organization(
        actor=None, code=code, name=f"Center {code}", kind="provincial_center"
    )
    customer = accounts.create_organization(
        actor=None, code=f"{code}-CUST", name=f"Customer of {code}", kind="customer"
    )
    qm = person(org, f"{code.lower()}-qm", "quality_manager")
    metrologist = person(org, f"{code.lower()}-metro", "metrologist", ["electrical", "mass"])
    reviewer = person(org, f"{code.lower()}-reviewer", "reviewer", ["electrical"])
    signatory = person(org, f"{code.lower()}-signatory", "signatory", ["electrical"])
    auditor = person(org, f"{code.lower()}-auditor", "auditor")
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    agent, token = accounts.register_agent(
        actor=qm,
        organization=org,
        name="bench-1",
        public_key=base64.b64encode(public).decode(),
    )
    from labserver.instruments import services as instruments

    instrument = instruments.register_instrument(
        actor=qm,
        organization=org,
        owner=customer,
        instrument_type=dmm,
        manufacturer="Keysight",
        model="34465A",
        serial=f"MY{code}0001",
    )
    standard = standards.register_standard(
        actor=qm,
        organization=org,
        asset_id=f"{code}-CAL-01",
        name="Multifunction calibrator",
        field="electrical",
        calibration_interval_months=12,
        manufacturer="Fluke",
        model="5522A",
        functions=[{"role": "source", "function": "dcv", "unit": "V", "min": -1020, "max": 1020}],
    )
    standards.record_certificate(
        actor=qm,
        standard=standard,
        number=f"NMI-{code}-001",
        issuing_lab="National Metrology Institute",
        accreditation="CIPM MRA",
        calibrated_on=TODAY - timedelta(days=100),
        issued_on=TODAY - timedelta(days=95),
        due_on=TODAY + timedelta(days=265),
        values=calibrator_values(),
    )
    job = jobs.create_job(actor=qm, instrument=instrument, procedure=procedure, bench=agent)
    job = jobs.accept_job(actor=qm, job=job)
    return Center(
        org=org,
        metrologist=metrologist,
        reviewer=reviewer,
        signatory=signatory,
        quality_manager=qm,
        auditor=auditor,
        agent=agent,
        agent_token=token,
        agent_key=key,
        instrument=instrument,
        standard=standard,
        procedure=procedure,
        job=job,
    )


def make_dmm() -> InstrumentType:
    return InstrumentType.objects.create(
        code="dmm", name="Digital multimeter", field="electrical", legal_category="group_2"
    )


def make_procedure() -> Procedure:
    return jobs.register_procedure(actor=None, definition=PROCEDURE)


@pytest.fixture
def dmm(db: Any) -> InstrumentType:
    return make_dmm()


@pytest.fixture
def procedure(dmm: InstrumentType) -> Procedure:
    return make_procedure()


@pytest.fixture
def center(dmm: InstrumentType, procedure: Procedure) -> Center:
    return make_center("QT1", dmm, procedure)


# A module whose tests each run in a transaction (none a live server's or a
# ``transaction=True`` test) builds its center once: it imports the fixtures of
# CENTER_BUILT_ONCE, which replace ``center``, ``dmm`` and ``procedure`` with the module's
# (:mod:`tests.support.once`). Its own records built once go in ``center_world`` too.
CENTER_BUILT_ONCE = ("center_world", "center_built_once", "dmm_built_once", "procedure_built_once")


@dataclass
class CenterWorld:
    center: Center
    media: Path  # where the module's certificate files are stored


@pytest.fixture(scope="module")
def center_world(
    django_db_setup: Any,
    django_db_blocker: Any,
    demo_pki_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CenterWorld]:
    """The center QT1, built once for the module, with the folder its files go in."""
    media = tmp_path_factory.mktemp("center-media")
    overrides = override_settings(
        MEDIA_ROOT=media, CALTRACE_ANCHOR_DIR=media / "anchors", **demo_pki_settings(demo_pki_dir)
    )
    with module_transaction(django_db_blocker), overrides:
        yield CenterWorld(make_center("QT1", make_dmm(), make_procedure()), media)


@pytest.fixture(name="center")
def center_built_once(center_world: CenterWorld, db: Any, settings: Any) -> Center:
    """The module's center for one test: its own copies of the records and of their files
    (in the test's own folder), its changes rolled back at its end."""
    shutil.copytree(center_world.media, settings.MEDIA_ROOT, dirs_exist_ok=True)
    return fresh(center_world.center)


@pytest.fixture(name="dmm")
def dmm_built_once(center: Center) -> InstrumentType:
    return center.instrument.instrument_type


@pytest.fixture(name="procedure")
def procedure_built_once(center: Center) -> Procedure:
    return center.procedure


@pytest.fixture
def other_center(dmm: InstrumentType, procedure: Procedure, center: Center) -> Center:
    return make_center("QT2", dmm, procedure)


# ------------------------------------------------------------------ run payloads

RESOLUTION = 1e-6


def dcv_point(index: int, readings: list[float]) -> Point:
    """Point ``index`` of the DC-voltage procedure as an agent builds it: E = x + δx_res − V_s,
    with the limits the procedure's rule sets."""
    spec = DEFINITION.point(index)
    test = DEFINITION.test(spec.test)
    nominal = spec.nominal
    stamp = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    model = {
        "name": f"DCV error at {nominal} V",
        "outputs": {"E": {"expression": "x + d_res - V_s", "unit": "V"}},
        "quantities": {
            "x": {"samples": readings, "unit": "V"},
            "d_res": {
                "value": 0,
                "distribution": "rectangular",
                "half_width": RESOLUTION / 2,
                "unit": "V",
            },
            # from the calibrator's certificate at the nominal, as the procedure binds it
            "V_s": {
                "value": CALIBRATOR[nominal][0],
                "U": CALIBRATOR[nominal][1],
                "k": 2,
                "unit": "V",
            },
        },
    }
    out = evaluate_gum(parse_model(model))["E"]
    assert test.mpe is not None
    limits = limits_for(
        test.mpe, {**point_scope({}, {}, test, spec), "result": out.value}, where="test"
    )
    conformity = "pass" if limits.lower <= out.value <= limits.upper else "fail"
    return Point(
        index=index,
        test=test.id,
        nominal=nominal,
        unit="V",
        readings_quantity="x",
        output="E",
        model=model,
        result=Result(value=out.value, u=out.u, U=out.U, k=out.k, dof=out.dof),
        conformity=conformity,
        acceptance=Acceptance.of(limits),
        readings=tuple(
            Reading(
                value=r,
                unit="V",
                timestamp=(stamp + timedelta(seconds=j)).isoformat(),
                stable=True,
                raw=f"{r:+.9E}",
            )
            for j, r in enumerate(readings)
        ),
    )


def run_started() -> tuple[datetime, datetime]:
    """When a run posted now started and finished: half an hour ago, for twenty minutes,
    kept within :data:`TODAY` in the deployment's zone and in the past. A run that crossed
    midnight there (the half hour after 17:00 UTC in Hà Nội), or a suite that started the
    day before, would use its standards on another day than ``TODAY``."""
    zone = timezone.get_current_timezone()
    now = datetime.now(UTC)
    first = datetime.combine(TODAY, time.min, tzinfo=zone).astimezone(UTC)
    last = datetime.combine(TODAY, time(23, 29), tzinfo=zone).astimezone(UTC)
    started = min(max(now - timedelta(minutes=30), first), last)
    return started, started + min(timedelta(minutes=20), (now - started) / 2)


def run_payload(
    center: Center, *, points: int = 3, readings: int = 5, **changes: Any
) -> dict[str, Any]:
    started, finished = run_started()
    header = RunHeader(
        run_id=str(uuid.uuid4()),
        job=center.job.number,
        procedure=ProcedureRef(
            id=center.procedure.procedure_id,
            version=center.procedure.version,
            hash=center.procedure.content_hash,
        ),
        operator=center.metrologist.username,
        software_version="caltrace-agent 0.1.0",
        started_at=started.isoformat(),
        environment={
            "temperature": {"value": 23.1, "unit": "°C"},
            "humidity": {"value": 45, "unit": "%"},
        },
        standards=(StandardUsed(center.standard.asset_id, "source", "dcv", "V", 0, 10),),
    )
    body = RunRecord(
        header=header,
        finished_at=finished.isoformat(),
        points=tuple(
            dcv_point(
                i, [DEFINITION.point(i).nominal + 1e-6 * ((i + j) % 3 - 1) for j in range(readings)]
            )
            for i in range(points)
        ),
        raw_io=(
            {
                "t": started.isoformat(),
                "dir": "tx",
                "address": "TCPIP::127.0.0.1::5025::SOCKET",
                "data": "MEAS:VOLT:DC? 10",
            },
        ),
    ).to_json()
    body.update(changes)
    return body


def sign(key: Ed25519PrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body)).decode()


def post_run(
    center: Center,
    payload: Any,
    *,
    key: Ed25519PrivateKey | None = None,
    body: bytes | None = None,
    signature: str | None = None,
    content_type: str = "application/json",
) -> Any:
    raw = body if body is not None else json.dumps(payload).encode()
    headers: dict[str, Any] = {}
    sig = signature if signature is not None else sign(key or center.agent_key, raw)
    if sig:
        headers["HTTP_X_CALTRACE_SIGNATURE"] = sig
    return center.agent_client().generic(
        "POST",
        "/api/v1/runs/",
        raw,  # type: ignore[arg-type]  # bytes are sent as they are
        content_type=content_type,
        **headers,
    )


# -- issuing ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DEMO PKI per organization code for the whole session (keys are slow to make)."""
    return tmp_path_factory.mktemp("demo-pki")


def demo_pki_settings(directory: Path) -> dict[str, Any]:
    """Certificates signed with the embedded DEMO PKI, verified at a fixed public URL."""
    return {
        "CALTRACE_DEMO_PKI_DIR": directory,
        "CALTRACE_ALLOW_DEMO_PKI": True,
        "CALTRACE_PUBLIC_URL": "https://lims.example.org",
    }


@pytest.fixture
def demo_pki(settings: Any, demo_pki_dir: Path) -> Path:
    """Certificates signed with the embedded DEMO PKI, verified at a fixed public URL."""
    for name, value in demo_pki_settings(demo_pki_dir).items():
        setattr(settings, name, value)
    return demo_pki_dir


def with_serial(center: Center) -> None:
    """A certificate prints the standards' serial numbers and the addresses of the center
    and its customer (ISO/IEC 17025 7.8.2.1 b, e); the records of make_center have none."""
    ReferenceStandard.objects.filter(pk=center.standard.pk).update(serial=f"SN-{center.org.code}")
    Organization.objects.filter(pk=center.org.pk).update(
        address=f"1 Test Street, {center.org.code}"
    )
    Organization.objects.filter(pk=center.instrument.owner_id).update(address="2 Customer Road")
    center.org.refresh_from_db()


def next_job(center: Center) -> None:
    """A new accepted job for the center's bench (a job takes one run to approval)."""
    job = jobs.create_job(
        actor=center.quality_manager,
        instrument=center.instrument,
        procedure=center.procedure,
        bench=center.agent,
    )
    center.job = jobs.accept_job(actor=center.quality_manager, job=job)


def customer_of(center: Center) -> User:
    return person(center.instrument.owner, f"{center.org.code.lower()}-customer", "customer")
