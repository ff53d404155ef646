"""The records the quality manager's reports count, written directly for a test.

The reports read rows (jobs, runs, their signatures, certificates); issuing each
certificate through the services would render and sign a PDF for every row and only slow
the tests down. :func:`report_maker` prepares a center (its zone Asia/Ho_Chi_Minh, a second
metrologist and signatory, a signing-key record) and :meth:`Maker.add` writes one issued
certificate with its job received at a chosen time, its run signed performed, checked and
authorized 1, 2 and 3 hours after.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from labserver.accounts.models import Organization, User
from labserver.instruments.models import Instrument, InstrumentType
from labserver.issuance.models import Certificate, SigningKeyRecord
from labserver.jobs.models import Job, Procedure
from labserver.measurements.models import Run, RunSignature
from tests.support.lims import Center, person

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def local(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` in the center's zone."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@dataclass
class Maker:
    center: Center
    key: SigningKeyRecord
    people: dict[str, User]
    kinds: dict[str, tuple[InstrumentType, Procedure]] = field(default_factory=dict)
    serial: int = 0

    def type_and_procedure(self, code: str, kind: str) -> tuple[InstrumentType, Procedure]:
        """The center's multimeter and procedure for ``dmm``; another type (with a
        procedure of ``kind`` for it) made once by its code."""
        if code == "dmm":
            return self.center.instrument.instrument_type, self.center.procedure
        if code not in self.kinds:
            itype = InstrumentType.objects.create(
                code=code,
                name=code.replace("-", " ").title(),
                field="mass",
                legal_category="group_1",
            )
            procedure = Procedure.objects.create(
                procedure_id=f"{code}-{kind}",
                version="1",
                content_hash=uuid.uuid4().hex * 2,
                title=f"{kind.title()} of {code}",
                kind=kind,
                field="mass",
                instrument_type=itype,
                definition={},
            )
            self.kinds[code] = (itype, procedure)
        return self.kinds[code]

    def run(
        self,
        instrument_type: InstrumentType,
        procedure: Procedure,
        *,
        received: datetime,
        statement: str,
        operator: User,
    ) -> Run:
        """A job received at ``received`` and its approved run, signed after it."""
        self.serial += 1
        org = self.center.org
        instrument = Instrument.objects.create(
            organization=org,
            owner=self.center.instrument.owner,
            instrument_type=instrument_type,
            manufacturer="Maker",
            model="M",
            serial=f"R{self.serial:03d}",
        )
        job = Job.objects.create(
            organization=org,
            number=f"J-R{self.serial:03d}",
            instrument=instrument,
            procedure=procedure,
            state="issued",
        )
        Job.objects.filter(pk=job.pk).update(created_at=received)
        run = Run.objects.create(
            id=uuid.uuid4(),
            organization=org,
            job=job,
            agent=self.center.agent,
            operator=operator,
            procedure=procedure,
            software_version="test",
            started_at=received,
            finished_at=received + timedelta(hours=1),
            payload={},
            payload_sha256="0" * 64,
            signature="-",
            response={},
            state="approved",
            server_conformity=statement,
        )
        for hours, user, meaning in (
            (1, operator, RunSignature.Meaning.PERFORMED),
            (2, self.center.reviewer, RunSignature.Meaning.CHECKED),
            (3, self.center.signatory, RunSignature.Meaning.AUTHORIZED),
        ):
            RunSignature.objects.create(
                run=run,
                user=user,
                name=user.full_name,
                meaning=meaning,
                signed_at=received + timedelta(hours=hours),
            )
        return run

    def certificate(
        self, run: Run, kind: str, issued: datetime, by: User, supersedes: Any = None
    ) -> Certificate:
        """A certificate of ``run`` issued at ``issued`` (an amendment of ``supersedes``)."""
        self.serial += 1
        number = f"{self.center.org.code}-T-{self.serial:04d}"
        return Certificate.objects.create(
            organization=self.center.org,
            run=run,
            number=number,
            kind=kind,
            year=issued.year,
            sequence=self.serial,
            issued_at=issued,
            issued_by=by,
            pdf=f"certificates/{number}.pdf",
            pdf_sha256=f"{self.center.org.pk:08d}{self.serial:056d}",
            dcc=f"certificates/{number}.xml",
            dcc_sha256="0" * 64,
            signing_key=self.key,
            signer_fingerprint="0" * 64,
            verify_url=f"https://example.test/verify/{number}",
            supersedes=supersedes,
        )

    def add(
        self,
        kind: str,
        code: str,
        received: str | datetime,
        issued: str | datetime,
        statement: str,
        operator: str,
        issuer: str,
    ) -> Certificate:
        """One original certificate: ``kind`` of an instrument of type ``code``, its job
        received and the certificate issued at those times (text: in the center's zone),
        ``operator`` and ``issuer`` keys of :attr:`people` (m1, m2, s1, s2)."""
        itype, procedure = self.type_and_procedure(code, kind)
        at = {
            name: local(value) if isinstance(value, str) else value
            for name, value in (("received", received), ("issued", issued))
        }
        run = self.run(
            itype,
            procedure,
            received=at["received"],
            statement=statement,
            operator=self.people[operator],
        )
        return self.certificate(run, kind, at["issued"], self.people[issuer])


def report_maker(center: Center) -> Maker:
    """``center`` in Asia/Ho_Chi_Minh with a second metrologist (m2) and signatory (s2)
    beside its own (m1, s1), and a signing-key record its certificates name."""
    Organization.objects.filter(pk=center.org.pk).update(time_zone=ZONE.key)
    center.org.refresh_from_db()
    code = center.org.code.lower()
    people = {
        "m1": center.metrologist,
        "m2": person(center.org, f"{code}-metro2", "metrologist", ["electrical", "mass"]),
        "s1": center.signatory,
        "s2": person(center.org, f"{code}-signatory2", "signatory", ["electrical", "mass"]),
    }
    key = SigningKeyRecord.objects.create(
        organization=center.org,
        fingerprint="f" * 64,
        subject="CN=test",
        trust_roots_pem="-",
        source="demo",
        first_used_at=local("2025-01-01 00:00"),
    )
    return Maker(center, key, people)
