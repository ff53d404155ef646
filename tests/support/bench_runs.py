"""Runs of the shipped procedures on the simulated benches, into an agent's outbox, for the
LIMS: the standards and the job a run needs registered in the LIMS, then the payload
the agent would send.

nawi-r76 verifies a class III balance over MT-SICS (:mod:`tests.support.nawi`);
thermometer-bath calibrates a thermometer in a bath against a PRT read by a DMM, with
its fitted correction line (:mod:`tests.support.bath`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.outbox import Outbox
from agent.run import Plan, header, run_procedure
from labserver.instruments import services as instruments
from labserver.instruments.models import InstrumentType
from labserver.jobs import services as jobs
from labserver.jobs.models import Job
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard
from procedures.bench import StandardRecord
from procedures.definition import library, load_definition
from procedures.runner import Runner
from tests.support import bath, nawi
from tests.support.lims import TODAY, Center

NAWI = load_definition(library()["nawi-r76"])
BATH = load_definition(library()["thermometer-bath"])


def lims_standard(center: Center, record: StandardRecord, field: str) -> ReferenceStandard:
    """Register ``record``'s standard in the center, its certificate in force today."""
    standard = standards.register_standard(
        actor=center.quality_manager,
        organization=center.org,
        asset_id=record.asset_id,
        name=record.asset_id,
        field=field,
        calibration_interval_months=12,
        functions=[{"role": "reference", **f} for f in record.standard["functions"]],
    )
    [certificate] = record.certificates
    standards.record_certificate(
        actor=center.quality_manager,
        standard=standard,
        number=str(certificate["number"]),
        issuing_lab="National Metrology Institute",
        calibrated_on=TODAY - timedelta(days=60),
        issued_on=TODAY - timedelta(days=55),
        due_on=TODAY + timedelta(days=300),
        values=[dict(v) for v in certificate["values"]],
    )
    return standard


def published(standard: ReferenceStandard) -> StandardRecord:
    """The standard as the LIMS publishes it to the agent (its record and certificates)."""
    return StandardRecord(
        standard={
            "asset_id": standard.asset_id,
            "functions": standard.functions,
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=tuple(
            {
                "number": c.number,
                "calibrated_on": c.calibrated_on.isoformat(),
                "due_on": c.due_on.isoformat(),
                "values": c.values,
            }
            for c in standard.certificates.all()
        ),
    )


def new_job(
    center: Center, definition: Any, type_code: str, field: str, spec: dict[str, Any]
) -> Job:
    """An accepted job of ``definition`` for a new instrument of the center, on its bench."""
    kind = InstrumentType.objects.create(
        code=type_code, name=type_code, field=field, legal_category="group_2"
    )
    procedure = jobs.register_procedure(actor=None, definition=dict(definition.data))
    instrument = instruments.register_instrument(
        actor=center.quality_manager,
        organization=center.org,
        owner=center.instrument.owner,
        instrument_type=kind,
        manufacturer="Maker",
        model="M1",
        serial=f"SN-{type_code}",
        specification=spec,
    )
    job = jobs.create_job(
        actor=center.quality_manager, instrument=instrument, procedure=procedure, bench=center.agent
    )
    return jobs.accept_job(actor=center.quality_manager, job=job)


@dataclass
class Submitted:
    body: dict[str, Any]
    job: Job


def nawi_run(center: Center, tmp_path: Path, *, repeat_offsets: tuple[float, ...] = ()):
    """A verification of a class III balance by nawi-r76, run on the simulated balance
    into an outbox; returns the payload the agent would send."""
    weights = lims_standard(center, nawi.weights_record(), "mass")
    job = new_job(center, NAWI, "nawi", "mass", dict(nawi.INSTRUMENT))
    balance = nawi.CoupledBalance()
    log = nawi.Log()
    with Outbox(tmp_path / "outbox.sqlite3") as box, nawi.nawi_bench(balance) as bench:
        operator = nawi.LoadingOperator(balance, log, nawi.ECCENTRIC_OK, list(repeat_offsets))
        plan = Plan(
            {
                "number": job.number,
                "procedure_ref": NAWI.ref(),
                "instrument_specification": dict(nawi.INSTRUMENT),
            },
            NAWI,
            {},
            {weights.asset_id: published(weights)},
            "test",
        )
        outcome = run_procedure(
            outbox=box,
            plan=plan,
            bench=bench,
            operator=operator,
            operator_name=center.metrologist.username,
            on=TODAY,
        )
        assert outcome.state == "queued", outcome
        body = box.body(str(outcome.run_id))
    assert body is not None
    return Submitted(json.loads(body), job)


def bath_run(center: Center, tmp_path: Path, username: str) -> Submitted:
    """A calibration of a thermometer in a bath against a PRT read by a DMM
    (thermometer-bath, with its fitted correction line), run into an outbox."""
    prt = lims_standard(center, bath.prt_record(), "temperature")
    dmm = lims_standard(center, bath.dmm_record(), "electrical")
    job = new_job(center, BATH, "thermometer", "temperature", {"resolution": 0.01})
    records = {prt.asset_id: published(prt), dmm.asset_id: published(dmm)}
    with Outbox(tmp_path / "outbox.sqlite3") as box, bath.open_bench() as world:
        runner: Runner = bath.runner(world, standards=records, on=TODAY)
        body = run_into(box, runner, job, username)
        assert runner.curves  # the comparison test's correction line
    return Submitted(body, job)


def run_into(box: Outbox, runner: Runner, job: Job, username: str) -> dict[str, Any]:
    """Carry out ``runner``'s procedure for ``job`` as ``username`` into the outbox ``box``,
    as the agent does (preflight, environment, each point recorded); the body it sends."""
    usages = runner.preflight()
    environment = runner.read_environment()
    run_id = box.start_run(
        header(
            run_id=str(uuid.uuid4()),
            job=job.number,
            definition=runner.definition,
            operator=username,
            environment=environment,
            standards=usages,
        )
    )
    runner.recorder = box.recorder(run_id)
    runner.run()
    body = box.complete(run_id, datetime.now(UTC), checks=runner.checks, curves=runner.curves)
    loaded: dict[str, Any] = json.loads(body)
    return loaded
