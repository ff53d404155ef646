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

import re
from dataclasses import replace
from typing import Any

import pytest

from labserver.accounts.models import User
from labserver.jobs.models import Job
from labserver.measurements.models import Point, Run, RunPosition
from procedures.definition import library
from procedures.record import Position
from scenarios.demo import DemoSummary
from tests.support.bench_posts import in_series, posted
from tests.support.demo import (  # noqa: F401
    BENCHES,
    Outcome,
    Work,
    demo_world,
    run_on_simulators,
    summary_built_once,
    work_for,
)
from tests.support.pages import signed_in
from tests.support.positions import GOOD, HIGH

pytestmark = pytest.mark.django_db


def submitted(work: Work, outcome: Outcome) -> Any:
    """The run record the runner gave, signed with the bench's key and posted with its
    token, as ``caltrace-agent sync`` posts it; the LIMS's answer."""
    return posted(
        work,
        outcome.standards,
        outcome.environment,
        points=tuple(outcome.points),
        checks=tuple(outcome.runner.checks),
        curves=outcome.runner.curves,
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


def test_the_lims_evaluates_every_position_of_a_multi_meter_run_as_the_bench_did(
    summary: DemoSummary,
) -> None:
    """Water meters in series on the demo's flow bench: the LIMS stores each position
    and evaluates each of its points again, number for number the bench's; a failing
    meter (2) and one not mounted (4) leave the others' verdicts alone."""
    work = work_for(summary, "bench-flow")
    runner, response = in_series(work, [GOOD, HIGH, GOOD, GOOD], {4: "not mounted"})
    _, positions = runner.positions_record()
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["disagreements"] == 0, answer
    assert answer["points"] == []
    assert [(p["position"], p["state"], p["conformity"]) for p in answer["positions"]] == [
        (1, "measured", "pass"),
        (2, "measured", "fail"),
        (3, "measured", "pass"),
        (4, "skipped", ""),
    ]
    assert answer["conformity"] == "fail"  # the run's worst position; each has its own

    run = Run.objects.get(pk=answer["run_id"])
    stored = {p.number: p for p in RunPosition.objects.filter(run=run)}
    assert sorted(stored) == [1, 2, 3, 4]
    assert (stored[4].state, stored[4].reason, stored[4].serial) == (
        "skipped",
        "not mounted",
        "WM-0004",
    )
    # Each meter's own job, found by its serial; the first is the job the bench ran. The
    # measured meters' jobs are measured; the one not mounted keeps its state.
    jobs = {n: job for n in stored if (job := stored[n].job) is not None}
    assert sorted(jobs) == [1, 2, 3, 4]
    assert [jobs[n].instrument.serial for n in (1, 2, 3, 4)] == [
        stored[n].serial for n in (1, 2, 3, 4)
    ]
    assert jobs[1].number == work.job["number"]
    assert len({job.pk for job in jobs.values()}) == 4
    assert [Job.objects.get(pk=jobs[n].pk).state for n in (1, 2, 3, 4)] == [
        "measured",
        "measured",
        "measured",
        "accepted",
    ]
    assert stored[4].get_state_display() == "Skipped"
    assert not Point.objects.filter(position=stored[4]).exists()
    for position in positions[:3]:
        row = stored[position.position]
        assert row.server_conformity == position.verdict
        assert row.disagreements == 0
        points = {p.index: p for p in Point.objects.filter(position=row)}
        assert sorted(points) == [p.index for p in position.points]
        for sent in position.points:
            bench_evaluation = runner.position_evaluations[(position.position, sent.index)]
            point = points[sent.index]
            assert point.run_id == run.pk
            assert point.server_result == bench_evaluation.to_json()
            assert point.budget == bench_evaluation.budget.to_json()
            assert point.server_conformity == point.agent_conformity == bench_evaluation.conformity
            assert point.disagreement == []
            # Its own readings stored with it; the reference's are the run's, once.
            assert [r.quantity for r in point.readings.all()] == ["I1", "I2"]
    assert len(run.payload["shared"]) == 3

    # The run page: the positions, exceptions first (the failed meter, then the one not
    # mounted), each position's points under it.
    page = signed_in(User.objects.get(username="hn-reviewer")).get(f"/work/runs/{run.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    rows = re.findall(r'<tr class="position-row( exception)?" id="position-(\d+)">', html)
    assert rows == [(" exception", "2"), (" exception", "4"), ("", "1"), ("", "3")]
    assert 'id="position-2-point-2"' in html
    assert "not mounted" in html
    assert 'id="points"' not in html  # no table of the run's own points: it has none


def test_a_position_whose_claims_differ_is_flagged_alone(summary: DemoSummary) -> None:
    """A bench that claims another result for one position's point: that position
    disagrees, the others do not."""
    work = work_for(summary, "bench-flow")

    def claim_another_value(positions: tuple[Position, ...]) -> tuple[Position, ...]:
        first, second = positions
        claimed = replace(second.points[0], result=replace(second.points[0].result, value=-0.9))
        return first, replace(second, points=(claimed, *second.points[1:]))

    _, response = in_series(work, [GOOD, GOOD], {}, change=claim_another_value)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert [p["disagreements"] for p in answer["positions"]] == [0, 1]
    assert answer["disagreements"] == 1
    flagged = Point.objects.get(position__run_id=answer["run_id"], position__number=2, index=0)
    assert [d["quantity"] for d in flagged.disagreement] == ["value"]
