"""A run's points: the readings, the model and result of each, its limits and verdict."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from procedures.record.reader import (
    Fields,
    RecordError,
    degrees_of_freedom,
    instant,
    json_dof,
)

if TYPE_CHECKING:
    from datetime import datetime

    from procedures.acceptance import Limits

__all__ = ["Acceptance", "Point", "Reading", "Result", "UncertaintyRatio"]

_RATIO = re.compile(r"[1-9][0-9]*/[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading as the instrument gave it: ``value`` in ``unit``, the time it was
    taken (ISO 8601 with its offset, as written), whether the instrument called it
    stable, the raw text it came from, and the model quantity it is a sample of
    (``quantity``; the point's ``readings_quantity`` when None)."""

    KEYS: ClassVar[tuple[str, ...]] = ("value", "unit", "timestamp", "stable", "raw", "quantity")
    REQUIRED: ClassVar[tuple[str, ...]] = ("value", "unit", "timestamp")

    value: float
    unit: str
    timestamp: str
    stable: bool | None = None
    raw: str = ""
    quantity: str | None = None

    @property
    def taken_at(self) -> datetime:
        return instant(self.timestamp)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "timestamp": self.timestamp,
            "stable": self.stable,
            "raw": self.raw,
        }
        if self.quantity is not None:
            out["quantity"] = self.quantity
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> Reading:
        f = Fields(data, where)
        return cls(
            value=f.number("value"),
            unit=f.text("unit"),
            timestamp=f.time("timestamp"),
            stable=f.optional("stable", _boolean),
            raw=f.optional_text("raw") or "",
            quantity=f.optional_text("quantity", blank=False),
        )


