"""The figure of the metrologists' thermometry page: the uncertainty of the correction line
of procedure thermometer-bath fitted as if its points were independent (weighted least
squares, the diagonal of their covariance) and as they are, sharing the reference PRT's
and the DMM's certificate terms and the PRT's drift (generalized least squares, ISO/TS
28037:2010 clause 7).

    .venv/bin/python -m scripts.curve_figure [-o docs/metrologists/img/curve-covariance.svg]

The calibration is run on the simulated bench of the procedure's tests (a simulated
Eurotherm bath on Modbus TCP, a simulated 34465A reading the PRT, a typed UUT); the table
printed is the one on the page.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from tests.support.bath import open_bench, runner
from uncertainty.curves import fit_line

DEFAULT_OUTPUT = Path("docs/metrologists/img/curve-covariance.svg")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    with open_bench() as world:
        run = runner(world)
        points = run.run()
        gls = run.curves["comparison"].to_json()
    x = np.asarray([p.nominal for p in points])
    y = np.asarray([p.result.value for p in points])
    u = np.asarray([p.result.u for p in points])
    independent = fit_line(x, y, u_y=u)
    covariance = np.asarray(gls["covariance"])

    def u_gls(at: float) -> float:
        g = np.array([1.0, at])
        return math.sqrt(float(g @ covariance @ g))

    print("| quantity | points independent (WLS) | shared terms (GLS) | ratio |")
    print("| --- | --- | --- | --- |")
    rows = [
        ("u(c0), mK", independent.u_value_at(0.0) * 1e3, gls["u_coefficients"][0] * 1e3),
        (
            "u(c1), mK/°C",
            math.sqrt(independent.covariance[1, 1]) * 1e3,
            gls["u_coefficients"][1] * 1e3,
        ),
    ]
    for at in (-40.0, 20.0, 80.0):
        rows.append((f"u(C) at {at:g} °C, mK", independent.u_value_at(at) * 1e3, u_gls(at) * 1e3))
    for name, before, after in rows:
        print(f"| {name} | {before:.3g} | {after:.3g} | {after / before:.2f} |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-40.0, 80.0, 121)
    figure, axes = plt.subplots(figsize=(7.0, 3.6))
    axes.plot(
        grid, [independent.u_value_at(t) * 1e3 for t in grid], "--", label="independent (WLS)"
    )
    axes.plot(grid, [u_gls(t) * 1e3 for t in grid], "-", label="shared terms (GLS)")
    axes.plot(x, u * 1e3, "o", label="u of each point")
    axes.set_xlabel("t / °C")
    axes.set_ylabel("standard uncertainty / mK")
    axes.set_title("thermometer-bath: uncertainty of the correction line C(t)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # A fixed hash salt and no date keep the SVG the same from one run to the next.
    plt.rcParams["svg.hashsalt"] = "caltrace"
    figure.savefig(args.output, format="svg", metadata={"Date": None})
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
