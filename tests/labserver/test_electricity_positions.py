"""Electricity meters at the positions of the demo's meter test bench: the LIMS evaluates
each position of the run again, number for number the bench's (one evaluator,
:func:`procedures.evaluation.evaluate_point`), and keeps the failing, removed and skipped
positions apart from the passing ones. The register test's resolution is bound again from
the readings the meter wrote: a run whose model states another is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from labserver.jobs.models import Job
from labserver.measurements.models import Point, Run, RunPosition
from labserver.work.evidence import point_evidence
from labserver.work.positions import position_rows
from procedures.bench import BenchRole
from procedures.record import PositionInstrument
from scenarios.demo import DemoSummary
from simulation.bench import SimulatedBench
from simulation.world import SimulatedWorld
from tests.support.bench_posts import posted
from tests.support.demo import demo_world, summary_built_once, work_for  # noqa: F401
from tests.support.electricity import electricity_runner, meter_positions
from tests.support.position_jobs import jobs_for_serials
from tests.support.positions import Kept, meter_serials

pytestmark = pytest.mark.django_db


def test_the_lims_evaluates_every_meter_of_a_bench_run_as_the_bench_did(
    summary: DemoSummary,
) -> None:
    work = work_for(summary, "bench-electricity")
    bench_role = work.config.roles["reference"]
    meters: dict[int, dict[str, Any]] = {
        1: {"error": 0.3},
        2: {"error": 2.6},
        3: {"silent": True},
        4: {"empty": True},
    }
    roles = {
        "reference": bench_role,
        "environment": work.config.roles["environment"],
        **{
            f"uut@{n}": BenchRole(f"uut@{n}", bench_role.driver, bench_role.address, options=o)
            for n, o in meters.items()
        },
    }
    # Each meter registered with its own job by the front office; the job's own at 1.
    job = Job.objects.get(organization__code="HN", number=work.job["number"])
    serials = meter_serials(4, first=job.instrument.serial)
    jobs_for_serials(job, serials)
    positions = meter_positions(4, dict.fromkeys(range(1, 5), work.instrument), serials=serials)
    # each meter's optical port, its register read in the register test (DLMS at 2)
    for n in meters:
        driver, port = ("dlms-cosem", "dlms+tcp") if n == 2 else ("iec62056-21", "socket")
        address = f"{port}://192.0.2.60:{5100 + n}"
        roles[f"optical@{n}"] = BenchRole(f"optical@{n}", driver, address, serial=serials[n - 1])
    with SimulatedBench(roles, SimulatedWorld(seed=3)) as bench:
        runner = electricity_runner(
            bench,
            Kept(),
            positions,
            on=timezone.localdate(),
            instrument=work.instrument,
            reference=work.standards["HN-E-MTB"],
        )
        assert runner.definition.ref() == work.definition.ref()  # the LIMS's procedure
        standards = runner.preflight()
        environment = runner.read_environment()
        runner.run()
    shared, measured = runner.positions_record()
    # A model whose register resolution is not the readings' is refused, naming it.
    tampered = copy.deepcopy(list(measured))
    first = tampered[0].points[10]
    first.model["quantities"]["d_R"]["half_width"] = 0.001
    refused = posted(work, standards, environment, points=(), shared=shared, positions=tampered)
    assert refused.status_code == 422, refused.json()
    assert refused.json()["field"] == "positions[0].points[10].model.quantities.d_R"
    assert "is not the resolution of the register readings R1, R2" in refused.json()["detail"]
    response = posted(work, standards, environment, points=(), shared=shared, positions=measured)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["disagreements"] == 0, answer
    assert [(p["position"], p["state"], p["conformity"]) for p in answer["positions"]] == [
        (1, "measured", "pass"),
        (2, "measured", "fail"),
        (3, "removed", ""),
        (4, "skipped", ""),
    ]
    run = Run.objects.get(pk=answer["run_id"])
    stored = {p.number: p for p in RunPosition.objects.filter(run=run)}
    assert stored[3].reason is not None
    assert "the meter did not start" in stored[3].reason
    assert stored[4].reason is not None
    assert "position 4 holds no meter" in stored[4].reason
    for position in measured[:2]:
        points = {p.index: p for p in Point.objects.filter(position=stored[position.position])}
        assert sorted(points) == list(range(11))  # the register test's point the last
        for sent in position.points:
            bench_evaluation = runner.position_evaluations[(position.position, sent.index)]
            point = points[sent.index]
            assert point.server_result == bench_evaluation.to_json()
            assert point.budget == bench_evaluation.budget.to_json()
            assert point.server_conformity == bench_evaluation.conformity
            assert point.disagreement == []
    assert isinstance(measured[0].instrument, PositionInstrument)
    # The register test, judged again by the LIMS from its readings: R1, W and R2, the
    # register's resolution of 0.01 kWh bound again from the digits the meter wrote.
    register = Point.objects.get(position=stored[2], index=10)
    assert register.test == "register"
    assert register.model["quantities"]["d_R"]["half_width"] == 0.01
    assert {r.quantity for r in register.readings.all()} == {"R1", "W", "R2"}
    assert register.server_conformity == "fail"  # +2.6 %: its register errs as its pulses
    # The run's evidence shows each register reading to the last digit the meter wrote
    # (0.01 kWh: two decimals, a trailing zero kept), beside its raw text.
    (evidence,) = point_evidence(run, [register])
    shown = {r.quantity: r for r in evidence.readings}
    for name in ("R1", "R2"):
        assert len(shown[name].value.partition(".")[2]) == 2, shown[name].value
        assert shown[name].raw.startswith("value ")  # position 2's meter speaks DLMS
    # The no-load count and the starting time are judged as they are: no U/MPE check.
    no_load = Point.objects.get(position=stored[1], index=0)
    assert no_load.server_result["acceptance"]["rule"] == "electricity_no_load"
    assert "uncertainty_ratio" not in no_load.server_result
    # The run page shows them as the certificate prints them: the count whole, in words,
    # without U, against "≤ 1 pulse"; the time to the bench's 0.01 s against "≤ … s".
    rows = rows_in(run)
    count, time = rows[1].points[:2]
    assert (count.value, count.U, count.limit, count.shown_unit) == (
        "0",
        "",
        "≤ 1 pulse",
        "pulses",
    )
    assert not count.ratio_flag
    assert time.limit.startswith("≤ ")
    assert time.limit.endswith(" s")
    assert len(time.value.partition(".")[2]) == 2, time.value
    with translation.override("vi"):
        count = rows_in(run)[1].points[0]
        assert (count.limit, count.shown_unit) == ("≤ 1 xung", "xung")
    # As the page's table of points writes them.
    html = render_to_string("work/_points.html", {"rows": rows[1].points, "prefix": "", "run": run})
    assert "N = 0 pulses" in html
    assert "≤ 1 pulse" in html
    assert f"t_first = {time.value} s" in html
    assert f"{time.limit}</td>" in html
    assert "± 93" not in html


def rows_in(run: Run) -> dict[int, Any]:
    return {row.position.number: row for row in position_rows(run)}