@dataclass(frozen=True, slots=True)
class Result:
    """A point's result as the bench reports it: the estimate of the model's output,
    its standard uncertainty ``u``, expanded uncertainty ``U`` with coverage factor ``k``,
    in the output's unit, and the effective degrees of freedom (``math.inf`` for
    infinitely many; None when not stated)."""

    KEYS: ClassVar[tuple[str, ...]] = ("value", "u", "U", "k", "dof")
    REQUIRED: ClassVar[tuple[str, ...]] = ("value", "u", "U", "k")

    value: float
    u: float
    U: float
    k: float
    dof: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "u": self.u, "U": self.U, "k": self.k}
        if self.dof is not None:
            out["dof"] = json_dof(self.dof)
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> Result:
        f = Fields(data, where)
        return cls(
            value=f.number("value"),
            u=f.number("u"),
            U=f.number("U"),
            k=f.number("k"),
            dof=f.optional("dof", degrees_of_freedom),
        )


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The acceptance band of a point (in the result's unit): ``lower`` and ``upper``
    bound the result, ``mpe`` is the maximum permissible error (a magnitude); ``rule``
    and ``document`` say which rule set them. Any may be None (a one-sided band, a band
    without an MPE)."""

    KEYS: ClassVar[tuple[str, ...]] = ("lower", "upper", "mpe", "rule", "document")
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    lower: float | None = None
    upper: float | None = None
    mpe: float | None = None
    rule: str | None = None
    document: str | None = None

    @classmethod
    def of(cls, limits: Limits) -> Acceptance:
        """The band a procedure's rule set (:func:`procedures.acceptance.limits_for`)."""
        return cls(limits.lower, limits.upper, limits.mpe, limits.rule, limits.document)

    @property
    def bounded(self) -> bool:
        """Whether there is a limit to judge the result against."""
        return self.lower is not None or self.upper is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lower": self.lower, "upper": self.upper, "mpe": self.mpe}
        if self.rule is not None:
            out["rule"] = self.rule
        if self.document is not None:
            out["document"] = self.document
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> Acceptance:
        f = Fields(data, where)
        band = cls(
            lower=f.optional_number("lower"),
            upper=f.optional_number("upper"),
            mpe=f.optional_number("mpe"),
            rule=f.optional_text("rule"),
            document=f.optional_text("document"),
        )
        if band.lower is not None and band.upper is not None and band.lower > band.upper:
            raise RecordError("must not exceed upper", field=f.at("lower"))
        if band.mpe is not None and band.mpe <= 0:
            raise RecordError("must be positive", field=f.at("mpe"))
        return band


@dataclass(frozen=True, slots=True)
class UncertaintyRatio:
    """The 1/3-MPE check of a point: ``ratio`` = U/MPE, ``max`` the largest ratio the
    procedure allows (``"1/3"``), ``met`` whether U is small enough.

    One shape, ``{"ratio", "max", "met"}``, written in a point of the run payload and in
    the LIMS's evaluation of it. The LIMS stored its evaluations before this shape as
    two keys of the result (``uncertainty_ratio``: the ratio, ``uncertainty_ratio_met``);
    :meth:`of_result` reads both.
    """

    KEYS: ClassVar[tuple[str, ...]] = ("ratio", "max", "met")
    REQUIRED: ClassVar[tuple[str, ...]] = ("ratio", "max", "met")

    ratio: float
    max: str | None
    met: bool

    def to_json(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "max": self.max, "met": self.met}

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> UncertaintyRatio:
        f = Fields(data, where)
        return cls(ratio=f.number("ratio"), max=f.check("max", _ratio_text), met=f.boolean("met"))

    @classmethod
    def of_result(cls, result: Mapping[str, Any]) -> UncertaintyRatio | None:
        """The check in a result as the LIMS stored it, in either shape; None without one."""
        value = result.get("uncertainty_ratio")
        if isinstance(value, Mapping):
            return cls.from_json(value, "uncertainty_ratio")
        met = result.get("uncertainty_ratio_met")
        if value is None or not isinstance(met, bool):
            return None
        return cls(ratio=float(value), max=None, met=met)

    @classmethod
    def flagged(cls, result: Mapping[str, Any]) -> bool:
        """Whether a result as the LIMS stored it failed its check (a result without a
        readable check is not flagged: nothing says it failed)."""
        try:
            check = cls.of_result(result)
        except (RecordError, TypeError, ValueError):
            return False
        return check is not None and not check.met


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a run as the bench evaluated it: which point of which test of the
    procedure (``index``, ``test``), its nominal in ``unit``, the measurement model (a
    model file, ``uncertainty.model``) whose quantity ``readings_quantity`` holds the
    readings as samples, the model's ``output`` and the bench's result, limits, verdict
    and 1/3-MPE check, and every reading the model was built on."""

    KEYS: ClassVar[tuple[str, ...]] = (
        "index",
        "test",
        "nominal",
        "unit",
        "readings_quantity",
        "output",
        "model",
        "result",
        "conformity",
        "acceptance",
        "uncertainty_ratio",
        "readings",
    )
    REQUIRED: ClassVar[tuple[str, ...]] = (
        "index",
        "test",
        "nominal",
        "unit",
        "readings_quantity",
        "output",
        "model",
        "result",
        "readings",
    )

    index: int
    test: str
    nominal: float
    unit: str
    readings_quantity: str
    output: str
    model: Mapping[str, Any]
    result: Result
    conformity: str = ""
    acceptance: Acceptance | None = None
    uncertainty_ratio: UncertaintyRatio | None = None
    readings: tuple[Reading, ...] = ()

    def quantity_of(self, reading: Reading) -> str:
        """The model quantity ``reading`` is a sample of."""
        return reading.quantity or self.readings_quantity

    def to_json(self, *, readings: bool = True) -> dict[str, Any]:
        """The point's JSON; without ``readings`` as the agent's outbox keeps a finished
        point (its readings are kept one by one)."""
        out: dict[str, Any] = {
            "index": self.index,
            "test": self.test,
            "nominal": self.nominal,
            "unit": self.unit,
            "readings_quantity": self.readings_quantity,
            "output": self.output,
            "model": self.model,
            "result": self.result.to_json(),
            "conformity": self.conformity,
        }
        if self.acceptance is not None:
            out["acceptance"] = self.acceptance.to_json()
        if self.uncertainty_ratio is not None:
            out["uncertainty_ratio"] = self.uncertainty_ratio.to_json()
        if readings:
            out["readings"] = [r.to_json() for r in self.readings]
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "", *, readings: bool = True) -> Point:
        """Read a point; ``readings=False`` reads one kept without its readings (and
        refuses one that has them)."""
        f = Fields(data, where)
        if readings:
            taken = f.objects("readings", Reading.from_json, empty=False)
        elif f.has("readings"):
            raise RecordError("readings are kept one by one", field=f.at("readings"))
        else:
            taken = ()
        return cls(
            index=f.integer("index"),
            test=f.text("test"),
            nominal=f.number("nominal"),
            unit=f.text("unit"),
            readings_quantity=f.text("readings_quantity"),
            output=f.text("output"),
            model=f.mapping("model"),
            result=Result.from_json(f.required("result"), f.at("result")),
            conformity=f.optional_text("conformity") or "",
            acceptance=(
                Acceptance.from_json(f.data["acceptance"], f.at("acceptance"))
                if f.given("acceptance")
                else None
            ),
            uncertainty_ratio=(
                UncertaintyRatio.from_json(f.data["uncertainty_ratio"], f.at("uncertainty_ratio"))
                if f.given("uncertainty_ratio")
                else None
            ),
            readings=taken,
        )

    @property
    def samples(self) -> int:
        """How many readings the model holds as samples (a resumed point's readings are
        not in the record beside it, but are in its model)."""
        quantities = self.model.get("quantities") or {}
        return sum(len(q.get("samples", ())) for q in quantities.values() if isinstance(q, Mapping))


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true, false or null, got {value!r}")
    return value


def _ratio_text(value: Any) -> str:
    if not isinstance(value, str) or not _RATIO.fullmatch(value):
        raise ValueError(f'must be a ratio such as "1/3", got {value!r}')
    return value
