"""Procedure nawi-r76 end to end: a class III balance over MT-SICS on a pseudo-terminal.

The balance simulator's load follows the operator (:mod:`tests.support.nawi`), who acts on the
``position``, ``place_load`` and ``remove_load`` instructions by putting on the pan the
conventional mass of the weights named (their certificate's value), read by a balance
with a known gain error and a known eccentricity at each position. The runner, its
driver and the definition are the real ones; the expected errors, MPEs (OIML R 76-1:2006
Table 6) and checks are computed here from those known numbers.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import pytest

from procedures.bench import BenchRole, StandardRecord
from procedures.definition import ProcedureDefinition, library, parse_definition
from procedures.runner import NotReady, RunInterrupted
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("pseudo-terminals are POSIX", allow_module_level=True)

from tests.support.nawi import (
    ASSET,
    ECCENTRIC_OK,
    GAIN,
    INSTRUMENT,
    TABLE_6,
    WEIGHING,
    WEIGHING_UP,
    CoupledBalance,
    LoadingOperator,
    Log,
    Recorded,
    conventional_mass,
    expected_error,
    nawi_bench,
    nawi_runner,
    run_nawi,
    weights_record,
)


@pytest.mark.parametrize(("room", "refused"), [("24.6", None), ("41.5", "outside -10 to 40")])
def test_the_room_temperature_is_recorded_and_held_to_its_limits(
    room: str, refused: str | None
) -> None:
    # nawi-r76 1.2.0 records the room's temperature for the certificate (ISO/IEC 17025
    # 7.8.4.1 b) and refuses to start outside -10 °C to 40 °C.
    balance = CoupledBalance()
    log = Log()
    with nawi_bench(balance, room=room) as bench:
        runner = nawi_runner(bench, LoadingOperator(balance, log, {}, []), Recorded(log))
        if refused is None:
            environment = runner.read_environment()
            assert environment["temperature"]["value"] == pytest.approx(24.6)
            assert environment["temperature"]["unit"] == "degC"
        else:
            with pytest.raises(NotReady, match=f"environment: temperature 41.5 degC is {refused}"):
                runner.read_environment()


def test_a_class_iii_balance_within_its_mpe_passes_every_point_and_check() -> None:
    runner, points, recorder, operator, balance = run_nawi(ECCENTRIC_OK)

    assert [p["test"] for p in points] == ["repeatability"] + ["eccentricity"] * 5 + [
        "weighing"
    ] * 19
    nominals = [p["nominal"] for p in points]
    assert nominals == [7500.0] + [5000.0] * 5 + WEIGHING
    for point, ids in recorder.points:
        # The model's indications are exactly the recorded readings, in order.
        samples = point["model"]["quantities"]["I"]["samples"]
        assert samples == [recorder.readings[i - 1][2]["value"] for i in ids]
        # The result is what the stored model gives, evaluated independently.
        out = evaluate_gum(parse_model(point["model"]))["E"]
        assert point["result"]["value"] == pytest.approx(out.value, rel=1e-12)
        assert point["result"]["U"] == pytest.approx(out.U, rel=1e-12)
        # The MPE is R 76-1 Table 6 at the nominal load.
        assert point["acceptance"]["mpe"] == TABLE_6[point["nominal"]]
        assert point["acceptance"]["rule"] == "nawi"
        assert point["conformity"] == "pass"
        # d_T = 0.5 g (u = 0.14 g) and M1 weights: U is within MPE/3 at every load.
        assert point["uncertainty_ratio"]["met"] is True
        assert point["model"]["quantities"]["m_ref"]["value"] == pytest.approx(
            conventional_mass(point["nominal"]), rel=1e-12
        )
    # E = I − m_ref: the balance's 100 ppm, the positions' eccentricity, the rounding to d_T.
    repeat = points[0]
    assert repeat["model"]["quantities"]["I"]["samples"] == [7501.0] * 3
    assert repeat["result"]["value"] == pytest.approx(expected_error(balance, 7500.0), abs=1e-9)
    for point, position in zip(points[1:6], range(1, 6), strict=True):
        assert point["result"]["value"] == pytest.approx(
            expected_error(balance, 5000.0, ECCENTRIC_OK[position] / (1 + GAIN)), abs=1e-6
        )
        # single readings carry the repeatability's standard deviation (0 here, 2 dof)
        assert point["model"]["quantities"]["I"]["pooled_sd"] == 0.0
        assert point["model"]["quantities"]["I"]["pooled_dof"] == 2
    for point in points[6:]:
        assert point["result"]["value"] == pytest.approx(
            expected_error(balance, point["nominal"]), abs=1e-9
        )
    top = points[15]
    assert top["result"]["value"] == pytest.approx(15001.5 - 15000.03, abs=1e-9)

    # The test-level checks: repeatability (3.6.1) and eccentricity (3.6.2).
    checks = [c.to_json() for c in runner.checks]
    assert [Decimal(c["limit"]) for c in checks] == [5, 5]  # Table 6: 1 e at both
    assert checks == [
        {
            "check": "repeatability",
            "test": "repeatability",
            "rule": "OIML R 76-1:2006 3.6.1",
            "value": "0.0",
            "limit": checks[0]["limit"],
            "unit": "g",
            "passed": True,
            "at": "7500.0",
            "at_unit": "g",
            "points": [0],
        },
        {
            "check": "eccentricity",
            "test": "eccentricity",
            "rule": "OIML R 76-1:2006 3.6.2",
            "value": checks[1]["value"],
            "limit": checks[1]["limit"],
            "unit": "g",
            "passed": True,
            "at": "5000.0",
            "at_unit": "g",
            "points": [1, 2, 3, 4, 5],
        },
    ]
    worst = max(abs(p["result"]["value"]) for p in points[1:6])
    assert float(checks[1]["value"]) == pytest.approx(worst, rel=1e-12)

    # The operator was asked exactly this, and every reading was recorded before the
    # next instruction (and every point after its readings).
    loading = [("instruct", "place_load"), ("reading", None), ("instruct", "remove_load")]
    expected: list[tuple[str, Any]] = loading * 3 + [("point", 0)]
    for index in range(1, 6):
        expected += [("instruct", "position"), *loading, ("point", index)]
    for index in range(6, 6 + len(WEIGHING)):
        expected += [("instruct", "place_load"), ("reading", None), ("point", index)]
    expected += [("instruct", "remove_load")]
    assert [(k, None if k == "reading" else v) for k, v in recorder.log.events] == expected
    places = [i for i in operator.instructions if i.kind == "place_load"]
    assert places[0].params == {"load": 7500.0, "unit": "g"}
    assert places[0].text["en"] == "Place 7500 g of test weights on the centre of the load receptor"
    positions = [i.params["position"] for i in operator.instructions if i.kind == "position"]
    assert positions == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [i.params["load"] for i in places[-len(WEIGHING) :]] == WEIGHING
    # The balance's raw MT-SICS exchange is kept, tagged with its role.
    assert {e["role"] for e in recorder.io_entries} == {"uut"}
    assert any(e["data"].startswith("S S") for e in recorder.io_entries)
    assert all(r[2]["stable"] for r in recorder.readings)
    assert recorder.readings[0][2]["raw"].startswith("S S")


def test_a_large_eccentricity_fails_its_position_and_the_eccentricity_check() -> None:
    eccentric = {**ECCENTRIC_OK, 4: 6.0}  # 6 g off on position 4: MPE at Max/3 is 5 g
    runner, points, _, _, balance = run_nawi(eccentric, repeat_offsets=(0.0, 0.5, 0.0))

    position_4 = points[4]
    assert position_4["result"]["value"] == pytest.approx(
        expected_error(balance, 5000.0, 6.0 / (1 + GAIN)), abs=1e-6
    )
    assert position_4["conformity"] == "fail"
    assert [p["conformity"] for p in points[1:6]] == ["pass", "pass", "pass", "fail", "pass"]
    repeatability, eccentricity = (c.to_json() for c in runner.checks)
    # A second loading 0.5 g heavier: the indications spread by one d_T.
    assert points[0]["model"]["quantities"]["I"]["samples"] == [7501.0, 7501.5, 7501.0]
    assert repeatability["value"] == "0.5"
    assert repeatability["passed"] is True
    assert eccentricity["passed"] is False
    assert float(eccentricity["value"]) == pytest.approx(position_4["result"]["value"])
    assert Decimal(eccentricity["limit"]) == 5
    # The repeatability's standard deviation (0.29 g, 2 dof) now dominates the single
    # readings: U exceeds MPE/3 at the loads where the MPE is 0.5 e.
    sd = points[1]["model"]["quantities"]["I"]["pooled_sd"]
    assert sd == pytest.approx(0.5 / 3**0.5, rel=1e-9)
    flags = {p["nominal"]: p["uncertainty_ratio"]["met"] for p in points[6:]}
    assert flags == {load: TABLE_6[load] > 2.5 for load in WEIGHING_UP}


def test_an_unstable_balance_interrupts_the_run_without_a_reading() -> None:
    balance = CoupledBalance(settle_s=3600.0)  # never settles after a load is placed
    log = Log()
    recorder = Recorded(log)
    with nawi_bench(balance, stable_wait_s=0.3) as bench:
        operator = LoadingOperator(balance, log, ECCENTRIC_OK)
        runner = nawi_runner(bench, operator, recorder)
        runner.preflight()
        with pytest.raises(RunInterrupted) as err:
            runner.run()
    assert err.value.point == 0
    assert "UnstableReading" in str(err.value)
    assert recorder.readings == []
    assert recorder.points == []
    assert [e for e in log.events if e[0] == "reading"] == []


def test_preflight_refuses_steps_on_a_role_with_no_instrument() -> None:
    balance = CoupledBalance()
    with nawi_bench(balance) as bench:
        bench.roles["uut"] = BenchRole("uut", "none", "")
        runner = nawi_runner(bench, LoadingOperator(balance, Log(), {}), Recorded(Log()))
        with pytest.raises(NotReady) as err:
            runner.preflight()
    assert "role uut: test repeatability steps zero it, but the bench has no instrument" in str(
        err.value
    )


def test_preflight_refuses_an_instrument_in_another_unit_than_the_procedure() -> None:
    balance = CoupledBalance()
    with nawi_bench(balance) as bench:
        instrument = {**INSTRUMENT, "max_capacity": 15, "e": 0.005, "d_T": 0.0005, "unit": "kg"}
        runner = nawi_runner(
            bench, LoadingOperator(balance, Log(), {}), Recorded(Log()), instrument=instrument
        )
        with pytest.raises(NotReady) as err:
            runner.preflight()
    assert "the instrument's unit is 'kg'; test repeatability is written for 'g'" in str(err.value)


def test_preflight_refuses_weights_without_a_value_at_a_test_load() -> None:
    record = weights_record()
    values = [v for v in record.certificates[0]["values"] if v["nominal"] != 2500.0]
    record = StandardRecord(record.standard, ({**record.certificates[0], "values": values},))
    balance = CoupledBalance()
    with nawi_bench(balance) as bench:
        runner = nawi_runner(
            bench,
            LoadingOperator(balance, Log(), {}),
            Recorded(Log()),
            standards={ASSET: record},
        )
        with pytest.raises(NotReady, match="gives no mass value at 2500"):
            runner.preflight()


# -- what the run refuses before the first point (issue 16) ---------------------------------


def _four_load_definition() -> ProcedureDefinition:
    """nawi-r76 as version 1.0.0 had it: Min, 500 e, 2 000 e and Max, up and down."""
    text = library()["nawi-r76"].read_text(encoding="utf-8")
    start = text.index("      - {nominal: 200 * e}\n")
    end = text.index("      - {nominal: max_capacity}\n")
    text = text[:start] + "      - {nominal: 500 * e}\n      - {nominal: 2000 * e}\n" + text[end:]
    start = text.index("      # decreasing, back to Min\n")
    end = text.index("    steps:", start)
    decreasing = (
        "      - {nominal: 2000 * e}\n      - {nominal: 500 * e}\n      - {nominal: 20 * e}\n"
    )
    text = text[:start] + decreasing + text[end:]
    return parse_definition(text, source="nawi-r76-four-loads.yaml")


def test_a_weighing_test_with_four_loads_is_refused_before_the_first_point() -> None:
    """R 76-1:2006 A.4.4.1: at least 10 different test loads for the initial intrinsic
    error; the verification's weighing test with 4 (the old nawi-r76) does not start."""
    definition = _four_load_definition()
    assert sorted({str(p.nominal_expression) for p in definition.test("weighing").points}) == [
        "20 * e",
        "2000 * e",
        "500 * e",
        "max_capacity",
    ]
    balance = CoupledBalance()
    log = Log()
    with nawi_bench(balance) as bench:
        operator = LoadingOperator(balance, log, ECCENTRIC_OK)
        runner = nawi_runner(bench, operator, Recorded(log), definition)
        with pytest.raises(NotReady) as caught:
            runner.preflight()
    message = str(caught.value)
    assert "tests[weighing].plan.loads" in message
    assert "4 different loads; OIML R 76-1:2006 A.4.4.1 asks for at least 10" in message
    assert operator.instructions == []


