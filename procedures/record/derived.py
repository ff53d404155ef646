"""Results a run derives from its points: test-level checks and fitted curves
(:mod:`procedures.derived` computes them, on the bench and again in the LIMS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from procedures.record.reader import Fields, RecordError, decimal_text, finite_number, matrix

__all__ = ["Check", "Curve", "CurvePoint", "CurveValue"]


def _known_check(value: Any) -> str:
    # The check kinds are the rules' (procedures.acceptance); imported here, not at the top,
    # so that reading a record does not load the MPE tables until a check is read.
    from procedures.acceptance import CHECKS

    if value not in CHECKS:
        raise ValueError(f"{value!r} is not a check ({', '.join(sorted(CHECKS))})")
    return str(value)


@dataclass(frozen=True, slots=True)
class Check:
    """One test-level check (``checks:`` of a test): which (``check``, what was checked
    ``test``, the document and clause ``rule``), the value compared and the largest value
    the rule accepts as decimal text in ``unit``, the verdict, the load or pressure of the
    limit (``at`` in ``at_unit``, or None) and the run indexes of the points it is based on."""

    KEYS: ClassVar[tuple[str, ...]] = (
        "check",
        "test",
        "rule",
        "value",
        "limit",
        "unit",
        "passed",
        "at",
        "at_unit",
        "points",
    )
    REQUIRED: ClassVar[tuple[str, ...]] = KEYS

    check: str
    test: str
    rule: str
    value: str
    limit: str
    unit: str
    passed: bool
    at: str | None
    at_unit: str | None
    points: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "test": self.test,
            "rule": self.rule,
            "value": self.value,
            "limit": self.limit,
            "unit": self.unit,
            "passed": self.passed,
            "at": self.at,
            "at_unit": self.at_unit,
            "points": list(self.points),
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> Check:
        f = Fields(data, where)
        f.required("at")
        f.required("at_unit")
        return cls(
            check=f.check("check", _known_check),
            test=f.text("test"),
            rule=f.text("rule"),
            value=f.check("value", decimal_text),
            limit=f.check("limit", decimal_text),
            unit=f.text("unit", blank=True),
            passed=f.boolean("passed"),
            at=f.optional("at", decimal_text),
            at_unit=f.optional_text("at_unit"),
            points=f.values("points", _index, empty=False),
        )


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """A point a curve was fitted through: its run index, x, y (the result), ``u_y`` and
    the residual ``y - f(x)``."""

    KEYS: ClassVar[tuple[str, ...]] = ("index", "x", "y", "u_y", "residual")
    REQUIRED: ClassVar[tuple[str, ...]] = KEYS

    index: int
    x: float
    y: float
    u_y: float
    residual: float

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "x": self.x,
            "y": self.y,
            "u_y": self.u_y,
            "residual": self.residual,
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> CurvePoint:
        f = Fields(data, where)
        return cls(
            index=f.integer("index"),
            x=f.number("x"),
            y=f.number("y"),
            u_y=f.number("u_y"),
            residual=f.number("residual"),
        )


@dataclass(frozen=True, slots=True)
class CurveValue:
    """The curve's value at an x, with its standard uncertainty."""

    KEYS: ClassVar[tuple[str, ...]] = ("x", "value", "u")
    REQUIRED: ClassVar[tuple[str, ...]] = KEYS

    x: float
    value: float
    u: float

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x, "value": self.value, "u": self.u}

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> CurveValue:
        f = Fields(data, where)
        return cls(x=f.number("x"), value=f.number("value"), u=f.number("u"))


