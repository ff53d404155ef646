"""The evaluation of one point, the same on the bench and in the LIMS.

A point's measurement model (its readings as the samples of one quantity, the
reference's certified value, the resolution...) is evaluated by the GUM (JCGM 100: law
of propagation, Welch-Satterthwaite, ``k`` from Student's t at the coverage
probability); the procedure's rule sets the acceptance limits from the result
(:func:`procedures.acceptance.limits_for`); the procedure's decision rule states
conformity (ILAC G8, JCGM 106: :func:`uncertainty.conformity.decide_conformity`); and
``U`` is checked against a fraction of the MPE (the 1/3-MPE rule of OIML R 111 and
R 76: :func:`uncertainty.conformity.check_uncertainty_ratio`).

The runner calls :func:`evaluate_point` for each point it measures; the LIMS calls it
again on every point it receives (after :func:`bind_readings` has checked that the
model's samples are the point's readings), keeps the :class:`Budget` it gives, and
compares the bench's claims with its own result. One function, so the two cannot
drift apart: ``tests/labserver/test_one_evaluator.py`` runs every shipped procedure on
the simulated bench and asserts that the LIMS's evaluation of the run is the bench's,
number for number.

Nothing here drives an instrument: the LIMS imports it without the drivers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from procedures.acceptance import RESULT_RULES, Limits, limits_for
from procedures.definition import ProcedureDefinition, TestSpec
from procedures.errors import ProcedureError
from procedures.record import Acceptance, Result, UncertaintyRatio
from procedures.record.reader import json_dof
from uncertainty.conformity import (
    ConformityDecision,
    DecisionRule,
    check_uncertainty_ratio,
    decide_conformity,
)
from uncertainty.errors import UncertaintyError
from uncertainty.gum import BudgetLine, GumOutput, evaluate_gum
from uncertainty.model import Model, parse_model

__all__ = [
    "Budget",
    "LimitsRule",
    "PointEvaluation",
    "PointNotEvaluated",
    "PointRules",
    "bind_readings",
    "evaluate_point",
]


class PointNotEvaluated(ProcedureError):
    """A point that cannot be evaluated: ``stage`` says which step refused it and
    ``cause`` why; ``argument`` names the value at fault, relative to the point
    (``model.quantities.x.samples``). The message is the cause's own, so that each
    caller words the refusal in its terms (the runner interrupts the run, the LIMS
    refuses the evidence naming the point's field).

    Stages: ``readings`` (the model's samples are not the point's readings), ``model``
    (not a valid model), ``gum`` (not evaluable at the estimates), ``limits`` (the
    procedure's rule cannot set limits at this point), ``decision`` (the decision rule
    refuses the band), ``result`` (not finite).
    """

    def __init__(self, stage: str, cause: Exception, *, argument: str | None = None) -> None:
        self.stage = stage
        self.cause = cause
        where = argument or getattr(cause, "where", None) or getattr(cause, "argument", None)
        super().__init__(getattr(cause, "message", str(cause)), argument=where)


# ------------------------------------------------------------------ the model and its readings


def bind_readings(point: Mapping[str, Any]) -> Model:
    """Check that a point's model is built on its readings, then parse the model.

    ``point`` is the point's JSON (:meth:`procedures.record.Point.to_json`; only
    ``model``, ``output``, ``readings_quantity`` and each reading's ``quantity``,
    ``value`` and ``unit`` are read). Readings are grouped by the model quantity they are
    samples of (``quantity``, default ``readings_quantity``); each group must be exactly
    that quantity's ``samples``, in order and in its unit, and every quantity with
    samples must have its readings in the point. Raises :class:`PointNotEvaluated`
    (stage ``readings`` or ``model``).
    """
    quantities = point["model"].get("quantities")
    if not isinstance(quantities, Mapping):
        _refuse("model.quantities", "expected a mapping of quantities")
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for reading in point["readings"]:
        groups.setdefault(reading.get("quantity") or point["readings_quantity"], []).append(reading)
    if point["readings_quantity"] not in groups:
        _refuse("readings_quantity", f"no reading is a sample of {point['readings_quantity']!r}")
    for name, readings in groups.items():
        spec = quantities.get(name)
        if not isinstance(spec, Mapping):
            _refuse("readings", f"the model has no quantity {name!r} to hold the readings")
        values = [r["value"] for r in readings]
        if spec.get("samples") != values:
            _refuse(
                f"model.quantities.{name}.samples",
                f"do not match the point's readings of {name} ({len(values)} readings)",
            )
        units = {r["unit"] for r in readings}
        unit = spec.get("unit")
        if len(units) > 1 or (unit is not None and units != {unit}):
            _refuse(
                f"model.quantities.{name}.unit",
                f"{unit!r} differs from the unit of the readings ({', '.join(sorted(units))})",
            )
    for name, spec in quantities.items():
        if isinstance(spec, Mapping) and "samples" in spec and name not in groups:
            _refuse(
                f"model.quantities.{name}.samples",
                "samples that are not among the point's readings",
            )
    model = _parsed(point["model"])
    if point["output"] not in {o.name for o in model.outputs}:
        _refuse("output", f"the model has no output {point['output']!r}")
    return model


def _refuse(argument: str, message: str) -> Any:
    raise PointNotEvaluated("readings", ProcedureError(message), argument=argument)


def _parsed(model: Model | Mapping[str, Any]) -> Model:
    if isinstance(model, Model):
        return model
    try:
        return parse_model(model)
    except UncertaintyError as exc:
        where = f"model.{exc.where}" if exc.where else "model"
        raise PointNotEvaluated("model", exc, argument=where) from None


# ------------------------------------------------------------------ the rules of the point


@dataclass(frozen=True)
class LimitsRule:
    """A test's ``mpe:`` at one point: the limits it sets once the result is known (a
    rule may depend on it, as ``result``). ``scope`` holds the names the point's
    expressions see (:func:`procedures.scope.point_scope`); ``where`` prefixes errors."""

    mpe: Mapping[str, Any]
    scope: Mapping[str, Any]
    where: str

    def at(self, result: float) -> Limits:
        return limits_for(self.mpe, {**self.scope, "result": result}, where=self.where)


@dataclass(frozen=True)
class PointRules:
    """What decides a point's verdict: the procedure's decision rule (``"simple
    acceptance"``...) and largest U/MPE (``"1/3"``, or None), and either the limits the
    procedure sets (``limits``: a rule, or limits set beforehand) or, for a catalog entry
    that states no rule, the band the point itself states (``stated``)."""

    decision_rule: str = DecisionRule.SIMPLE_ACCEPTANCE.value
    max_uncertainty_ratio: str | None = None
    limits: LimitsRule | Limits | None = None
    stated: Acceptance | None = None

    @classmethod
    def of(
        cls,
        definition: ProcedureDefinition,
        test: TestSpec,
        scope: Mapping[str, Any],
        *,
        where: str,
    ) -> PointRules:
        """The rules of a point of ``test`` whose names are ``scope``."""
        return cls(
            definition.decision_rule,
            definition.max_uncertainty_ratio,
            LimitsRule(test.mpe, scope, where) if test.mpe is not None else None,
        )


# ------------------------------------------------------------------ the evaluation


@dataclass(frozen=True)
class Budget:
    """The uncertainty budget of a point's output (JCGM 100 5.1.3): each input's value,
    standard uncertainty, distribution, degrees of freedom, sensitivity coefficient and
    contribution ``|c_i| u(x_i)``, and the output's estimate, ``u``, ``k``, ``U`` and
    effective degrees of freedom (``math.inf`` for infinitely many). ``correlated``: the
    model correlates inputs (then no share of ``u_c²`` is given per input)."""

    output: str
    unit: str | None
    value: float
    u: float
    k: float
    U: float
    dof: float
    coverage_probability: float
    correlated: bool
    lines: tuple[BudgetLine, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "unit": self.unit,
            "value": self.value,
            "u": self.u,
            "k": self.k,
            "U": self.U,
            "dof": json_dof(self.dof),
            "coverage_probability": self.coverage_probability,
            "correlated": self.correlated,
            "lines": [line.to_dict() for line in self.lines],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Budget:
        """A budget as :meth:`to_json` wrote it (the LIMS stores it with the point)."""
        return cls(
            output=str(data["output"]),
            unit=data.get("unit"),
            value=float(data["value"]),
            u=float(data["u"]),
            k=float(data["k"]),
            U=float(data["U"]),
            dof=_dof(data["dof"]),
            coverage_probability=float(data["coverage_probability"]),
            correlated=bool(data["correlated"]),
            lines=tuple(
                BudgetLine(
                    quantity=str(line["quantity"]),
                    value=float(line["value"]),
                    u=float(line["u"]),
                    unit=line.get("unit"),
                    distribution=str(line["distribution"]),
                    dof=_dof(line["dof"]),
                    sensitivity=float(line["sensitivity"]),
                    contribution=float(line["contribution"]),
                )
                for line in data["lines"]
            ),
        )


@dataclass(frozen=True)
class PointEvaluation:
    """One point evaluated: the GUM output of its model, the limits the procedure set
    (None without a rule), the band judged against, the decision and the 1/3-MPE check.
    ``unit`` is the output's (the point's when the model states none)."""

    output: GumOutput
    correlated: bool
    unit: str
    decision_rule: str
    limits: Limits | None
    acceptance: Acceptance | None
    decision: ConformityDecision | None
    ratio: UncertaintyRatio | None

    @property
    def result(self) -> Result:
        """The result as a run payload's point states it."""
        out = self.output
        return Result(value=out.value, u=out.u, U=out.U, k=out.k, dof=out.dof)

    @property
    def conformity(self) -> str:
        """The statement (``pass``, ``fail``...), empty without limits."""
        return str(self.decision.statement) if self.decision is not None else ""

    @property
    def budget(self) -> Budget:
        out = self.output
        return Budget(
            output=out.name,
            unit=out.unit,
            value=out.value,
            u=out.u,
            k=out.k,
            U=out.U,
            dof=out.dof,
            coverage_probability=out.coverage_probability,
            correlated=self.correlated,
            lines=out.budget,
        )

    def to_json(self) -> dict[str, Any]:
        """The evaluation as the LIMS keeps it (a point's ``server_result``): the result
        with its coverage probability and unit, the limits the procedure set, the
        decision rule and acceptance interval, and the 1/3-MPE check."""
        out: dict[str, Any] = {
            **self.result.to_json(),
            "coverage_probability": self.output.coverage_probability,
            "unit": self.unit,
        }
        if self.limits is not None:
            out["acceptance"] = Acceptance.of(self.limits).to_json()
        if self.decision is not None:
            out["decision_rule"] = self.decision_rule
            out["acceptance_interval"] = [
                self.decision.acceptance_lower,
                self.decision.acceptance_upper,
            ]
        if self.ratio is not None:
            out["uncertainty_ratio"] = self.ratio.to_json()
        return out


