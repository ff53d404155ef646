"""Measurement model files: loading and validation.

The format is specified in ``docs/measurement-model.md`` of the project
(the measurement-model contract). Everything a file states is checked here,
once, so that the evaluation methods can trust a :class:`Model`: each error
names the key at fault, e.g. ``quantities.l_s.u: must be >= 0 (got -1)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from .errors import CorrelationError, EvaluationError, ModelError
from .expressions import (
    RESERVED,
    Compiled,
    Node,
    compile_node,
    derivative,
    parse_expression,
    variables,
)

Distribution = Literal[
    "normal",
    "rectangular",
    "triangular",
    "arcsine",
    "trapezoidal",
    "curvilinear_trapezoidal",
    "student_t",
    "type_a",
]

DEFAULT_COVERAGE_PROBABILITY = 0.9545

_TOP_KEYS = frozenset(
    {"name", "description", "outputs", "quantities", "correlations", "coverage_probability"}
)
_QUANTITY_KEYS = frozenset(
    {
        "value",
        "u",
        "U",
        "k",
        "dof",
        "distribution",
        "half_width",
        "beta",
        "limit_half_width",
        "samples",
        "pooled_sd",
        "pooled_dof",
        "unit",
        "description",
    }
)
#: The distributions a file may name (``type_a`` follows from ``samples``).
_DISTRIBUTIONS = tuple(d for d in get_args(Distribution) if d != "type_a")
_HALF_WIDTH_DIVISOR = {"rectangular": math.sqrt(3.0), "triangular": math.sqrt(6.0),
                       "arcsine": math.sqrt(2.0)}  # fmt: skip
#: The shape parameter each bounded distribution takes besides ``half_width``.
_SHAPE_KEYS = {"trapezoidal": "beta", "curvilinear_trapezoidal": "limit_half_width"}
_BOUNDED = (*_HALF_WIDTH_DIVISOR, *_SHAPE_KEYS)
MAX_QUANTITIES = 1000
MAX_SAMPLES = 1_000_000


@dataclass(frozen=True)
class Quantity:
    """One input quantity, with what is known about it.

    ``u`` is the standard uncertainty in the quantity's unit; ``dof`` its
    degrees of freedom (``math.inf`` when not stated). ``distribution`` is
    the PDF assigned for Monte Carlo (``type_a`` for a quantity given by
    samples: a scaled and shifted t-distribution, JCGM 101 6.4.9).
    ``t_dof`` is the degrees of freedom of the t-distribution used in Monte
    Carlo for ``type_a`` and ``student_t``, and for a ``normal`` quantity
    stated with a finite ``dof`` (JCGM 101 6.4.9.7: a value, its standard
    uncertainty and its degrees of freedom, as a certificate states them, are
    a scaled and shifted t-distribution); ``math.inf`` means a normal one.

    ``beta`` (trapezoidal: the ratio of the top's width to the base's, JCGM
    101 6.4.4) and ``limit_half_width`` (curvilinear trapezoidal: how far each
    limit of the rectangle may lie from its stated place, JCGM 101 6.4.3) are
    the shape parameters of the two distributions that need one.
    """

    name: str
    value: float
    u: float
    dof: float
    distribution: Distribution
    unit: str | None = None
    half_width: float | None = None
    beta: float | None = None
    limit_half_width: float | None = None
    samples: tuple[float, ...] | None = None
    t_dof: float = math.inf
    form: str = "direct"
    description: str | None = None


@dataclass(frozen=True)
class Output:
    """An output quantity: its name, measurement function and unit."""

    name: str
    expression: str
    tree: Node = field(repr=False, compare=False)
    unit: str | None = None

    @cached_property
    def function(self) -> Compiled:
        """The measurement function, compiled (works on floats and arrays)."""
        return compile_node(self.tree)

    @cached_property
    def gradient(self) -> tuple[tuple[int, Compiled], ...]:
        """Compiled first partial derivatives, for the variables the function uses."""
        return tuple(
            (i, compile_node(derivative(self.tree, i))) for i in sorted(variables(self.tree))
        )

    @cached_property
    def higher_derivatives(self) -> tuple[tuple[int, int, Compiled, Compiled], ...]:
        """For each pair (i, j) of used variables: compiled d2f/dxi dxj and d3f/dxi dxj2.

        The terms of the second-order law of propagation (JCGM 100 5.1.2 note).
        """
        used = sorted(variables(self.tree))
        first = {i: derivative(self.tree, i) for i in used}
        out = []
        for i in used:
            for j in used:
                second = derivative(first[i], j)
                third = derivative(second, j)
                out.append((i, j, compile_node(second), compile_node(third)))
        return tuple(out)


@dataclass(frozen=True)
class Model:
    """A validated measurement model."""

    name: str
    outputs: tuple[Output, ...]
    quantities: tuple[Quantity, ...]
    correlation: np.ndarray[Any, np.dtype[np.float64]] = field(repr=False, compare=False)
    coverage_probability: float = DEFAULT_COVERAGE_PROBABILITY
    description: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The input quantities' names, in the order of the file."""
        return tuple(q.name for q in self.quantities)

    @property
    def values(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The estimates of the input quantities."""
        return np.array([q.value for q in self.quantities], dtype=np.float64)

    @property
    def uncertainties(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The standard uncertainties of the input quantities."""
        return np.array([q.u for q in self.quantities], dtype=np.float64)

    @property
    def is_correlated(self) -> bool:
        """Whether any two inputs are correlated."""
        n = len(self.quantities)
        return bool(np.any(self.correlation != np.eye(n)))

    def correlated_groups(self, among: Sequence[int] | None = None) -> list[list[int]]:
        """Groups of inputs linked, directly or through others, by non-zero correlations.

        ``among`` restricts the grouping to those inputs (by index); an input
        correlated with nothing forms a group of its own.
        """
        members = list(range(len(self.quantities))) if among is None else list(among)
        if not self.is_correlated:
            return [[i] for i in members]
        remaining = set(members)
        groups = []
        for start in members:
            if start not in remaining:
                continue
            remaining.discard(start)
            group, frontier = [start], [start]
            while frontier:
                i = frontier.pop()
                linked = [j for j in remaining if self.correlation[i, j] != 0.0]
                remaining.difference_update(linked)
                group += linked
                frontier += linked
            groups.append(sorted(group))
        return groups

    def correlations(self) -> list[tuple[str, str, float]]:
        """The non-zero correlation coefficients as ``(name_a, name_b, r)``."""
        out = []
        n = len(self.quantities)
        for i in range(n):
            for j in range(i + 1, n):
                if self.correlation[i, j] != 0.0:
                    out.append((self.names[i], self.names[j], float(self.correlation[i, j])))
        return out


# ---------------------------------------------------------------------- loading


def load_model(path: str | Path, *, check_units: bool = True) -> Model:
    """Read a model file (``.json``, ``.yaml`` or ``.yml``) and validate it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot read the model file: {exc.strerror}", where=str(p)) from None
    fmt: Literal["json", "yaml"] = "yaml" if p.suffix.lower() in (".yaml", ".yml") else "json"
    return loads_model(text, format=fmt, source=str(p), check_units=check_units)


def loads_model(
    text: str,
    *,
    format: Literal["json", "yaml"] = "json",
    source: str | None = None,
    check_units: bool = True,
) -> Model:
    """Parse and validate a model given as JSON or YAML text."""
    data: object
    if format == "json":
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            where = f"{source or 'model'} line {exc.lineno} column {exc.colno}"
            raise ModelError(f"not valid JSON: {exc.msg}", where=where) from None
    else:
        import yaml  # only YAML files pay for the import

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = source or "model"
            if mark is not None:
                where = f"{where} line {mark.line + 1} column {mark.column + 1}"
            problem = getattr(exc, "problem", None) or "syntax error"
            raise ModelError(f"not valid YAML: {problem}", where=where) from None
    return parse_model(data, check_units=check_units)


def _refuse_constant(name: str) -> float:
    raise ModelError(f"{name} is not allowed: every number must be finite")


def parse_model(data: object, *, check_units: bool = True) -> Model:
    """Validate a model given as plain data (the parsed JSON/YAML mapping)."""
    if not isinstance(data, Mapping):
        raise ModelError("a model must be a mapping with 'outputs' and 'quantities'")
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise ModelError(
            f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_TOP_KEYS))})",
            where=unknown[0],
        )
    name = _optional_text(data, "name", "name") or "model"
    description = _optional_text(data, "description", "description")

    raw_quantities = data.get("quantities")
    if not isinstance(raw_quantities, Mapping) or not raw_quantities:
        raise ModelError("must be a non-empty mapping of name to quantity", where="quantities")
    if len(raw_quantities) > MAX_QUANTITIES:
        raise ModelError(f"more than {MAX_QUANTITIES} quantities", where="quantities")
    quantities = tuple(_parse_quantity(str(qname), spec) for qname, spec in raw_quantities.items())
    index = {q.name: i for i, q in enumerate(quantities)}

    outputs = _parse_outputs(data.get("outputs"), index)
    correlation = _parse_correlations(data.get("correlations", []), quantities, index)
    p = _coverage_probability(data.get("coverage_probability", DEFAULT_COVERAGE_PROBABILITY))

    model = Model(
        name=name,
        outputs=outputs,
        quantities=quantities,
        correlation=correlation,
        coverage_probability=p,
        description=description,
    )
    _check_finite_at_estimates(model)
    if check_units:
        from .units import check_model_units

        check_model_units(model)
    return model


# ------------------------------------------------------------------- validation


def _optional_text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ModelError("must be text", where=where)
    return value


def _number(value: object, where: str, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ModelError(f"must be a number (got {type(value).__name__})", where=where)
    if isinstance(value, str):
        if allow_inf and value.strip().lower() in ("inf", "infinity", "infinite"):
            return math.inf
        raise ModelError(f"must be a number (got the text {value!r})", where=where)
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ModelError(f"must be a finite number (got {value})", where=where)
    return number


def _non_negative(value: object, where: str) -> float:
    number = _number(value, where)
    if number < 0:
        raise ModelError(f"must be >= 0 (got {value})", where=where)
    return number


def _positive(value: object, where: str, *, allow_inf: bool = False) -> float:
    number = _number(value, where, allow_inf=allow_inf)
    if number <= 0:
        raise ModelError(f"must be > 0 (got {value})", where=where)
    return number


def _dof(spec: Mapping[str, Any], where: str, default: float = math.inf) -> float:
    if "dof" not in spec or spec["dof"] is None:
        return default
    return _positive(spec["dof"], f"{where}.dof", allow_inf=True)


def _forbid(spec: Mapping[str, Any], keys: Sequence[str], where: str, form: str) -> None:
    for key in keys:
        if key in spec:
            raise ModelError(f"{key!r} does not go with {form}", where=f"{where}.{key}")


def _parse_quantity(name: str, spec: object) -> Quantity:
    where = f"quantities.{name}"
    if not name.isidentifier() or name.startswith("_"):
        raise ModelError("a quantity name must be an identifier (letters, digits, _)", where=where)
    if name in RESERVED:
        raise ModelError(f"{name!r} is the name of a function or constant", where=where)
    if not isinstance(spec, Mapping):
        raise ModelError("must be a mapping of keys (value, u, ...)", where=where)
    unknown = sorted(set(map(str, spec)) - _QUANTITY_KEYS)
    if unknown:
        raise ModelError(
            f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_QUANTITY_KEYS))})",
            where=f"{where}.{unknown[0]}",
        )
    unit = spec.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise ModelError("must be text", where=f"{where}.unit")
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise ModelError("must be text", where=f"{where}.description")
    common: dict[str, Any] = {"name": name, "unit": unit or None, "description": description}

    if "samples" in spec:
        return _type_a(spec, where, common)

    distribution = spec.get("distribution", "normal")
    if distribution not in _DISTRIBUTIONS:
        raise ModelError(
            f"unknown distribution {distribution!r} (known: {', '.join(_DISTRIBUTIONS)})",
            where=f"{where}.distribution",
        )
    if "value" not in spec:
        raise ModelError("'value' is required", where=f"{where}.value")
    value = _number(spec["value"], f"{where}.value")
    _forbid(spec, ("pooled_sd", "pooled_dof"), where, "a quantity without samples")

    for key in ("beta", "limit_half_width"):
        if key in spec and _SHAPE_KEYS.get(distribution) != key:
            owner = next(d for d, k in _SHAPE_KEYS.items() if k == key)
            raise ModelError(
                f"{key!r} goes with a {owner} distribution, not a {distribution} one",
                where=f"{where}.{key}",
            )
    if distribution in _BOUNDED:
        return _bounded(spec, where, value, distribution, common)

    _forbid(spec, ("half_width",), where, f"a {distribution} distribution")
    u, form = _standard_uncertainty(spec, where)
    if distribution == "student_t":
        if "dof" not in spec:
            raise ModelError("'dof' is required for a student_t distribution", where=f"{where}.dof")
        dof = _dof(spec, where)
        if not dof > 2:
            raise ModelError(
                f"must be > 2 for a student_t distribution (got {spec['dof']}): "
                "its standard deviation is not defined otherwise",
                where=f"{where}.dof",
            )
        return Quantity(
            value=value, u=u, dof=dof, distribution="student_t", t_dof=dof, form=form, **common
        )
    dof = _dof(spec, where)
    # A finite dof makes the quantity a scaled and shifted t in Monte Carlo
    # (JCGM 101 6.4.9.7); the GUM method uses u and dof as before.
    return Quantity(
        value=value, u=u, dof=dof, distribution="normal", t_dof=dof, form=form, **common
    )


def _require(spec: Mapping[str, Any], key: str, where: str, why: str) -> None:
    if key not in spec:
        raise ModelError(f"{key!r} is required {why}", where=f"{where}.{key}")


def _bounded(
    spec: Mapping[str, Any],
    where: str,
    value: float,
    distribution: Distribution,
    common: dict[str, Any],
) -> Quantity:
    """A distribution given by its half-width (and, for two of them, a shape parameter).

    The standard uncertainties are the standard deviations of the PDFs of
    JCGM 101 6.4: ``a/sqrt(3)`` (6.4.2.3), ``a/sqrt(6)`` (6.4.5.3),
    ``a/sqrt(2)`` (6.4.6.3); for the trapezoid of semi-width ``a`` whose top
    is ``beta`` times as wide as its base, ``u**2 = a**2 (1 + beta**2)/6``,
    which is 6.4.4.3's ``(b - a)**2 (1 + beta**2)/24`` with ``b - a = 2a``;
    for the curvilinear trapezoid whose limits are each known to within
    ``+- d``, ``u**2 = a**2/3 + d**2/9`` (6.4.3.3 with ``b - a = 2a``).
    """
    _forbid(spec, ("u", "U", "k"), where, f"a {distribution} distribution (give half_width)")
    _require(spec, "half_width", where, f"for a {distribution} distribution")
    half_width = _non_negative(spec["half_width"], f"{where}.half_width")
    beta: float | None = None
    limit_half_width: float | None = None
    if distribution == "trapezoidal":
        _require(spec, "beta", where, "(the top's width over the base's, 0 to 1)")
        beta = _number(spec["beta"], f"{where}.beta")
        if not 0.0 <= beta <= 1.0:
            raise ModelError(
                f"must be between 0 (triangular) and 1 (rectangular) (got {spec['beta']})",
                where=f"{where}.beta",
            )
        u = half_width * math.sqrt((1.0 + beta * beta) / 6.0)
    elif distribution == "curvilinear_trapezoidal":
        _require(spec, "limit_half_width", where, "(how far each limit may lie from its place)")
        d = _non_negative(spec["limit_half_width"], f"{where}.limit_half_width")
        if d > half_width:
            raise ModelError(
                f"must not exceed half_width ({spec['half_width']}): the rectangle's "
                f"half-width would become negative (got {spec['limit_half_width']})",
                where=f"{where}.limit_half_width",
            )
        limit_half_width = d
        u = math.sqrt(half_width * half_width / 3.0 + d * d / 9.0)
    else:
        u = half_width / _HALF_WIDTH_DIVISOR[distribution]
    return Quantity(
        value=value,
        u=u,
        dof=_dof(spec, where),
        distribution=distribution,
        half_width=half_width,
        beta=beta,
        limit_half_width=limit_half_width,
        form=distribution,
        **common,
    )


def _standard_uncertainty(spec: Mapping[str, Any], where: str) -> tuple[float, str]:
    if "u" in spec:
        _forbid(spec, ("U", "k"), where, "'u' (give either u, or U with k)")
        return _non_negative(spec["u"], f"{where}.u"), "direct"
    if "U" in spec:
        if "k" not in spec:
            raise ModelError("'k' is required with an expanded uncertainty 'U'", where=f"{where}.k")
        expanded = _non_negative(spec["U"], f"{where}.U")
        k = _positive(spec["k"], f"{where}.k")
        return expanded / k, "expanded"
    if "k" in spec:
        raise ModelError("'k' goes with an expanded uncertainty 'U'", where=f"{where}.k")
    raise ModelError("an uncertainty is required: 'u', or 'U' with 'k'", where=f"{where}.u")


def _type_a(spec: Mapping[str, Any], where: str, common: dict[str, Any]) -> Quantity:
    _forbid(
        spec,
        ("value", "u", "U", "k", "half_width", "distribution", "dof"),
        where,
        "samples (the value is their mean, u and dof follow from them)",
    )
    raw = spec["samples"]
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ModelError("must be a non-empty list of numbers", where=f"{where}.samples")
    if len(raw) > MAX_SAMPLES:
        raise ModelError(f"more than {MAX_SAMPLES} samples", where=f"{where}.samples")
    samples = tuple(_number(x, f"{where}.samples[{i}]") for i, x in enumerate(raw))
    n = len(samples)
    mean = math.fsum(samples) / n
    if "pooled_sd" in spec:
        sd = _non_negative(spec["pooled_sd"], f"{where}.pooled_sd")
        if "pooled_dof" in spec and spec["pooled_dof"] is not None:
            dof = _positive(spec["pooled_dof"], f"{where}.pooled_dof", allow_inf=True)
        else:
            dof = math.inf
        form = "type_a_pooled"
    else:
        _forbid(spec, ("pooled_dof",), where, "samples without pooled_sd")
        if n < 2:
            raise ModelError(
                "at least 2 samples are needed for a standard deviation "
                "(or give pooled_sd from an earlier evaluation)",
                where=f"{where}.samples",
            )
        sd = math.sqrt(math.fsum((x - mean) ** 2 for x in samples) / (n - 1))
        dof = float(n - 1)
        form = "type_a"
    return Quantity(
        value=mean,
        u=sd / math.sqrt(n),
        dof=dof,
        distribution="type_a",
        samples=samples,
        t_dof=dof,
        form=form,
        **common,
    )


def _parse_outputs(raw: object, index: Mapping[str, int]) -> tuple[Output, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise ModelError("must be a non-empty mapping of name to expression", where="outputs")
    outputs = []
    for oname, spec in raw.items():
        oname = str(oname)
        where = f"outputs.{oname}"
        if not oname.isidentifier():
            raise ModelError("an output name must be an identifier", where=where)
        if oname in index:
            raise ModelError("an output cannot have the name of an input quantity", where=where)
        unit: str | None = None
        if isinstance(spec, Mapping):
            unknown = sorted(set(map(str, spec)) - {"expression", "unit", "description"})
            if unknown:
                raise ModelError(f"unknown key {unknown[0]!r}", where=f"{where}.{unknown[0]}")
            if "expression" not in spec:
                raise ModelError("'expression' is required", where=f"{where}.expression")
            expression = spec["expression"]
            raw_unit = spec.get("unit")
            if raw_unit is not None and not isinstance(raw_unit, str):
                raise ModelError("must be text", where=f"{where}.unit")
            unit = raw_unit or None
        else:
            expression = spec
        if not isinstance(expression, str):
            raise ModelError("the expression must be text", where=where)
        tree = parse_expression(expression, index, where=where)
        outputs.append(Output(name=oname, expression=expression.strip(), tree=tree, unit=unit))
    return tuple(outputs)


def _parse_correlations(
    raw: object, quantities: Sequence[Quantity], index: Mapping[str, int]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    n = len(quantities)
    matrix = np.eye(n)
    if raw is None:
        return matrix
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise CorrelationError("must be a list of [name_a, name_b, r]", where="correlations")
    seen: set[frozenset[str]] = set()
    for k, entry in enumerate(raw):
        where = f"correlations[{k}]"
        if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 3:
            raise CorrelationError("must be [name_a, name_b, r]", where=where)
        a, b, r_raw = entry
        for name in (a, b):
            if not isinstance(name, str) or name not in index:
                raise CorrelationError(f"unknown quantity {name!r}", where=where)
        if a == b:
            raise CorrelationError(
                f"a quantity cannot be correlated with itself ({a})", where=where
            )
        pair = frozenset((a, b))
        if pair in seen:
            raise CorrelationError(f"the pair {a}, {b} is given twice", where=where)
        seen.add(pair)
        r = _number(r_raw, f"{where}[2]")
        if not -1.0 <= r <= 1.0:
            raise CorrelationError(f"r must be between -1 and 1 (got {r_raw})", where=where)
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = r
    if seen:
        _check_positive_semidefinite(matrix, quantities)
    return matrix


def _check_positive_semidefinite(
    matrix: np.ndarray[Any, np.dtype[np.float64]], quantities: Sequence[Quantity]
) -> None:
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    smallest = float(eigenvalues[0])
    if smallest >= -1e-10:
        return
    # The quantities that weigh most in the offending direction are the ones
    # whose coefficients contradict each other.
    weights = np.abs(eigenvectors[:, 0])
    involved = [quantities[i].name for i in np.argsort(-weights) if weights[i] > 0.2]
    raise CorrelationError(
        "the correlation matrix is not positive semi-definite "
        f"(smallest eigenvalue {smallest:.3g}); the coefficients among "
        f"{', '.join(involved)} cannot hold together",
        where="correlations",
    )


def _coverage_probability(raw: object) -> float:
    p = _number(raw, "coverage_probability")
    if not 0.0 < p < 1.0:
        raise ModelError(f"must be between 0 and 1 (got {raw})", where="coverage_probability")
    return p


def _check_finite_at_estimates(model: Model) -> None:
    values = [np.float64(q.value) for q in model.quantities]
    for output in model.outputs:
        with np.errstate(all="ignore"):
            result = float(output.function(values))
        if not math.isfinite(result):
            raise EvaluationError(
                f"the model is not finite at the estimates (gives {result})",
                where=f"outputs.{output.name}",
            )
