"""Acceptance limits of a point, from the rule its procedure names (``mpe:`` of a test).

The runner sets the limits it shows the operator with this module, and the LIMS sets
them again from the stored definition, the instrument's specification and the point's
parameters: the limits of a run's points are never taken from the agent's word.

Every rule returns an error band symmetric about zero, ``[-MPE, +MPE]``, in the unit
of the point's result, with the MPE and the rule's document:

* ``spec`` — a manufacturer's specification ``±(a % of reading + b % of range + c)``
  (:func:`procedures.mpe.spec_tolerance`);
* ``nawi`` — OIML R 76-1 Table 6 in verification scale intervals, initial or in
  service (:class:`procedures.mpe.WeighingInstrument`);
* ``pressure_gauge`` — class % of the span (:func:`procedures.mpe.pressure_gauge_mpe`);
* ``water_meter`` — OIML R 49-1 lower/upper zone, in % of the volume
  (:class:`procedures.mpe.WaterMeter`);
* ``electricity_meter`` — OIML R 46 classes A, B, C by MID Annex V Table 2, by current
  range, power factor and temperature, in % of the energy
  (:class:`procedures.mpe.ElectricityMeter`);
* ``electricity_meter_stated`` — a class whose limits the procedure states
  (``class_limits:``, the center's transcription of a standard it holds), by current range
  and power factor, in % of the energy (:mod:`procedures.mpe.stated`); the limits' document
  is the transcription's citation (document, table, procedure version, who transcribed and
  who checked it);
* ``electricity_no_load`` — the no-load (creep) test of IEC 62053-21/-22: the point's
  result is the pulses counted at the test output, at most one
  (:func:`procedures.mpe.check_no_load`).
* ``electricity_starting`` — the starting test of IEC 62053-21/-22: the point's result is
  the time to the meter's first pulse at the starting current, within the test's
  ``duration`` (s) (:func:`procedures.mpe.electricity.starting_limit`).
* ``fuel_dispenser`` — OIML R 117-1 / MID MI-005 line A or B with E_min at the minimum
  measured quantity, in % of the volume (:class:`procedures.mpe.FuelMeasuringSystem`).

Test-level checks (``checks:`` of a test, :data:`CHECKS`, :func:`checks_for`) compare a
test's points with each other once they are done: ``repeatability`` (R 76-1 3.6.1, the
spread of the indications of one load), ``eccentricity`` (R 76-1 3.6.2, every
position's error) and ``hysteresis`` (rising against falling error at each pressure).

Test plans (``plan:`` of a test, :data:`PLANS`, :func:`check_plan`) are checked before the
first point, over the loads the test will apply: ``nawi_weighing_test`` refuses a weighing
test with fewer different loads than R 76-1 A.4.4.1 asks for a verification (or without
Max, Min or the MPE change points); ``fuel_dispenser_volumes`` a dispenser whose display
is too coarse for its MMQ or a test volume below the MMQ.

Arguments are numbers or expressions over the point's scope (see
:mod:`procedures.definition`); they are turned into Decimals through their shortest
decimal representation, so ``0.0035`` in a file is exactly 35/10000 here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from procedures.definition import STATED_RULE, STATED_RULE_TABLE
from procedures.errors import ProcedureError
from procedures.evaluate import evaluate_expression
from procedures.mpe import (
    NO_LOAD_MAX_PULSES,
    ElectricityMeter,
    FuelMeasuringSystem,
    RuleCheck,
    WaterMeter,
    WeighingInstrument,
    check_hysteresis,
    pressure_gauge_mpe,
    spec_tolerance,
)
from procedures.mpe.electricity import starting_limit
from procedures.mpe.stated import StatedClass, StatedClassLimits

__all__ = [
    "CHECKS",
    "COUNTS",
    "PLANS",
    "PULSES",
    "RESULT_RULES",
    "RULES",
    "Check",
    "Limits",
    "Observed",
    "Plan",
    "Rule",
    "check_plan",
    "checks_for",
    "count_words",
    "limits_for",
    "observed",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """The acceptance band of one point: ``lower``/``upper`` bound the result, ``mpe`` is
    the maximum permissible error (a magnitude), ``rule`` and ``document`` say whence."""

    lower: float
    upper: float
    mpe: float
    rule: str
    document: str

    def as_payload(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "mpe": self.mpe,
            "rule": self.rule,
            "document": self.document,
        }


@dataclass(frozen=True, slots=True)
class Rule:
    """An acceptance rule: its arguments (name → ``number``, ``text``, ``bool``; a trailing
    ``?`` marks an optional one) and the function that gives the MPE."""

    arguments: Mapping[str, str]
    mpe: Callable[[Mapping[str, Any]], Decimal]
    document: str


def _spec(a: Mapping[str, Any]) -> Decimal:
    return spec_tolerance(
        a["reading"],
        range_=a["range"],
        percent_of_reading=a["percent_of_reading"],
        percent_of_range=a["percent_of_range"],
        offset=a.get("offset", Decimal(0)),
        full_scale=a.get("full_scale"),
    )


def _nawi(a: Mapping[str, Any]) -> Decimal:
    instrument = WeighingInstrument(
        str(a["accuracy_class"]),
        a["max_capacity"],
        a["e"],
        unit=str(a["unit"]),  # type: ignore[arg-type]
    )
    return instrument.mpe(a["load"], in_service=bool(a.get("in_service", False)))


def _pressure(a: Mapping[str, Any]) -> Decimal:
    return pressure_gauge_mpe(
        a["accuracy_class"], a["span"], in_service=bool(a.get("in_service", False))
    )


def _water(a: Mapping[str, Any]) -> Decimal:
    meter = WaterMeter(
        int(a["accuracy_class"]),
        q3=a["q3"],
        ratio=a["ratio"],
        temperature_class=str(a.get("temperature_class", "T30")),
    )
    return meter.mpe(a["flow_rate"], water_temperature=a["water_temperature"])


def _electricity(a: Mapping[str, Any]) -> Decimal:
    meter = ElectricityMeter(
        str(a["accuracy_class"]), i_min=a["i_min"], i_tr=a["i_tr"], i_max=a["i_max"]
    )
    load_kind = str(a.get("load_kind", "inductive"))
    return meter.mpe(
        a["current"],
        power_factor=a["power_factor"],
        load_kind=load_kind,  # type: ignore[arg-type]
        temperature=a.get("temperature", Decimal(23)),
    )


def _stated(a: Mapping[str, Any]) -> Decimal:
    """The limit of a stated class: ``a`` holds the rule's arguments and, set by
    :func:`limits_for`, the class (``stated``) and the meter's currents it names."""
    stated = a.get("stated")
    if not isinstance(stated, StatedClass):
        raise ProcedureError(
            "the rule applies the class_limits of its procedure, and none came with it",
            argument="rule",
        )
    return stated.mpe(
        a["current"],
        power_factor=a["power_factor"],
        load_kind=str(a.get("load_kind", "inductive")),
        currents=a["currents"],
    )


