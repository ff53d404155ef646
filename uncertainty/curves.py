"""Calibration curves: least-squares straight lines and polynomials.

A curve is a polynomial in ``t = x - x0``::

    f(x) = c[0] + c[1]*t + c[2]*t**2 + ... + c[n]*t**n

fitted to calibration points ``(x_i, y_i)``. ``x0`` is a fixed offset chosen
for convenience and better conditioning (GUM H.3 uses ``t0 = 20 °C``).

Two fits are offered:

* **ordinary** least squares, when the scatter of ``y`` is only known from the
  data themselves: the parameter covariance is ``s**2 (AᵀA)⁻¹`` with ``s`` the
  residual standard deviation on ``n - (degree + 1)`` degrees of freedom
  (GUM H.3.3);
* **weighted** least squares, when every ``y_i`` has a known standard
  uncertainty ``u_y[i]``: the covariance is ``(AᵀWA)⁻¹`` with
  ``W = diag(1/u_y**2)``, *not* rescaled by the scatter. The chi-square of the
  fit and its degrees of freedom are reported so that a metrologist can judge
  whether the stated ``u_y`` are consistent with the scatter (chi-square near
  its dof) instead of having the software silently inflate them;
* **generalized** least squares (ISO/TS 28037:2010 clause 7 for a straight line,
  the same estimator for a polynomial), when the ``y_i`` are *correlated* with a
  known covariance matrix ``V``: the points of a calibration share the terms of
  the reference standard's certificate, and those terms move every point
  together. With ``V = L Lᵀ`` (Cholesky) the fit is the weighted one of the
  whitened problem ``L⁻¹A c = L⁻¹y``; the covariance is ``(AᵀV⁻¹A)⁻¹`` and the
  chi-square ``rᵀV⁻¹r``. Treating such points as independent (``V``'s diagonal
  only) understates the uncertainty of the curve's offset, since a shared term
  cannot average out over the points.

The fit goes through a QR factorisation of the column-scaled design matrix,
never through an explicit inversion of the normal equations, so that a
polynomial of moderate degree over a narrow x range keeps its digits.

Units: ``x`` and ``y`` keep the units of the data (``x0`` in the unit of
``x``); a coefficient ``c[j]`` is in unit(y)/unit(x)**j; uncertainties are
standard uncertainties in the unit of the quantity they belong to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uncertainty.errors import EvaluationError, ModelError

__all__ = ["CalibrationCurve", "InverseReading", "fit_line", "fit_polynomial"]

FloatArray = NDArray[np.float64]


def _frozen(array: FloatArray) -> FloatArray:
    """Return a read-only copy, so a frozen result cannot be changed through its arrays."""
    copy = np.array(array, dtype=np.float64, copy=True)
    copy.flags.writeable = False
    return copy


def _finite_vector(values: ArrayLike, where: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelError("must be a sequence of numbers", where=where) from exc
    if array.ndim != 1:
        raise ModelError("must be a one-dimensional sequence of numbers", where=where)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ModelError(
            f"must be finite numbers; element {int(bad[0])} is {array[bad[0]]!r}", where=where
        )
    return array


def _finite_number(value: float, where: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ModelError(f"must be a finite number, not {number!r}", where=where)
    return number


@dataclass(frozen=True)
class InverseReading:
    """The x read from a calibration curve for a measured y.

    ``x`` is in the unit of the curve's x; ``u`` is its standard uncertainty,
    ``u_from_y`` and ``u_from_curve`` the two contributions it combines
    (``u**2 == u_from_y**2 + u_from_curve**2``): the uncertainty of the
    measured y and the uncertainty of the curve's parameters, both propagated
    through the slope of the curve at ``x``.
    """

    x: float
    u: float
    u_from_y: float
    u_from_curve: float


@dataclass(frozen=True, eq=False)
class CalibrationCurve:
    """A fitted calibration curve ``f(x) = sum(c[j] * (x - x0)**j)`` and its uncertainty.

    Attributes:
        degree: degree of the polynomial (1 for a straight line).
        x0: the offset of the variable ``t = x - x0``, in the unit of x.
        coefficients: ``c[0] .. c[degree]``, lowest power first.
        covariance: covariance matrix of the coefficients.
        correlation: correlation matrix of the coefficients.
        residual_sd: ``sqrt(sum(residuals**2) / dof)``, in the unit of y
            (``s`` of GUM H.3.3).
        dof: degrees of freedom of the fit, ``n - (degree + 1)``.
        residuals: ``y_i - f(x_i)``, in the unit of y.
        x: the x of the calibration points (the fitted range is their span).
        weighted: whether the fit used known standard uncertainties of y.
        chi_square: ``sum((residuals / u_y)**2)`` for a weighted fit
            (``rᵀV⁻¹r`` for a generalized one), ``None`` for an ordinary one.
            Compare it with ``dof``.
        generalized: whether the fit used the full covariance matrix of y
            (generalized least squares), not only its diagonal.
    """

    degree: int
    x0: float
    coefficients: FloatArray
    covariance: FloatArray
    correlation: FloatArray
    residual_sd: float
    dof: int
    residuals: FloatArray
    x: FloatArray
    weighted: bool
    chi_square: float | None
    generalized: bool = False

    @property
    def x_range(self) -> tuple[float, float]:
        """The span ``(min(x), max(x))`` of the calibration points, in the unit of x."""
        return float(self.x.min()), float(self.x.max())

    def _powers(self, t: float) -> FloatArray:
        return np.power(t, np.arange(self.degree + 1, dtype=np.float64))

    def _slope_at_t(self, t: float) -> float:
        j = np.arange(1, self.degree + 1, dtype=np.float64)
        return float(np.sum(j * self.coefficients[1:] * np.power(t, j - 1)))

    def value_at(self, x: float) -> float:
        """The curve's value at ``x`` (unit of x), in the unit of y.

        The curve may be evaluated outside the fitted x range (GUM H.3.4 itself
        evaluates its correction at 30 °C, beyond the 21 °C to 27 °C data);
        whether such an extrapolation is fit for purpose is the caller's call.
        """
        t = _finite_number(x, "x") - self.x0
        return float(self._powers(t) @ self.coefficients)

    def u_value_at(self, x: float, *, include_residual_sd: bool = False) -> float:
        """Standard uncertainty of the curve's value at ``x``, in the unit of y.

        By default this is the uncertainty of the curve itself, propagated from
        the covariance of its parameters (GUM H.3.4). With
        ``include_residual_sd=True`` the residual standard deviation is added
        in quadrature: the uncertainty with which the curve predicts one *new
        single observation* at ``x`` rather than the mean response.
        """
        g = self._powers(_finite_number(x, "x") - self.x0)
        variance = float(g @ self.covariance @ g)
        if include_residual_sd:
            variance += self.residual_sd**2
        # Rounding can leave a true zero variance a hair below zero.
        return math.sqrt(max(variance, 0.0))

    def x_for(self, y: float, u_y: float) -> InverseReading:
        """The x read from the curve for a measured ``y`` with standard uncertainty ``u_y``.

        Solves ``f(x) = y`` inside the fitted x range and propagates, by the law
        of propagation of uncertainty (GUM 5.1.2), both ``u_y`` and the
        covariance of the parameters through the implicit solution::

            u(x)**2 = (u_y**2 + gᵀ V g) / f'(x)**2,   g = [1, t, t**2, ...]

        Refuses (:class:`~uncertainty.errors.ModelError`) a ``y`` whose
        solution would lie outside the fitted x range, and
        (:class:`~uncertainty.errors.EvaluationError`) a curve that is not
        strictly monotonic over that range, where the reading would be
        ambiguous. ``y`` and ``u_y`` are in the unit of y; the result is in the
        unit of x.
        """
        y = _finite_number(y, "y")
        u_y = _finite_number(u_y, "u_y")
        if u_y < 0:
            raise ModelError(f"a standard uncertainty cannot be negative ({u_y!r})", where="u_y")

        x_min, x_max = self.x_range
        t_low, t_high = x_min - self.x0, x_max - self.x0
        self._require_monotonic(t_low, t_high)
        f_low = float(self._powers(t_low) @ self.coefficients)
        f_high = float(self._powers(t_high) @ self.coefficients)
        if not min(f_low, f_high) <= y <= max(f_low, f_high):
            raise ModelError(
                f"{y!r} is outside the curve's values over the fitted range "
                f"[{min(f_low, f_high)!r}, {max(f_low, f_high)!r}] (x from {x_min!r} to "
                f"{x_max!r}); reading it would extrapolate the calibration",
                where="y",
            )
        t = self._solve(y, t_low, t_high, f_low, f_high)

        slope = self._slope_at_t(t)
        g = self._powers(t)
        u_curve = math.sqrt(max(float(g @ self.covariance @ g), 0.0)) / abs(slope)
        u_from_y = u_y / abs(slope)
        return InverseReading(
            x=t + self.x0,
            u=math.hypot(u_from_y, u_curve),
            u_from_y=u_from_y,
            u_from_curve=u_curve,
        )

    def _require_monotonic(self, t_low: float, t_high: float) -> None:
        curve = np.polynomial.Polynomial(self.coefficients)
        derivative = curve.deriv()
        # Flat: the curve changes over the fitted range by no more than the rounding of
        # its own values. A least-squares fit of constant data leaves a slope of a few
        # 1e-16 (how small depends on the machine's linear algebra), never exactly zero.
        span = t_high - t_low
        change = sum(abs(float(c)) * span ** (k + 1) for k, c in enumerate(derivative.coef))
        level = max(abs(float(curve(t_low))), abs(float(curve(t_high))), np.finfo(float).tiny)
        if change <= 64 * np.finfo(float).eps * level:
            raise EvaluationError(
                "the curve is flat (zero slope); x cannot be read from it", where="curve"
            )
        scale = max(abs(t_low), abs(t_high), t_high - t_low)
        stationary = [
            float(root.real)
            for root in np.atleast_1d(derivative.roots())
            if abs(root.imag) <= 1e-9 * scale and t_low <= root.real <= t_high
        ]
        if stationary:
            raise EvaluationError(
                "the curve is not monotonic over the fitted range (its slope is zero at "
                f"x = {stationary[0] + self.x0!r}); a reading there would be ambiguous",
                where="curve",
            )

    def _solve(self, y: float, t_low: float, t_high: float, f_low: float, f_high: float) -> float:
        if self.degree == 1:
            return (y - float(self.coefficients[0])) / float(self.coefficients[1])
        if y == f_low:
            return t_low
        if y == f_high:
            return t_high
        from scipy.optimize import brentq

        def residual(t: float) -> float:
            return float(self._powers(t) @ self.coefficients) - y

        # The curve is monotonic on [t_low, t_high] and y lies between the end
        # values, so the bracket holds exactly one root.
        tolerance = 4 * np.finfo(np.float64).eps * max(abs(t_low), abs(t_high), 1e-300)
        return float(brentq(residual, t_low, t_high, xtol=tolerance))


def fit_polynomial(
    x: ArrayLike,
    y: ArrayLike,
    degree: int,
    *,
    x0: float = 0.0,
    u_y: float | Sequence[float] | FloatArray | None = None,
    covariance_y: ArrayLike | None = None,
) -> CalibrationCurve:
    """Least-squares polynomial ``y = sum(c[j] * (x - x0)**j, j = 0..degree)``.

    ``x`` and ``y`` are the calibration points (any units; ``x0`` in the unit
    of x). Without ``u_y`` the fit is ordinary and the parameter covariance is
    ``s**2 (AᵀA)⁻¹`` (GUM H.3.3). With ``u_y`` (one standard uncertainty for
    all points, or one per point, in the unit of y) the fit is weighted and the
    covariance is ``(AᵀWA)⁻¹``, not rescaled; check ``chi_square`` against
    ``dof``. With ``covariance_y`` (the n×n covariance matrix of y, in the unit
    of y squared) the fit is generalized (ISO/TS 28037:2010 clause 7): the
    covariance of the parameters is ``(AᵀV⁻¹A)⁻¹``; give either ``u_y`` or
    ``covariance_y``, not both.

    Refuses non-finite data, mismatched lengths, fewer than ``degree + 2``
    points (no degrees of freedom left), fewer than ``degree + 1`` distinct x,
    non-positive ``u_y``, a ``covariance_y`` that is not a symmetric positive
    definite n×n matrix (:class:`~uncertainty.errors.ModelError`) and a
    numerically singular design (:class:`~uncertainty.errors.EvaluationError`).
    """
    if isinstance(degree, bool) or not isinstance(degree, int | np.integer) or degree < 1:
        raise ModelError(f"must be an integer of at least 1, not {degree!r}", where="degree")
    degree = int(degree)
    xs = _finite_vector(x, "x")
    ys = _finite_vector(y, "y")
    offset = _finite_number(x0, "x0")
    if xs.size != ys.size:
        raise ModelError(f"x has {xs.size} points but y has {ys.size}", where="y")
    n_parameters = degree + 1
    if xs.size < n_parameters + 1:
        raise ModelError(
            f"a degree-{degree} fit needs at least {n_parameters + 1} points "
            f"(one more than its {n_parameters} parameters), got {xs.size}",
            where="x",
        )
    distinct = np.unique(xs).size
    if distinct < n_parameters:
        raise ModelError(
            f"a degree-{degree} fit needs at least {n_parameters} distinct x values, "
            f"got {distinct}",
            where="x",
        )

    weights_sqrt: FloatArray | None = None
    u_points: FloatArray | None = None
    if u_y is not None:
        u_array = np.asarray(u_y, dtype=np.float64)
        if u_array.ndim == 0:
            u_array = np.full(xs.size, float(u_array))
        u_points = _finite_vector(u_array, "u_y")
        if u_points.size != xs.size:
            raise ModelError(f"has {u_points.size} values for {xs.size} points", where="u_y")
        if np.any(u_points <= 0):
            bad = int(np.flatnonzero(u_points <= 0)[0])
            raise ModelError(
                f"standard uncertainties must be positive; element {bad} is {u_points[bad]!r}",
                where="u_y",
            )
        weights_sqrt = 1.0 / u_points
    cholesky: FloatArray | None = None
    if covariance_y is not None:
        if u_points is not None:
            raise ModelError("give u_y or covariance_y, not both", where="covariance_y")
        cholesky = _cholesky(covariance_y, xs.size)

    t = xs - offset
    design = np.vander(t, n_parameters, increasing=True)
    # Column scaling makes the conditioning depend on the shape of the data,
    # not on the units or the magnitude of t.
    column_norms = np.linalg.norm(design, axis=0)
    if np.any(column_norms == 0) or not np.all(np.isfinite(column_norms)):
        raise EvaluationError("the design matrix is singular for these x values", where="x")
    scaled = design / column_norms
    rhs = ys.copy()
    if weights_sqrt is not None:
        scaled = scaled * weights_sqrt[:, np.newaxis]
        rhs = rhs * weights_sqrt
    if cholesky is not None:
        from scipy.linalg import solve_triangular

        scaled = solve_triangular(cholesky, scaled, lower=True)
        rhs = solve_triangular(cholesky, rhs, lower=True)

    q, r = np.linalg.qr(scaled)
    diagonal = np.abs(np.diag(r))
    if diagonal.min() <= diagonal.max() * np.finfo(np.float64).eps * xs.size * 16:
        raise EvaluationError(
            f"the degree-{degree} fit is numerically singular for these x values "
            "(try a lower degree or an x0 inside the data)",
            where="x",
        )
    scaled_coefficients = np.linalg.solve(r, q.T @ rhs)
    coefficients = scaled_coefficients / column_norms
    r_inverse = np.linalg.solve(r, np.eye(n_parameters))
    # (AᵀWA)⁻¹ = D⁻¹ R⁻¹ R⁻ᵀ D⁻¹ with D the column norms: no normal equations formed.
    unscaled_covariance = (r_inverse @ r_inverse.T) / np.outer(column_norms, column_norms)

    residuals = ys - design @ coefficients
    dof = xs.size - n_parameters
    residual_sd = math.sqrt(float(residuals @ residuals) / dof)
    chi_square: float | None
    if cholesky is not None:
        from scipy.linalg import solve_triangular

        covariance = unscaled_covariance
        whitened = solve_triangular(cholesky, residuals, lower=True)
        chi_square = float(whitened @ whitened)
    elif u_points is None:
        covariance = residual_sd**2 * unscaled_covariance
        chi_square = None
    else:
        covariance = unscaled_covariance
        chi_square = float(np.sum((residuals / u_points) ** 2))
    # The correlation does not depend on the scale factor s**2, so taking it
    # from the unscaled matrix keeps it defined for an exact fit (s = 0).
    sd = np.sqrt(np.diag(unscaled_covariance))
    correlation = unscaled_covariance / np.outer(sd, sd)
    np.fill_diagonal(correlation, 1.0)

    return CalibrationCurve(
        degree=degree,
        x0=offset,
        coefficients=_frozen(coefficients),
        covariance=_frozen(covariance),
        correlation=_frozen(correlation),
        residual_sd=residual_sd,
        dof=dof,
        residuals=_frozen(residuals),
        x=_frozen(xs),
        weighted=u_points is not None or cholesky is not None,
        chi_square=chi_square,
        generalized=cholesky is not None,
    )


def _cholesky(covariance_y: ArrayLike, n: int) -> FloatArray:
    """The lower Cholesky factor of the covariance matrix of y, after checking it is one."""
    try:
        matrix = np.asarray(covariance_y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelError("must be a matrix of numbers", where="covariance_y") from exc
    if matrix.shape != (n, n):
        raise ModelError(
            f"must be {n}×{n} for {n} points, not {'×'.join(map(str, matrix.shape))}",
            where="covariance_y",
        )
    if not np.all(np.isfinite(matrix)):
        raise ModelError("must hold finite numbers", where="covariance_y")
    scale = float(np.max(np.abs(matrix))) or 1.0
    asymmetric = np.argwhere(np.abs(matrix - matrix.T) > 1e-12 * scale)
    if asymmetric.size:
        i, j = (int(v) for v in asymmetric[0])
        raise ModelError(
            f"must be symmetric; element [{i}][{j}] is {matrix[i, j]!r} but [{j}][{i}] is "
            f"{matrix[j, i]!r}",
            where="covariance_y",
        )
    try:
        return np.asarray(np.linalg.cholesky(matrix), dtype=np.float64)
    except np.linalg.LinAlgError:
        raise ModelError(
            "must be positive definite (every point needs an uncertainty of its own)",
            where="covariance_y",
        ) from None


def fit_line(
    x: ArrayLike,
    y: ArrayLike,
    *,
    x0: float = 0.0,
    u_y: float | Sequence[float] | FloatArray | None = None,
    covariance_y: ArrayLike | None = None,
) -> CalibrationCurve:
    """Least-squares straight line ``y = c[0] + c[1]*(x - x0)``.

    Same as :func:`fit_polynomial` with ``degree=1``: ``c[0]`` is the value at
    ``x0`` (unit of y), ``c[1]`` the slope (unit of y per unit of x).
    """
    return fit_polynomial(x, y, 1, x0=x0, u_y=u_y, covariance_y=covariance_y)
