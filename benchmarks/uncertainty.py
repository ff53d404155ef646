"""Benchmark of the uncertainty engine against its peers, in one run on one core.

    make bench            (or: .venv/bin/python benchmarks/uncertainty.py [--repeat N])

Measures, for GUM H.1 and a 10-input nonlinear model:

* GUM evaluation (law of propagation, budget, Welch-Satterthwaite, k):
  caltrace vs GTC (MSL's GUM Tree Calculator) vs suncal (Sandia);
* a Monte Carlo evaluation of 10^6 trials with its 95 % interval:
  caltrace vs suncal.

Every figure is the median of several runs in this process, pinned to one
CPU with one BLAS thread; the ratios are what the targets are stated in,
because the machines are shared and absolute times are noisy. Before timing,
each peer's result is checked against ours, so that the same computation is
compared.
"""

from __future__ import annotations

import os
import sys

# This file shares its name with the package it measures: run as a script, its
# own folder comes first on sys.path and would shadow the package.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

# One core, one thread: set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from uncertainty.gum import evaluate_gum  # noqa: E402
from uncertainty.model import Model, load_model, parse_model  # noqa: E402
from uncertainty.montecarlo import evaluate_mc, make_rng  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SQRT3, SQRT6 = math.sqrt(3.0), math.sqrt(6.0)
TRIALS = 1_000_000

# A nonlinear model of ten inputs with mixed distributions.
NONLINEAR: dict[str, Any] = {
    "name": "10-input nonlinear model",
    "outputs": {"y": "(x1*exp(x2/10) + sqrt(x3)*sin(x4))/(x5 + x6**2) + log(x7)*x8 - x9*cos(x10)"},
    "quantities": {
        "x1": {"value": 2.0, "u": 0.05},
        "x2": {"value": 1.0, "distribution": "rectangular", "half_width": 0.2},
        "x3": {"value": 4.0, "u": 0.1},
        "x4": {"value": 0.7, "distribution": "triangular", "half_width": 0.05},
        "x5": {"value": 3.0, "u": 0.02},
        "x6": {"value": 1.5, "distribution": "rectangular", "half_width": 0.1},
        "x7": {"value": 5.0, "u": 0.2},
        "x8": {"value": 0.8, "distribution": "rectangular", "half_width": 0.05},
        "x9": {"value": 1.2, "u": 0.03},
        "x10": {"value": 0.3, "distribution": "triangular", "half_width": 0.04},
    },
    "coverage_probability": 0.95,
}


def median_time(fn: Callable[[], object], repeat: int, number: int = 1) -> float:
    """Median over ``repeat`` runs of the time of one call (seconds)."""
    fn()  # warm up: imports, caches, first-call compilation
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


# ------------------------------------------------------------------ the peers


def _suncal_model(model: Model) -> Any:
    import suncal

    (output,) = model.outputs
    peer = suncal.Model(f"{output.name} = {output.expression}")
    for q in model.quantities:
        var = peer.var(q.name)
        var.measure(q.value)
        if q.distribution == "normal":
            var.typeb(dist="normal", std=q.u, df=q.dof)
        elif q.distribution == "rectangular":
            var.typeb(dist="uniform", a=q.half_width, df=q.dof)
        elif q.distribution == "triangular":
            var.typeb(dist="triangular", a=q.half_width, df=q.dof)
        else:
            raise ValueError(f"no suncal equivalent for {q.distribution}")
    return peer


def _gtc_h1() -> Callable[[], Any]:
    from GTC import ureal

    def run() -> Any:
        l_s = ureal(50.000623, 25e-6, 18)
        d = ureal(215e-6, 9.7e-6, 25.6)
        alpha_s = ureal(11.5e-6, 2e-6 / SQRT3)
        theta = ureal(-0.1, 0.41)
        delta_alpha = ureal(0.0, 1e-6 / SQRT3, 50)
        delta_theta = ureal(0.0, 0.05 / SQRT3, 2)
        result = l_s + d - l_s * (delta_alpha * theta + alpha_s * delta_theta)
        return result.u, result.df

    return run


