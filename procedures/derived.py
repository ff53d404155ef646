"""Results derived from a run's finished points: test-level checks and fitted curves.

The runner computes them on the bench once a test's points are done, and the LIMS
computes them again from the stored points when the run arrives, with these same
functions: nothing here drives an instrument, so the LIMS imports it without the
drivers.

* :func:`checks_of_test` — a test's ``checks:`` (repeatability, eccentricity, hysteresis)
  over its points, through :func:`procedures.acceptance.checks_for`;
* :func:`curve_payload` — a test's ``curve:`` fitted through its points' results, at the
  x values :func:`curve_xs` gives;
* :func:`run_checks` and :func:`run_curves` — the same over every test of a definition,
  in the definition's order, with the summaries of earlier tests in scope as at the bench.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from procedures.acceptance import checks_for
from procedures.definition import CURVE_FITS, ProcedureDefinition, TestSpec
from procedures.evaluate import number
from procedures.scope import point_scope, summarize_test

__all__ = [
    "checks_of_test",
    "curve_payload",
    "curve_xs",
    "points_covariance",
    "run_checks",
    "run_curves",
    "shared_terms",
]


def checks_of_test(
    test: TestSpec, scope: Mapping[str, Any], points: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The results of ``test``'s ``checks:`` over its finished ``points`` (run payload
    points, in run order).

    ``scope`` holds the instrument's parameters, the procedure's constants and the
    summaries of the tests done so far (this one included); the test's last point's
    parameters, ``readings`` and the nominal of the last point taken are added. Each
    result is a :func:`~procedures.acceptance.checks_for` entry (numbers as decimal
    strings, in the unit it names). Raises :class:`~procedures.errors.ProcedureError`
    when a check cannot be evaluated (an argument outside its rule).
    """
    if not test.checks or not points:
        return []
    last = test.points[-1]
    names = {**scope, **last.params, "readings": test.readings}
    names["nominal"] = points[-1]["nominal"]
    out: list[dict[str, Any]] = []
    for i, spec in enumerate(test.checks):
        out.extend(checks_for(spec, names, points, where=f"tests[{test.id}].checks[{i}]"))
    return out


def curve_xs(
    test: TestSpec, base: Mapping[str, Any], points: Sequence[Mapping[str, Any]]
) -> list[float]:
    """The x of each point for ``test``'s ``curve:``: the point's nominal (its unit), or
    the point parameter the curve names, evaluated over ``base`` (the instrument's
    parameters and the procedure's constants)."""
    spec = test.curve
    if spec is None:
        raise ValueError(f"test {test.id} has no curve")
    by_index = {p.index: p for p in test.points}
    xs: list[float] = []
    for point in points:
        if spec["x"] == "nominal":
            xs.append(float(point["nominal"]))
        else:
            params = point_scope(base, {}, test, by_index[int(point["index"])], where="curve")
            xs.append(number(params[str(spec["x"])], params, where=f"curve.x {spec['x']}"))
    return xs


def curve_payload(
    test: TestSpec, points: Sequence[Mapping[str, Any]], xs: Sequence[float]
) -> dict[str, Any]:
    """The curve of ``test`` (its ``curve:``) fitted through ``points`` at ``xs``.

    ``y`` is each point's result value, ``u_y`` its standard uncertainty (the weights of a
    ``weights: u`` fit). When the points share terms (:func:`shared_terms`) a ``weights: u``
    fit is generalized: the points' covariance matrix (:func:`points_covariance`) replaces
    the weights, the parameters' covariance is ``(AᵀV⁻¹A)⁻¹`` (ISO/TS 28037:2010 clause 7)
    and ``generalized`` is true; ``shared`` names the terms, ``covariance_y`` holds the
    matrix. Returned as plain data: ``coefficients`` ``c[j]`` of
    ``(x - x0)**j`` (unit of y per unit of x to the j), their ``covariance``,
    ``correlation`` and standard uncertainties ``u_coefficients``, the ``residuals``
    ``y - f(x)`` (unit of y), ``residual_sd``, ``dof``, ``chi_square`` (weighted fits), and
    the curve's ``values`` at each x with their standard uncertainty. Raises
    :class:`~uncertainty.errors.UncertaintyError` when the fit is refused.
    """
    from uncertainty.curves import fit_polynomial

    spec = test.curve
    if spec is None:
        raise ValueError(f"test {test.id} has no curve")
    xs = [float(x) for x in xs]
    ys = [float(p["result"]["value"]) for p in points]
    u_y = [float(p["result"]["u"]) for p in points]
    weighted = spec.get("weights", "u") == "u"
    x0 = float(spec.get("x0", 0.0))
    shared = shared_terms(test, points) if weighted else []
    covariance_y = points_covariance(points, shared) if shared else None
    curve = fit_polynomial(
        xs,
        ys,
        CURVE_FITS[str(spec["fit"])],
        x0=x0,
        u_y=u_y if weighted and covariance_y is None else None,
        covariance_y=covariance_y,
    )
    return {
        "test": test.id,
        "fit": spec["fit"],
        "degree": curve.degree,
        "x": spec["x"],
        "y": spec["y"],
        "x0": curve.x0,
        "weighted": curve.weighted,
        "generalized": curve.generalized,
        "shared": shared,
        "covariance_y": (
            [[float(v) for v in row] for row in covariance_y] if covariance_y is not None else None
        ),
        "x_unit": points[0]["unit"] if spec["x"] == "nominal" else "",
        "points": [
            {"index": p["index"], "x": x, "y": y, "u_y": u, "residual": float(r)}
            for p, x, y, u, r in zip(points, xs, ys, u_y, curve.residuals, strict=True)
        ],
        "coefficients": [float(c) for c in curve.coefficients],
        "u_coefficients": [math.sqrt(float(v)) for v in curve.covariance.diagonal()],
        "covariance": [[float(v) for v in row] for row in curve.covariance],
        "correlation": [[float(v) for v in row] for row in curve.correlation],
        "residuals": [float(r) for r in curve.residuals],
        "residual_sd": curve.residual_sd,
        "dof": curve.dof,
        "chi_square": curve.chi_square,
        "values": [{"x": x, "value": curve.value_at(x), "u": curve.u_value_at(x)} for x in xs],
    }


