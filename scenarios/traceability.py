"""A generated ladder of reference standards, for tests now and a national-scale benchmark.

:func:`generate_ladder` builds, deterministically from a seed and set-based (``bulk_create``
in batches for the standards, their certificates and links; PostgreSQL's ``COPY`` for the
runs, usages and issued certificates, ``bulk_create`` on other databases; no per-row save
or query), a ladder of ``levels`` levels of standards:
level 0 national standards calibrated by an external laboratory (the top of every
chain), each lower level calibrated in-house with one or two standards of the level
above (a :class:`~labserver.traceability.models.StandardLink` per use, pinning the
upstream certificate in force then), every standard recalibrated every ``interval_days``;
then runs over ``[start, end]`` that each use one or two working standards (a
``StandardUsage`` pinning the certificate in force), and one issued certificate per run.

Small for tests (``LadderSpec(standards=50, issued_certificates=500)``); the same code at
``LadderSpec(standards=5500, issued_certificates=2_000_000)`` for the benchmark, where
the batches keep memory flat. Levels get a doubling share of the standards (1, 2, 4, …).
IDs differ between databases; numbers, asset ids, dates and hashes do not.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from json import dumps
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.utils import timezone

from labserver.accounts.models import Agent, Organization, User
from labserver.instruments.models import Instrument, InstrumentType
from labserver.issuance.models import Certificate, CertificateKind, SigningKeyRecord
from labserver.jobs.models import Job, JobState, Procedure
from labserver.measurements.models import Run, RunState, StandardUsage
from labserver.standards.models import ReferenceStandard, StandardCertificate, StandardLink

T = TypeVar("T")
GENERATOR_VERSION = "1"
"""Bumped whenever the same :class:`LadderSpec` would generate different rows: a data set
stored by an older version is not reused (``bench/traceability.py`` compares it)."""
RUN_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "caltrace/traceability/generated-run")
"""The namespace of generated run ids: one per (prefix, seed, index), stable across runs."""


@dataclass(frozen=True)
class LadderSpec:
    """What to generate. Dates are calendar days; ``interval_days`` is every standard's."""

    levels: int = 5
    standards: int = 50
    issued_certificates: int = 500
    centers: int = 2
    start: date = date(2025, 1, 1)
    end: date = date(2025, 12, 31)
    interval_days: int = 365
    seed: int = 1
    prefix: str = "G"
    batch: int = 5000


@dataclass(frozen=True)
class CenterSetup:
    """The rows a generated run stands on in one center."""

    org: Organization
    customer: Organization
    operator: User
    agent: Agent
    job: Job
    procedure: Procedure
    key: SigningKeyRecord