Matrix = tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class Curve:
    """A calibration curve fitted through a test's points (``curve:`` of a test), as
    :func:`procedures.derived.curve_payload` gives it: coefficients ``c[j]`` of
    ``(x - x0)**j`` with their covariance, correlation and standard uncertainties, the
    residuals, and the curve's values at each x. ``generalized`` fits (points sharing
    terms) carry the points' covariance ``covariance_y`` and the ``shared`` terms."""

    KEYS: ClassVar[tuple[str, ...]] = (
        "test",
        "fit",
        "degree",
        "x",
        "y",
        "x0",
        "weighted",
        "generalized",
        "shared",
        "covariance_y",
        "x_unit",
        "points",
        "coefficients",
        "u_coefficients",
        "covariance",
        "correlation",
        "residuals",
        "residual_sd",
        "dof",
        "chi_square",
        "values",
    )
    # Curves sent before generalized fits existed carry neither those nor the shared terms.
    REQUIRED: ClassVar[tuple[str, ...]] = tuple(
        k for k in KEYS if k not in ("generalized", "shared", "covariance_y")
    )

    test: str
    fit: str
    degree: int
    x: str
    y: str
    x0: float
    weighted: bool
    x_unit: str
    points: tuple[CurvePoint, ...]
    coefficients: tuple[float, ...]
    u_coefficients: tuple[float, ...]
    covariance: Matrix
    correlation: Matrix
    residuals: tuple[float, ...]
    residual_sd: float
    dof: int
    chi_square: float | None
    values: tuple[CurveValue, ...]
    generalized: bool = False
    shared: tuple[str, ...] = ()
    covariance_y: Matrix | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "fit": self.fit,
            "degree": self.degree,
            "x": self.x,
            "y": self.y,
            "x0": self.x0,
            "weighted": self.weighted,
            "generalized": self.generalized,
            "shared": list(self.shared),
            "covariance_y": _rows(self.covariance_y) if self.covariance_y is not None else None,
            "x_unit": self.x_unit,
            "points": [p.to_json() for p in self.points],
            "coefficients": list(self.coefficients),
            "u_coefficients": list(self.u_coefficients),
            "covariance": _rows(self.covariance),
            "correlation": _rows(self.correlation),
            "residuals": list(self.residuals),
            "residual_sd": self.residual_sd,
            "dof": self.dof,
            "chi_square": self.chi_square,
            "values": [v.to_json() for v in self.values],
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> Curve:
        f = Fields(data, where)
        f.required("chi_square")
        return cls(
            test=f.text("test"),
            fit=f.text("fit"),
            degree=f.integer("degree"),
            x=f.text("x"),
            y=f.text("y"),
            x0=f.number("x0"),
            weighted=f.boolean("weighted"),
            generalized=f.boolean("generalized") if f.has("generalized") else False,
            shared=f.values("shared", _name) if f.has("shared") else (),
            covariance_y=f.optional("covariance_y", matrix),
            x_unit=f.text("x_unit", blank=True),
            points=f.objects("points", CurvePoint.from_json, empty=False),
            coefficients=f.values("coefficients", finite_number, empty=False),
            u_coefficients=f.values("u_coefficients", finite_number, empty=False),
            covariance=f.check("covariance", matrix),
            correlation=f.check("correlation", matrix),
            residuals=f.values("residuals", finite_number),
            residual_sd=f.number("residual_sd"),
            dof=f.integer("dof"),
            chi_square=f.optional_number("chi_square"),
            values=f.objects("values", CurveValue.from_json),
        )


def curves_from_json(data: Any, where: str = "curves") -> dict[str, Curve]:
    """The curves of a run by test id; each curve's ``test`` is its key."""
    f = Fields(data, where)
    out: dict[str, Curve] = {}
    for test_id, value in f.data.items():
        curve = Curve.from_json(value, f.at(str(test_id)))
        if curve.test != test_id:
            raise RecordError(
                f"is {curve.test!r}, not {test_id!r}", field=f"{f.at(str(test_id))}.test"
            )
        out[str(test_id)] = curve
    return out


def _rows(rows: Matrix) -> list[list[float]]:
    return [list(row) for row in rows]


def _index(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a point index (a whole number >= 0), got {value!r}")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a name, got {value!r}")
    return value