def test_the_shipped_weighing_plan_meets_a_4_4_1_and_is_recorded() -> None:
    balance = CoupledBalance()
    log = Log()
    with nawi_bench(balance) as bench:
        runner = nawi_runner(bench, LoadingOperator(balance, log, ECCENTRIC_OK), Recorded(log))
        runner.preflight()
    plan = runner.plans["weighing"]
    assert plan["rule"] == "OIML R 76-1:2006 A.4.4.1"
    assert (plan["different_loads"], plan["required"]) == (10, 10)
    assert [float(m) for m in plan["increasing"]] == WEIGHING_UP
    # R 76-1 A.4.4.3: read on the test-mode display, d_T = 0.5 g ≤ e/5 = 1 g.
    assert runner.rounding_error is not None
    assert runner.rounding_error["method"] == "fine_display"
    assert runner.rounding_error["interval"] == "0.5"


def test_an_instrument_read_only_to_e_is_refused_by_the_fine_display_method() -> None:
    """R 76-1:2006 A.4.4.3: a display interval of e does not eliminate the rounding error
    (it hides up to e/2); the procedure names the changepoint method instead."""
    balance = CoupledBalance()
    log = Log()
    with nawi_bench(balance) as bench:
        operator = LoadingOperator(balance, log, ECCENTRIC_OK)
        runner = nawi_runner(bench, operator, Recorded(log), instrument={**INSTRUMENT, "d_T": 5})
        with pytest.raises(NotReady) as caught:
            runner.preflight()
    assert "rounding_error.interval: a display interval of 5 is more than e/5 = 1" in str(
        caught.value
    )
    assert "use the changepoint method" in str(caught.value)
    assert operator.instructions == []