def _gtc_nonlinear() -> Callable[[], Any]:
    from GTC import cos, exp, log, sin, sqrt, ureal

    def run() -> Any:
        q = NONLINEAR["quantities"]
        x = {}
        for name, spec in q.items():
            if "u" in spec:
                x[name] = ureal(spec["value"], spec["u"])
            elif spec["distribution"] == "rectangular":
                x[name] = ureal(spec["value"], spec["half_width"] / SQRT3)
            else:
                x[name] = ureal(spec["value"], spec["half_width"] / SQRT6)
        y = (
            (x["x1"] * exp(x["x2"] / 10) + sqrt(x["x3"]) * sin(x["x4"])) / (x["x5"] + x["x6"] ** 2)
            + log(x["x7"]) * x["x8"]
            - x["x9"] * cos(x["x10"])
        )
        return y.u, y.df

    return run


# ------------------------------------------------------------------ benchmark


def bench_model(name: str, model: Model, gtc: Callable[[], Any], repeat: int) -> dict[str, Any]:
    import suncal  # noqa: F401  (imported before timing)

    (output,) = model.outputs
    ours_gum = evaluate_gum(model)[output.name]
    gtc_u, _ = gtc()
    assert math.isclose(gtc_u, ours_gum.u, rel_tol=1e-6), (gtc_u, ours_gum.u)

    peer = _suncal_model(model)
    peer_gum = peer.calculate_gum()
    peer_u = float(np.asarray(peer_gum.uncertainty[output.name]))
    assert math.isclose(peer_u, ours_gum.u, rel_tol=1e-6), (peer_u, ours_gum.u)

    t_gum = median_time(lambda: evaluate_gum(model), repeat, number=200)
    t_gtc = median_time(gtc, repeat, number=200)
    t_suncal_gum = median_time(peer.calculate_gum, max(3, repeat // 2), number=5)

    rng = make_rng(20260101)
    ours_mc = evaluate_mc(model, rng=rng, trials=TRIALS)[output.name]
    peer_mc = peer.monte_carlo(samples=TRIALS)
    peer_mc_u = float(np.asarray(peer_mc.uncertainty[output.name]))
    assert math.isclose(peer_mc_u, ours_mc.u, rel_tol=0.01), (peer_mc_u, ours_mc.u)

    t_mc = median_time(lambda: evaluate_mc(model, rng=rng, trials=TRIALS), repeat)
    t_suncal_mc = median_time(lambda: peer.monte_carlo(samples=TRIALS), repeat)
    return {
        "model": name,
        "gum_ms": {"caltrace": t_gum * 1e3, "gtc": t_gtc * 1e3, "suncal": t_suncal_gum * 1e3},
        "mc_1e6_s": {"caltrace": t_mc, "suncal": t_suncal_mc},
        "mc_speedup_vs_suncal": t_suncal_mc / t_mc,
        "gum_ratio_vs_gtc": t_gum / t_gtc,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    try:
        import GTC  # noqa: F401
        import suncal  # noqa: F401
    except ImportError:
        print("the peers are in the bench extra: run `make bench`", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    warnings.simplefilter("ignore")  # peers' deprecation chatter is not our figure

    h1 = load_model(ROOT / "examples" / "models" / "gum-h1-end-gauge.json")
    results = [
        bench_model("GUM H.1 end gauge", h1, _gtc_h1(), args.repeat),
        bench_model("10-input nonlinear", parse_model(NONLINEAR), _gtc_nonlinear(), args.repeat),
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"uncertainty engine, one core, median of {args.repeat} runs\n")
    header = (
        f"{'model':<22} {'GUM caltrace':>13} {'GUM GTC':>9} {'GUM suncal':>11} "
        f"{'MC 1e6 caltrace':>16} {'MC 1e6 suncal':>14} {'MC speed-up':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        g, m = r["gum_ms"], r["mc_1e6_s"]
        print(
            f"{r['model']:<22} {g['caltrace']:>10.3f} ms {g['gtc']:>6.3f} ms "
            f"{g['suncal']:>8.1f} ms {m['caltrace']:>14.3f} s {m['suncal']:>12.3f} s "
            f"{r['mc_speedup_vs_suncal']:>11.1f}x"
        )
    print("\ntargets: GUM < 1 ms; Monte Carlo 10^6 trials < 0.25 s and >= 2x faster than suncal")
    ok = all(
        r["gum_ms"]["caltrace"] < 1.0
        and r["mc_1e6_s"]["caltrace"] < 0.25
        and r["mc_speedup_vs_suncal"] >= 2.0
        for r in results
    )
    print("all targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
