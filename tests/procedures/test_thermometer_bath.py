"""Procedure thermometer-bath on real simulators and transports.

The bath is a simulated Eurotherm 3200 on Modbus TCP; the DMM a simulated Keysight 34465A on
a TCP socket whose 4-wire input is the reference PRT's resistance at the bath's live
temperature (the PRT follows the Callendar–Van Dusen function of its certificate); the
thermometer under test is typed by a simulated operator (manual entry) or read over Modbus
(a register-map device), showing the bath's temperature plus a known error. The runner's
corrections, their uncertainties and the fitted correction curve are checked against the
injected error and against independent computations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drivers.generic.modbus_map import ModbusMapDevice
from drivers.simulators.modbus_map import ModbusMapSimulator
from procedures.bench import BenchRole
from procedures.definition import DefinitionError, library, parse_definition
from procedures.runner import RunInterrupted, Runner
from tests.support.bath import (
    IEC_A,
    IEC_B,
    IEC_C,
    IEC_R0,
    NOMINALS,
    OPTIONS,
    PRT_A,
    PRT_B,
    PRT_R0,
    ModbusThermometer,
    Recorded,
    VirtualTime,
    World,
    cvd_resistance,
    cvd_temperature,
    open_bench,
    runner,
    uut_error,
)
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model


@pytest.fixture
def world() -> Iterator[World]:
    with open_bench() as opened:
        yield opened


# ------------------------------------------------------------------ the run


def test_iec_60751_pt100_resistance_at_50_and_minus_40_c() -> None:
    # IEC 60751:2008 Table 1 (Pt100): 119.40 ohm at 50 °C, 84.27 ohm at −40 °C; the
    # coupling and the independent checks below use these functions.
    assert round(float(cvd_resistance(50.0, IEC_R0, IEC_A, IEC_B)), 2) == 119.40
    assert round(float(cvd_resistance(-40.0, IEC_R0, IEC_A, IEC_B)), 2) == 84.27
    for t in (50.0, -40.0):
        r = cvd_resistance(t, IEC_R0, IEC_A, IEC_B)
        assert cvd_temperature(r, IEC_R0, IEC_A, IEC_B) == pytest.approx(t, abs=1e-9)


# The terms every point shares: the PRT's certificate coefficients, the DMM's certificate
# correction (one entry, the 100 ohm point, at every point) and the PRT's drift (the
# curve's shared:). Every other input is the point's own.
SHARED = ("R0", "A", "B", "c_dmm", "d_drift")


def _inputs(model: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """The estimates and standard uncertainties of a point's inputs, read from its model
    as a metrologist would (GUM 4.2, 4.3.7, 4.3.3), without the uncertainty package."""
    values: dict[str, float] = {}
    us: dict[str, float] = {}
    for name, q in model["quantities"].items():
        if "samples" in q:
            samples = np.asarray(q["samples"], dtype=float)
            values[name] = float(samples.mean())
            us[name] = float(samples.std(ddof=1) / math.sqrt(samples.size))
        elif q.get("distribution") == "rectangular":
            values[name] = float(q["value"])
            us[name] = float(q["half_width"]) / math.sqrt(3)
        elif "U" in q:
            values[name] = float(q["value"])
            us[name] = float(q["U"]) / float(q["k"])
        else:
            values[name] = float(q["value"])
            us[name] = float(q["u"])
    return values, us


def _correction(v: dict[str, Any]) -> Any:
    """The model's C written out, on numbers or on arrays of Monte Carlo draws."""
    r = v["R_x"] * (1 + v["c_dmm"] / v["R_dcal"]) + v["d_Rres"]
    t_ref = cvd_temperature(r, v["R0"], v["A"], v["B"], v["C_cvd"]) + v["d_cvd"] + v["d_drift"]
    return t_ref + v["d_stab"] + v["d_unif"] - (v["t_x"] + v["d_x"])


def _loads(model: dict[str, Any], names: tuple[str, ...] | None) -> dict[str, float]:
    """c·u of each input in ``names`` (all with an uncertainty when None) for one point,
    by central differences (GUM 5.1.3)."""
    values, us = _inputs(model)
    loads: dict[str, float] = {}
    for name in names or [n for n, u in us.items() if u > 0]:
        step = us[name] * 1e-3
        up, down = dict(values), dict(values)
        up[name] += step
        down[name] -= step
        loads[name] = float((_correction(up) - _correction(down)) / (2 * step)) * us[name]
    return loads


def _independent_u(model: dict[str, Any]) -> float:
    """u(C) by the law of propagation with numerical sensitivities, from the model's
    quantities (GUM 5.1.2), without the uncertainty package."""
    return math.sqrt(sum(load**2 for load in _loads(model, None).values()))