def shared_terms(test: TestSpec, points: Sequence[Mapping[str, Any]]) -> list[str]:
    """The quantities of ``test``'s model whose error is common to all its ``points``: each
    one bound from a certificate (``certificate:``) that took the very same entry (value,
    U, k) at every point — one certified value, one error — and each the curve's
    ``shared:`` lists (a reference's drift, say). In the model's order.

    Entries of a certificate at different nominals are left independent: a certificate
    states no correlation between its points, and assuming one would be a guess.
    """
    spec = test.curve or {}
    listed = set(spec.get("shared", []))
    out: list[str] = []
    for name, binding in test.model["quantities"].items():
        if name in listed:
            out.append(name)
        elif "certificate" in binding and len(points) > 1:
            bound = [p["model"]["quantities"].get(name) for p in points]
            first = bound[0]
            if first is not None and all(
                b is not None and all(b.get(k) == first.get(k) for k in ("value", "U", "k"))
                for b in bound
            ):
                out.append(name)
    return out


def points_covariance(
    points: Sequence[Mapping[str, Any]], shared: Sequence[str]
) -> list[list[float]]:
    """The covariance matrix of the points' results, from their uncertainty budgets.

    The diagonal is each point's ``u²`` as its result states it. A term in ``shared`` is
    one error seen by every point through that point's sensitivity, so it adds
    ``c_i u · c_k u`` to the covariance of points i and k (JCGM 100 F.1.2.3: two outputs
    depending on a common input); every other term is independent between points. The
    budgets are the points' own models evaluated again (JCGM 100 5.1.3).
    """
    from uncertainty.gum import evaluate_gum
    from uncertainty.model import parse_model

    n = len(points)
    loads: list[dict[str, float]] = []
    for p in points:
        output = evaluate_gum(parse_model(p["model"]))[str(p["output"])]
        loads.append(
            {
                line.quantity: line.sensitivity * line.u
                for line in output.budget
                if line.quantity in shared
            }
        )
    matrix = [[0.0] * n for _ in range(n)]
    for i in range(n):
        matrix[i][i] = float(points[i]["result"]["u"]) ** 2
        for k in range(i + 1, n):
            value = sum(loads[i].get(q, 0.0) * loads[k].get(q, 0.0) for q in shared)
            matrix[i][k] = matrix[k][i] = value
    return matrix


def _by_test(
    definition: ProcedureDefinition, points: Sequence[Mapping[str, Any]]
) -> list[tuple[TestSpec, list[Mapping[str, Any]]]]:
    return [(test, [p for p in points if p["test"] == test.id]) for test in definition.tests]


def run_checks(
    definition: ProcedureDefinition, base: Mapping[str, Any], points: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every test-level check of a run, in the definition's test order, as the runner
    gives them (:attr:`procedures.runner.Runner.checks`): ``base`` is the instrument's
    parameters and the procedure's constants, ``points`` the run's points in run order.
    A test's summaries (``sd_<test>``...) are in scope for its own and later checks."""
    summaries: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    for test, done in _by_test(definition, points):
        summaries.update(summarize_test(test, done))
        out.extend(checks_of_test(test, {**base, **summaries}, done))
    return out


def run_curves(
    definition: ProcedureDefinition, base: Mapping[str, Any], points: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Every curve of a run, by test id (tests with ``curve:`` and points), as the runner
    gives them (:attr:`procedures.runner.Runner.curves`)."""
    out: dict[str, dict[str, Any]] = {}
    for test, done in _by_test(definition, points):
        if test.curve is not None and done:
            out[test.id] = curve_payload(test, done, curve_xs(test, base, done))
    return out
