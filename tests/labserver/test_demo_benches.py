"""Every demo job runs end to end on the simulated bench its bench file describes.

``load_demo`` writes one bench configuration per bench of the Hà Nội center. For each,
the test takes what ``caltrace-agent run --job`` takes, from the same places: the bench
file (:func:`agent.config.load_bench`); the job scheduled to that bench, its procedure and
the instrument's specification from the LIMS's API, asked with the bench's own token;
each standard role's record from the standards endpoint, built as
:meth:`agent.sync.LimsClient.standard` builds it. The real runner then carries out the
procedure on :class:`simulation.bench.SimulatedBench` with a
:class:`simulation.people.SimulatedOperator`: preflight passes, the environment is within
limits, every point is evaluated.

The simulated instruments run in real time (sources approach their setpoints in tens of
milliseconds); the runner's own waits (stability windows of minutes, dwell times) run on
a virtual clock, as in ``tests/procedures``.
"""

from __future__ import annotations

import pytest

from scenarios.demo import DemoSummary
from simulation.temperature import UUT_THERMOMETER
from tests.support.demo import (  # noqa: F401
    BENCHES,
    Outcome,
    Work,
    demo_world,
    run_on_simulators,
    summary_built_once,
    work_for,
)

pytestmark = pytest.mark.django_db


def _assert_complete(work: Work, outcome: Outcome) -> None:
    expected = [(t.id, p.index) for t in work.definition.tests for p in t.points]
    assert [(p.test, p.index) for p in outcome.points] == expected
    for point in outcome.points:
        assert point.result.U > 0
    assert len(outcome.recorder.points) == len(expected)


def _ratios(outcome: Outcome) -> list[float]:
    checks = [p.uncertainty_ratio for p in outcome.points]
    assert None not in checks  # every point of a verification is checked
    return [c.ratio for c in checks if c is not None]


# -- the five jobs --------------------------------------------------------------------------


def test_each_bench_file_serves_its_procedure_and_its_job(summary: DemoSummary) -> None:
    assert [(org, name) for org, name, _ in summary.benches] == [("HN", name) for name in BENCHES]
    for _, name, path in summary.benches:
        work = work_for(summary, name)
        assert path.name == f"HN-{name}.yaml"
        assert work.config.outbox == (path.parent.parent / "agent" / f"HN-{name}.sqlite3")
        assert work.definition.id == BENCHES[name]
        assert set(work.definition.roles) == set(work.config.roles)
        # The instrument's specification has exactly what the procedure takes from it
        # (dmm-dcv takes nothing: its specification is for people).
        parameters = set(work.definition.instrument_parameters)
        assert parameters == (set(work.instrument) if parameters else set())
        uut = work.config.roles["uut"]
        assert uut.serial in (None, work.job["instrument_serial"])
        # Every standard of the bench is in calibration today, as the LIMS says it.
        for standard in work.standards.values():
            assert standard.standard["status"]["status"] == "in_service", standard.asset_id
    assert ("DN", "field-1") in [(org, name) for org, name, _, _ in summary.agents]
    assert all(" (scheduled) bench bench-" in line for line in summary.jobs)


def test_dmm_dcv_runs_on_bench_electrical(summary: DemoSummary) -> None:
    work = work_for(summary, "bench-electrical")
    outcome = run_on_simulators(work)
    _assert_complete(work, outcome)
    assert {(s.asset_id, s.function) for s in outcome.standards} == {("HN-E-5522A", "dcv")}
    assert 18 <= outcome.environment["temperature"]["value"] <= 28
    # The simulated 34465A (+8 ppm + 3 µV) is well within its data sheet's accuracy.
    assert [p.conformity for p in outcome.points] == ["pass"] * len(outcome.points)
    assert max(_ratios(outcome)) <= 1 / 3


def test_nawi_r76_runs_on_bench_mass(summary: DemoSummary) -> None:
    work = work_for(summary, "bench-mass")
    assert work.instrument == {
        "accuracy_class": "III",
        "max_capacity": 15000,
        "e": 5,
        "d_T": 0.5,
        "unit": "g",
    }
    outcome = run_on_simulators(work)
    _assert_complete(work, outcome)
    assert {(s.asset_id, s.function) for s in outcome.standards} == {("HN-M-M1", "mass")}
    # The simulated balance (linearity 15 mg, eccentricity ≤ 12 ppm) is well within the
    # class III MPE; the U of every error is within 1/3 of it (d_T = e/10).
    assert [p.conformity for p in outcome.points] == ["pass"] * len(outcome.points)
    assert max(_ratios(outcome)) <= 1 / 3
    assert [c.check for c in outcome.runner.checks] == ["repeatability", "eccentricity"]
    assert all(c.passed for c in outcome.runner.checks)
    # The weights' certificate values at the loads placed are in the models.
    m_ref = {p.nominal: p.model["quantities"]["m_ref"]["value"] for p in outcome.points}
    assert m_ref[15000.0] == pytest.approx(15000.171)