@dataclass
class Finished:
    """One whole calibration on the simulated bench: what preflight found, the
    environment read, the points and the curve."""

    world: World
    run: Runner
    standards: list[dict[str, Any]]
    environment: dict[str, Any]
    points: list[dict[str, Any]]
    curve: dict[str, Any]


@pytest.fixture(scope="module")
def finished() -> Finished:
    """The run the end-to-end and the curve's tests read (a run costs seconds)."""
    with open_bench() as opened:
        run = runner(opened)
        standards = [s.to_json() for s in run.preflight()]
        environment = dict(run.read_environment())
        points = [p.to_json() for p in run.run()]
        curve = run.curves["comparison"].to_json()
        return Finished(opened, run, standards, environment, points, curve)


def test_bath_calibration_end_to_end(finished: Finished) -> None:
    run, world = finished.run, finished.world
    recorder: Recorded = run.recorder  # type: ignore[assignment]
    standards = finished.standards
    # The PRT is used for its three coefficients, the DMM at its 100 ohm certificate point.
    assert {(s["asset_id"], s["function"]) for s in standards} == {
        ("QT-PRT-07", "r0"),
        ("QT-PRT-07", "cvd_a"),
        ("QT-PRT-07", "cvd_b"),
        ("QT-DMM-03", "res4w"),
    }
    assert next(s for s in standards if s["function"] == "res4w")["range"] == [100.0, 100.0]
    assert finished.environment["temperature"]["value"] == pytest.approx(22.8)
    points = finished.points

    assert [p["nominal"] for p in points] == NOMINALS
    assert len(recorder.readings) == len(NOMINALS) * (5 + 5)
    for point, ids in recorder.points:
        assert len(ids) == 10
        quantities = point["model"]["quantities"]
        samples = quantities["R_x"]["samples"] + quantities["t_x"]["samples"]
        assert samples == [recorder.readings[i - 1][2]["value"] for i in ids]
        # The PRT's certificate coefficients and the DMM's correction are in the model.
        assert quantities["R0"]["value"] == PRT_R0
        assert quantities["A"]["value"] == PRT_A
        assert quantities["B"]["value"] == PRT_B
        assert quantities["C_cvd"] == {"value": IEC_C, "u": 0.0, "unit": "1/degC4"}
        assert quantities["c_dmm"]["value"] == pytest.approx(0.0010, abs=1e-12)
        assert quantities["d_x"]["half_width"] == pytest.approx(0.005)
        # The result is what the model gives, evaluated again, and by hand.
        gum = evaluate_gum(parse_model(point["model"]))["C"]
        assert point["result"]["value"] == pytest.approx(gum.value, rel=1e-12)
        assert point["result"]["u"] == pytest.approx(_independent_u(point["model"]), rel=1e-5)
        # C = t_ref − t_uut: minus the injected error, within the display's rounding.
        t = point["nominal"]
        assert point["result"]["value"] == pytest.approx(-uut_error(t), abs=0.006)
        assert 0.009 < point["result"]["U"] < 0.05
        assert point["conformity"] == ""  # a calibration: no limits were given
    # The uncertainty grows away from 0 °C (A and B weigh more), on both branches.
    at_zero = points[NOMINALS.index(0.0)]["result"]["u"]
    assert points[-1]["result"]["u"] > at_zero
    assert points[0]["result"]["u"] > at_zero
    # The bath was left at its idle temperature, through the remote setpoint only.
    assert world.bath.remote_setpoint == 20.0
    assert world.bath.target_setpoint_writes == 0
    assert {e["role"] for e in recorder.io_entries} >= {"source", "readout", "uut"}


