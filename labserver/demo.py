"""The demo data set: a national directorate, its metrology institute, two provincial
centers, customers, instrument types and patterns, a ladder of reference standards
from the national standards down to working standards with their certificates, and
one job per shipped procedure, scheduled to the bench of the Hà Nội center that runs it.

Each of those benches is a registered agent with its key, its token and its bench
configuration (``HN-<bench>.yaml``, the format of :mod:`agent.config`) written to
``keys_dir``, naming the instrument or standard in each role its procedure has. The
standards' certificates give values at exactly the points the procedures bind, and the
instruments' specifications hold exactly the procedures' ``instrument:`` parameters: what
the runner's preflight checks and every point's model takes
(``tests/labserver/test_demo_benches.py`` runs each job on the simulated bench).

Every record is created through the services, so the demo also has a real audit
trail. All names, numbers and people are fictitious and marked DEMO where printed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labserver.accounts import services as accounts
from labserver.accounts.models import Agent, Organization, User
from labserver.instruments import services as instruments
from labserver.instruments.models import Instrument, InstrumentType, PatternApproval
from labserver.jobs import services as jobs
from labserver.jobs.models import Job, Procedure
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

# The six procedures shipped in procedures/library/ (registered from their YAML files).
PROCEDURES = [
    "dmm-dcv",
    "nawi-r76",
    "pressure-gauge-r101",
    "thermometer-bath",
    "water-meter-r49",
    "water-meter-r49-hot",
]


# Where the demo benches' agents find the LIMS (``manage.py runserver``'s default).
DEMO_LIMS = "http://127.0.0.1:8000"


@dataclass
class DemoSummary:
    organizations: list[str] = field(default_factory=list)
    users: list[tuple[str, str, str]] = field(default_factory=list)
    agents: list[tuple[str, str, str, Path]] = field(default_factory=list)
    """(organization code, agent name, token, private key file) of every agent."""
    benches: list[tuple[str, str, Path]] = field(default_factory=list)
    """(organization code, bench name, bench configuration file) of every demo bench."""
    standards: int = 0
    jobs: list[str] = field(default_factory=list)


def _value(
    quantity: str, nominal: float, value: float, unit: str, expanded: float
) -> dict[str, Any]:
    """One calibrated value of a certificate, ``expanded`` its U at k = 2 (95 %)."""
    return {
        "quantity": quantity,
        "nominal": nominal,
        "value": value,
        "unit": unit,
        "U": expanded,
        "k": 2,
        "coverage_probability": 0.95,
    }


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


_BENCH_FILE_HEADER = """\
# DEMO bench configuration of {org} {bench}, written by `manage.py loaddemo` (read by
# caltrace-agent; format: agent/config.py). Key, token and outbox are relative to this
# file. The addresses are those of a bench on this computer; with --simulate every role
# is served by its simulator instead. Options: `registers` maps a function the procedure
# reads to a register of the device's map; the others describe the simulated instrument
# (a real bench ignores them).
#   caltrace-agent run --job NUMBER --bench {path} [--simulate]   (from this directory)
"""


def _bench_file(
    org: Organization,
    name: str,
    roles: dict[str, dict[str, Any]],
    keys_dir: Path,
    summary: DemoSummary,
) -> Path:
    """Write the bench configuration of agent ``name`` next to its key and token."""
    body = {
        "bench": name,
        "organization": org.code,
        "lims": DEMO_LIMS,
        "key": f"{org.code}-{name}.pem",
        "token": f"{org.code}-{name}.token",
        "outbox": f"../agent/{org.code}-{name}.sqlite3",
        "roles": roles,
    }
    path = keys_dir / f"{org.code}-{name}.yaml"
    header = _BENCH_FILE_HEADER.format(org=org.code, bench=name, path=path.name)
    path.write_text(
        header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    summary.benches.append((org.code, name, path))
    return path


def _demo_roles(
    prefix: str, serials: dict[str, str], register_map: Path
) -> dict[str, tuple[str, dict[str, dict[str, Any]]]]:
    """The benches of a center: bench name → (the procedure it runs, its roles).

    ``prefix`` is the center's asset prefix (HN), ``serials`` the serial numbers of the
    instruments under test (by procedure id) and of the center's standards (by asset
    id), ``register_map`` the reference flow meter's Modbus register map. Each role names
    the driver and the address of the instrument that fills it, and its serial where the
    driver checks it against what the instrument reports; standard roles name the
    standard's asset id; instruments read by eye and the room thermometer are manual
    entries stating their quantity, unit, dial and the interval they are read to.
    """
    room = {
        "driver": "manual",
        "address": "manual://temperature?unit=degC&min=0&max=50&resolution=0.1",
    }
    flow_meter = urlencode({"unit": 1, "map": str(register_map)}, safe="/")
    flow_roles: dict[str, Any] = {
        "reference": {
            "driver": "modbus-map",
            "address": f"modbus-tcp://127.0.0.1:5503?{flow_meter}",
            "asset_id": f"{prefix}-V-FLOW",
            # The procedure reads `volume`: the totaliser, in L.
            "options": {"registers": {"volume": "positive_total"}},
        },
        "uut": {
            "driver": "manual",
            "address": "manual://volume?unit=m3&min=0&max=99999.9999&resolution=0.0001",
        },
    }
    return {
        "bench-electrical": (
            "dmm-dcv",
            {
                "source": {
                    "driver": "fluke-5522a",
                    "address": "TCPIP::127.0.0.1::5020::SOCKET",
                    "asset_id": f"{prefix}-E-5522A",
                    "serial": serials[f"{prefix}-E-5522A"],
                },
                "uut": {
                    "driver": "keysight-34465a",
                    "address": "TCPIP::127.0.0.1::5025::SOCKET",
                    "serial": serials["dmm-dcv"],
                },
                "environment": room,
            },
        ),
        "bench-mass": (
            "nawi-r76",
            {
                "uut": {
                    "driver": "mettler-sics",
                    "address": "serial:///dev/ttyUSB0?baudrate=9600&bytesize=8&parity=N&stopbits=1",
                    "serial": serials["nawi-r76"],
                    # The 15 kg balance in its test mode: Max + 9 e, read to d_T = 0.5 g.
                    "options": {"capacity": 15045, "readability": 0.5},
                },
                "weights": {"driver": "none", "asset_id": f"{prefix}-M-M1"},
                "environment": room,
            },
        ),
        "bench-pressure": (
            "pressure-gauge-r101",
            {
                "reference": {
                    "driver": "druck-pace",
                    "address": "TCPIP::127.0.0.1::5030::SOCKET",
                    "asset_id": f"{prefix}-P-PACE",
                    "serial": serials[f"{prefix}-P-PACE"],
                },
                # A 0-600 kPa dial (graduated on to 660 kPa) read to a fifth of its
                # 10 kPa interval.
                "uut": {
                    "driver": "manual",
                    "address": "manual://pressure?unit=kPa&min=0&max=660&resolution=2",
                },
                "environment": room,
            },
        ),
        "bench-temperature": (
            "thermometer-bath",
            {
                "source": {
                    "driver": "eurotherm-3200",
                    "address": "modbus-tcp://127.0.0.1:5502?unit=1&decimals=2",
                },
                "reference": {"driver": "none", "asset_id": f"{prefix}-T-PRT"},
                "readout": {
                    "driver": "keysight-34470a",
                    "address": "TCPIP::127.0.0.1::5026::SOCKET",
                    "asset_id": f"{prefix}-E-34470A",
                    "serial": serials[f"{prefix}-E-34470A"],
                    # The simulated PRT on the 4-wire input follows its certificate's
                    # Callendar-Van Dusen coefficients.
                    "options": {"R0": 100.0152, "A": 3.90802e-3, "B": -5.7801e-7},
                },
                "uut": {
                    "driver": "manual",
                    "address": "manual://temperature?unit=degC&min=-50&max=150&resolution=0.01",
                },
                "environment": room,
            },
        ),
        "bench-flow": ("water-meter-r49", flow_roles),
        # The same rig on its hot-water supply (50 °C) for meters of class T30/90 and above.
        "bench-flow-hot": ("water-meter-r49-hot", flow_roles),
    }


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
        address="1 Đường Thí Dụ, Cầu Giấy, Hà Nội (DEMO)",
    )
    danang = accounts.create_organization(
        actor=None,
        code="DN",
        name="DEMO Đà Nẵng Provincial Verification Center",
        kind="provincial_center",
        parent=directorate,
        accreditation="VILAS 001 (DEMO)",
        region="Đà Nẵng",
        address="2 Đường Thí Dụ, Hải Châu, Đà Nẵng (DEMO)",
    )
    customers = {
        "HN-WATER": ("DEMO Hà Nội Water Supply Company", hanoi),
        "HN-MARKET": ("DEMO Đồng Xuân Market Traders", hanoi),
        "HN-PLANT": ("DEMO Thăng Long Industrial Plant", hanoi),
        "DN-PORT": ("DEMO Đà Nẵng Port Authority", danang),
    }
    customer_orgs = {
        code: accounts.create_organization(
            actor=None,
            code=code,
            name=name,
            kind="customer",
            parent=center,
            address=f"{center.region}, Việt Nam (DEMO)",
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

    resistor = standard(
        nmi,
        qm_nmi,
        "NMI-E-002",
        "Standard resistor 100 Ω (quantum Hall traceable)",
        "electrical",
        "national",
        [{"role": "reference", "function": "res4w", "unit": "ohm", "min": 100, "max": 100}],
        24,
    )
    _cert(
        qm_nmi,
        resistor,
        "NMI-DEMO-QHR-2025-004",
        "NMI (quantum Hall resistance standard)",
        "CIPM MRA",
        180,
        [_value("res4w", 100, 100.0000124, "ohm", 2e-5)],
    )
    gravimetric = standard(
        nmi,
        qm_nmi,
        "NMI-V-001",
        "Gravimetric water flow standard facility",
        "volume_flow",
        "national",
        [{"role": "reference", "function": "volume", "unit": "L", "min": 10, "max": 2000}],
        24,
    )
    _cert(
        qm_nmi,
        gravimetric,
        "NMI-DEMO-V-2025-002",
        "DEMO National Metrology Institute",
        "CIPM MRA (DEMO)",
        250,
        [_value("volume", 100, 100.0021, "L", 0.006)],
        used=[kg],  # collected water weighed: volume traces to the kilogram
        internal=True,
    )

    # The centers' standards. Certificates give values at exactly the points the
    # procedures bind ({certificate: ROLE, quantity, at}), the runner takes no other
    # (it never interpolates).
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
            model="E2 1 mg – 1 kg (DEMO)",
            serial=f"{prefix}E2-0415",
        )
        _cert(
            actor,
            weights_e2,
            f"NMI-DEMO-M-{prefix}-2025-031",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            120,
            [_value("mass", 1, 1.0000003, "kg", 1.6e-7)],
            used=[kg],
        )
        weights_m1 = standard(
            center,
            actor,
            f"{prefix}-M-M1",
            "Weight set M1, 1 g – 10 kg (20 kg in all)",
            "mass",
            "working",
            [{"role": "reference", "function": "mass", "unit": "g", "min": 1, "max": 20000}],
            12,
            manufacturer="Häfner",
            model="M1 1 g – 10 kg (DEMO)",
            serial=f"{prefix}M1-2207",
        )
        _cert(
            actor,
            weights_m1,
            f"{prefix}-DEMO-INT-M-2025-044",
            center.name,
            center.accreditation,
            90,
            # The conventional mass of the combination placed for each load of procedure
            # nawi-r76 (Min 100 g, 200 e, 500 e, Max/3, Max/2, 2000 e, the three quarter
            # points between 2000 e and Max, Max of a 15 kg, e = 5 g balance), in g.
            # OIML R 111-1 M1 MPE of the combination: 5, 50, 125, 250, 375, 500, 563,
            # 625, 688, 750 mg; every U is below a sixth of it (R 111 asks ≤ 1/3).
            [
                _value("mass", 100, 100.0021, "g", 0.0008),
                _value("mass", 1000, 1000.011, "g", 0.008),
                _value("mass", 2500, 2500.028, "g", 0.020),
                _value("mass", 5000, 5000.061, "g", 0.040),
                _value("mass", 7500, 7500.085, "g", 0.060),
                _value("mass", 10000, 10000.116, "g", 0.080),
                _value("mass", 11250, 11250.129, "g", 0.090),
                _value("mass", 12500, 12500.143, "g", 0.100),
                _value("mass", 13750, 13750.157, "g", 0.110),
                _value("mass", 15000, 15000.171, "g", 0.120),
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
                _value("dcv", v, v * (1 + 0.21e-6), "V", 1.5e-6 + 3.5e-6 * abs(v))
                for v in (-10.0, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 100.0)
            ],
            used=[josephson],
        )
        dmm = standard(
            center,
            actor,
            f"{prefix}-E-34470A",
            "Reference DMM (4-wire readout of the reference PRT)",
            "electrical",
            "reference",
            [{"role": "reference", "function": "res4w", "unit": "ohm", "min": 0, "max": 1200}],
            12,
            manufacturer="Keysight",
            model="34470A",
            serial=f"{prefix}34470-0207",
        )
        _cert(
            actor,
            dmm,
            f"NMI-DEMO-E-{prefix}-2025-233",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            45,
            # The resistance applied when the DMM indicates the nominal on its 1 kΩ range,
            # 4-wire: it reads 10 ppm low. Procedure thermometer-bath takes the 100 Ω point.
            [
                _value("res4w", 100, 100.0010, "ohm", 0.0012),
                _value("res4w", 1000, 1000.0098, "ohm", 0.0090),
            ],
            used=[resistor],
        )
        pace = standard(
            center,
            actor,
            f"{prefix}-P-PACE",
            "Pressure controller PACE6000, 7 bar gauge",
            "pressure",
            "reference",
            [{"role": "reference", "function": "pressure", "unit": "Pa", "min": 0, "max": 700000}],
            12,
            manufacturer="Druck",
            model="PACE6000",
            serial=f"{prefix}P6-30571",
        )
        _cert(
            actor,
            pace,
            f"NMI-DEMO-P-{prefix}-2025-088",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            200,
            # The pressure applied when the controller reads the nominal, at the points of
            # procedure pressure-gauge-r101 (0, 25, 50, 75, 100 % of a 600 kPa span), in Pa.
            [
                _value("pressure", p, p + 2.0 + 2e-5 * p, "Pa", 20.0 + 6e-5 * p)
                for p in (0.0, 150000.0, 300000.0, 450000.0, 600000.0)
            ],
            used=[piston],
        )
        prt = standard(
            center,
            actor,
            f"{prefix}-T-PRT",
            "Reference platinum resistance thermometer (Pt100, 4-wire)",
            "temperature",
            "reference",
            # The PRT is used through its certificate's Callendar-Van Dusen coefficients
            # (IEC 60751: R0, A, B), each declared with the values it may take, so that
            # the runner checks them as it checks any other use of a standard.
            [
                {
                    "role": "reference",
                    "function": "temperature",
                    "unit": "°C",
                    "min": -40,
                    "max": 250,
                },
                {"role": "reference", "function": "r0", "unit": "ohm", "min": 100, "max": 100},
                {
                    "role": "reference",
                    "function": "cvd_a",
                    "unit": "1/degC",
                    "min": 3.9e-3,
                    "max": 3.92e-3,
                },
                {
                    "role": "reference",
                    "function": "cvd_b",
                    "unit": "1/degC2",
                    "min": -5.9e-7,
                    "max": -5.6e-7,
                },
            ],
            12,
            manufacturer="Fluke",
            model="5615",
            serial=f"{prefix}PRT-4412",
        )
        _cert(
            actor,
            prt,
            f"NMI-DEMO-T-{prefix}-2025-019",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            100,
            # Coefficients listed at their IEC 60751 nominals, as procedure
            # thermometer-bath binds them.
            [
                _value("r0", 100, 100.0152, "ohm", 0.0008),
                _value("cvd_a", 3.9083e-3, 3.90802e-3, "1/degC", 4e-7),
                _value("cvd_b", -5.775e-7, -5.7801e-7, "1/degC2", 4e-9),
            ],
            used=[sprt],
        )
        flow = standard(
            center,
            actor,
            f"{prefix}-V-FLOW",
            "Reference electromagnetic flow meter",
            "volume_flow",
            "reference",
            [{"role": "reference", "function": "volume", "unit": "L", "min": 0, "max": 10000}],
            12,
            manufacturer="ONICON",
            model="F-3100",
            serial=f"{prefix}F31-0093",
        )
        _cert(
            actor,
            flow,
            f"NMI-DEMO-V-{prefix}-2025-007",
            "DEMO National Metrology Institute",
            "CIPM MRA (DEMO)",
            150,
            # The actual volume when the totaliser indicates the nominal, at the test
            # volumes of procedure water-meter-r49, in L.
            [
                _value("volume", 20, 20.010, "L", 0.012),
                _value("volume", 50, 50.020, "L", 0.025),
                _value("volume", 200, 200.060, "L", 0.08),
            ],
            used=[gravimetric],
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

    _agent(danang, "field-1", qm_dn, keys_dir, summary)

    # --- instruments under test, each specified by the parameters its procedure names
    # (its `instrument:` list), and one job per procedure on the bench that runs it
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

    under_test = {
        # dmm-dcv takes no parameter from the instrument (its points carry the ranges and
        # the data sheet's accuracy): the specification is for people only.
        "dmm-dcv": instrument(
            "dmm",
            "HN-PLANT",
            "Keysight",
            "34465A",
            "MY59001234",
            {"dcv_ranges": "100 mV to 1000 V", "display": "6½ digits"},
        ),
        # Max 15 kg, e = 5 g (n = 3000), a test mode reading to d_T = 0.5 g, in g.
        "nawi-r76": instrument(
            "nawi",
            "HN-MARKET",
            "Mettler Toledo",
            "ICS425",
            "B512345678",
            {"accuracy_class": "III", "max_capacity": 15000, "e": 5, "d_T": 0.5, "unit": "g"},
        ),
        "pressure-gauge-r101": instrument(
            "pressure-gauge",
            "HN-PLANT",
            "WIKA",
            "232.50",
            "1A2B3C",
            {"accuracy_class": 1.6, "span": 600, "unit": "kPa"},
        ),
        # Q3 = 4 m3/h, R = Q3/Q1 = 160, class 2.
        "water-meter-r49": instrument(
            "water-meter",
            "HN-WATER",
            "Itron",
            "Flodis DN20",
            "ITR-20-000451",
            {"accuracy_class": 2, "q3": 4, "ratio": 160},
        ),
        # A hot-water meter of temperature class T30/90 (OIML R 49-1), Q3 = 4 m3/h,
        # R = 160, class 2: the warm-water MPE (±3 % upper zone) at the bench's 50 °C.
        "water-meter-r49-hot": instrument(
            "water-meter",
            "HN-WATER",
            "Itron",
            "Flodis DN20 hot",
            "ITR-20H-000087",
            {"accuracy_class": 2, "q3": 4, "ratio": 160, "temperature_class": "T30/90"},
        ),
        # A display resolution of 0.01 °C.
        "thermometer-bath": instrument(
            "thermometer",
            "HN-PLANT",
            "Fluke",
            "1524",
            "TH-88231",
            {"resolution": 0.01},
        ),
    }
    serials = {pid: item.serial for pid, item in under_test.items()}
    serials.update(
        ReferenceStandard.objects.filter(organization=hanoi).values_list("asset_id", "serial")
    )
    register_map = Path(settings.REPO_DIR) / "drivers" / "maps" / "onicon-f3100.yaml"
    for name, (pid, roles) in _demo_roles("HN", serials, register_map).items():
        bench = _agent(hanoi, name, qm_hn, keys_dir, summary)
        _bench_file(hanoi, name, roles, keys_dir, summary)
        if pid not in procedures:
            continue
        job = jobs.create_job(
            actor=qm_hn,
            instrument=under_test[pid],
            procedure=procedures[pid],
            due_on=today + timedelta(days=14),
            notes="DEMO",
        )
        job = jobs.accept_job(actor=qm_hn, job=job)
        job = jobs.schedule_job(actor=qm_hn, job=job, assignee=hn["metrologist"], bench=bench)
        summary.jobs.append(_job_line(job, pid))
    return summary


def _job_line(job: Job, procedure_id: str) -> str:
    bench = job.bench.name if job.bench else "-"
    assignee = job.assignee.username if job.assignee else "-"
    return (
        f"{job.organization.code} {job.number} {procedure_id} ({job.state}) "
        f"bench {bench}, {assignee}"
    )
