"""The GUM method: law of propagation of uncertainty (JCGM 100:2008).

* Sensitivity coefficients are exact partial derivatives of the measurement
  function at the estimates (5.1.3), computed symbolically.
* Correlated inputs enter through their covariances (5.2.2); several outputs
  get their covariance and correlation matrices (JCGM 102 6.2.1.3, H.2).
* ``second_order=True`` adds the higher-order terms of 5.1.2 note for
  uncorrelated inputs (as in H.1.7).
* Effective degrees of freedom by Welch-Satterthwaite (G.4.1); with correlated
  inputs, Willink's generalisation (Metrologia 44 (2007) 340-349): inputs that
  are correlated with each other form a group that must share one number of
  degrees of freedom, and the group's variance contribution counts as one
  term. Where groups do not share their degrees of freedom the formula is not
  defined and the degrees of freedom are reported infinite, with
  ``dof_method = "not-defined"``.
* ``k`` is the Student-t quantile at the coverage probability for the
  effective degrees of freedom truncated to the next lower integer (G.6.4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.special import ndtri, stdtrit

from .errors import EvaluationError, ModelError
from .model import Model

DofMethod = Literal["welch-satterthwaite", "willink", "not-defined"]


@dataclass(frozen=True)
class BudgetLine:
    """One line of an uncertainty budget: an input's part in one output.

    ``contribution`` is ``|c_i| u(x_i)`` (JCGM 100 5.1.3), in the output's unit.
    """

    quantity: str
    value: float
    u: float
    unit: str | None
    distribution: str
    dof: float
    sensitivity: float
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "value": self.value,
            "u": self.u,
            "unit": self.unit,
            "distribution": self.distribution,
            "sensitivity": self.sensitivity,
            "contribution": self.contribution,
            "dof": json_number(self.dof),
        }


@dataclass(frozen=True)
class GumOutput:
    """The GUM result for one output quantity."""

    name: str
    unit: str | None
    value: float
    u: float
    dof: float
    dof_method: DofMethod
    k: float
    coverage_probability: float
    budget: tuple[BudgetLine, ...]
    second_order_variance: float | None = None

    @property
    def U(self) -> float:
        """Expanded uncertainty ``k u``."""
        return self.k * self.u

    @property
    def interval(self) -> tuple[float, float]:
        """The coverage interval ``value -/+ U``."""
        return (self.value - self.U, self.value + self.U)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "u": self.u,
            "dof": json_number(self.dof),
            "dof_method": self.dof_method,
            "k": self.k,
            "U": self.U,
            "coverage_probability": self.coverage_probability,
            "interval": list(self.interval),
            "unit": self.unit,
            "budget": [line.to_dict() for line in self.budget],
        }
        if self.second_order_variance is not None:
            out["second_order_variance"] = self.second_order_variance
        return out


@dataclass(frozen=True)
class GumResult:
    """GUM results for all outputs of a model, with their covariance."""

    outputs: tuple[GumOutput, ...]
    covariance: np.ndarray[Any, np.dtype[np.float64]] = field(repr=False, compare=False)
    second_order: bool = False

    def __getitem__(self, name: str) -> GumOutput:
        for output in self.outputs:
            if output.name == name:
                return output
        raise KeyError(name)

    @property
    def correlation(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Correlation matrix of the outputs (0 where an output has u = 0)."""
        return correlation_from_covariance(self.covariance)

    def to_dict(self) -> dict[str, Any]:
        names = [o.name for o in self.outputs]
        return {
            "method": "gum",
            "second_order": self.second_order,
            "outputs": {o.name: o.to_dict() for o in self.outputs},
            "correlation": matrix_dict(names, self.correlation),
            "covariance": matrix_dict(names, self.covariance),
        }


def evaluate_gum(model: Model, *, second_order: bool = False) -> GumResult:
    """Evaluate ``model`` by the law of propagation of uncertainty.

    Values and uncertainties are in the units of the model file; the budget's
    contributions are in each output's unit.
    """
    quantities = model.quantities
    n, m = len(quantities), len(model.outputs)
    if second_order and model.is_correlated:
        raise ModelError(
            "second-order terms (JCGM 100 5.1.2 note) are defined for uncorrelated inputs only",
            where="correlations",
        )
    x = [np.float64(q.value) for q in quantities]
    u = model.uncertainties
    jacobian = np.zeros((m, n))
    values = np.empty(m)
    with np.errstate(all="ignore"):
        for row, output in enumerate(model.outputs):
            values[row] = output.function(x)
            for i, gradient in output.gradient:
                jacobian[row, i] = gradient(x)
    _check_sensitivities(model, jacobian)

    scaled = jacobian * u  # c_i u(x_i)
    covariance = scaled @ model.correlation @ scaled.T if model.is_correlated else scaled @ scaled.T
    second: list[dict[tuple[int, int], float]] = [{} for _ in range(m)]
    if second_order:
        for row, output in enumerate(model.outputs):
            second[row] = _second_order_terms(model, output.higher_derivatives, x, jacobian[row])
            covariance[row, row] += math.fsum(second[row].values())

    p = model.coverage_probability
    outputs = []
    for row, output in enumerate(model.outputs):
        uy = math.sqrt(max(float(covariance[row, row]), 0.0))
        dof, method = _effective_dof(model, scaled[row], uy, second[row])
        budget = tuple(
            BudgetLine(
                quantity=q.name,
                value=q.value,
                u=q.u,
                unit=q.unit,
                distribution=q.form,
                dof=q.dof,
                sensitivity=float(jacobian[row, i]),
                contribution=abs(float(scaled[row, i])),
            )
            for i, q in enumerate(quantities)
        )
        outputs.append(
            GumOutput(
                name=output.name,
                unit=output.unit,
                value=float(values[row]),
                u=uy,
                dof=dof,
                dof_method=method,
                k=coverage_factor(dof, p, where=f"outputs.{output.name}"),
                coverage_probability=p,
                budget=budget,
                second_order_variance=math.fsum(second[row].values()) if second_order else None,
            )
        )
    return GumResult(outputs=tuple(outputs), covariance=covariance, second_order=second_order)