def test_the_correction_curve_is_the_generalized_least_squares_line(
    finished: Finished,
) -> None:
    points, curve = finished.points, finished.curve

    x = np.asarray(NOMINALS)
    y = np.asarray([p["result"]["value"] for p in points])
    u = np.asarray([p["result"]["u"] for p in points])
    # The points' covariance built by hand: u_i² on the diagonal, and the shared terms'
    # c_i u · c_k u between points (JCGM 100 F.1.2.3).
    loads = [_loads(p["model"], SHARED) for p in points]
    v = np.diag(u**2)
    for i in range(len(points)):
        for k in range(len(points)):
            if i != k:
                v[i, k] = sum(loads[i][q] * loads[k][q] for q in SHARED)
    # Generalized least squares by the normal equations (ISO/TS 28037:2010 clause 7),
    # independently of uncertainty.curves.
    design = np.column_stack([np.ones_like(x), x])
    v_inverse = np.linalg.inv(v)
    covariance = np.linalg.inv(design.T @ v_inverse @ design)
    coefficients = covariance @ design.T @ v_inverse @ y
    residuals = y - design @ coefficients

    assert curve["fit"] == "line"
    assert curve["weighted"] is True
    assert curve["generalized"] is True
    assert curve["shared"] == ["c_dmm", "R0", "A", "B", "d_drift"]
    assert curve["dof"] == len(NOMINALS) - 2
    assert np.asarray(curve["covariance_y"]) == pytest.approx(v, rel=1e-4, abs=1e-10)
    assert curve["coefficients"] == pytest.approx(list(coefficients), rel=1e-6, abs=1e-9)
    assert np.asarray(curve["covariance"]) == pytest.approx(covariance, rel=1e-4)
    assert curve["u_coefficients"] == pytest.approx(list(np.sqrt(np.diag(covariance))), rel=1e-4)
    assert curve["residuals"] == pytest.approx(list(residuals), abs=1e-9)
    chi_square = float(residuals @ v_inverse @ residuals)
    assert curve["chi_square"] == pytest.approx(chi_square, rel=1e-4)
    # The curve finds the injected error: C(t) = −0.12 − 0.0015 t.
    c0, c1 = curve["coefficients"]
    u0, u1 = curve["u_coefficients"]
    assert abs(c0 - -0.12) < max(2 * u0, 0.004)
    assert abs(c1 - -0.0015) < max(2 * u1, 1e-4)
    at_40 = next(value for value in curve["values"] if value["x"] == 40.0)
    g = np.array([1.0, 40.0])
    assert at_40["u"] == pytest.approx(math.sqrt(g @ covariance @ g), rel=1e-4)
    # Taking the points as independent (the diagonal only) understates u(c0) by a clear
    # margin: the shared terms cannot average out over the points.
    independent = np.linalg.inv(design.T @ np.diag(1 / u**2) @ design)
    assert u0 > 1.1 * math.sqrt(independent[0, 0])


def test_the_curve_uncertainty_agrees_with_a_monte_carlo_of_the_calibration(
    finished: Finished,
) -> None:
    """JCGM 101 / ISO/TS 28037:2010 clause 7: redo the whole calibration 20 000 times —
    each shared term drawn once per trial, every other input once per point and trial,
    each point's correction through the exact (bisection) CVD inverse, the line refitted
    per trial — and compare the spread of the fitted parameters and of the curve's value
    with the covariance the runner reports."""
    points, curve = finished.points, finished.curve
    rng = np.random.default_rng(16)
    trials = 20_000

    def draw(q: dict[str, Any], value: float, u: float, size: int) -> Any:
        if q.get("distribution") == "rectangular":
            return value + rng.uniform(-1, 1, size) * float(q["half_width"])
        return value + rng.normal(0.0, 1.0, size) * u

    estimates = [_inputs(p["model"]) for p in points]
    shared_draws = {}
    first = points[0]["model"]["quantities"]
    for name in SHARED:
        shared_draws[name] = draw(first[name], estimates[0][0][name], estimates[0][1][name], trials)
    ys = np.empty((len(points), trials))
    for i, (point, (values, us)) in enumerate(zip(points, estimates, strict=True)):
        drawn: dict[str, Any] = {}
        for name, q in point["model"]["quantities"].items():
            if name in SHARED:
                drawn[name] = shared_draws[name]
            elif us[name] == 0:
                drawn[name] = values[name]
            else:
                drawn[name] = draw(q, values[name], us[name], trials)
        ys[i] = _correction(drawn)

    # Refit each trial with the weights the runner used (GLS with its V: a linear map).
    x = np.asarray(NOMINALS)
    design = np.column_stack([np.ones_like(x), x])
    v_inverse = np.linalg.inv(np.asarray(curve["covariance_y"]))
    gain = np.linalg.solve(design.T @ v_inverse @ design, design.T @ v_inverse)
    fitted = gain @ ys
    reported = np.asarray(curve["covariance"])
    # The standard deviation of 20 000 draws is known to ±0.5 % (1/sqrt(2N)); 3 % is six
    # of those, and the model is linear enough over its uncertainties.
    assert np.std(fitted, axis=1, ddof=1) == pytest.approx(np.sqrt(np.diag(reported)), rel=0.03)
    assert np.asarray(np.corrcoef(fitted))[0, 1] == pytest.approx(
        reported[0, 1] / math.sqrt(reported[0, 0] * reported[1, 1]), abs=0.03
    )
    for value in curve["values"]:
        if value["x"] in (-40.0, 20.0, 80.0):
            g = np.array([1.0, value["x"]])
            assert float(np.std(g @ fitted, ddof=1)) == pytest.approx(value["u"], rel=0.03)