@dataclass
class Ladder:
    """What was generated: the organizations and the standards by level (ids)."""

    spec: LadderSpec
    institute: Organization
    centers: list[Organization]
    customers: list[Organization]
    setups: list[CenterSetup] = field(default_factory=list)
    levels: list[list[int]] = field(default_factory=list)
    standard_certificates: int = 0
    links: int = 0
    runs: int = 0
    usages: int = 0
    issued: int = 0


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _level_sizes(levels: int, total: int) -> list[int]:
    weights = [2**i for i in range(levels)]
    sizes = [max(1, total * w // sum(weights)) for w in weights]
    sizes[-1] += max(0, total - sum(sizes))
    return sizes


def set_up_centers(spec: LadderSpec) -> tuple[Organization, list[CenterSetup]]:
    """The few rows a run needs around it, one set per center (ordinary creates)."""
    p = spec.prefix
    institute = Organization.objects.create(
        code=f"{p}-NMI", name=f"Generated metrology institute {p}", kind="directorate"
    )
    dmm, _ = InstrumentType.objects.get_or_create(
        code=f"{p.lower()}-dmm",
        defaults={"name": "Digital multimeter", "field": "electrical", "legal_category": ""},
    )
    procedure = Procedure.objects.create(
        procedure_id=f"{p.lower()}-dcv",
        version="1",
        content_hash=_sha(f"{p} generated procedure"),
        title="Generated DC voltage procedure",
        kind=Procedure.Kind.CALIBRATION,
        field="electrical",
        instrument_type=dmm,
        definition={"generated": True},
    )
    centers = []
    for c in range(spec.centers):
        code = f"{p}-C{c + 1}"
        org = Organization.objects.create(
            code=code, name=f"Generated center {code}", kind="provincial_center"
        )
        customer = Organization.objects.create(
            code=f"{code}-CU", name=f"Customer of {code}", kind="customer"
        )
        operator = User.objects.create(username=f"{code.lower()}-operator", full_name=code)
        agent = Agent.objects.create(
            organization=org, name="bench", public_key="", token_hash=_sha(f"{code} agent")
        )
        instrument = Instrument.objects.create(
            organization=org,
            owner=customer,
            instrument_type=dmm,
            manufacturer="Generated",
            model="DMM",
            serial=f"{code}-0001",
        )
        job = Job.objects.create(
            organization=org,
            number=f"{code}-J1",
            instrument=instrument,
            procedure=procedure,
            bench=agent,
            state=JobState.ISSUED,
        )
        key = SigningKeyRecord.objects.create(
            organization=org,
            fingerprint=_sha(f"{code} key"),
            subject=f"CN=generated {code}",
            trust_roots_pem="",
            source=SigningKeyRecord.Source.DEMO,
            first_used_at=datetime.combine(spec.start, time(), tzinfo=UTC),
        )
        centers.append(CenterSetup(org, customer, operator, agent, job, procedure, key))
    return institute, centers


Use = tuple[ReferenceStandard, StandardCertificate, str, float | None, float | None, str]
"""A standard used in a run: (standard, its certificate in force, function, low, high, unit)."""


Row = dict[str, Any]
"""A row to insert, by attribute name (``run_id``, not ``run``)."""


def _run_rows(
    center: CenterSetup, *, run_id: uuid.UUID, used_on: date, uses: list[Use], sequence: int
) -> tuple[Row, list[Row], Row]:
    """A run on ``used_on``, its standard usages and its issued certificate, as rows."""
    org = center.org
    started = datetime.combine(used_on, time(9), tzinfo=UTC)
    run = {
        "id": run_id,
        "organization_id": org.pk,
        "job_id": center.job.pk,
        "agent_id": center.agent.pk,
        "operator_id": center.operator.pk,
        "procedure_id": center.procedure.pk,
        "software_version": "generated",
        "started_at": started,
        "finished_at": started + timedelta(hours=1),
        "payload": {"generated": True},
        "payload_sha256": _sha(f"run {run_id}"),
        "signature": "",
        "response": {},
        "state": RunState.APPROVED.value,
    }
    usages = [
        {
            "run_id": run_id,
            "standard_id": standard.pk,
            "certificate_id": certificate.pk,
            "used_on": used_on,
            "role": "reference",
            "function": function,
            "range_low": low,
            "range_high": high,
            "unit": unit,
        }
        for standard, certificate, function, low, high, unit in uses
    ]
    number = f"{org.code}-HC-{used_on.year}-{sequence:06d}"
    certificate = {
        "organization_id": org.pk,
        "run_id": run_id,
        "number": number,
        "kind": CertificateKind.CALIBRATION.value,
        "year": used_on.year,
        "sequence": sequence,
        "issued_at": started + timedelta(days=1),
        "issued_by_id": center.operator.pk,
        "pdf": f"generated/{number}.pdf",
        "pdf_sha256": _sha(f"{number}.pdf"),
        "dcc": f"generated/{number}.dcc.xml",
        "dcc_sha256": _sha(f"{number}.dcc.xml"),
        "signing_key_id": center.key.pk,
        "signer_fingerprint": center.key.fingerprint,
        "verify_url": f"/verify/{number}",
    }
    return run, usages, certificate


def _insert(model: type[models.Model], rows: list[Row]) -> None:
    """Insert ``rows`` (all with the same keys; other columns get their defaults): with
    PostgreSQL's COPY, else ``bulk_create``. COPY skips the ORM's per-row work, which is
    most of the cost at millions of rows."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows])
        return
    given = rows[0].keys()
    now = timezone.now()
    fields = []
    defaults: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.attname in given:
            fields.append(f)
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fields.append(f)
            defaults[f.attname] = now
        elif f.primary_key:
            continue  # the identity column numbers it
        else:
            default = f.get_default()  # "" for text without a default
            if default is None and not f.null:
                raise ValueError(f"{model.__name__}.{f.attname}: no value and no default")
            fields.append(f)
            defaults[f.attname] = default
    json = {f.attname for f in fields if isinstance(f, models.JSONField)}
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = []
            for f in fields:
                value = row[f.attname] if f.attname in row else defaults[f.attname]
                values.append(dumps(value) if f.attname in json and value is not None else value)
            copy.write_row(values)


@transaction.atomic
def generated_run(
    center: CenterSetup,
    *,
    used_on: date,
    standards: list[tuple[ReferenceStandard, str, float | None, float | None, str]],
) -> Certificate:
    """One run with its usages (each standard's certificate in force on ``used_on``) and its
    issued certificate, saved: for hand-built cases in tests, row by row."""
    uses: list[Use] = []
    for standard, function, low, high, unit in standards:
        forced = standard.certificate_on(used_on)
        if forced is None:
            raise ValueError(f"{standard.asset_id} has no certificate on {used_on}")
        uses.append((standard, forced, function, low, high, unit))
    last = (
        Certificate.objects.filter(organization=center.org, year=used_on.year)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    sequence = (last or 0) + 1
    run, usages, certificate = _run_rows(
        center,
        run_id=uuid.uuid5(RUN_IDS, f"{center.org.code}/{used_on.year}/{sequence}"),
        used_on=used_on,
        uses=uses,
        sequence=sequence,
    )
    _insert(Run, [run])
    _insert(StandardUsage, usages)
    _insert(Certificate, [certificate])
    return Certificate.objects.get(number=certificate["number"])


@transaction.atomic
def generate_ladder(spec: LadderSpec, *, progress: Callable[[str], None] | None = None) -> Ladder:
    """Generate the ladder ``spec`` describes (see the module's docstring); ``progress``, if
    given, is told what was written as it goes."""
    rng = random.Random(spec.seed)
    p = spec.prefix
    institute, centers = set_up_centers(spec)
    ladder = Ladder(
        spec=spec,
        institute=institute,
        centers=[c.org for c in centers],
        customers=[c.customer for c in centers],
        setups=centers,
    )
    interval = timedelta(days=spec.interval_days)

    # standards, level by level: the national ones at the institute, the rest in the centers
    standards: list[ReferenceStandard] = []
    level_of: list[int] = []
    for level, size in enumerate(_level_sizes(spec.levels, spec.standards)):
        kind = (
            ReferenceStandard.Level.NATIONAL
            if level == 0
            else ReferenceStandard.Level.WORKING
            if level == spec.levels - 1
            else ReferenceStandard.Level.REFERENCE
        )
        for i in range(size):
            org = institute if level == 0 else centers[i % len(centers)].org
            standards.append(
                ReferenceStandard(
                    organization=org,
                    asset_id=f"{p}-L{level}-{i + 1:05d}",
                    name=f"Generated DC voltage standard, level {level}",
                    field="electrical",
                    level=kind,
                    functions=[
                        {
                            "role": "reference",
                            "function": "dcv",
                            "unit": "V",
                            "min": -10,
                            "max": 10,
                        }
                    ],
                    calibration_interval_months=max(1, round(spec.interval_days / 30.44)),
                )
            )
            level_of.append(level)
    for standard_batch in _batches(standards, spec.batch):
        ReferenceStandard.objects.bulk_create(standard_batch)
    ladder.levels = [
        [s.pk for s, lv in zip(standards, level_of, strict=True) if lv == level]
        for level in range(spec.levels)
    ]
    by_level = [
        [s for s, lv in zip(standards, level_of, strict=True) if lv == level]
        for level in range(spec.levels)
    ]

    # certificates: every standard every interval, the first before `start`; a level's
    # first calibration a little after the level above's, so an upstream one is in force
    certs: dict[int, list[StandardCertificate]] = {}
    uses: list[tuple[StandardCertificate, ReferenceStandard]] = []
    for level, row in enumerate(by_level):
        for standard in row:
            first = spec.start - interval + timedelta(days=7 * level + rng.randrange(7))
            upstream = (
                rng.sample(by_level[level - 1], k=min(len(by_level[level - 1]), rng.choice((1, 2))))
                if level
                else []
            )
            series: list[StandardCertificate] = []
            n, when = 0, first
            while when <= spec.end:
                n += 1
                number = f"{standard.asset_id}-C{n:03d}"
                expanded = 1e-7 * 3**level
                cert = StandardCertificate(
                    standard=standard,
                    number=number,
                    internal=level > 0,
                    issuing_lab=(
                        "International Bureau (generated)"
                        if level == 0
                        else standard.organization.name
                    ),
                    accreditation="CIPM MRA"
                    if level == 0
                    else f"VILAS {standard.organization.code}",
                    calibrated_on=when,
                    issued_on=when + timedelta(days=2),
                    due_on=when + interval,
                    values=[
                        {
                            "quantity": "dcv",
                            "nominal": 10.0,
                            "value": round(10.0 + rng.uniform(-1, 1) * expanded, 12),
                            "unit": "V",
                            "U": expanded,
                            "k": 2,
                            "coverage_probability": 0.95,
                        }
                    ],
                    sha256=_sha(number),
                )
                series.append(cert)
                uses.extend((cert, up) for up in upstream)
                when += interval
            certs[standard.pk] = series
    all_certs = [c for row in certs.values() for c in row]
    for cert_batch in _batches(all_certs, spec.batch):
        StandardCertificate.objects.bulk_create(cert_batch)
    ladder.standard_certificates = len(all_certs)

    dates = {pk: [c.calibrated_on for c in row] for pk, row in certs.items()}

    def in_force(standard_id: int, when: date) -> StandardCertificate | None:
        i = bisect.bisect_right(dates[standard_id], when)
        return certs[standard_id][i - 1] if i else None

    links = [
        StandardLink(
            certificate=cert,
            standard=up,
            upstream_certificate=in_force(up.pk, cert.calibrated_on),
            used_on=cert.calibrated_on,
            function="dcv",
            range_low=0.0,
            range_high=10.0,
            unit="V",
        )
        for cert, up in uses
    ]
    through = StandardCertificate.reference_standards.through
    for link_batch in _batches(links, spec.batch):
        StandardLink.objects.bulk_create(link_batch)
        through.objects.bulk_create(
            [
                through(
                    standardcertificate_id=link.certificate.pk,
                    referencestandard_id=link.standard.pk,
                )
                for link in link_batch
            ],
            ignore_conflicts=True,
        )
    ladder.links = len(links)
    if progress is not None:
        progress(
            f"{len(standards):,} standards in {spec.levels} levels, "
            f"{ladder.standard_certificates:,} standard certificates, {ladder.links:,} links"
        )

    # runs with their usages and one issued certificate each, a batch at a time
    working: dict[int, list[ReferenceStandard]] = {}
    for standard in by_level[-1]:
        working.setdefault(standard.organization_id, []).append(standard)
    days = (spec.end - spec.start).days + 1
    sequence: dict[tuple[int, int], int] = {}
    made = 0
    while made < spec.issued_certificates:
        count = min(spec.batch, spec.issued_certificates - made)
        runs: list[Row] = []
        usages: list[Row] = []
        issued: list[Row] = []
        for _ in range(count):
            center = centers[rng.randrange(len(centers))]
            mine = working.get(center.org.pk) or by_level[-1]
            used_on = spec.start + timedelta(days=rng.randrange(days))
            picked = [
                (standard, forced, rng.choice((0.0, 1.0)))
                for standard in rng.sample(mine, k=min(len(mine), rng.choice((1, 2))))
                if (forced := in_force(standard.pk, used_on)) is not None
            ]
            key = (center.org.pk, used_on.year)
            sequence[key] = sequence.get(key, 0) + 1
            run, run_usages, certificate = _run_rows(
                center,
                run_id=uuid.uuid5(RUN_IDS, f"{spec.prefix}/{spec.seed}/{made}"),
                used_on=used_on,
                uses=[
                    (standard, forced, "dcv", low, low + 9.0, "V")
                    for standard, forced, low in picked
                ],
                sequence=sequence[key],
            )
            runs.append(run)
            usages.extend(run_usages)
            issued.append(certificate)
            made += 1
        _insert(Run, runs)
        _insert(StandardUsage, usages)
        _insert(Certificate, issued)
        ladder.runs += len(runs)
        ladder.usages += len(usages)
        ladder.issued += len(issued)
        if progress is not None and (
            ladder.issued % (20 * spec.batch) < len(issued) or made == spec.issued_certificates
        ):
            progress(f"{ladder.issued:,} issued certificates ({ladder.usages:,} usages)")
    return ladder