def _fuel(a: Mapping[str, Any]) -> Decimal:
    system = FuelMeasuringSystem(
        a["accuracy_class"], mmq=a["mmq"], scale_interval=a["scale_interval"]
    )
    line = str(a.get("line", "A"))
    if line not in ("A", "B"):
        raise ProcedureError(f"must be 'A' or 'B', not {line!r}", argument="line")
    return system.mpe_percent(a["volume"], "A" if line == "A" else "B")


RULES: Mapping[str, Rule] = {
    "spec": Rule(
        {
            "reading": "number",
            "range": "number",
            "percent_of_reading": "number",
            "percent_of_range": "number",
            "offset": "number?",
            "full_scale": "number?",
        },
        _spec,
        "manufacturer's specification",
    ),
    "nawi": Rule(
        {
            "accuracy_class": "text",
            "max_capacity": "number",
            "e": "number",
            "unit": "text",
            "load": "number",
            "in_service": "bool?",
        },
        _nawi,
        "OIML R 76-1:2006 3.5.1 Table 6 (3.5.2 in service)",
    ),
    "pressure_gauge": Rule(
        {"accuracy_class": "number", "span": "number", "in_service": "bool?"},
        _pressure,
        "OIML R 101 (class % of span)",
    ),
    "water_meter": Rule(
        {
            "accuracy_class": "number",
            "q3": "number",
            "ratio": "number",
            "flow_rate": "number",
            "water_temperature": "number",
            "temperature_class": "text?",
        },
        _water,
        "OIML R 49-1:2013 4.2.2 / 4.2.3",
    ),
    "electricity_meter": Rule(
        {
            "accuracy_class": "text",
            "i_min": "number",
            "i_tr": "number",
            "i_max": "number",
            "current": "number",
            "power_factor": "number",
            "load_kind": "text?",
            "temperature": "number?",
        },
        _electricity,
        # What a certificate prints: the values are MID Annex V Table 2's (the European
        # directive, never cited as the method), the classes those of OIML R 46.
        "OIML R 46 accuracy classes A, B, C (MPE by current range and temperature)",
    ),
    STATED_RULE: Rule(
        {
            "accuracy_class": "text",
            "current": "number",
            "power_factor": "number",
            "load_kind": "text?",
        },
        _stated,
        # Replaced at each point by the citation of the class's transcription.
        "the class limits stated in the procedure (class_limits)",
    ),
    "electricity_no_load": Rule(
        {},
        lambda _: Decimal(NO_LOAD_MAX_PULSES),
        "IEC 62053-21, test of no-load condition (at most one pulse)",
    ),
    "electricity_starting": Rule(
        {"duration": "number"},
        lambda a: starting_limit(a["duration"]),
        "IEC 62053-21, test of starting current (a first pulse within the test's duration)",
    ),
    "fuel_dispenser": Rule(
        {
            "accuracy_class": "number",
            "mmq": "number",
            "scale_interval": "number",
            "volume": "number",
            "line": "text?",
        },
        _fuel,
        "OIML R 117-1:2007 (MPE of the measuring system, line A, or the meter, line B; E_min)",
    ),
}


