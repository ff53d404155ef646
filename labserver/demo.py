"""The demo data set: a national directorate, its metrology institute, two provincial
centers, customers, instrument types and patterns, a ladder of reference standards
from the national standards down to working standards with their certificates, and
jobs ready for the benches.

Every record is created through the services, so the demo also has a real audit
trail. All names, numbers and people are fictitious and marked DEMO where printed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from labserver.accounts import services as accounts
from labserver.accounts.models import Agent, Organization, User
from labserver.instruments import services as instruments
from labserver.instruments.models import Instrument, InstrumentType, PatternApproval
from labserver.jobs import services as jobs
from labserver.jobs.models import Procedure
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard
from procedures.definition import library, load_definition

DEMO_PASSWORD = "demo-only-password"

INSTRUMENT_TYPES = [
    ("nawi", "Non-automatic weighing instrument", "Cân không tự động", "mass", "group_1", 12),
    ("pressure-gauge", "Pressure gauge", "Áp kế kiểu lò xo", "pressure", "group_1", 12),
    ("water-meter", "Cold water meter", "Đồng hồ nước lạnh", "volume_flow", "group_1", 60),
    ("dmm", "Digital multimeter", "Đồng hồ vạn năng hiện số", "electrical", "group_2", None),
    ("thermometer", "Digital thermometer", "Nhiệt kế hiện số", "temperature", "group_2", None),
]

# The five procedures shipped in procedures/library/ (registered from their YAML files).
PROCEDURES = ["dmm-dcv", "nawi-r76", "pressure-gauge-r101", "thermometer-bath", "water-meter-r49"]


@dataclass
class DemoSummary:
    organizations: list[str] = field(default_factory=list)
    users: list[tuple[str, str, str]] = field(default_factory=list)
    agents: list[tuple[str, str, str, Path]] = field(default_factory=list)
    standards: int = 0
    jobs: list[str] = field(default_factory=list)


def _cert(
    actor: User,
    standard: ReferenceStandard,
    number: str,
    lab: str,
    accreditation: str,
    calibrated_days_ago: int,
    values: list[dict[str, Any]],
    used: list[ReferenceStandard] | None = None,
    internal: bool = False,
) -> None:
    today = timezone.localdate()
    calibrated = today - timedelta(days=calibrated_days_ago)
    due = calibrated + timedelta(days=round(365.25 * standard.calibration_interval_months / 12))
    standards.record_certificate(
        actor=actor,
        standard=standard,
        number=number,
        issuing_lab=lab,
        accreditation=accreditation,
        calibrated_on=calibrated,
        issued_on=calibrated + timedelta(days=3),
        due_on=due,
        values=values,
        internal=internal,
        reference_standards=used or [],
    )


def _people(org: Organization, prefix: str, summary: DemoSummary) -> dict[str, User]:
    roles = {
        "metrologist": ["electrical", "mass", "pressure", "temperature", "volume_flow"],
        "reviewer": ["electrical", "mass", "pressure", "temperature", "volume_flow"],
        "signatory": ["electrical", "mass", "pressure", "temperature", "volume_flow"],
        "quality_manager": [],
        "auditor": [],
    }
    names = {
        "metrologist": "Nguyễn Văn An",
        "reviewer": "Trần Thị Bình",
        "signatory": "Lê Hoàng Cường",
        "quality_manager": "Phạm Thu Dung",
        "auditor": "Võ Minh Đức",
    }
    people: dict[str, User] = {}
    for role, fields in roles.items():
        username = f"{prefix}-{role.replace('_', '-')}"
        user = accounts.create_user(
            actor=None, username=username, password=DEMO_PASSWORD, full_name=names[role]
        )
        accounts.grant_role(
            actor=None,
            user=user,
            organization=org,
            role=role,
            fields=fields,
            certificate_number=f"DEMO-KĐV-{prefix.upper()}-{len(people) + 1:03d}" if fields else "",
        )
        people[role] = user
        summary.users.append((username, role, org.code))
    return people


def _agent(
    org: Organization, name: str, actor: User, keys_dir: Path, summary: DemoSummary
) -> Agent:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    agent, token = accounts.register_agent(
        actor=actor, organization=org, name=name, public_key=base64.b64encode(public).decode()
    )
    keys_dir.mkdir(parents=True, exist_ok=True)
    key_path = keys_dir / f"{org.code}-{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    token_path = keys_dir / f"{org.code}-{name}.token"
    token_path.write_text(token + "\n", encoding="ascii")
    token_path.chmod(0o600)
    summary.agents.append((org.code, name, token, key_path))
    return agent


@transaction.atomic
def load_demo(keys_dir: Path) -> DemoSummary:
    """Create the demo data set; refuses if it is already there."""
    if Organization.objects.filter(code="DIR").exists():
        raise RuntimeError("the demo data is already loaded (organization DIR exists)")
    summary = DemoSummary()
    today = timezone.localdate()

    directorate = accounts.create_organization(
        actor=None,
        code="DIR",
        name="DEMO National Directorate for Standards, Metrology and Quality",
        kind="directorate",
        region="National",
    )
    nmi = accounts.create_organization(
        actor=None,
        code="NMI",
        name="DEMO National Metrology Institute",
        kind="lab",
        parent=directorate,
        accreditation="CIPM MRA (DEMO)",
        region="Hà Nội",
    )
    hanoi = accounts.create_organization(
        actor=None,
        code="HN",
        name="DEMO Hà Nội Provincial Verification Center",
        kind="provincial_center",
        parent=directorate,
        accreditation="VILAS 000 (DEMO)",
        region="Hà Nội",
    )
    danang = accounts.create_organization(
        actor=None,
        code="DN",
        name="DEMO Đà Nẵng Provincial Verification Center",
        kind="provincial_center",
        parent=directorate,
        accreditation="VILAS 001 (DEMO)",
        region="Đà Nẵng",
    )
    customers = {
        "HN-WATER": ("DEMO Hà Nội Water Supply Company", hanoi),
        "HN-MARKET": ("DEMO Đồng Xuân Market Traders", hanoi),
        "HN-PLANT": ("DEMO Thăng Long Industrial Plant", hanoi),
        "DN-PORT": ("DEMO Đà Nẵng Port Authority", danang),
    }
    customer_orgs = {
        code: accounts.create_organization(
            actor=None, code=code, name=name, kind="customer", parent=center
        )
        for code, (name, center) in customers.items()
    }
    summary.organizations = [
        o.code for o in (directorate, nmi, hanoi, danang, *customer_orgs.values())
    ]

    nmi_people = _people(nmi, "nmi", summary)
    hn = _people(hanoi, "hn", summary)
    dn = _people(danang, "dn", summary)
    customer_user = accounts.create_user(
        actor=None,
        username="hn-water-customer",
        password=DEMO_PASSWORD,
        full_name="Đỗ Thị Hoa",
    )
    accounts.grant_role(
        actor=None, user=customer_user, organization=customer_orgs["HN-WATER"], role="customer"
    )
    summary.users.append(("hn-water-customer", "customer", "HN-WATER"))

    types = {
        code: InstrumentType.objects.create(
            code=code,
            name=name,
            name_vi=name_vi,
            field=fld,
            legal_category=category,
            verification_interval_months=interval,
        )
        for code, name, name_vi, fld, category, interval in INSTRUMENT_TYPES
    }
    patterns = {
        "nawi": PatternApproval.objects.create(
            number="DEMO-PA-001-2024",
            instrument_type=types["nawi"],
            manufacturer="Mettler Toledo",
            model="ICS425",
            approved_on=date(2024, 3, 1),
        ),
        "water-meter": PatternApproval.objects.create(
            number="DEMO-PA-017-2023",
            instrument_type=types["water-meter"],
            manufacturer="Itron",
            model="Flodis DN20",
            approved_on=date(2023, 6, 15),
        ),
        "pressure-gauge": PatternApproval.objects.create(
            number="DEMO-PA-031-2022",
            instrument_type=types["pressure-gauge"],
            manufacturer="WIKA",
            model="232.50",
            approved_on=date(2022, 9, 20),
        ),
    }
    procedures: dict[str, Procedure] = {}
    shipped = library()
    for pid in PROCEDURES:
        if pid in shipped:
            definition = load_definition(shipped[pid])
            procedures[pid] = jobs.register_procedure(actor=None, definition=dict(definition.data))

    qm_nmi, qm_hn, qm_dn = (
        nmi_people["quality_manager"],
        hn["quality_manager"],
        dn["quality_manager"],
    )

    # --- the ladder: national standards (NMI) -> reference (centers) -> working (centers)
    def standard(
        org: Organization,
        actor: User,
        asset: str,
        name: str,
        fld: str,
        level: str,
        functions: list[dict[str, Any]],
        months: int,
        **extra: str,
    ) -> ReferenceStandard:
        summary.standards += 1
        return standards.register_standard(
            actor=actor,
            organization=org,
            asset_id=asset,
            name=name,
            field=fld,
            level=level,
            functions=functions,
            calibration_interval_months=months,
            **extra,
        )

    kg = standard(
        nmi,
        qm_nmi,
        "NMI-M-001",
        "National kilogram (stainless steel, copy No. 1)",
        "mass",
        "national",
        [{"role": "reference", "function": "mass", "unit": "kg", "min": 1, "max": 1}],
        24,
    )
    _cert(
        qm_nmi,
        kg,
        "BIPM-DEMO-2025-112",
        "BIPM",
        "CIPM MRA",
        300,
        [
            {
                "quantity": "mass",
                "nominal": 1,
                "value": 1.000000012,
                "unit": "kg",
                "U": 2.6e-8,
                "k": 2,
                "coverage_probability": 0.95,
            }
        ],
    )
    josephson = standard(
        nmi,
        qm_nmi,
        "NMI-E-001",
        "Josephson voltage standard",
        "electrical",
        "national",
        [{"role": "reference", "function": "dcv", "unit": "V", "min": -10, "max": 10}],
        24,
    )
    _cert(
        qm_nmi,
        josephson,
        "BIPM-DEMO-2025-077",
        "BIPM (on-site comparison)",
        "CIPM MRA",
        200,
        [
            {
                "quantity": "dcv",
                "nominal": 10,
                "value": 10.0,
                "unit": "V",
                "U": 2e-8,
                "k": 2,
                "coverage_probability": 0.95,
            }
        ],
    )
    piston = standard(
        nmi,
        qm_nmi,
        "NMI-P-001",
        "Pressure balance (piston gauge)",
        "pressure",
        "national",
        [{"role": "reference", "function": "pressure", "unit": "kPa", "min": 0, "max": 7000}],
        24,
    )
    _cert(
        qm_nmi,
        piston,
        "PTB-DEMO-2024-5531",
        "PTB",
        "CIPM MRA",
        400,
        [
            {
                "quantity": "effective area",
                "nominal": 4.9e-5,
                "value": 4.90312e-5,
                "unit": "m2",
                "U": 1.5e-10,
                "k": 2,
                "coverage_probability": 0.95,
            }
        ],
    )
    sprt = standard(
        nmi,
        qm_nmi,
        "NMI-T-001",
        "Standard platinum resistance thermometer",
        "temperature",
        "national",
        [{"role": "reference", "function": "temperature", "unit": "°C", "min": -189, "max": 420}],
        24,
    )
    _cert(
        qm_nmi,
        sprt,
        "NMI-DEMO-ITS90-2025-09",
        "NMI (ITS-90 fixed points)",
        "CIPM MRA",
        150,
        [
            {
                "quantity": "R(TPW)",
                "nominal": 25.5,
                "value": 25.50012,
                "unit": "ohm",
                "U": 2.5e-5,
                "k": 2,
                "coverage_probability": 0.95,
            }
        ],
    )

    for center, actor, prefix in ((hanoi, qm_hn, "HN"), (danang, qm_dn, "DN")):
        weights_e2 = standard(
            center,
            actor,
            f"{prefix}-M-E2",
            "Weight set E2, 1 mg – 1 kg",
            "mass",
            "reference",
            [{"role": "reference", "function": "mass", "unit": "kg", "min": 1e-6, "max": 1}],
            24,
            manufacturer="Häfner",
            serial=f"{prefix}E2-0415",
        )
        _cert(
            actor,
            weights_e2,
            f"NMI-DEMO-M-{prefix}-2025-031",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            120,
            [
                {
                    "quantity": "mass",
                    "nominal": 1,
                    "value": 1.0000003,
                    "unit": "kg",
                    "U": 1.6e-7,
                    "k": 2,
                    "coverage_probability": 0.95,
                }
            ],
            used=[kg],
        )
        weights_m1 = standard(
            center,
            actor,
            f"{prefix}-M-M1",
            "Weight set M1, 1 kg – 20 kg",
            "mass",
            "working",
            [{"role": "reference", "function": "mass", "unit": "kg", "min": 1, "max": 100}],
            12,
        )
        _cert(
            actor,
            weights_m1,
            f"{prefix}-DEMO-INT-M-2025-044",
            center.name,
            center.accreditation,
            90,
            [
                {
                    "quantity": "mass",
                    "nominal": 20,
                    "value": 20.00021,
                    "unit": "kg",
                    "U": 1e-4,
                    "k": 2,
                    "coverage_probability": 0.95,
                }
            ],
            used=[weights_e2],
            internal=True,
        )
        calibrator = standard(
            center,
            actor,
            f"{prefix}-E-5522A",
            "Multifunction calibrator",
            "electrical",
            "reference",
            [{"role": "source", "function": "dcv", "unit": "V", "min": -1020, "max": 1020}],
            12,
            manufacturer="Fluke",
            model="5522A",
            serial=f"{prefix}5522-1188",
        )
        _cert(
            actor,
            calibrator,
            f"NMI-DEMO-E-{prefix}-2025-210",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            60,
            # The calibrated DC voltages at the points of procedure dmm-dcv (DEMO values:
            # a correction of +0.21 ppm, U = 1.5 µV + 3.5 ppm).
            [
                {
                    "quantity": "dcv",
                    "nominal": v,
                    "value": v * (1 + 0.21e-6),
                    "unit": "V",
                    "U": 1.5e-6 + 3.5e-6 * abs(v),
                    "k": 2,
                    "coverage_probability": 0.95,
                }
                for v in (-10.0, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 100.0)
            ],
            used=[josephson],
        )
        pace = standard(
            center,
            actor,
            f"{prefix}-P-PACE",
            "Pressure controller PACE6000",
            "pressure",
            "reference",
            [{"role": "reference", "function": "pressure", "unit": "kPa", "min": 0, "max": 2100}],
            12,
            manufacturer="Druck",
            model="PACE6000",
        )
        _cert(
            actor,
            pace,
            f"NMI-DEMO-P-{prefix}-2025-088",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            200,
            [
                {
                    "quantity": "pressure",
                    "nominal": 1000,
                    "value": 1000.02,
                    "unit": "kPa",
                    "U": 0.05,
                    "k": 2,
                    "coverage_probability": 0.95,
                }
            ],
            used=[piston],
        )
        prt = standard(
            center,
            actor,
            f"{prefix}-T-PRT",
            "Reference platinum resistance thermometer",
            "temperature",
            "reference",
            [
                {
                    "role": "reference",
                    "function": "temperature",
                    "unit": "°C",
                    "min": -40,
                    "max": 250,
                }
            ],
            12,
        )
        _cert(
            actor,
            prt,
            f"NMI-DEMO-T-{prefix}-2025-019",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            100,
            [
                {
                    "quantity": "temperature",
                    "nominal": 100,
                    "value": 100.004,
                    "unit": "°C",
                    "U": 0.012,
                    "k": 2,
                    "coverage_probability": 0.95,
                }
            ],
            used=[sprt],
        )
        flow = standard(
            center,
            actor,
            f"{prefix}-V-FLOW",
            "Reference electromagnetic flow meter",
            "volume_flow",
            "working",
            [{"role": "reference", "function": "volume", "unit": "L", "min": 0, "max": 10000}],
            12,
        )
        _cert(
            actor,
            flow,
            f"{prefix}-DEMO-INT-V-2025-007",
            center.name,
            center.accreditation,
            340,
            [
                {
                    "quantity": "volume",
                    "nominal": 100,
                    "value": 100.03,
                    "unit": "L",
                    "U": 0.08,
                    "k": 2,
                    "coverage_probability": 0.95,
                }
            ],
            internal=True,
        )

    # A standard that ran out, to show the refusal.
    old = standard(
        hanoi,
        qm_hn,
        "HN-E-34401A",
        "Old reference DMM (calibration overdue)",
        "electrical",
        "working",
        [{"role": "reference", "function": "dcv", "unit": "V", "min": 0, "max": 1000}],
        12,
    )
    _cert(qm_hn, old, "HN-DEMO-INT-E-2024-003", hanoi.name, hanoi.accreditation, 400, [])

    bench = _agent(hanoi, "bench-1", qm_hn, keys_dir, summary)
    _agent(danang, "field-1", qm_dn, keys_dir, summary)

    # --- instruments and jobs ready for the benches
    def instrument(
        type_code: str, owner: str, manufacturer: str, model: str, serial: str, spec: dict[str, Any]
    ) -> Instrument:
        return instruments.register_instrument(
            actor=qm_hn,
            organization=hanoi,
            owner=customer_orgs[owner],
            instrument_type=types[type_code],
            manufacturer=manufacturer,
            model=model,
            serial=serial,
            pattern=patterns.get(type_code),
            specification=spec,
        )

    plan = [
        (
            instrument(
                "dmm",
                "HN-PLANT",
                "Keysight",
                "34465A",
                "MY59001234",
                {"range": "10 V", "resolution": "1 uV"},
            ),
            "dmm-dcv",
            "scheduled",
        ),
        (
            instrument(
                "nawi",
                "HN-MARKET",
                "Mettler Toledo",
                "ICS425",
                "B512345678",
                {"max": "15 kg", "e": "5 g", "class": "III"},
            ),
            "nawi-r76",
            "scheduled",
        ),
        (
            instrument(
                "pressure-gauge",
                "HN-PLANT",
                "WIKA",
                "232.50",
                "1A2B3C",
                {"range": "0-1600 kPa", "class": "1.6"},
            ),
            "pressure-gauge-r101",
            "accepted",
        ),
        (
            instrument(
                "water-meter",
                "HN-WATER",
                "Itron",
                "Flodis DN20",
                "ITR-20-000451",
                {"q3": "4 m3/h", "R": 160, "class": 2},
            ),
            "water-meter-r49",
            "accepted",
        ),
        (
            instrument(
                "thermometer",
                "HN-PLANT",
                "Fluke",
                "1524",
                "TH-88231",
                {"range": "-20..150 °C", "resolution": "0.01 °C"},
            ),
            "thermometer-bath",
            "requested",
        ),
    ]
    for item, pid, state in plan:
        if pid not in procedures:
            continue
        job = jobs.create_job(
            actor=qm_hn,
            instrument=item,
            procedure=procedures[pid],
            due_on=today + timedelta(days=14),
            notes="DEMO",
        )
        if state in ("accepted", "scheduled"):
            job = jobs.accept_job(actor=qm_hn, job=job)
        if state == "scheduled":
            job = jobs.schedule_job(actor=qm_hn, job=job, assignee=hn["metrologist"], bench=bench)
        summary.jobs.append(f"{hanoi.code} {job.number} {pid} ({job.state})")
    return summary