def test_pressure_gauge_r101_runs_on_bench_pressure(summary: DemoSummary) -> None:
    work = work_for(summary, "bench-pressure")
    assert work.instrument == {"accuracy_class": 1.6, "span": 600, "unit": "kPa"}
    outcome = run_on_simulators(work)
    _assert_complete(work, outcome)
    assert [s.to_json() for s in outcome.standards] == [
        {
            "asset_id": "HN-P-PACE",
            "role": "reference",
            "function": "pressure",
            "unit": "Pa",
            "range": [0.0, 600000.0],
        }
    ]
    # The simulated gauge errs by at most about 0.55 % of its span; class 1.6 allows 1.6 %.
    assert [p.conformity for p in outcome.points] == ["pass"] * len(outcome.points)
    assert max(_ratios(outcome)) <= 1 / 3
    assert [c.check for c in outcome.runner.checks] == ["hysteresis"] * 5
    assert all(c.passed for c in outcome.runner.checks)


def test_thermometer_bath_runs_on_bench_temperature(summary: DemoSummary) -> None:
    work = work_for(summary, "bench-temperature")
    assert work.instrument == {"resolution": 0.01}
    outcome = run_on_simulators(work)
    _assert_complete(work, outcome)
    assert {(s.asset_id, s.function) for s in outcome.standards} == {
        ("HN-T-PRT", "r0"),
        ("HN-T-PRT", "cvd_a"),
        ("HN-T-PRT", "cvd_b"),
        ("HN-E-34470A", "res4w"),
    }
    assert 18 <= outcome.environment["temperature"]["value"] <= 28
    # A calibration: no verdict, a correction per point and the fitted correction curve.
    # The correction is minus the simulated thermometer's error, give or take the
    # simulated PRT's drift (4 mK), the DMM's certified correction (3 mK) and rounding.
    assert [p.conformity for p in outcome.points] == [""] * len(outcome.points)
    for point in outcome.points:
        t = point.nominal
        assert point.result.value == pytest.approx(t - UUT_THERMOMETER.indication(t), abs=0.02)
        assert point.result.U < 0.05
    assert outcome.runner.curves["comparison"].fit == "line"


def test_water_meter_r49_runs_on_bench_flow(summary: DemoSummary) -> None:
    work = work_for(summary, "bench-flow")
    assert work.instrument == {"accuracy_class": 2, "q3": 4, "ratio": 160}
    outcome = run_on_simulators(work)
    _assert_complete(work, outcome)
    assert {(s.asset_id, s.function) for s in outcome.standards} == {("HN-V-FLOW", "volume")}
    # The simulated meter errs by +0.2 to +0.6 % (its register read to 0.1 L): within
    # ±5 % (Q1) and ±2 % (Q2, Q3).
    errors = [p.result.value for p in outcome.points]
    assert all(abs(e) < 1 for e in errors), errors
    assert [p.conformity for p in outcome.points] == ["pass"] * len(outcome.points)
    assert max(_ratios(outcome)) <= 1 / 3


def test_water_meter_r49_hot_runs_at_50_c_against_the_warm_water_mpe(summary: DemoSummary) -> None:
    """A T30/90 hot-water meter on the flow rig's 50 °C supply: the upper zone's MPE is the
    warm-water one, 3 % for class 2 (MID MI-001, R 49-1:2013; the lower zone keeps 5 %),
    because the MPE follows each point's water temperature."""
    work = work_for(summary, "bench-flow-hot")
    assert work.instrument == {
        "accuracy_class": 2,
        "q3": 4,
        "ratio": 160,
        "temperature_class": "T30/90",
    }
    outcome = run_on_simulators(work)
    _assert_complete(work, outcome)
    assert outcome.runner.plans["flow-rates"]["temperature_class"] == "T30/90"
    assert [p.acceptance.mpe for p in outcome.points if p.acceptance] == [5.0, 3.0, 3.0]
    assert [p.conformity for p in outcome.points] == ["pass"] * len(outcome.points)