@dataclass(frozen=True, slots=True)
class Observed:
    """How a report shows a result judged as it is (a rule of :data:`RESULT_RULES`): what
    was observed, against the largest value the rule allows (``≤ limit``: the rule's MPE is
    that limit, not a ± band), never as an error of indication.

    ``counted`` names what a count counts, as a plural noun in each language
    (``{"en": "pulses", "vi": "xung"}``): the result is then a whole number written with
    these words for its unit, and no uncertainty is stated with it. A count of discrete
    events is exact: the rule judges the number observed (IEC 62053-21's "at most one
    pulse"), and the ±½ pulse a model gives a count is its resolution as a *measure of
    energy*, meaningless for the count itself (a count of 0 is not 0 ± 0.58 pulses). None
    for a measured quantity (a time), reported with its expanded uncertainty.
    """

    counted: Mapping[str, str] | None = None

    @property
    def is_count(self) -> bool:
        return self.counted is not None


def count_words(counted: Mapping[str, str], count: float, language: str) -> str:
    """What a count counts in ``language`` (English where the language has no words), the
    singular for one where the language has one (``en_one``): "1 pulse", "0 pulses",
    "1 xung"."""
    language = language if language in counted else "en"
    if count == 1 and f"{language}_one" in counted:
        return counted[f"{language}_one"]
    return counted[language]


PULSES: Mapping[str, str] = {"en": "pulses", "en_one": "pulse", "vi": "xung"}
"""What the pulses register of a meter's test output counts, in words (plural, and the
singular where a language has one)."""

COUNTS: Mapping[str, Mapping[str, str]] = {"register:pulses": PULSES}
"""The functions whose readings are counts (the unit one), and what they count in words:
a display writes such a reading as a whole number with these words, never "0 1"."""