def coverage_factor(dof: float, p: float, *, where: str | None = None) -> float:
    """Coverage factor for coverage probability ``p`` (JCGM 100 G.3.2, G.6.4).

    The two-sided Student-t quantile for ``dof`` truncated to the next lower
    integer; the normal quantile for infinite ``dof``.
    """
    if math.isinf(dof):
        return float(ndtri(0.5 + p / 2.0))
    # Welch-Satterthwaite reproduces an integer dof only up to rounding in the
    # last bits (H.2 gives 3.9999999999999996 for 4): do not truncate that to 3.
    whole = math.floor(dof * (1.0 + 1e-12))
    if whole < 1:
        raise EvaluationError(
            f"the effective degrees of freedom ({dof:.3g}) are below 1: "
            "no coverage factor can be given",
            where=where,
        )
    return float(stdtrit(whole, 0.5 + p / 2.0))


def _check_sensitivities(model: Model, jacobian: np.ndarray[Any, np.dtype[np.float64]]) -> None:
    bad = np.argwhere(~np.isfinite(jacobian))
    if bad.size:
        row, col = bad[0]
        output, quantity = model.outputs[row], model.quantities[col]
        raise EvaluationError(
            f"the sensitivity to {quantity.name} is not finite at the estimates "
            "(the function is not differentiable there; use the Monte Carlo method)",
            where=f"outputs.{output.name}",
        )


def _second_order_terms(
    model: Model,
    derivatives: Sequence[tuple[int, int, Any, Any]],
    x: Sequence[np.float64],
    gradient: np.ndarray[Any, np.dtype[np.float64]],
) -> dict[tuple[int, int], float]:
    """The terms of JCGM 100 5.1.2 note, eq. (10), per pair of inputs (i, j).

    ``[1/2 (d2f/dxi dxj)^2 + df/dxi d3f/dxi dxj2] u2(xi) u2(xj)``.
    """
    u = model.uncertainties
    terms: dict[tuple[int, int], float] = {}
    with np.errstate(all="ignore"):
        for i, j, second, third in derivatives:
            term = (0.5 * float(second(x)) ** 2 + gradient[i] * float(third(x))) * (
                u[i] ** 2 * u[j] ** 2
            )
            if not math.isfinite(term):
                raise EvaluationError(
                    f"a second-order term in {model.names[i]} and {model.names[j]} "
                    "is not finite at the estimates"
                )
            if term != 0.0:
                terms[(i, j)] = float(term)
    return terms


def _effective_dof(
    model: Model,
    scaled: np.ndarray[Any, np.dtype[np.float64]],
    uy: float,
    second: dict[tuple[int, int], float],
) -> tuple[float, DofMethod]:
    """Welch-Satterthwaite, or Willink's extension for correlated inputs."""
    quantities = model.quantities
    if uy == 0.0:
        return math.inf, "welch-satterthwaite"
    contributing = [i for i in range(len(quantities)) if scaled[i] != 0.0]
    groups = model.correlated_groups(contributing)
    method: DofMethod = "welch-satterthwaite"
    denominator = 0.0
    for group in groups:
        dofs = {quantities[i].dof for i in group}
        if len(group) > 1:
            method = "willink"
            if len(dofs) > 1:
                return math.inf, "not-defined"
        (dof,) = dofs
        if math.isinf(dof):
            continue
        variance = sum(
            scaled[i] * scaled[j] * model.correlation[i, j] for i in group for j in group
        )
        denominator += variance**2 / dof
    # Second-order terms are counted with the smaller of the two inputs' dof,
    # the conservative choice: the GUM gives no rule for them.
    for (i, j), term in second.items():
        dof = min(quantities[i].dof, quantities[j].dof)
        if not math.isinf(dof):
            denominator += term**2 / dof
    if denominator == 0.0:
        return math.inf, method
    return uy**4 / denominator, method


# ------------------------------------------------------------------------ helpers


def correlation_from_covariance(
    covariance: np.ndarray[Any, np.dtype[np.float64]],
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Correlation matrix from a covariance matrix (0 where a variance is 0)."""
    sd = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    with np.errstate(all="ignore"):
        r = covariance / np.outer(sd, sd)
    r[~np.isfinite(r)] = 0.0
    np.fill_diagonal(r, 1.0)
    return np.asarray(r)


def matrix_dict(
    names: Sequence[str], matrix: np.ndarray[Any, np.dtype[np.float64]]
) -> dict[str, dict[str, float]]:
    """A square matrix as nested mappings name -> name -> value."""
    return {a: {b: float(matrix[i, j]) for j, b in enumerate(names)} for i, a in enumerate(names)}


def json_number(value: float) -> float | str:
    """JSON has no infinity: infinite degrees of freedom are written as "inf"."""
    return "inf" if math.isinf(value) else value
