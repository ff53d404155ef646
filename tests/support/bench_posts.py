"""Runs posted to the LIMS by a demo bench, as ``caltrace-agent sync`` posts them: a run
record signed with the bench's key; and water meters in series on the demo's flow bench
(a multi-position run), each meter registered with its own job as the front office books
them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from agent.keys import load_key
from labserver.jobs.models import Job
from procedures.record import Position, ProcedureRef, RunHeader, RunRecord, StandardUsed
from procedures.runner import Runner
from simulation.bench import SimulatedBench
from simulation.flow import WaterMeterError, meters_in_series
from simulation.people import SimulatedOperator
from simulation.world import SimulatedTime, SimulatedWorld
from tests.support.demo import Work
from tests.support.lims import run_started
from tests.support.position_jobs import jobs_for_serials
from tests.support.positions import Kept, bench_positions, meter_serials


def posted(
    work: Work, standards: list[StandardUsed], environment: dict[str, Any], **parts: Any
) -> Any:
    """A run record of ``parts`` for ``work``'s job, signed and posted; the LIMS's answer."""
    started, finished = run_started()
    record = RunRecord(
        header=RunHeader(
            run_id=str(uuid.uuid4()),
            job=str(work.job["number"]),
            procedure=ProcedureRef(**work.definition.ref()),
            operator="hn-metrologist",
            software_version="caltrace-agent (test)",
            started_at=started.isoformat(),
            environment=environment,
            standards=tuple(standards),
        ),
        finished_at=finished.isoformat(),
        **parts,
    )
    body = json.dumps(record.to_json(), separators=(",", ":"), ensure_ascii=False).encode()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {work.config.token}")
    return client.generic(
        "POST",
        "/api/v1/runs/",
        body,  # type: ignore[arg-type]  # the signed bytes, as they are
        content_type="application/json",
        HTTP_X_CALTRACE_SIGNATURE=load_key(work.config.key).sign(body),
    )


def in_series(
    work: Work,
    meters: list[WaterMeterError],
    skipped: dict[int, str],
    *,
    change: Callable[[tuple[Position, ...]], tuple[Position, ...]] = lambda p: p,
) -> tuple[Runner, Any]:
    """``work``'s water-meter job run with ``meters`` in series on its flow bench (the
    ``skipped`` not mounted), its positions as ``change`` makes them, posted; the runner
    and the LIMS's answer. The job's meter is at position 1; the others are registered
    with a job each, as the front office books them."""
    job = Job.objects.get(organization__code="HN", number=work.job["number"])
    serials = meter_serials(len(meters), first=job.instrument.serial)
    jobs_for_serials(job, serials)
    roles = {
        "reference": work.config.roles["reference"],
        **meters_in_series(
            dict(enumerate(meters, start=1)), address=work.config.roles["uut"].address
        ),
    }
    world = SimulatedWorld(seed=3, flow_time_scale=1e-4, max_flow_s=0.02)
    clock = SimulatedTime(real_pause_s=0.001)
    with SimulatedBench(roles, world) as bench:
        runner = Runner(
            work.definition,
            bench=bench,
            operator=SimulatedOperator(world),
            recorder=Kept(),
            standards=work.standards,
            instrument=work.instrument,
            on=timezone.localdate(),
            sleep=clock.sleep,
            clock=clock.clock,
            positions=bench_positions(len(meters), work.instrument, skipped, serials=serials),
        )
        standards = runner.preflight()
        environment = runner.read_environment()
        runner.run()
    shared, positions = runner.positions_record()
    response = posted(
        work, standards, environment, points=(), shared=shared, positions=change(positions)
    )
    return runner, response