RESULT_RULES: Mapping[str, Observed] = {
    "electricity_no_load": Observed(counted=PULSES),
    "electricity_starting": Observed(),
}
"""The rules that judge a point's result as it is, not an error of indication: the pulses a
meter counts with no load, the seconds to its first pulse at the starting current. A
report shows such a result as what was observed, against its limit (``≤``), never as an
error with a ± MPE (:class:`Observed`); no U/MPE ratio is checked for it (the limit is
not a permissible error)."""


def observed(acceptance: Mapping[str, Any] | None) -> Observed | None:
    """How a point whose stored acceptance (``{"rule": ..., ...}``) is ``acceptance`` is
    shown when its rule judges the result as it is; None for an error against ± MPE."""
    if not acceptance:
        return None
    return RESULT_RULES.get(str(acceptance.get("rule") or ""))


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProcedureError(f"expected a number, got {value!r}", argument=name)
    if not math.isfinite(value):
        raise ProcedureError("must be finite", argument=name)
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _arguments(
    declared: Mapping[str, str], spec: Mapping[str, Any], scope: Mapping[str, Any], *, where: str
) -> dict[str, Any]:
    """A rule's or check's arguments as written in ``spec``: numbers (or expressions over
    ``scope``) as Decimals, text (or the text a name in ``scope`` holds), booleans."""
    arguments: dict[str, Any] = {}
    for arg, kind in declared.items():
        if arg not in spec:
            continue
        raw = spec[arg]
        if kind.startswith("number"):
            value = (
                raw
                if isinstance(raw, int | float)
                else evaluate_expression(str(raw), scope, where=f"{where}.{arg}")
            )
            arguments[arg] = _decimal(value, f"{where}.{arg}")
        elif kind.startswith("text"):
            text = str(raw)
            arguments[arg] = str(scope[text]) if text in scope else text
        else:
            arguments[arg] = bool(raw)
    return arguments


def limits_for(spec: Mapping[str, Any], scope: Mapping[str, Any], *, where: str) -> Limits:
    """The limits ``spec`` (a test's ``mpe:``) sets at a point whose names are ``scope``.

    ``where`` prefixes errors (``tests[0].mpe``); a value outside a rule's domain (a load
    above Max, a flow outside Q1..Q4) raises :class:`~procedures.errors.ProcedureError`.
    """
    name = str(spec["rule"])
    rule = RULES[name]
    arguments = _arguments(rule.arguments, spec, scope, where=where)
    document = rule.document
    try:
        table = spec.get(STATED_RULE_TABLE)
        if isinstance(table, StatedClassLimits):
            stated = table.of(str(arguments["accuracy_class"]))
            arguments["stated"] = stated
            arguments["currents"] = {
                current: _decimal(scope.get(current), current)
                for current in sorted(stated.currents)
            }
            document = stated.citation
        mpe = rule.mpe(arguments)
    except ProcedureError as exc:
        argument = f"{where}.{exc.argument}" if exc.argument else where
        raise ProcedureError(exc.message, argument=argument) from None
    magnitude = float(mpe)
    return Limits(-magnitude, magnitude, magnitude, name, document)


# ------------------------------------------------------------------ test-level checks


@dataclass(frozen=True, slots=True)
class Check:
    """A check across the points of a test (``checks:`` of a test): its arguments (as for
    :class:`Rule`) and the function that compares, given the arguments, the points'
    nominal and their indications (every primary reading) or their errors (results),
    in the order the points were taken."""

    arguments: Mapping[str, str]
    compare: Callable[[Mapping[str, Any], Sequence[_PointValues]], list[RuleCheck]]
    groups: str
    """How points are grouped: ``nominal`` (one check per nominal) or ``pairs`` (one per
    nominal taken twice: first rising, then falling)."""


@dataclass(frozen=True, slots=True)
class _PointValues:
    index: int
    nominal: Decimal
    indications: tuple[Decimal, ...]
    error: Decimal


