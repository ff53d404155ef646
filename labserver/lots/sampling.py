"""Single sampling by attributes for a lot of installed meters: the operating characteristic
of a plan (n, c) and the reproducible draw of the sample.

Nothing here chooses a plan: the sample size ``n`` and the acceptance number ``c`` are the
organization's configuration (from its stated quality levels or a table it adopts), recorded
on the lot. This module only computes what follows from them, in plain Python (no Django).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from math import comb

# The fractions nonconforming (p) at which the operating characteristic is tabulated and
# drawn: fine steps where plans for meters usually discriminate, coarser beyond.
OC_FRACTIONS: tuple[Fraction, ...] = tuple(
    Fraction(per_mille, 1000) for per_mille in (0, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500)
)

# Below this ratio of sample to lot the binomial model is used; at or above it, the
# hypergeometric (see :func:`oc_model`).
FINITE_LOT_RATIO = Fraction(1, 10)

# The name recorded with every draw, so that a future change of algorithm cannot be
# mistaken for this one.
DRAW_ALGORITHM = "caltrace-fisher-yates-1"


def binomial_acceptance(n: int, c: int, p: Fraction | float) -> float:
    """P_a(p) = Σ_{k=0..c} C(n,k) p^k (1−p)^(n−k): the probability that a sample of ``n``
    drawn from a lot whose fraction nonconforming is ``p`` (0..1) holds at most ``c``
    nonconforming items, each draw independent (an infinite lot, or with replacement)."""
    _check_plan(n, c)
    q = Fraction(p)
    if not 0 <= q <= 1:
        raise ValueError(f"p = {p} is not a fraction between 0 and 1")
    total = sum(comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(min(c, n) + 1))
    return float(total)


def hypergeometric_acceptance(lot_size: int, nonconforming: int, n: int, c: int) -> float:
    """P_a = Σ_{k=0..c} C(D,k) C(N−D,n−k) / C(N,n): the probability that a sample of ``n``
    drawn without replacement from a lot of ``lot_size`` (N) items of which
    ``nonconforming`` (D) are nonconforming holds at most ``c`` of them (exact for a lot)."""
    _check_plan(n, c)
    if not 0 <= nonconforming <= lot_size or n > lot_size:
        raise ValueError(
            f"a lot of {lot_size} with {nonconforming} nonconforming cannot give a sample of {n}"
        )
    favourable = sum(
        comb(nonconforming, k) * comb(lot_size - nonconforming, n - k)
        for k in range(min(c, n, nonconforming) + 1)
    )
    return float(Fraction(favourable, comb(lot_size, n)))


def _check_plan(n: int, c: int) -> None:
    if n < 1 or c < 0 or c >= n:
        raise ValueError(f"a plan needs n ≥ 1 and 0 ≤ c < n (n = {n}, c = {c})")


def oc_model(lot_size: int, n: int) -> str:
    """``"binomial"`` or ``"hypergeometric"``: the sample is drawn without replacement, so
    the hypergeometric law is exact; the binomial is its usual approximation, close while the
    sample is a small part of the lot. Below one tenth of the lot the binomial is used (the
    curve is then the lot-independent one the plan is usually published with); from one tenth
    on, the hypergeometric, because the binomial would then understate how well a small lot
    is judged."""
    return "hypergeometric" if Fraction(n, lot_size) >= FINITE_LOT_RATIO else "binomial"


@dataclass(frozen=True)
class OCPoint:
    """One point of the operating characteristic: the fraction nonconforming ``p`` (0..1),
    the number of nonconforming meters it means in the lot (hypergeometric only) and the
    probability of accepting the lot."""

    p: Fraction
    nonconforming: int | None
    acceptance: float


def operating_characteristic(lot_size: int, n: int, c: int) -> tuple[str, list[OCPoint]]:
    """The plan's operating characteristic for this lot at :data:`OC_FRACTIONS`, with the
    model used (:func:`oc_model`). In the hypergeometric model, p is taken as D/N with D the
    nearest whole number of meters, and the point states D."""
    model = oc_model(lot_size, n)
    points = []
    for p in OC_FRACTIONS:
        if model == "binomial":
            points.append(OCPoint(p, None, binomial_acceptance(n, c, p)))
            continue
        d = round(p * lot_size)
        if points and points[-1].nonconforming == d:
            continue  # the same D as the point before: one row, not two
        points.append(
            OCPoint(Fraction(d, lot_size), d, hypergeometric_acceptance(lot_size, d, n, c))
        )
    return model, points


def draw_sample(serials: list[str], n: int, seed: int) -> list[str]:
    """The sample of ``n`` serials, in the order drawn, reproducible from ``seed``.

    The algorithm (:data:`DRAW_ALGORITHM`), for an auditor to redraw it: sort the lot's
    serials as Python sorts text (by code point); make ``rng = random.Random(seed)`` (the
    Mersenne Twister, seeded from the integer, which Python keeps stable across versions
    together with ``rng.random()``); then for i = 0 … n−1: j = i + int(rng.random() × (N − i)),
    swap the serials at i and j; the sample is the first n serials. Only ``random()`` is
    used, because Python does not promise ``Random.sample`` the same results across versions.
    """
    if n < 1 or n > len(serials):
        raise ValueError(f"a sample of {n} cannot be drawn from a lot of {len(serials)}")
    if len(set(serials)) != len(serials):
        raise ValueError("the lot's serials are not unique")
    pool = sorted(serials)
    rng = random.Random(seed)
    for i in range(n):
        j = i + int(rng.random() * (len(pool) - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:n]


def lot_decision(failures: int, c: int) -> bool:
    """True (accept) when the sample holds at most ``c`` nonconforming meters."""
    return failures <= c
