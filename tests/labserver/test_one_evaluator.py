"""One evaluator: the LIMS evaluates a run exactly as the bench did, for every shipped procedure.

Each procedure of ``procedures/library/`` runs on the simulated bench its demo bench file
describes (as ``tests/labserver/test_demo_benches.py`` runs it: the job, procedure and
standards from the LIMS's API, :class:`agent.simulated.SimulatedBench`, the real runner).
The run record the runner gave is signed with the bench's key and submitted to the LIMS,
which evaluates it again. Both sides call :func:`procedures.evaluation.evaluate_point`, so
every number must be the same, not merely close: each point's result (value, u, U, k,
degrees of freedom, coverage probability, unit), its limits, acceptance interval,
statement and 1/3-MPE check, its uncertainty budget line by line, and the test-level
checks and curves computed from the points.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from agent.keys import load_key
from labserver.measurements.models import Point, Run
from procedures.definition import library
from procedures.record import ProcedureRef, RunHeader, RunRecord
from scenarios.demo import DemoSummary, load_demo
from tests.support.demo import BENCHES, Outcome, Work, run_on_simulators, work_for

pytestmark = pytest.mark.django_db


def submitted(work: Work, outcome: Outcome) -> Any:
    """The run record the runner gave, signed with the bench's key and posted with its
    token, as ``caltrace-agent sync`` posts it; the LIMS's answer."""
    started = datetime.now(UTC) - timedelta(minutes=30)
    record = RunRecord(
        header=RunHeader(
            run_id=str(uuid.uuid4()),
            job=str(work.job["number"]),
            procedure=ProcedureRef(**work.definition.ref()),
            operator="hn-metrologist",
            software_version="caltrace-agent (test)",
            started_at=started.isoformat(),
            environment=outcome.environment,
            standards=tuple(outcome.standards),
        ),
        finished_at=(started + timedelta(minutes=20)).isoformat(),
        points=tuple(outcome.points),
        checks=tuple(outcome.runner.checks),
        curves=outcome.runner.curves,
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


def assert_the_lims_evaluated_as_the_bench(run_id: str, outcome: Outcome) -> None:
    run = Run.objects.get(pk=run_id)
    stored = {p.index: p for p in Point.objects.filter(run=run)}
    assert sorted(stored) == [p.index for p in outcome.points]
    for sent in outcome.points:
        bench = outcome.runner.evaluations[sent.index]
        point = stored[sent.index]
        assert point.agent_result == sent.result.to_json() == bench.result.to_json()
        assert point.server_result == bench.to_json(), sent.index
        assert point.budget == bench.budget.to_json(), sent.index
        assert point.server_conformity == point.agent_conformity == bench.conformity
        assert point.disagreement == []
    assert run.server_checks == run.agent_checks == [c.to_json() for c in outcome.runner.checks]
    assert run.server_curves == run.agent_curves
    assert run.server_curves == {k: c.to_json() for k, c in outcome.runner.curves.items()}
    assert run.disagreement == []
    assert run.disagreements == 0


@pytest.fixture
def summary(tmp_path: Path) -> DemoSummary:
    return load_demo(tmp_path / "demo")


def test_every_shipped_procedure_is_on_a_demo_bench() -> None:
    assert sorted(BENCHES.values()) == sorted(library())


@pytest.mark.parametrize("bench", list(BENCHES))
def test_the_lims_evaluates_the_run_exactly_as_the_bench_did(
    summary: DemoSummary, bench: str
) -> None:
    work = work_for(summary, bench)
    outcome = run_on_simulators(work)
    response = submitted(work, outcome)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["disagreements"] == 0, answer
    assert_the_lims_evaluated_as_the_bench(answer["run_id"], outcome)
    # The run's statement is the worst of its points and checks, as the bench states them.
    statements = [e.conformity for e in outcome.runner.evaluations.values()]
    statements += ["pass" if c.passed else "fail" for c in outcome.runner.checks]
    expected = next(
        (s for s in ("fail", "conditional fail", "conditional pass", "pass") if s in statements),
        "",
    )
    assert answer["conformity"] == expected