def test_every_reading_is_recorded_before_it_is_shown_and_before_the_next_step(
    world: World,
) -> None:
    runner(world).run()
    entries = world.journal.entries
    recorded = 0
    shown = 0
    for kind, _ in entries:
        if kind == "recorded":
            recorded += 1
        elif kind == "shown":
            shown += 1
            assert shown <= recorded
        elif kind == "typed":
            # The UUT is prompted only once the PRT's five readings of the point are kept.
            assert recorded % 10 >= 5
    # Each point is kept after its ten readings.
    points = [i for i, (kind, _) in enumerate(entries) if kind == "point"]
    assert len(points) == len(NOMINALS)
    for n, at in enumerate(points):
        assert sum(1 for kind, _ in entries[:at] if kind == "recorded") == 10 * (n + 1)


def test_the_uut_read_over_modbus_runs_the_same_definition(tmp_path: Path) -> None:
    map_path = tmp_path / "thermometer.yaml"
    map_path.write_text(
        "device: test thermometer with a Modbus display register\n"
        "registers:\n"
        "  - {name: t_display, address: 0, function: input, type: int16, scale: 0.01,"
        " unit: degC}\n",
        encoding="utf-8",
    )
    with (
        open_bench() as world,
        ModbusMapSimulator(ModbusThermometer(map_path, world.bath)) as sim,
    ):
        uut = ModbusMapDevice.open(sim.address, OPTIONS)
        try:
            world.bench.instruments["uut"] = uut
            world.bench.roles["uut"] = BenchRole(
                "uut",
                "modbus-map",
                sim.address,
                options={"registers": {"temperature": "t_display"}},
            )
            run = runner(world)
            run.preflight()
            points = run.run()
        finally:
            uut.close()
    assert world.typist.lines == 0
    for point in points:
        assert point.model["quantities"]["t_x"]["unit"] == "degC"
        assert point.result.value == pytest.approx(-uut_error(point.nominal), abs=0.006)
    assert run.curves["comparison"].coefficients[0] == pytest.approx(-0.12, abs=0.004)


def test_a_bath_that_does_not_settle_interrupts_with_the_reason_and_no_reading() -> None:
    with open_bench(bath_noise=0.5) as world:
        run = runner(world, time_=VirtualTime(real_pause_s=0.0))
        recorder: Recorded = run.recorder  # type: ignore[assignment]
        with pytest.raises(RunInterrupted) as err:
            run.run()
    assert err.value.point == 0
    assert "source did not stay within ±0.02 degC of -40 for 600 s within 7200 s" in str(err.value)
    assert recorder.readings == []
    assert recorder.points == []
    assert world.typist.lines == 0


# ------------------------------------------------------------------ the definition grammar


def _variant(replace: Callable[[str], str]) -> str:
    return replace(library()["thermometer-bath"].read_text(encoding="utf-8"))


def test_a_curve_must_fit_the_tests_output_with_enough_points() -> None:
    with pytest.raises(DefinitionError, match=r"curve\.y: the points report 'C'"):
        parse_definition(_variant(lambda t: t.replace("y: C,", "y: t_ref,")))
    with pytest.raises(DefinitionError, match="a cubic needs at least 5 points"):
        parse_definition(
            _variant(
                lambda t: (
                    t.replace("fit: line", "fit: cubic")
                    .replace("      - {nominal: 80}\n", "")
                    .replace("      - {nominal: 60}\n", "")
                    .replace("      - {nominal: 40}\n", "")
                )
            )
        )
    with pytest.raises(DefinitionError, match=r"curve\.fit: expected one of line"):
        parse_definition(_variant(lambda t: t.replace("fit: line", "fit: spline")))


def test_a_curves_shared_terms_must_be_model_quantities_common_to_the_points() -> None:
    """The curve's shared: names quantities of the model that are one error at every
    point; a name the model lacks, readings (the point's own) and an unweighted fit (no
    covariance to build) are refused by key."""
    with pytest.raises(DefinitionError, match=r"curve\.shared\[0\]: the model has no quantity"):
        parse_definition(_variant(lambda t: t.replace("shared: [d_drift]", "shared: [d_rift]")))
    with pytest.raises(DefinitionError, match=r"curve\.shared\[1\]: 'R_x' is taken from readings"):
        parse_definition(
            _variant(lambda t: t.replace("shared: [d_drift]", "shared: [d_drift, R_x]"))
        )
    with pytest.raises(DefinitionError, match=r"curve\.shared: shared terms need weights: u"):
        parse_definition(
            _variant(lambda t: t.replace("shared: [d_drift]", "shared: [d_drift], weights: none"))
        )
    with pytest.raises(DefinitionError, match=r"curve\.shared: expected a list"):
        parse_definition(_variant(lambda t: t.replace("shared: [d_drift]", "shared: d_drift")))