def evaluate_point(
    model: Model | Mapping[str, Any],
    output: str,
    rules: PointRules | None = None,
    *,
    unit: str = "",
) -> PointEvaluation:
    """Evaluate a point's ``model`` (a model file's data, or the model parsed) for its
    ``output`` by the GUM, then set its limits, state conformity and check U/MPE by
    ``rules`` (none: the result and budget alone). ``unit`` is the point's, for an output
    whose model states no unit.

    Raises :class:`PointNotEvaluated` naming the step that refused.
    """
    rules = rules or PointRules()
    parsed = _parsed(model)
    try:
        gum = evaluate_gum(parsed)[output]
    except UncertaintyError as exc:
        where = f"model.{exc.where}" if exc.where else "model"
        raise PointNotEvaluated("gum", exc, argument=where) from None
    except KeyError:
        raise PointNotEvaluated(
            "model", ProcedureError(f"the model has no output {output!r}"), argument="output"
        ) from None
    for value in (gum.value, gum.u, gum.U, gum.k):
        if not math.isfinite(value):
            raise PointNotEvaluated(
                "result", ProcedureError("the result is not finite"), argument="model"
            )
    limits = _limits(rules.limits, gum.value)
    acceptance = Acceptance.of(limits) if limits is not None else rules.stated
    decision = None
    ratio = None
    if acceptance is not None and acceptance.bounded:
        try:
            decision = decide_conformity(
                gum.value,
                lower_limit=acceptance.lower,
                upper_limit=acceptance.upper,
                expanded_uncertainty=gum.U,
                coverage_factor=gum.k,
                rule=DecisionRule(rules.decision_rule),
            )
        except (UncertaintyError, ValueError) as exc:
            raise PointNotEvaluated("decision", exc, argument="acceptance") from None
        # U ≤ MPE/3 is about an error judged against ± MPE: a result judged as it is
        # against its limit (a count, a time to the first pulse) has no MPE to compare.
        if (
            acceptance.mpe is not None
            and rules.max_uncertainty_ratio is not None
            and acceptance.rule not in RESULT_RULES
        ):
            check = check_uncertainty_ratio(
                gum.U, acceptance.mpe, max_ratio=Fraction(rules.max_uncertainty_ratio)
            )
            ratio = UncertaintyRatio(check.ratio, rules.max_uncertainty_ratio, check.met)
    return PointEvaluation(
        output=gum,
        correlated=parsed.is_correlated,
        unit=gum.unit or unit,
        decision_rule=rules.decision_rule,
        limits=limits,
        acceptance=acceptance,
        decision=decision,
        ratio=ratio,
    )


def _limits(rule: LimitsRule | Limits | None, result: float) -> Limits | None:
    if rule is None or isinstance(rule, Limits):
        return rule
    try:
        return rule.at(result)
    except ProcedureError as exc:
        raise PointNotEvaluated("limits", exc) from None


def _dof(value: Any) -> float:
    return math.inf if value == "inf" else float(value)