_NAWI_ARGUMENTS: Mapping[str, str] = {
    "accuracy_class": "text",
    "max_capacity": "number",
    "e": "number",
    "unit": "text",
    "in_service": "bool?",
}


def _instrument(a: Mapping[str, Any]) -> WeighingInstrument:
    return WeighingInstrument(
        str(a["accuracy_class"]),
        a["max_capacity"],
        a["e"],
        unit=str(a["unit"]),  # type: ignore[arg-type]
    )


def _repeatability(a: Mapping[str, Any], points: Sequence[_PointValues]) -> list[RuleCheck]:
    indications = [v for p in points for v in p.indications]
    return [
        _instrument(a).check_repeatability(
            points[0].nominal, indications, in_service=bool(a.get("in_service", False))
        )
    ]


def _eccentricity(a: Mapping[str, Any], points: Sequence[_PointValues]) -> list[RuleCheck]:
    return [
        _instrument(a).check_eccentricity(
            points[0].nominal,
            [p.error for p in points],
            in_service=bool(a.get("in_service", False)),
        )
    ]


def _hysteresis(a: Mapping[str, Any], points: Sequence[_PointValues]) -> list[RuleCheck]:
    rising, falling = points
    return [
        check_hysteresis(
            a["accuracy_class"],
            a["span"],
            pressure=rising.nominal,
            rising=rising.error,
            falling=falling.error,
            unit=str(a["unit"]),
        )
    ]


CHECKS: Mapping[str, Check] = {
    # R 76-1:2006 3.6.1: max − min of the indications of one load ≤ |MPE| at that load.
    "repeatability": Check(_NAWI_ARGUMENTS, _repeatability, "nominal"),
    # R 76-1:2006 3.6.2: the error at every position ≤ |MPE| of the load.
    "eccentricity": Check(_NAWI_ARGUMENTS, _eccentricity, "nominal"),
    # Eichordnung Anlage 16 3.4 (R 101 [unverified]): |falling − rising| error ≤ MPE.
    "hysteresis": Check(
        {"accuracy_class": "number", "span": "number", "unit": "text"}, _hysteresis, "pairs"
    ),
}


def checks_for(
    spec: Mapping[str, Any],
    scope: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    *,
    where: str,
) -> list[dict[str, Any]]:
    """The results of one test-level check ``spec`` (an entry of a test's ``checks:``) over
    the test's finished ``points`` (run payload points, in run order), with arguments
    evaluated in ``scope``.

    Each result is :meth:`~procedures.mpe.RuleCheck.as_dict` plus ``check`` (the kind)
    and ``points`` (the run indexes of the points it is based on). Indications are every
    reading of a point's primary quantity; errors are the points' results.
    """
    name = str(spec["check"])
    check = CHECKS[name]
    arguments = _arguments(check.arguments, spec, scope, where=where)
    values = [
        _PointValues(
            int(p["index"]),
            _decimal(float(p["nominal"]), f"{where}.points[{p['index']}].nominal"),
            tuple(
                _decimal(float(v), f"{where}.points[{p['index']}].readings")
                for v in p["model"]["quantities"][p["readings_quantity"]]["samples"]
            ),
            _decimal(float(p["result"]["value"]), f"{where}.points[{p['index']}].result"),
        )
        for p in points
    ]
    groups: dict[Decimal, list[_PointValues]] = {}
    for point_values in values:
        groups.setdefault(point_values.nominal, []).append(point_values)
    out: list[dict[str, Any]] = []
    for nominal, group in groups.items():
        if check.groups == "pairs":
            if len(group) == 1:
                continue  # taken in one direction only: no hysteresis to compare
            if len(group) != 2:
                raise ProcedureError(
                    f"{len(group)} points at {nominal}: a hysteresis check pairs one rising "
                    "and one falling point",
                    argument=where,
                )
        try:
            results = check.compare(arguments, group)
        except ProcedureError as exc:
            argument = f"{where}.{exc.argument}" if exc.argument else where
            raise ProcedureError(exc.message, argument=argument) from None
        for result in results:
            out.append({"check": name, **result.as_dict(), "points": [p.index for p in group]})
    return out


