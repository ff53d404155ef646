"""The agent's benchmark stays runnable: figure 2 of ``benchmarks/agent.py`` on a tiny run.

Figure 2 times a calibration against the simulators two ways, the drivers called by hand
and a caltrace run into the outbox; here both arms run once, untimed warm-up included, on
2 points of 3 readings, so that a change to the runner, the outbox or the simulated bench
that breaks the benchmark fails the suite rather than the next measurement.
"""

from __future__ import annotations

from pathlib import Path

from agent.outbox import Outbox
from benchmarks.agent import BY_HAND, CALTRACE, run_costs


def test_figure_2_times_both_arms_of_a_tiny_calibration(tmp_path: Path) -> None:
    costs = run_costs(points=2, readings=3, rounds=1, seconds=0.0, directory=tmp_path)

    assert list(costs) == [BY_HAND, CALTRACE]
    for rounds in costs.values():
        assert len(rounds) == 1
        wall_us, cpu_us = rounds[0]
        assert wall_us > 0
        assert cpu_us >= 0
    # The caltrace arm did the whole run: the warm-up and the round, each queued with
    # every reading kept.
    with Outbox(tmp_path / "run-outbox.sqlite3") as outbox:
        report = outbox.status()
    assert report.counts["queued"] == 2
    assert [(run.points, run.readings) for run in report.runs] == [(2, 6), (2, 6)]


def test_figure_2a_waits_for_the_meter_s_integration_time(tmp_path: Path) -> None:
    # 2 points x 2 readings at the meter's 10 PLC on 50 Hz: 0.2 s per reading, in each arm.
    costs = run_costs(points=2, readings=2, rounds=1, seconds=0.0, directory=tmp_path, timing=True)

    for rounds in costs.values():
        wall_us, _ = rounds[0]
        assert wall_us >= 200_000
