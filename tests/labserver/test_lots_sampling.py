"""The sampling arithmetic of an in-service lot, against hand computation: the operating
characteristic of a single sampling plan (binomial and hypergeometric), the reproducible draw
and the decision rule. Plain Python: no database."""

from __future__ import annotations

from fractions import Fraction

import pytest

from labserver.lots import sampling


def test_binomial_acceptance_with_c_0_is_the_chance_of_no_failure() -> None:
    # n = 5, c = 0, p = 10 %: P_a = (1 − 0.1)^5 = 0.9^5 = 0.59049
    assert sampling.binomial_acceptance(5, 0, Fraction(1, 10)) == pytest.approx(0.59049, abs=1e-12)


def test_binomial_acceptance_with_c_1_adds_the_one_failure_term() -> None:
    # n = 5, c = 1, p = 10 %: 0.9^5 + C(5,1)·0.1·0.9^4 = 0.59049 + 5 × 0.1 × 0.6561
    #                       = 0.59049 + 0.32805 = 0.91854
    assert sampling.binomial_acceptance(5, 1, 0.1) == pytest.approx(0.91854, abs=1e-12)


def test_binomial_acceptance_of_a_larger_plan() -> None:
    # n = 20, c = 1, p = 5 %: 0.95^20 + 20 × 0.05 × 0.95^19
    #                      = 0.3584859224 + 0.3773536025 = 0.7358395249
    expected = 0.95**20 + 20 * 0.05 * 0.95**19
    assert expected == pytest.approx(0.7358395249, abs=1e-10)
    assert sampling.binomial_acceptance(20, 1, Fraction(5, 100)) == pytest.approx(expected)


def test_binomial_acceptance_at_the_ends() -> None:
    # no nonconforming meter: always accepted; all nonconforming: never (c < n)
    assert sampling.binomial_acceptance(8, 2, 0) == 1.0
    assert sampling.binomial_acceptance(8, 2, 1) == 0.0


def test_hypergeometric_acceptance_of_a_small_lot() -> None:
    # N = 10 meters, D = 2 nonconforming, n = 3:
    # c = 0: C(8,3)/C(10,3) = 56/120 = 0.4666…
    # c = 1: (C(8,3) + C(2,1)·C(8,2))/C(10,3) = (56 + 2 × 28)/120 = 112/120 = 0.9333…
    assert sampling.hypergeometric_acceptance(10, 2, 3, 0) == pytest.approx(56 / 120)
    assert sampling.hypergeometric_acceptance(10, 2, 3, 1) == pytest.approx(112 / 120)


def test_the_model_is_binomial_below_a_tenth_of_the_lot_and_hypergeometric_from_it() -> None:
    assert sampling.oc_model(1000, 99) == "binomial"
    assert sampling.oc_model(1000, 100) == "hypergeometric"


def test_the_oc_of_a_small_lot_states_the_number_of_nonconforming_meters() -> None:
    model, points = sampling.operating_characteristic(10, 3, 0)
    assert model == "hypergeometric"
    # p = 20 % of 10 meters is D = 2: 56/120 as above
    two = next(point for point in points if point.nonconforming == 2)
    assert two.p == Fraction(2, 10)
    assert two.acceptance == pytest.approx(56 / 120)
    # the fractions that round to the same D give one row
    assert len({point.nonconforming for point in points}) == len(points)


def test_the_oc_of_a_large_lot_is_binomial_and_falls_as_p_rises() -> None:
    model, points = sampling.operating_characteristic(2000, 32, 1)
    assert model == "binomial"
    assert points[0].p == 0
    assert points[0].acceptance == 1.0
    values = [point.acceptance for point in points]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize(("n", "c"), [(0, 0), (5, 5), (5, -1)])
def test_a_plan_without_meaning_is_refused(n: int, c: int) -> None:
    with pytest.raises(ValueError, match="plan needs"):
        sampling.binomial_acceptance(n, c, 0.1)


SERIALS = [f"EM-{i:03d}" for i in range(1, 21)]


def test_the_sample_is_the_documented_one_for_its_seed() -> None:
    # Drawn once with seed 20261206 and written down: the same seed must give the same
    # sample on any Python (the algorithm uses Random(seed).random() only).
    assert sampling.draw_sample(SERIALS, 5, 20261206) == [
        "EM-012",
        "EM-003",
        "EM-016",
        "EM-015",
        "EM-010",
    ]


def test_the_sample_does_not_depend_on_the_order_the_serials_came_in() -> None:
    assert sampling.draw_sample(list(reversed(SERIALS)), 5, 7) == sampling.draw_sample(
        SERIALS, 5, 7
    )


def test_the_sample_follows_the_documented_steps() -> None:
    # the docstring's steps, done by hand for n = 2 from a lot of 4
    import random

    rng = random.Random(42)
    pool = ["A", "B", "C", "D"]
    j = 0 + int(rng.random() * 4)
    pool[0], pool[j] = pool[j], pool[0]
    j = 1 + int(rng.random() * 3)
    pool[1], pool[j] = pool[j], pool[1]
    assert sampling.draw_sample(["D", "C", "B", "A"], 2, 42) == pool[:2]


def test_a_sample_larger_than_the_lot_or_a_lot_with_twin_serials_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be drawn"):
        sampling.draw_sample(["A", "B"], 3, 1)
    with pytest.raises(ValueError, match="not unique"):
        sampling.draw_sample(["A", "A", "B"], 2, 1)


def test_the_lot_is_accepted_with_at_most_c_failures() -> None:
    assert sampling.lot_decision(0, 1)
    assert sampling.lot_decision(1, 1)
    assert not sampling.lot_decision(2, 1)
