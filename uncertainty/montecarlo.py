"""Propagation of distributions by the Monte Carlo method (JCGM 101:2008).

Every input is drawn from the PDF the model assigns to it (JCGM 101 6.4),
vectorised over all trials with a :class:`numpy.random.Generator` that the
caller passes in (so results are reproducible from a seed, and no global
random state is touched):

==========================  ==========================================================
normal, infinite dof        ``value + u z``                                    (6.4.7)
normal with a finite dof    ``value + u t_dof``                              (6.4.9.7)
rectangular                 ``value + a (2r - 1)``                             (6.4.2)
curvilinear trapezoidal     ``value + w (2r2 - 1)``, ``w = a + d (2r1 - 1)``   (6.4.3)
trapezoidal                 ``value + a ((1+beta) r1 + (1-beta) r2 - 1)``      (6.4.4)
triangular                  ``value + a (r1 + r2 - 1)``                        (6.4.5)
arcsine (U-shaped)          ``value + a sin(2 pi r)``                          (6.4.6)
type A from samples         ``mean + s/sqrt(n) t_(n-1)``                       (6.4.9)
student_t                   ``value + u sqrt((dof-2)/dof) t_dof``
==========================  ==========================================================

A normal quantity stated with a finite ``dof`` (a value with its standard
uncertainty and degrees of freedom, as a calibration certificate states them)
is the scaled and shifted t of 6.4.9.7 with scale ``u``: alone in a model it
gives the GUM's ``x +- t_p(dof) u`` by both methods.

Correlated inputs: a group of correlated normal inputs is drawn from the
multivariate Gaussian (6.4.8); a group whose members are all t-distributed
with the same degrees of freedom from the multivariate t (one chi-square
draw shared by the group), which keeps the stated correlation exactly. Any
other correlated group is drawn through a Gaussian copula: correlated normal
scores mapped through each input's own inverse distribution function; the
stated coefficients are then the correlations of the normal scores, and the
correlation of the drawn values differs slightly (by less than 0.02 for
rectangular inputs).

Results (7.6, 7.7): the mean, the standard deviation, and the
probabilistically symmetric coverage interval, or the shortest one on request.
Where the model shows that an output has no finite variance (a t input with
``dof <= 2``, a division by a quantity whose distribution reaches zero; see
:mod:`uncertainty.variance`), the output carries ``warnings`` saying so; its
interval is still reported, and the adaptive procedure judges its stability by
the interval alone.
``adaptive=True`` chooses the number of trials by the procedure of 7.9.
:func:`validate_gum` compares a GUM interval with the Monte Carlo one (8).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr, stdtrit

from .errors import EvaluationError, ModelError
from .gum import GumResult, correlation_from_covariance, matrix_dict
from .model import Model, Quantity
from .variance import drawn_from_t, variance_warnings

IntervalType = Literal["symmetric", "shortest"]
Array = np.ndarray[Any, np.dtype[np.float64]]

DEFAULT_TRIALS = 1_000_000
MAX_TRIALS = 100_000_000


@dataclass(frozen=True)
class McOutput:
    """The Monte Carlo result for one output quantity."""

    name: str
    unit: str | None
    value: float
    u: float
    interval: tuple[float, float]
    interval_type: IntervalType
    symmetric_interval: tuple[float, float]
    coverage_probability: float
    trials: int
    #: Plain sentences, each naming an input, on why the output has no finite
    #: variance (its ``u`` is then the sample's spread, not a standard
    #: uncertainty). Empty when the variance exists.
    warnings: tuple[str, ...] = ()

    @property
    def has_variance(self) -> bool:
        """Whether ``u`` is a meaningful standard deviation (no warnings)."""
        return not self.warnings

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "u": self.u,
            "coverage_probability": self.coverage_probability,
            "interval": list(self.interval),
            "interval_type": self.interval_type,
            "unit": self.unit,
            "trials": self.trials,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class McResult:
    """Monte Carlo results for all outputs of a model."""

    outputs: tuple[McOutput, ...]
    covariance: Array = field(repr=False, compare=False)
    trials: int
    adaptive: bool
    seed: int | None = None

    def __getitem__(self, name: str) -> McOutput:
        for output in self.outputs:
            if output.name == name:
                return output
        raise KeyError(name)

    @property
    def correlation(self) -> Array:
        """Correlation matrix of the outputs, from the sample."""
        return correlation_from_covariance(self.covariance)

    def to_dict(self) -> dict[str, Any]:
        names = [o.name for o in self.outputs]
        out: dict[str, Any] = {
            "method": "mc",
            "trials": self.trials,
            "adaptive": self.adaptive,
            "outputs": {o.name: o.to_dict() for o in self.outputs},
            "correlation": matrix_dict(names, self.correlation),
            "covariance": matrix_dict(names, self.covariance),
        }
        if self.seed is not None:
            out["seed"] = self.seed
        return out


# ------------------------------------------------------------------- sampling


#: Trials drawn and evaluated at a time: the working arrays of one chunk stay
#: in the CPU cache, which makes the whole evaluation about twice as fast as
#: drawing every input for all trials at once.
CHUNK = 1 << 14


def draw_inputs(model: Model, rng: np.random.Generator, trials: int) -> Array:
    """Draw ``trials`` values of every input from its PDF: shape (inputs, trials)."""
    values = np.empty((len(model.quantities), trials))
    _fill_inputs(model, rng, values)
    return values


def _fill_inputs(model: Model, rng: np.random.Generator, out: Array) -> None:
    """Fill each row of ``out`` with draws of the matching input quantity."""
    quantities = model.quantities
    for group in model.correlated_groups():
        if len(group) == 1:
            (i,) = group
            _draw_one(quantities[i], rng, out[i])
        else:
            drawn = _draw_correlated(model, group, rng, out.shape[1])
            for i, values in zip(group, drawn, strict=True):
                out[i] = values


def _draw_one(q: Quantity, rng: np.random.Generator, row: Array) -> None:
    """Draw into ``row`` in place (no temporary arrays for the common PDFs)."""
    if q.u == 0.0:
        row.fill(q.value)
        return
    match q.distribution:
        case "normal" if math.isinf(q.t_dof):
            rng.standard_normal(out=row)
            row *= q.u
        case "rectangular":
            assert q.half_width is not None
            rng.random(out=row)
            row -= 0.5
            row *= 2.0 * q.half_width
        case "triangular":
            assert q.half_width is not None
            rng.random(out=row)
            row += rng.random(row.size)
            row -= 1.0
            row *= q.half_width
        case "arcsine":
            assert q.half_width is not None
            rng.random(out=row)
            row *= 2.0 * np.pi
            np.sin(row, out=row)
            row *= q.half_width
        case "trapezoidal":
            assert q.half_width is not None
            assert q.beta is not None
            rng.random(out=row)
            row *= 1.0 + q.beta
            row += (1.0 - q.beta) * rng.random(row.size)
            row -= 1.0
            row *= q.half_width
        case "curvilinear_trapezoidal":
            assert q.half_width is not None
            assert q.limit_half_width is not None
            width = rng.random(row.size)  # the rectangle's half-width, drawn first
            width *= 2.0 * q.limit_half_width
            width += q.half_width - q.limit_half_width
            rng.random(out=row)
            row *= 2.0
            row -= 1.0
            row *= width
        case "normal" | "type_a" | "student_t":
            row[:] = _standard_t(rng, q.t_dof, row.size)
            row *= _t_scale(q)
        case _:  # pragma: no cover
            raise AssertionError(q.distribution)
    row += q.value


def _t_scale(q: Quantity) -> float:
    """Scale of the t-distribution of a t-distributed quantity.

    ``student_t`` states the standard deviation, so the scale is smaller;
    a Type A quantity's scale is ``s/sqrt(n)`` (JCGM 101 6.4.9.2) and a
    normal one's with a finite dof is its ``u`` (6.4.9.7).
    """
    if q.distribution == "student_t":
        return q.u * math.sqrt((q.t_dof - 2.0) / q.t_dof)
    return q.u


def _standard_t(rng: np.random.Generator, dof: float, trials: int) -> Array:
    if math.isinf(dof):
        return rng.standard_normal(trials)
    return rng.standard_t(dof, trials)


def _correlated_normals(correlation: Array, rng: np.random.Generator, trials: int) -> Array:
    # eigh rather than Cholesky: a positive semi-definite matrix (r = 1) is allowed.
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    factor = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
    z = rng.standard_normal((correlation.shape[0], trials))
    return np.asarray(factor @ z)


def _draw_correlated(
    model: Model, group: Sequence[int], rng: np.random.Generator, trials: int
) -> list[Array]:
    quantities = [model.quantities[i] for i in group]
    correlation = model.correlation[np.ix_(group, group)]
    z = _correlated_normals(correlation, rng, trials)
    if all(q.distribution == "normal" and math.isinf(q.t_dof) for q in quantities):
        return [q.value + q.u * z[k] for k, q in enumerate(quantities)]
    if all(drawn_from_t(q) for q in quantities) and len({q.t_dof for q in quantities}) == 1:
        dof = quantities[0].t_dof
        if not math.isinf(dof):
            z = z / np.sqrt(rng.chisquare(dof, trials) / dof)
        return [q.value + _t_scale(q) * z[k] for k, q in enumerate(quantities)]
    return [_from_normal_score(q, z[k]) for k, q in enumerate(quantities)]


def _from_normal_score(q: Quantity, z: Array) -> Array:
    """Map standard normal scores through the inverse distribution function of ``q``."""
    if q.distribution == "normal" and math.isinf(q.t_dof):
        return q.value + q.u * z
    r = ndtr(z)
    match q.distribution:
        case "rectangular":
            assert q.half_width is not None
            return q.value + q.half_width * (2.0 * r - 1.0)
        case "triangular":
            assert q.half_width is not None
            t = np.where(r < 0.5, np.sqrt(2.0 * r) - 1.0, 1.0 - np.sqrt(2.0 * (1.0 - r)))
            return q.value + q.half_width * t
        case "arcsine":
            assert q.half_width is not None
            return q.value + q.half_width * np.sin(np.pi * (r - 0.5))
        case "trapezoidal":
            assert q.half_width is not None
            assert q.beta is not None
            return q.value + q.half_width * _trapezoid_quantile(r, q.beta)
        case "curvilinear_trapezoidal":
            assert q.half_width is not None
            assert q.limit_half_width is not None
            return q.value + _curvilinear_quantile(r, q.half_width, q.limit_half_width)
        case "normal" | "type_a" | "student_t":
            if math.isinf(q.t_dof):
                return q.value + _t_scale(q) * z
            return np.asarray(q.value + _t_scale(q) * stdtrit(q.t_dof, r), dtype=np.float64)
    raise AssertionError(q.distribution)  # pragma: no cover


def _trapezoid_quantile(r: Array, beta: float) -> Array:
    """Inverse distribution function of the trapezoid on [-1, 1] with top [-beta, beta].

    The density is ``h = 1/(1 + beta)`` on the top, falling linearly to zero
    at +-1 (JCGM 101 6.4.4.2); each slope holds ``(1 - beta)/(2 (1 + beta))``.
    """
    h = 1.0 / (1.0 + beta)
    slope = 0.5 * h * (1.0 - beta)
    lower = np.minimum(r, 1.0 - r)  # by symmetry, work on the lower half
    on_slope = -1.0 + np.sqrt(2.0 * lower * (1.0 - beta) * (1.0 + beta))
    on_top = -beta + (lower - slope) / h
    x = np.where(lower < slope, on_slope, np.minimum(on_top, 0.0))
    return np.asarray(np.where(r < 0.5, x, -x), dtype=np.float64)


def _curvilinear_quantile(r: Array, a: float, d: float) -> Array:
    """Inverse distribution function of the curvilinear trapezoid, about its centre.

    The density at distance ``t`` from the centre is
    ``ln((a + d)/max(t, a - d)) / (4d)`` (JCGM 101 6.4.3.2); its integral has a
    closed form, tabulated finely and inverted by interpolation.
    """
    if d == 0.0:
        return np.asarray(a * (2.0 * r - 1.0), dtype=np.float64)
    top = a + d
    inner = max(a - d, 0.0)  # the density is flat within +-inner

    def primitive(s: Array) -> Array:  # of ln(top/s); it tends to 0 at s = 0
        safe = np.maximum(s, np.finfo(np.float64).tiny)
        return np.asarray(np.where(s > 0.0, safe * np.log(top / safe) + safe, 0.0))

    t = np.linspace(0.0, top, 4097)
    flat = math.log(top / inner) if inner > 0.0 else 0.0
    inner_array = np.full(1, inner)
    between = np.minimum(t, inner) * flat + primitive(np.maximum(t, inner)) - primitive(inner_array)
    cdf = 0.5 + between / (4.0 * d)
    distance = np.interp(np.abs(r - 0.5), cdf - 0.5, t)
    return np.asarray(np.where(r < 0.5, -distance, distance), dtype=np.float64)


def make_rng(seed: int | None = None) -> np.random.Generator:
    """The random generator the command line uses: numpy's SFC64, seeded.

    SFC64 passes the standard test batteries (TestU01 BigCrush, PractRand) and
    is the fastest of numpy's bit generators here; any other
    :class:`numpy.random.Generator` may be passed to :func:`evaluate_mc`.
    """
    return np.random.Generator(np.random.SFC64(seed))


def propagate(model: Model, rng: np.random.Generator, trials: int) -> Array:
    """The model values of ``trials`` Monte Carlo trials: shape (outputs, trials)."""
    return _propagate(model, rng, trials)[0]


def _propagate(model: Model, rng: np.random.Generator, trials: int) -> tuple[Array, Array, Array]:
    """Model values with their mean and covariance, accumulated chunk by chunk.

    The moments are summed while each chunk is still in the cache, about a
    shift (the first chunk's mean) so that the sums do not lose precision.
    """
    m = len(model.outputs)
    out = np.empty((m, trials))
    inputs = np.empty((len(model.quantities), min(CHUNK, trials)))
    functions = [output.function for output in model.outputs]
    shift = np.zeros(m)
    sums = np.zeros(m)
    products = np.zeros((m, m))
    with np.errstate(all="ignore"):
        for start in range(0, trials, CHUNK):
            stop = min(start + CHUNK, trials)
            chunk = inputs[:, : stop - start]
            _fill_inputs(model, rng, chunk)
            values = out[:, start:stop]
            for row, function in enumerate(functions):
                values[row] = function(chunk)
            if not np.isfinite(values).all():
                _refuse_non_finite(model, values, trials)
            if start == 0:
                shift = values.mean(axis=1)
            deviations = values - shift[:, None]
            sums += deviations.sum(axis=1)
            products += deviations @ deviations.T
    mean = shift + sums / trials
    centred = sums / trials
    covariance = (products - trials * np.outer(centred, centred)) / max(trials - 1, 1)
    return out, mean, covariance


def _refuse_non_finite(model: Model, values: Array, trials: int) -> None:
    for row, output in enumerate(model.outputs):
        bad = int(values.shape[1] - np.count_nonzero(np.isfinite(values[row])))
        if bad:
            raise EvaluationError(
                f"the model is not finite in {bad} of {values.shape[1]} trials of a chunk "
                f"of the {trials} Monte Carlo trials (e.g. a log or square root of a negative "
                "number, or a division by zero): the input distributions reach outside the "
                "model's domain",
                where=f"outputs.{output.name}",
            )


# ------------------------------------------------------------------- summaries


def _coverage_counts(trials: int, p: float) -> tuple[int, int]:
    """``q`` and the 1-based ``r`` of the symmetric interval (JCGM 101 7.7.1)."""
    q = int(p * trials) if float(p * trials).is_integer() else math.floor(p * trials + 0.5)
    r = (trials - q) // 2 if (trials - q) % 2 == 0 else (trials - q + 1) // 2
    return q, max(r, 1)


def symmetric_interval(values: Array, p: float, *, in_place: bool = False) -> tuple[float, float]:
    """Probabilistically symmetric coverage interval (JCGM 101 7.7.1).

    ``in_place=True`` reorders ``values`` instead of copying them.
    """
    m = values.size
    q, r = _coverage_counts(m, p)
    low, high = r - 1, min(r + q - 1, m - 1)
    if in_place:
        values.partition((low, high))
        part = values
    else:
        part = np.partition(values, (low, high))
    return float(part[low]), float(part[high])


def shortest_interval(values: Array, p: float, *, in_place: bool = False) -> tuple[float, float]:
    """Shortest coverage interval (JCGM 101 7.7.2).

    ``in_place=True`` sorts ``values`` instead of copying them.
    """
    m = values.size
    q, _ = _coverage_counts(m, p)
    if in_place:
        values.sort()
        ordered = values
    else:
        ordered = np.sort(values)
    widths = ordered[q:] - ordered[: m - q]
    start = int(np.argmin(widths))
    return float(ordered[start]), float(ordered[start + q])


def numerical_tolerance(u: float, ndig: int = 2) -> float:
    """Numerical tolerance ``delta`` of a standard uncertainty (JCGM 101 7.9.2).

    ``u`` written as ``c x 10**l`` with ``c`` an integer of ``ndig`` digits;
    ``delta = 10**l / 2``.
    """
    if ndig < 1:
        raise ModelError(f"must be >= 1 (got {ndig})", where="ndig")
    if not u > 0 or not math.isfinite(u):
        return 0.0
    exponent = math.floor(math.log10(u)) - ndig + 1
    # c rounded to ndig digits may carry into one more digit (9.96 -> 10)
    if round(u / 10.0**exponent) >= 10**ndig:
        exponent += 1
    return 0.5 * 10.0**exponent


# ------------------------------------------------------------------- evaluation


def evaluate_mc(
    model: Model,
    *,
    rng: np.random.Generator,
    trials: int | None = None,
    adaptive: bool = False,
    interval: IntervalType = "symmetric",
    ndig: int = 2,
    seed: int | None = None,
) -> McResult:
    """Evaluate ``model`` by the Monte Carlo method.

    ``trials`` fixed trials (default 10**6, JCGM 101 7.2.2) or, with
    ``adaptive=True``, as many as the adaptive procedure of JCGM 101 7.9
    needs for ``ndig`` significant digits of the results. ``seed`` is only
    recorded in the result (the caller made ``rng`` from it).
    """
    if interval not in ("symmetric", "shortest"):
        raise ModelError(f"unknown interval type {interval!r}", where="interval")
    p = model.coverage_probability
    if adaptive:
        if trials is not None:
            raise ModelError("give either a number of trials or adaptive, not both", where="trials")
        propagated = _adaptive_values(model, rng, p, ndig)
    else:
        m = DEFAULT_TRIALS if trials is None else trials
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ModelError(f"must be a positive whole number (got {m!r})", where="trials")
        if m > MAX_TRIALS:
            raise ModelError(f"at most {MAX_TRIALS} trials", where="trials")
        minimum = math.ceil(1.0 / (1.0 - p))
        if m < minimum:
            raise ModelError(
                f"at least {minimum} trials are needed for a {p:g} coverage interval "
                "(JCGM 101 7.2.2)",
                where="trials",
            )
        propagated = _propagate(model, rng, m)
    return _summarise(model, propagated, p, interval, adaptive, seed)


def _summarise(
    model: Model,
    propagated: tuple[Array, Array, Array],
    p: float,
    interval: IntervalType,
    adaptive: bool,
    seed: int | None,
) -> McResult:
    values, mean, covariance = propagated
    trials = values.shape[1]
    warnings = variance_warnings(model)
    outputs = []
    for row, output in enumerate(model.outputs):
        # The sample is ours alone here: reorder it rather than copy 8 MB per interval.
        sample = values[row]
        if interval == "shortest":
            chosen = shortest_interval(sample, p, in_place=True)
            symmetric = symmetric_interval(sample, p, in_place=True)  # sorted: cheap
        else:
            symmetric = chosen = symmetric_interval(sample, p, in_place=True)
        outputs.append(
            McOutput(
                name=output.name,
                unit=output.unit,
                value=float(mean[row]),
                u=float(np.sqrt(max(covariance[row, row], 0.0))),
                interval=chosen,
                interval_type=interval,
                symmetric_interval=symmetric,
                coverage_probability=p,
                trials=trials,
                warnings=warnings[output.name],
            )
        )
    return McResult(
        outputs=tuple(outputs), covariance=covariance, trials=trials, adaptive=adaptive, seed=seed
    )


def _adaptive_values(
    model: Model, rng: np.random.Generator, p: float, ndig: int
) -> tuple[Array, Array, Array]:
    """JCGM 101 7.9.4: batches of M trials until the results are stable to delta.

    An output without a finite variance has no mean or standard deviation to
    stabilise (their batch values scatter without bound): only its interval's
    ends are judged, with the tolerance of the interval's half-width over two
    standing in for that of ``u``.
    """
    batch = max(math.ceil(100.0 / (1.0 - p)), 10_000)
    no_variance = [bool(w) for w in variance_warnings(model).values()]
    batches: list[tuple[Array, Array, Array]] = []
    summaries: list[Array] = []  # per batch: (outputs, 4) = mean, u, low, high
    while True:
        values, mean, covariance = _propagate(model, rng, batch)
        batches.append((values, mean, covariance))
        summary = np.empty((values.shape[0], 4))
        for row in range(values.shape[0]):
            low, high = symmetric_interval(values[row], p)
            summary[row] = (mean[row], math.sqrt(max(covariance[row, row], 0.0)), low, high)
        summaries.append(summary)
        h = len(batches)
        if h < 2:
            continue
        stacked = np.stack(summaries)  # (h, outputs, 4)
        # standard deviation of the average of h batch results (7.9.4 d)
        spread = stacked.std(axis=0, ddof=1) / math.sqrt(h)
        combined = _combine(batches)
        all_u = np.sqrt(np.clip(np.diag(combined[2]), 0.0, None))
        averages = stacked.mean(axis=0)
        stable = True
        for row in range(values.shape[0]):
            if no_variance[row]:
                half_width = 0.5 * float(averages[row, 3] - averages[row, 2])
                judged = spread[row, 2:]
                tolerance = numerical_tolerance(0.5 * half_width, ndig)
            else:
                judged = spread[row]
                tolerance = numerical_tolerance(float(all_u[row]), ndig)
            stable = stable and bool(np.all(2.0 * judged <= tolerance))
        if stable:
            return combined
        if h * batch >= MAX_TRIALS:
            raise EvaluationError(
                f"the Monte Carlo results did not stabilise within {MAX_TRIALS} trials "
                f"for {ndig} significant digits"
            )


def _combine(batches: Sequence[tuple[Array, Array, Array]]) -> tuple[Array, Array, Array]:
    """Pool the values, means and covariances of equal-sized batches."""
    values = np.concatenate([b[0] for b in batches], axis=1)
    n = batches[0][0].shape[1]
    total = n * len(batches)
    mean = np.mean([b[1] for b in batches], axis=0)
    scatter = sum((n - 1) * b[2] + n * np.outer(b[1] - mean, b[1] - mean) for b in batches)
    return values, mean, np.asarray(scatter) / (total - 1)


# ------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Validation:
    """JCGM 101 §8: does the Monte Carlo interval validate the GUM interval?"""

    d_low: float
    d_high: float
    tolerance: float
    valid: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "d_low": self.d_low,
            "d_high": self.d_high,
            "tolerance": self.tolerance,
            "valid": self.valid,
        }


def validate_gum(gum: GumResult, mc: McResult, *, ndig: int = 2) -> dict[str, Validation]:
    """Compare each GUM interval with the probabilistically symmetric Monte Carlo one.

    ``d_low = |y - U_p - y_low|``, ``d_high = |y + U_p - y_high|`` (JCGM 101 8.2);
    the GUM result is valid when both are at most the numerical tolerance of
    the GUM standard uncertainty for ``ndig`` significant digits.
    """
    out = {}
    for g in gum.outputs:
        m = mc[g.name]
        low, high = g.interval
        d_low = abs(low - m.symmetric_interval[0])
        d_high = abs(high - m.symmetric_interval[1])
        tolerance = numerical_tolerance(g.u, ndig)
        out[g.name] = Validation(
            d_low=d_low, d_high=d_high, tolerance=tolerance, valid=d_low <= tolerance >= d_high
        )
    return out