# ------------------------------------------------------------------ test plans


@dataclass(frozen=True, slots=True)
class Plan:
    """A rule on a test's points as a whole, checked before the first point (``plan:`` of a
    test): its arguments (as for :class:`Rule`) and the function that refuses the points
    (each point's names: ``nominal`` evaluated, its keys; in run order) with a
    :class:`~procedures.errors.PlanError`, or returns the plan's summary."""

    arguments: Mapping[str, str]
    check: Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], dict[str, Any]]


def _nawi_weighing_test(
    a: Mapping[str, Any], points: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    loads = [_decimal(p["nominal"], f"loads[{i}]") for i, p in enumerate(points)]
    required = a.get("min_loads")
    if required is None:
        return _instrument(a).check_weighing_loads(loads)
    if required != required.to_integral_value():
        raise ProcedureError(f"must be a whole number, not {required}", argument="min_loads")
    return _instrument(a).check_weighing_loads(loads, required=int(required))


def _water_meter_temperatures(
    a: Mapping[str, Any], points: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    meter = WaterMeter(
        int(a["accuracy_class"]),
        q3=a["q3"],
        ratio=a["ratio"],
        temperature_class=str(a.get("temperature_class", "T30")),
    )
    temperatures = [
        _decimal(p.get("water_temperature"), f"points[{i}].water_temperature")
        for i, p in enumerate(points)
    ]
    return meter.check_test_temperatures(temperatures)


def _fuel_dispenser_volumes(
    a: Mapping[str, Any], points: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    system = FuelMeasuringSystem(
        a["accuracy_class"], mmq=a["mmq"], scale_interval=a["scale_interval"]
    )
    return system.check_test_volumes(
        [_decimal(p["nominal"], f"points[{i}].nominal") for i, p in enumerate(points)]
    )


PLANS: Mapping[str, Plan] = {
    # R 76-1:2006 A.4.4.1: ≥ 10 different loads (≥ 5 where min_loads says so for a test
    # other than the initial determination), Max, Min, the MPE change points, up and down.
    "nawi_weighing_test": Plan({**_NAWI_ARGUMENTS, "min_loads": "number?"}, _nawi_weighing_test),
    # R 49-1:2013 (temperature classes [unverified]): every point's water temperature is
    # inside the meter's temperature class, so that its MPE exists.
    "water_meter_temperatures": Plan(
        {
            "accuracy_class": "number",
            "q3": "number",
            "ratio": "number",
            "temperature_class": "text?",
        },
        _water_meter_temperatures,
    ),
    # MID MI-005 2.4 (= R 117-1:2007): the dispenser's class is encoded, its E_min is at
    # least twice its scale interval, and no test volume is below its MMQ, before any fuel
    # is pumped.
    "fuel_dispenser_volumes": Plan(
        {"accuracy_class": "number", "mmq": "number", "scale_interval": "number"},
        _fuel_dispenser_volumes,
    ),
}


def check_plan(
    spec: Mapping[str, Any],
    scope: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    *,
    where: str,
) -> dict[str, Any]:
    """Check a test's ``plan:`` (``spec``) over its ``points`` (each point's names, its
    nominal evaluated, in run order), with arguments evaluated in ``scope`` (the
    instrument's parameters and the constants); returns the plan's summary, or raises
    :class:`~procedures.errors.ProcedureError` whose argument starts with ``where``."""
    plan = PLANS[str(spec["plan"])]
    arguments = _arguments(plan.arguments, spec, scope, where=where)
    try:
        return plan.check(arguments, points)
    except ProcedureError as exc:
        argument = f"{where}.{exc.argument}" if exc.argument else where
        raise type(exc)(exc.message, argument=argument) from None
