"""Procedure definitions: versioned YAML files, checked at load, identified by content hash.

A definition says what a metrologist does and how each result is evaluated; the runner
(:mod:`procedures.runner`) carries it out on a bench, and the LIMS reads the same
definition (stored as JSON) to re-evaluate and to set the acceptance limits. The format::

    id: dmm-dcv                       # the catalog id
    version: 1.0.0                    # a changed definition needs a new version
    title: {en: ..., vi: ...}
    kind: calibration | verification
    field: electrical                 # the certification field of the operator
    instrument_type: dmm              # the LIMS's instrument type code
    references: [{document, edition, title, clauses, verified, source}, ..]
                                      # the documents it follows (procedures.references)
    instrument: [max, e]              # numbers taken from the instrument's specification
    constants: {name: number}         # procedure-wide numbers
    roles:                            # what the bench must offer, by role
      source: {standard: true, needs: [{function: dcv, direction: source}]}
      uut: {needs: [{function: dcv}]}
    environment:                      # limits checked before the first point
      temperature: {min: 18, max: 28, unit: degC}
    acceptance:
      decision_rule: simple acceptance
      max_uncertainty_ratio: 1/3      # U <= MPE/3, flagged per point when not met
    rounding_error: {method: fine_display, e: e, interval: d_T}
                                      # how the indication's rounding error is eliminated
                                      # (R 76-1 A.4.4.3; procedures.mpe.RoundingMethod)
    class_limits: {T1: {source: .., ranges: [..]}}
                                      # classes whose limits the center states from its own
                                      # copy of a standard (procedures.mpe.stated), applied
                                      # by the rule electricity_meter_stated
    tests:
      - id: dcv
        title: {en: ..., vi: ...}
        readings: 5                   # readings per point (the default of `read`)
        params: {..}                  # defaults of this test's points
        points: [{nominal: 1, unit: V, range: 1}, ...]
        steps: [...]                  # what is done at each point (see STEP_KINDS)
        model: {outputs: .., quantities: ..}   # a measurement-model template
        output: E                     # the output the point reports
        mpe: {rule: spec, ...}        # how the limits are set (procedures.acceptance)
        checks: [{check: repeatability, ...}]  # across the test's points (acceptance.CHECKS)
        plan: {plan: nawi_weighing_test, ...}  # the points as a whole, before the first one
        after: [...]                  # steps once the test's points are done
        curve: {fit: line, x: nominal, y: C}   # a curve fitted over the points (below)

Numbers in steps, models and rules may be written as expressions (``"nominal/2"``) over
the names in scope at a point: the instrument's parameters, ``constants``, the test's
``params`` and the point's keys. Expressions use the grammar of measurement models
(:mod:`uncertainty.expressions`) and are parsed at load, so a misspelt name is an error
of the file, with its line, not of the run. A point's ``nominal`` may itself be an
expression over the instrument's parameters, the constants and the point's numbers
(``nominal: max_capacity / 2``): it is evaluated at the run, and the run's point carries
the number. A test leaves ``sd_<test>`` and ``dof_<test>`` (the standard deviation of its
primary readings pooled over its points, and its degrees of freedom) to the tests after
it, e.g. as the ``pooled_sd`` of single readings.

``repeat: {times, steps}`` carries out steps several times at one point; readings taken
under the same name add up (three loadings of the same load are one point of three
readings). ``checks:`` compare the test's points with each other once they are done
(repeatability spread, eccentricity, hysteresis); the runner returns them as
:attr:`procedures.runner.Runner.checks`.

A test's ``plan:`` is a rule on its points as a whole that the runner checks before the
first point, with the instrument's specification (R 76-1 A.4.4.1: the weighing test's
number of loads, Max, Min and the MPE change points; a water meter's test temperatures
inside its temperature class): a plan the rule refuses stops the run, naming the clause.
``rounding_error:`` says how the rounding error of the indication is eliminated (R 76-1
A.4.4.3: ``changepoint`` or ``fine_display`` with ``interval ≤ e/5``, checked against the
instrument before the run); the definition then carries the statement a certificate
prints (:attr:`ProcedureDefinition.rounding_statement`). ``references:`` are the
documents the procedure follows (:mod:`procedures.references`); only those confirmed in a
source are printed.

A point's value may also be ``{expression: EXPR}`` over the instrument's parameters, the
constants and the point's plain keys (``flow_rate: {expression: q3/ratio}``): it is
evaluated when the point is reached, so a point can follow the instrument's specification.

Model quantities may be bound instead of given:

* ``{readings: x}`` — the samples are the readings taken as ``x`` at the point
  (optional ``pooled_sd``/``pooled_dof`` for a single reading);
* ``{certificate: ROLE, quantity: dcv, at: EXPR, take: value | correction}`` — the
  value and expanded uncertainty from the certificate in force of the standard in
  ``ROLE`` at the nominal ``at`` (default ``nominal``);
* ``{resolution_of: ROLE, function: F}`` — a rectangular distribution of half-width
  half the resolution of the instrument in ``ROLE`` at the point's range;
* ``{resolution_of_readings: [R1, R2]}`` — the resolution r of a register read as ``R1``
  and ``R2``, from the digits the instrument wrote (:mod:`procedures.register`): for two
  readings the error of their difference, a triangular distribution of half-width r; for
  one, a rectangular one of half-width r/2.

A test's ``curve:`` asks the runner to fit, once the test's points are done, a calibration
curve ``y = c0 + c1 (x - x0) + ...`` through them (:mod:`uncertainty.curves`):

* ``fit``: ``line``, ``quadratic`` or ``cubic``;
* ``x``: ``nominal`` or a numeric key of the points; ``y``: the test's ``output``;
* ``x0``: the offset of the variable (default 0, in the unit of x);
* ``weights``: ``u`` (default: weighted by each point's standard uncertainty, covariance
  ``(AᵀWA)⁻¹``, chi-square reported) or ``none`` (ordinary least squares, covariance from
  the scatter, GUM H.3);
* ``shared``: the model's quantities (besides certificate values) whose error is one and
  the same at every point, e.g. a reference's drift. With ``weights: u`` the points'
  covariance is built from their budgets: a quantity bound from the same certificate
  entry at every point, or listed here, is fully correlated across the points; the
  curve is then fitted by generalized least squares (ISO/TS 28037:2010 clause 7).

A malformed definition raises :class:`DefinitionError` naming the file, the line and
the key path at fault.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import yaml

from procedures.errors import ProcedureError
from procedures.mpe.nawi import RoundingMethod
from procedures.mpe.stated import StatedClassLimits, parse_class_limits
from procedures.references import Reference, parse_reference
from uncertainty.errors import ExpressionError
from uncertainty.expressions import parse_expression

__all__ = [
    "CURVE_FITS",
    "STEP_KINDS",
    "DefinitionError",
    "PointSpec",
    "ProcedureDefinition",
    "RoleSpec",
    "TestSpec",
    "canonical_hash",
    "definition_from_data",
    "flat_steps",
    "library",
    "load_definition",
    "parse_definition",
    "summary_names",
]

LIBRARY: Final = Path(__file__).resolve().parent / "library"
"""Where the procedures shipped with caltrace live."""

KINDS: Final = ("calibration", "verification")
ROLES_KNOWN: Final = ("source", "reference", "uut", "environment", "readout")
DIRECTIONS: Final = ("measure", "source")
FUNCTIONS: Final = (
    "dcv", "acv", "dci", "aci", "res2w", "res4w", "mass", "pressure", "temperature",
    "length", "volume",
)  # fmt: skip
SET_QUANTITIES: Final = {
    "voltage": "set_voltage",
    "current": "set_current",
    "resistance": "set_resistance",
    "pressure": "set_pressure",
    "temperature": "set_temperature",
}
"""``set`` step quantities → the source protocol method of :mod:`drivers.capabilities`."""

STEP_KINDS: Final = {
    "set": "program a source: {role, quantity, value}",
    "operate": "switch a source's output on: ROLE",
    "standby": "switch a source's output off: ROLE",
    "settle": "wait until a source reports settled: {role, timeout_s}",
    "control": "switch a controller's control on or off: {role, on}",
    "wait_stable": "read ROLE until within tolerance of target for window_s: "
    "{role, function, target, tolerance, window_s, timeout_s, interval_s}",
    "wait": "wait a number of seconds: {seconds}",
    "instruct": "ask the operator to do something: {kind, text: {en, vi}, params}",
    "zero": "zero a balance: ROLE",
    "read": "take readings: {role, function, as, count, range, register, stable}",
    "repeat": "carry out steps several times at one point (repeated loadings): {times, steps}",
    "meter_test": "one test point of a meter test bench for every instrument under test "
    "(procedures.runner): {role, test: accuracy | creep | starting | energy, phases, voltage, "
    "current, power_factor, load_kind, frequency_hz, duration_s, constant, pulses, "
    "plausible_error}",
    "check_register": "check each instrument under test's energy register readings against "
    "the energy applied before they are judged (procedures.register): {before, after, "
    "energy, plausible_error, max_share}",
}
"""The steps a test may use, with their arguments."""

CURVE_FITS: Final = {"line": 1, "quadratic": 2, "cubic": 3}
"""``curve.fit`` → the degree of the polynomial."""

_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_RATIO = re.compile(r"[1-9][0-9]*/[1-9][0-9]*")
_DECISION_RULES: Final = (
    "simple acceptance",
    "guarded acceptance",
    "guarded rejection",
    "non-binary",
)
_SPECIAL_KEYS: Final = ("readings", "certificate", "resolution_of", "resolution_of_readings")
STATED_RULE: Final = "electricity_meter_stated"
"""The rule that applies the procedure's ``class_limits:`` (:mod:`procedures.mpe.stated`)."""
STATED_RULE_TABLE: Final = "class_limits"
"""Where a test's ``mpe:`` of :data:`STATED_RULE` carries the parsed table (never written
in a file: the rule's arguments do not allow it)."""


class DefinitionError(ProcedureError):
    """A malformed procedure definition: ``source`` (file), ``line`` and ``key`` at fault."""

    def __init__(self, message: str, *, source: str, key: str, line: int | None) -> None:
        self.source = source
        self.key = key
        self.line = line
        self.reason = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A role of the bench: whether it must be a reference standard, what it must offer."""

    name: str
    standard: bool
    needs: tuple[tuple[str, str], ...]
    """(function, direction) pairs."""
    optional: bool = False


@dataclass(frozen=True, slots=True)
class PointSpec:
    """One point of a test: its index in the run, its test, and its parameters."""

    index: int
    test: str
    nominal: float
    unit: str
    params: Mapping[str, Any]
    nominal_expression: str | None = None
    """The nominal written as an expression (``"max_capacity/2"``), evaluated at the run;
    ``nominal`` is then NaN in the definition (:func:`point_nominal`)."""


@dataclass(frozen=True, slots=True)
class TestSpec:
    """One test of a procedure (a group of points done the same way)."""

    id: str
    title: Mapping[str, str]
    readings: int
    steps: tuple[Mapping[str, Any], ...]
    after: tuple[Mapping[str, Any], ...]
    model: Mapping[str, Any]
    output: str
    mpe: Mapping[str, Any] | None
    points: tuple[PointSpec, ...]
    checks: tuple[Mapping[str, Any], ...] = ()
    """Test-level checks across points (``checks:``; :data:`procedures.acceptance.CHECKS`)."""
    curve: Mapping[str, Any] | None = None
    """The curve fitted over the test's points (``curve:``), or None."""
    plan: Mapping[str, Any] | None = None
    """The rule on the test's points as a whole (``plan:``; :data:`procedures.acceptance.PLANS`:
    the weighing test's loads, the water temperatures), checked before the first point."""


@dataclass(frozen=True)
class ProcedureDefinition:
    """A checked procedure definition; ``data`` is the plain JSON form the LIMS stores."""

    id: str
    version: str
    content_hash: str
    title: Mapping[str, str]
    kind: str
    field: str
    instrument_type: str
    references: tuple[Reference, ...]
    instrument_parameters: tuple[str, ...]
    constants: Mapping[str, float]
    roles: Mapping[str, RoleSpec]
    environment: Mapping[str, Mapping[str, Any]]
    decision_rule: str
    max_uncertainty_ratio: str | None
    tests: tuple[TestSpec, ...]
    data: Mapping[str, Any] = dataclass_field(repr=False)
    source: str = ""
    rounding_error: Mapping[str, Any] | None = None
    """How the indication's rounding error is eliminated (``rounding_error:``: ``method``
    and its arguments, expressions over the instrument's parameters), or None where the
    procedure reads no rounded indication against an MPE in e."""
    class_limits: StatedClassLimits | None = None
    """The classes whose limits the procedure states (``class_limits:``, the center's
    transcription of a standard it holds; :mod:`procedures.mpe.stated`), or None."""

    @property
    def rounding_statement(self) -> Mapping[str, str] | None:
        """The certificate's statement of the rounding-error method (``en``, ``vi``), or None.

        The statement is the method's (:class:`procedures.mpe.RoundingMethod`); a run
        refuses to start where the instrument does not allow the method (a display
        coarser than e/5), so a certificate of a finished run may print it.
        """
        if self.rounding_error is None:
            return None
        return RoundingMethod(str(self.rounding_error["method"])).statement

    @property
    def resolution_halves(self) -> frozenset[str]:
        """The half-widths (as written, no spaces) that are half a resolution the
        procedure names: half an instrument parameter (``d_T/2``, ``resolution/2``) or half
        a constant (``time_resolution/2``, the bench's). A rectangular quantity with such
        a half-width in the unit of a reading is the resolution that reading was read to
        (the display and the certificate print it to that, never finer)."""
        return frozenset(f"{name}/2" for name in (*self.instrument_parameters, *self.constants))

    def result_resolution(self, test_id: str, model: Mapping[str, Any], unit: str) -> float | None:
        """The resolution a result of test ``test_id`` read as it is (a time to the first
        pulse) was read to, in ``unit``: twice the half-width, in the bound ``model`` of
        the point, of the test's rectangular quantity in ``unit`` whose half-width is a
        resolution (:attr:`resolution_halves`). None where there is none: never guessed."""
        test = next((t for t in self.tests if t.id == test_id), None)
        if test is None:
            return None
        bound = model.get("quantities") or {}
        for name, spec in (test.model.get("quantities") or {}).items():
            if not isinstance(spec, Mapping) or str(spec.get("unit") or "") != unit:
                continue
            if str(spec.get("half_width", "")).replace(" ", "") not in self.resolution_halves:
                continue
            try:
                width = Decimal(repr(float(bound[name]["half_width"])))
            except (KeyError, TypeError, ValueError, ArithmeticError):
                continue
            if width.is_finite() and width > 0:
                return float(2 * width)
        return None

    @property
    def points(self) -> tuple[PointSpec, ...]:
        """Every point of every test, in run order."""
        return tuple(p for t in self.tests for p in t.points)

    def test(self, test_id: str) -> TestSpec:
        for test in self.tests:
            if test.id == test_id:
                return test
        raise KeyError(test_id)

    def point(self, index: int) -> PointSpec:
        """The point with run index ``index``; KeyError if there is none."""
        points = self.points
        if not 0 <= index < len(points):
            raise KeyError(index)
        return points[index]

    def ref(self) -> dict[str, str]:
        """The reference a run carries: id, version and content hash."""
        return {"id": self.id, "version": self.version, "hash": self.content_hash}

    def catalog_entry(self) -> dict[str, Any]:
        """The definition as the LIMS's catalog registers it (flat titles added)."""
        return dict(self.data)


def canonical_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of a definition.

    The LIMS computes the same digest over the same JSON, so a run's procedure hash
    names exactly one definition on both sides.
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------ loading


class _Lines:
    """Key paths → source lines, from the YAML node tree."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}

    def line(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None


def _plain(node: yaml.Node, path: str, lines: _Lines, source: str) -> Any:
    lines.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if not isinstance(key_node, yaml.ScalarNode) or not isinstance(key, str):
                raise DefinitionError(
                    "keys must be text", source=source, key=path, line=key_node.start_mark.line + 1
                )
            child = f"{path}.{key}" if path else key
            if key in out:
                raise DefinitionError(
                    "given twice", source=source, key=child, line=key_node.start_mark.line + 1
                )
            lines.lines[child] = key_node.start_mark.line + 1
            out[key] = _plain(value_node, child, lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v, f"{path}[{i}]", lines, source) for i, v in enumerate(node.value)]
    value = yaml.SafeLoader.construct_object(_CONSTRUCTOR, node)
    if isinstance(value, float) and not math.isfinite(value):
        raise DefinitionError(
            "must be a finite number", source=source, key=path, line=node.start_mark.line + 1
        )
    if value is not None and not isinstance(value, str | int | float | bool):
        raise DefinitionError(
            f"a {type(value).__name__} is not allowed here: quote it to make it text",
            source=source,
            key=path,
            line=node.start_mark.line + 1,
        )
    return value


_CONSTRUCTOR = yaml.SafeLoader("")


def load_definition(path: str | Path) -> ProcedureDefinition:
    """Read and check the definition file at ``path``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(
            f"cannot be read: {exc}", source=str(file), key="", line=None
        ) from None
    return parse_definition(text, source=str(file))


def parse_definition(text: str, *, source: str = "<definition>") -> ProcedureDefinition:
    """Check a definition given as YAML text; ``source`` names it in errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DefinitionError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            source=source,
            key="",
            line=mark.line + 1 if mark is not None else None,
        ) from None
    if node is None:
        raise DefinitionError("the file is empty", source=source, key="", line=None)
    lines = _Lines()
    data = _plain(node, "", lines, source)
    return _Checker(source, lines).definition(data)


def definition_from_data(
    data: Mapping[str, Any], *, source: str = "<stored definition>"
) -> ProcedureDefinition:
    """Check a definition given as plain data (the JSON the LIMS stores)."""
    return _Checker(source, _Lines()).definition(json.loads(json.dumps(data)))


def library() -> dict[str, Path]:
    """The shipped definitions, by procedure id."""
    return {p.stem: p for p in sorted(LIBRARY.glob("*.yaml"))}


# ------------------------------------------------------------------------ checking


class _Checker:
    def __init__(self, source: str, lines: _Lines) -> None:
        self.source = source
        self.lines = lines
        self.class_limits: StatedClassLimits | None = None

    def error(self, key: str, message: str) -> DefinitionError:
        return DefinitionError(message, source=self.source, key=key, line=self.lines.line(key))

    # -- primitives

    def mapping(
        self, value: Any, key: str, *, allowed: Sequence[str] | None = None
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping, got {_kind(value)}")
        if allowed is not None:
            for name in value:
                if name not in allowed:
                    raise self.error(
                        f"{key}.{name}" if key else name,
                        f"unknown key (expected one of: {', '.join(allowed)})",
                    )
        return value

    def required(self, mapping: Mapping[str, Any], name: str, key: str) -> Any:
        if name not in mapping or mapping[name] is None:
            raise self.error(f"{key}.{name}" if key else name, "is required")
        return mapping[name]

    def text(self, value: Any, key: str, *, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected non-empty text, got {_kind(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.error(key, f"{value!r} does not match {pattern.pattern}")
        return value

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {_kind(value)}")
        return float(value)

    def integer(self, value: Any, key: str, *, minimum: int = 1, maximum: int = 10_000) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected a whole number, got {_kind(value)}")
        if not minimum <= value <= maximum:
            raise self.error(key, f"must be {minimum} to {maximum}, got {value}")
        return value

    def bilingual(self, value: Any, key: str) -> dict[str, str]:
        titles = self.mapping(value, key, allowed=("en", "vi"))
        return {
            lang: self.text(self.required(titles, lang, key), f"{key}.{lang}")
            for lang in ("en", "vi")
        }

    def expression(self, value: Any, key: str, names: set[str]) -> Any:
        """A number, or an expression over ``names`` (parsed now, evaluated at the point)."""
        if isinstance(value, bool):
            raise self.error(key, "expected a number or an expression, got a boolean")
        if isinstance(value, int | float):
            return value
        if not isinstance(value, str):
            raise self.error(key, f"expected a number or an expression, got {_kind(value)}")
        try:
            parse_expression(value, {n: i for i, n in enumerate(sorted(names))}, where=key)
        except ExpressionError as exc:
            raise self.error(key, exc.message) from None
        return value

    # -- the definition

    def definition(self, data: Any) -> ProcedureDefinition:
        top = self.mapping(
            data,
            "",
            allowed=(
                "id", "version", "title", "kind", "field", "instrument_type", "references",
                "instrument", "constants", "roles", "environment", "acceptance", "tests",
                "rounding_error", "class_limits",
            ),
        )  # fmt: skip
        pid = self.text(self.required(top, "id", ""), "id", pattern=_ID)
        version = self.text(self.required(top, "version", ""), "version", pattern=_VERSION)
        title = self.bilingual(self.required(top, "title", ""), "title")
        kind = self.text(self.required(top, "kind", ""), "kind")
        if kind not in KINDS:
            raise self.error("kind", f"expected calibration or verification, got {kind!r}")
        field_ = self.text(self.required(top, "field", ""), "field", pattern=_ID)
        itype = self.text(self.required(top, "instrument_type", ""), "instrument_type", pattern=_ID)
        refs = top.get("references", [])
        if not isinstance(refs, list) or not refs:
            raise self.error("references", "expected a non-empty list of documents")
        references = tuple(self.reference(r, f"references[{i}]") for i, r in enumerate(refs))
        instrument = top.get("instrument", [])
        if not isinstance(instrument, list):
            raise self.error("instrument", "expected a list of specification keys")
        params = tuple(
            self.text(p, f"instrument[{i}]", pattern=_NAME) for i, p in enumerate(instrument)
        )
        if "class_limits" in top:
            self.class_limits = self.stated_limits(top["class_limits"], f"{pid} {version}", params)
        constants: dict[str, float] = {}
        for name, value in self.mapping(top.get("constants", {}), "constants").items():
            self.text(name, f"constants.{name}", pattern=_NAME)
            constants[name] = self.number(value, f"constants.{name}")
        roles = self.roles(self.required(top, "roles", ""))
        environment = self.environment(top.get("environment", {}), roles)
        acceptance = self.mapping(
            top.get("acceptance", {}),
            "acceptance",
            allowed=("decision_rule", "max_uncertainty_ratio"),
        )
        rule = acceptance.get("decision_rule", "simple acceptance")
        if rule not in _DECISION_RULES:
            raise self.error(
                "acceptance.decision_rule", f"expected one of: {', '.join(_DECISION_RULES)}"
            )
        ratio = acceptance.get("max_uncertainty_ratio")
        if ratio is not None:
            ratio = self.text(ratio, "acceptance.max_uncertainty_ratio", pattern=_RATIO)
        tests_data = self.required(top, "tests", "")
        if not isinstance(tests_data, list) or not tests_data:
            raise self.error("tests", "expected a non-empty list of tests")
        scope = set(params) | set(constants)
        rounding = top.get("rounding_error")
        if rounding is not None:
            rounding = self.rounding_error(rounding, "rounding_error", scope)
        tests: list[TestSpec] = []
        seen: set[str] = set()
        for i, test_data in enumerate(tests_data):
            test = self.test(
                test_data, f"tests[{i}]", scope, roles, start=sum(len(t.points) for t in tests)
            )
            if test.id in seen:
                raise self.error(f"tests[{i}].id", f"test {test.id!r} is defined twice")
            seen.add(test.id)
            tests.append(test)
            scope |= summary_names(test.id)
        if self.class_limits is not None and not any(
            t.mpe is not None and t.mpe["rule"] == STATED_RULE for t in tests
        ):
            raise self.error("class_limits", f"no test applies it (rule {STATED_RULE})")
        return ProcedureDefinition(
            id=pid,
            version=version,
            content_hash=canonical_hash(data),
            title=title,
            kind=kind,
            field=field_,
            instrument_type=itype,
            references=references,
            instrument_parameters=params,
            constants=constants,
            roles=roles,
            environment=environment,
            decision_rule=rule,
            max_uncertainty_ratio=ratio,
            tests=tuple(tests),
            data=data,
            source=self.source,
            rounding_error=rounding,
            class_limits=self.class_limits,
        )

    def roles(self, value: Any) -> dict[str, RoleSpec]:
        roles: dict[str, RoleSpec] = {}
        for name, spec in self.mapping(value, "roles").items():
            key = f"roles.{name}"
            self.text(name, key, pattern=_ID)
            spec = self.mapping(spec, key, allowed=("standard", "needs", "optional"))
            standard = spec.get("standard", False)
            optional = spec.get("optional", False)
            for flag, flag_value in (("standard", standard), ("optional", optional)):
                if not isinstance(flag_value, bool):
                    raise self.error(f"{key}.{flag}", "expected true or false")
            needs_data = spec.get("needs", [])
            if not isinstance(needs_data, list):
                raise self.error(f"{key}.needs", "expected a list of {function, direction}")
            needs = []
            for j, need in enumerate(needs_data):
                nkey = f"{key}.needs[{j}]"
                need = self.mapping(need, nkey, allowed=("function", "direction"))
                function = self.text(self.required(need, "function", nkey), f"{nkey}.function")
                if function not in FUNCTIONS and not function.startswith("register:"):
                    raise self.error(
                        f"{nkey}.function",
                        f"expected one of {', '.join(FUNCTIONS)} or register:NAME",
                    )
                direction = need.get("direction", "measure")
                if direction not in DIRECTIONS:
                    raise self.error(f"{nkey}.direction", "expected measure or source")
                needs.append((function, direction))
            roles[name] = RoleSpec(name, standard, tuple(needs), optional)
        if not roles:
            raise self.error("roles", "a procedure needs at least one role")
        return roles

    def environment(self, value: Any, roles: Mapping[str, RoleSpec]) -> dict[str, dict[str, Any]]:
        limits: dict[str, dict[str, Any]] = {}
        for quantity, spec in self.mapping(value, "environment").items():
            key = f"environment.{quantity}"
            if quantity not in ("temperature",):
                raise self.error(key, "the environment role reads temperature")
            spec = self.mapping(spec, key, allowed=("min", "max", "unit"))
            low = self.number(self.required(spec, "min", key), f"{key}.min")
            high = self.number(self.required(spec, "max", key), f"{key}.max")
            if low >= high:
                raise self.error(f"{key}.min", "must be below max")
            unit = self.text(self.required(spec, "unit", key), f"{key}.unit")
            limits[quantity] = {"min": low, "max": high, "unit": unit}
        if limits and "environment" not in roles:
            raise self.error("environment", "limits need an 'environment' role to read them")
        return limits

    def test(
        self, value: Any, key: str, scope: set[str], roles: Mapping[str, RoleSpec], *, start: int
    ) -> TestSpec:
        data = self.mapping(
            value,
            key,
            allowed=(
                "id",
                "title",
                "readings",
                "params",
                "points",
                "steps",
                "after",
                "model",
                "output",
                "mpe",
                "checks",
                "curve",
                "plan",
            ),
        )
        tid = self.text(self.required(data, "id", key), f"{key}.id", pattern=_ID)
        title = self.bilingual(self.required(data, "title", key), f"{key}.title")
        readings = self.integer(data.get("readings", 1), f"{key}.readings", maximum=1000)
        params = self.mapping(data.get("params", {}), f"{key}.params")
        points_data = self.required(data, "points", key)
        if not isinstance(points_data, list) or not points_data:
            raise self.error(f"{key}.points", "expected a non-empty list of points")
        point_names: set[str] | None = None
        points: list[PointSpec] = []
        for j, raw in enumerate(points_data):
            pkey = f"{key}.points[{j}]"
            merged = {**params, **self.mapping(raw, pkey)}
            for name, v in merged.items():
                self.text(name, f"{pkey}.{name}", pattern=_NAME)
                if isinstance(v, dict):
                    self.point_expression(v, f"{pkey}.{name}", scope, merged)
                    continue
                if isinstance(v, bool) or not isinstance(v, int | float | str):
                    raise self.error(
                        f"{pkey}.{name}",
                        f"expected a number, text or {{expression: ..}}, got {_kind(v)}",
                    )
            raw_nominal = self.required(merged, "nominal", pkey)
            nominal_expression: str | None = None
            if isinstance(raw_nominal, str):
                nominal_expression = self.point_nominal(
                    raw_nominal, f"{pkey}.nominal", scope, merged
                )
                nominal = math.nan
            else:
                nominal = self.number(raw_nominal, f"{pkey}.nominal")
            unit = self.text(self.required(merged, "unit", pkey), f"{pkey}.unit")
            names = set(merged)
            if point_names is None:
                point_names = names
            elif names != point_names:
                raise self.error(
                    pkey,
                    f"every point of a test has the same keys ({', '.join(sorted(point_names))})",
                )
            points.append(PointSpec(start + j, tid, nominal, unit, merged, nominal_expression))
        assert point_names is not None
        names = scope | point_names | {"readings"}
        steps = self.steps(data.get("steps", []), f"{key}.steps", names, roles, require=True)
        after = self.steps(data.get("after", []), f"{key}.after", names, roles, require=False)
        taken = {s["read"]["as"] for s in flat_steps(steps) if "read" in s}
        model = self.model(self.required(data, "model", key), f"{key}.model", names, roles, taken)
        output = self.text(self.required(data, "output", key), f"{key}.output")
        if output not in model["outputs"]:
            raise self.error(f"{key}.output", f"the model has no output {output!r}")
        mpe = data.get("mpe")
        if mpe is not None:
            mpe = self.mpe(mpe, f"{key}.mpe", names)
        checks = self.checks(data.get("checks", []), f"{key}.checks", names)
        curve = data.get("curve")
        if curve is not None:
            curve = self.curve(curve, f"{key}.curve", points, output)
            for i, name in enumerate(curve.get("shared", [])):
                if name not in model["quantities"]:
                    raise self.error(
                        f"{key}.curve.shared[{i}]", f"the model has no quantity {name!r}"
                    )
                if "readings" in model["quantities"][name]:
                    raise self.error(
                        f"{key}.curve.shared[{i}]",
                        f"{name!r} is taken from readings, which differ from point to point",
                    )
        plan = data.get("plan")
        if plan is not None:
            plan = self.plan(plan, f"{key}.plan", scope)
        return TestSpec(
            tid,
            title,
            readings,
            tuple(steps),
            tuple(after),
            model,
            output,
            mpe,
            tuple(points),
            tuple(checks),
            curve,
            plan,
        )

    def point_expression(
        self, value: dict[str, Any], key: str, scope: set[str], point: Mapping[str, Any]
    ) -> None:
        """``{expression: EXPR}`` over the instrument's parameters, the constants and the
        point's plain (number or text) keys."""
        self.mapping(value, key, allowed=("expression",))
        plain = {n for n, v in point.items() if not isinstance(v, dict)}
        self.expression(self.required(value, "expression", key), f"{key}.expression", scope | plain)

    def curve(
        self, value: Any, key: str, points: Sequence[PointSpec], output: str
    ) -> dict[str, Any]:
        """A test's ``curve:``: what is fitted over its points (see the module docstring)."""
        spec = self.mapping(value, key, allowed=("fit", "x", "y", "x0", "weights", "shared"))
        fit = self.required(spec, "fit", key)
        if fit not in CURVE_FITS:
            raise self.error(f"{key}.fit", f"expected one of {', '.join(CURVE_FITS)}")
        x = self.text(self.required(spec, "x", key), f"{key}.x", pattern=_NAME)
        if x != "nominal":
            values = [p.params.get(x) for p in points]
            if any(
                v is None or isinstance(v, bool | str) or not isinstance(v, int | float | dict)
                for v in values
            ):
                raise self.error(f"{key}.x", "expected nominal or a numeric key of the points")
        y = self.text(self.required(spec, "y", key), f"{key}.y", pattern=_NAME)
        if y != output:
            raise self.error(f"{key}.y", f"the points report {output!r}: the curve fits it")
        if "x0" in spec:
            self.number(spec["x0"], f"{key}.x0")
        if spec.get("weights", "u") not in ("u", "none"):
            raise self.error(f"{key}.weights", "expected u or none")
        shared = spec.get("shared", [])
        if not isinstance(shared, list) or not all(isinstance(n, str) for n in shared):
            raise self.error(f"{key}.shared", "expected a list of the model's quantity names")
        if shared and spec.get("weights", "u") != "u":
            raise self.error(f"{key}.shared", "shared terms need weights: u")
        needed = CURVE_FITS[fit] + 2
        if len(points) < needed:
            raise self.error(
                f"{key}.fit",
                f"a {fit} needs at least {needed} points (one degree of freedom left), "
                f"the test has {len(points)}",
            )
        return spec

    def steps(
        self, value: Any, key: str, names: set[str], roles: Mapping[str, RoleSpec], *, require: bool
    ) -> list[dict[str, Any]]:
        if not isinstance(value, list) or (require and not value):
            raise self.error(
                key, "expected a non-empty list of steps" if require else "expected a list of steps"
            )
        steps: list[dict[str, Any]] = []
        reads: set[str] = set()
        for i, step in enumerate(value):
            skey = f"{key}[{i}]"
            step = self.mapping(step, skey, allowed=tuple(STEP_KINDS))
            if len(step) != 1:
                raise self.error(skey, "a step is one of: " + ", ".join(STEP_KINDS))
            kind, args = next(iter(step.items()))
            akey = f"{skey}.{kind}"
            if kind in ("operate", "standby", "zero"):
                role = self.role_ref(args, akey, roles)
                steps.append({kind: role})
                continue
            if kind == "wait":
                args = self.mapping(args, akey, allowed=("seconds",))
                self.expression(self.required(args, "seconds", akey), f"{akey}.seconds", names)
            elif kind == "set":
                args = self.mapping(
                    args, akey, allowed=("role", "quantity", "value", "frequency_hz")
                )
                self.role_ref(self.required(args, "role", akey), f"{akey}.role", roles)
                quantity = self.required(args, "quantity", akey)
                if quantity not in SET_QUANTITIES:
                    raise self.error(
                        f"{akey}.quantity", f"expected one of {', '.join(SET_QUANTITIES)}"
                    )
                self.expression(self.required(args, "value", akey), f"{akey}.value", names)
                if "frequency_hz" in args:
                    self.expression(args["frequency_hz"], f"{akey}.frequency_hz", names)
            elif kind == "settle":
                args = self.mapping(args, akey, allowed=("role", "timeout_s"))
                self.role_ref(self.required(args, "role", akey), f"{akey}.role", roles)
                self.expression(args.get("timeout_s", 30), f"{akey}.timeout_s", names)
            elif kind == "control":
                args = self.mapping(args, akey, allowed=("role", "on"))
                self.role_ref(self.required(args, "role", akey), f"{akey}.role", roles)
                if not isinstance(args.get("on"), bool):
                    raise self.error(f"{akey}.on", "expected true or false")
            elif kind == "wait_stable":
                args = self.mapping(
                    args,
                    akey,
                    allowed=(
                        "role",
                        "function",
                        "target",
                        "tolerance",
                        "window_s",
                        "timeout_s",
                        "interval_s",
                    ),
                )
                self.role_ref(self.required(args, "role", akey), f"{akey}.role", roles)
                self.function(self.required(args, "function", akey), f"{akey}.function")
                for name in ("target", "tolerance", "window_s", "timeout_s"):
                    self.expression(self.required(args, name, akey), f"{akey}.{name}", names)
                if "interval_s" in args:
                    self.expression(args["interval_s"], f"{akey}.interval_s", names)
            elif kind == "instruct":
                args = self.mapping(args, akey, allowed=("kind", "text", "params"))
                self.text(self.required(args, "kind", akey), f"{akey}.kind", pattern=_ID)
                text = self.bilingual(self.required(args, "text", akey), f"{akey}.text")
                for lang, message in text.items():
                    self.template(message, f"{akey}.text.{lang}", names)
                for name, v in self.mapping(args.get("params", {}), f"{akey}.params").items():
                    if (
                        isinstance(v, str)
                        and not _NAME.fullmatch(v)
                        and name in ("unit", "position")
                    ):
                        continue
                    if name in ("unit", "position") and isinstance(v, str):
                        continue
                    self.expression(v, f"{akey}.params.{name}", names)
            elif kind == "meter_test":
                args = self.meter_test(args, akey, names, roles)
            elif kind == "check_register":
                args = self.mapping(
                    args,
                    akey,
                    allowed=("before", "after", "energy", "plausible_error", "max_share"),
                )
                for name in ("before", "after", "energy"):
                    read = self.text(
                        self.required(args, name, akey), f"{akey}.{name}", pattern=_NAME
                    )
                    if read not in reads:
                        raise self.error(f"{akey}.{name}", f"no step before it reads {read!r}")
                for name in ("plausible_error", "max_share"):
                    self.expression(self.required(args, name, akey), f"{akey}.{name}", names)
            elif kind == "repeat":
                args, repeated = self.repeat(args, akey, names, roles)
                for name in repeated & reads:
                    raise self.error(akey, f"readings {name!r} are taken twice at a point")
                reads |= repeated
            elif kind == "read":
                args = self.mapping(
                    args,
                    akey,
                    allowed=("role", "function", "as", "count", "range", "stable", "dwell_s"),
                )
                self.role_ref(self.required(args, "role", akey), f"{akey}.role", roles)
                self.function(self.required(args, "function", akey), f"{akey}.function")
                name = self.text(self.required(args, "as", akey), f"{akey}.as", pattern=_NAME)
                if name in reads:
                    raise self.error(f"{akey}.as", f"readings {name!r} are taken twice at a point")
                reads.add(name)
                for opt in ("count", "range", "dwell_s"):
                    if opt in args:
                        self.expression(args[opt], f"{akey}.{opt}", names)
                if "stable" in args and not isinstance(args["stable"], bool):
                    raise self.error(f"{akey}.stable", "expected true or false")
            steps.append({kind: args})
        if require and not reads:
            raise self.error(key, "no step reads anything (a `read` step is needed)")
        return steps

    def template(self, text: str, key: str, names: set[str]) -> None:
        for name in re.findall(r"\{([^{}]*)\}", text):
            if name.split(":")[0] not in names:
                raise self.error(key, f"{{{name}}} names nothing in scope")

    def role_ref(self, value: Any, key: str, roles: Mapping[str, RoleSpec]) -> str:
        if not isinstance(value, str) or value not in roles:
            raise self.error(
                key, f"expected a role of this procedure ({', '.join(roles)}), got {value!r}"
            )
        return value

    def function(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not (value in FUNCTIONS or value.startswith("register:")):
            raise self.error(key, f"expected one of {', '.join(FUNCTIONS)} or register:NAME")
        return value

    def model(
        self,
        value: Any,
        key: str,
        names: set[str],
        roles: Mapping[str, RoleSpec],
        taken: set[str],
    ) -> dict[str, Any]:
        model = self.mapping(
            value,
            key,
            allowed=("name", "outputs", "quantities", "correlations", "coverage_probability"),
        )
        outputs = self.mapping(self.required(model, "outputs", key), f"{key}.outputs")
        quantities = self.mapping(self.required(model, "quantities", key), f"{key}.quantities")
        qnames = set(quantities)
        for name, out in outputs.items():
            okey = f"{key}.outputs.{name}"
            expr = out.get("expression") if isinstance(out, dict) else out
            if not isinstance(expr, str):
                raise self.error(okey, "expected an expression, or {expression, unit}")
            try:
                parse_expression(expr, {n: i for i, n in enumerate(sorted(qnames))}, where=okey)
            except ExpressionError as exc:
                raise self.error(okey, exc.message) from None
        for name, spec in quantities.items():
            qkey = f"{key}.quantities.{name}"
            self.text(name, qkey, pattern=_NAME)
            spec = self.mapping(spec, qkey)
            special = [k for k in _SPECIAL_KEYS if k in spec]
            if len(special) > 1:
                raise self.error(qkey, f"binds both {special[0]} and {special[1]}")
            if "readings" in spec:
                self.mapping(spec, qkey, allowed=("readings", "unit", "pooled_sd", "pooled_dof"))
                if spec["readings"] not in taken:
                    raise self.error(f"{qkey}.readings", f"no step reads {spec['readings']!r}")
                for opt in ("pooled_sd", "pooled_dof"):
                    if opt in spec:
                        self.expression(spec[opt], f"{qkey}.{opt}", names)
            elif "certificate" in spec:
                self.mapping(spec, qkey, allowed=("certificate", "quantity", "at", "take", "unit"))
                role = self.role_ref(spec["certificate"], f"{qkey}.certificate", roles)
                if not roles[role].standard:
                    raise self.error(
                        f"{qkey}.certificate", f"role {role!r} is not a reference standard"
                    )
                self.text(self.required(spec, "quantity", qkey), f"{qkey}.quantity")
                self.expression(spec.get("at", "nominal"), f"{qkey}.at", names)
                if spec.get("take", "value") not in ("value", "correction"):
                    raise self.error(f"{qkey}.take", "expected value or correction")
            elif "resolution_of_readings" in spec:
                self.mapping(spec, qkey, allowed=("resolution_of_readings", "unit"))
                listed = spec["resolution_of_readings"]
                if not isinstance(listed, list) or not 1 <= len(listed) <= 2:
                    raise self.error(
                        f"{qkey}.resolution_of_readings",
                        "expected one or two names of readings (a register read once or twice)",
                    )
                for read in listed:
                    if read not in taken:
                        raise self.error(
                            f"{qkey}.resolution_of_readings", f"no step reads {read!r}"
                        )
            elif "resolution_of" in spec:
                self.mapping(spec, qkey, allowed=("resolution_of", "function", "range", "unit"))
                self.role_ref(spec["resolution_of"], f"{qkey}.resolution_of", roles)
                self.function(self.required(spec, "function", qkey), f"{qkey}.function")
                if "range" in spec:
                    self.expression(spec["range"], f"{qkey}.range", names)
            else:
                for opt, v in spec.items():
                    if opt in ("value", "u", "U", "k", "dof", "half_width"):
                        if opt == "dof" and v == "inf":
                            continue
                        self.expression(v, f"{qkey}.{opt}", names)
                    elif opt == "distribution":
                        if v not in ("normal", "rectangular", "triangular", "arcsine", "student_t"):
                            raise self.error(f"{qkey}.distribution", f"unknown distribution {v!r}")
                    elif opt != "unit":
                        raise self.error(f"{qkey}.{opt}", "unknown key in a model quantity")
        return model

    def mpe(self, value: Any, key: str, names: set[str]) -> dict[str, Any]:
        from procedures.acceptance import RULES

        spec = self.named(value, key, RULES, names, head="rule")
        if spec["rule"] != STATED_RULE:
            return spec
        if self.class_limits is None:
            raise self.error(
                f"{key}.rule",
                "the rule applies the procedure's class_limits, and the procedure states none",
            )
        # A new mapping (the definition's data, hashed and stored, stays as written): the
        # rule at a point reads the table from it, on the bench and in the LIMS alike.
        return {**spec, STATED_RULE_TABLE: self.class_limits}

    def stated_limits(
        self, value: Any, procedure: str, parameters: Sequence[str]
    ) -> StatedClassLimits:
        """``class_limits:``: the classes the center states the limits of, with their
        source (:mod:`procedures.mpe.stated`), in the instrument's parameters."""
        try:
            return parse_class_limits(value, procedure=procedure, currents=parameters)
        except ProcedureError as exc:
            raise self.error(exc.argument or "class_limits", exc.message) from None

    # -- additions: nominal expressions, repeated steps, test-level checks

    def point_nominal(self, value: str, key: str, scope: set[str], point: Mapping[str, Any]) -> str:
        """A point's nominal written as an expression over the instrument's parameters, the
        constants and the point's numeric keys (``"max_capacity/2"``)."""
        numeric = {n for n, v in point.items() if n != "nominal" and isinstance(v, int | float)}
        self.expression(value, key, scope | numeric)
        return value

    def repeat(
        self, value: Any, key: str, names: set[str], roles: Mapping[str, RoleSpec]
    ) -> tuple[dict[str, Any], set[str]]:
        """``repeat: {times, steps}``: the steps and the names they read."""
        args = self.mapping(value, key, allowed=("times", "steps"))
        self.expression(self.required(args, "times", key), f"{key}.times", names)
        inner = self.required(args, "steps", key)
        if not isinstance(inner, list) or not inner:
            raise self.error(f"{key}.steps", "expected a non-empty list of steps")
        steps = self.steps(inner, f"{key}.steps", names, roles, require=False)
        reads = {s["read"]["as"] for s in flat_steps(steps) if "read" in s}
        return {"times": args["times"], "steps": steps}, reads

    def meter_test(
        self, value: Any, key: str, names: set[str], roles: Mapping[str, RoleSpec]
    ) -> dict[str, Any]:
        """``meter_test``: one test point of a meter test bench (the bench in ``role``, a
        reference standard). The source's ``phases`` (1 by default, or 3: balanced loads,
        each phase at the same setting; the meters' own, evaluated with each instrument's
        specification), ``voltage`` (V, per phase), ``current`` (A, per phase),
        ``power_factor`` (cos φ) with ``load_kind`` (``inductive`` or ``capacitive``) and
        ``frequency_hz``; ``duration_s`` (seconds); each instrument under test's
        ``constant`` (imp/kWh; required by an accuracy test, set by any test that names
        it); for an accuracy test its pulse target ``pulses`` and the
        ``plausible_error`` (%) beyond which a count cannot be right. Numbers are
        expressions; ``constant`` and ``pulses`` are evaluated with each instrument's own
        specification."""
        required = ("role", "test", "voltage", "current", "frequency_hz", "duration_s")
        accuracy = ("constant", "pulses", "plausible_error")
        optional = ("phases", "power_factor", "load_kind")
        args = self.mapping(value, key, allowed=(*required, *optional, *accuracy))
        role = self.role_ref(self.required(args, "role", key), f"{key}.role", roles)
        if not roles[role].standard:
            raise self.error(f"{key}.role", f"role {role!r} is not a reference standard")
        test = self.required(args, "test", key)
        if test not in ("accuracy", "creep", "starting", "energy"):
            raise self.error(f"{key}.test", "expected accuracy, creep, starting or energy")
        if args.get("load_kind", "inductive") not in ("inductive", "capacitive"):
            raise self.error(f"{key}.load_kind", "expected inductive or capacitive")
        for name in required[2:]:
            self.expression(self.required(args, name, key), f"{key}.{name}", names)
        self.expression(args.get("power_factor", 1), f"{key}.power_factor", names)
        self.expression(args.get("phases", 1), f"{key}.phases", names)
        for name in accuracy:
            if test == "accuracy":
                self.expression(self.required(args, name, key), f"{key}.{name}", names)
            elif name == "constant" and name in args:
                self.expression(args[name], f"{key}.{name}", names)
            elif name in args:
                raise self.error(f"{key}.{name}", "only an accuracy test takes it")
        return args

    def reference(self, value: Any, key: str) -> Reference:
        """One of ``references:`` (:func:`procedures.references.parse_reference`)."""
        try:
            return parse_reference(value, where=key)
        except ProcedureError as exc:
            raise self.error(exc.argument or key, exc.message) from None

    def rounding_error(self, value: Any, key: str, scope: set[str]) -> dict[str, Any]:
        """``rounding_error: {method, e, interval}``: the method of eliminating the rounding
        error of the indication (:class:`procedures.mpe.RoundingMethod`); ``e`` and
        ``interval`` (the fine display's scale interval) are expressions over the
        instrument's parameters and the constants, checked at the run."""
        spec = self.mapping(value, key, allowed=("method", "e", "interval"))
        method = self.required(spec, "method", key)
        known = [m.value for m in RoundingMethod]
        if method not in known:
            raise self.error(f"{key}.method", f"expected one of {', '.join(known)}")
        self.expression(self.required(spec, "e", key), f"{key}.e", scope)
        if method == RoundingMethod.FINE_DISPLAY.value:
            self.expression(self.required(spec, "interval", key), f"{key}.interval", scope)
        elif "interval" in spec:
            raise self.error(f"{key}.interval", "only the fine-display method reads one")
        return spec

    def plan(self, value: Any, key: str, scope: set[str]) -> dict[str, Any]:
        """A test's ``plan:``: ``{plan: KIND, ...arguments}`` of
        :data:`procedures.acceptance.PLANS`, over the instrument's parameters and the
        constants (the plan is checked before the first point)."""
        # Imported here like CHECKS: acceptance loads the evaluation (numpy), which a
        # definition without plans does not need.
        from procedures.acceptance import PLANS

        return self.named(value, key, PLANS, scope, head="plan")

    def named(
        self, value: Any, key: str, table: Mapping[str, Any], names: set[str], *, head: str
    ) -> dict[str, Any]:
        """``{HEAD: KIND, ...arguments}``: a rule, check or plan of ``table`` (whose entries
        have ``arguments``) with its arguments checked."""
        spec = self.mapping(value, key)
        kind = self.required(spec, head, key)
        if kind not in table:
            raise self.error(f"{key}.{head}", f"expected one of {', '.join(table)}")
        self.arguments(spec, key, table[kind].arguments, names, head=head)
        return spec

    def arguments(
        self,
        spec: Mapping[str, Any],
        key: str,
        arguments: Mapping[str, str],
        names: set[str],
        *,
        head: str,
    ) -> None:
        """The arguments of a rule, check or plan: text, booleans or expressions."""
        self.mapping(spec, key, allowed=(head, *arguments))
        for name, kind_of in arguments.items():
            if name not in spec:
                if kind_of.endswith("?"):
                    continue
                raise self.error(f"{key}.{name}", "is required")
            if kind_of.startswith("text"):
                if not isinstance(spec[name], str | int):
                    raise self.error(f"{key}.{name}", "expected text")
            elif kind_of.startswith("bool"):
                if not isinstance(spec[name], bool):
                    raise self.error(f"{key}.{name}", "expected true or false")
            else:
                self.expression(spec[name], f"{key}.{name}", names)

    def checks(self, value: Any, key: str, names: set[str]) -> list[dict[str, Any]]:
        """``checks:`` of a test: each ``{check: KIND, ...arguments}`` of
        :data:`procedures.acceptance.CHECKS`."""
        from procedures.acceptance import CHECKS

        if not isinstance(value, list):
            raise self.error(key, "expected a list of checks")
        out: list[dict[str, Any]] = []
        for i, raw in enumerate(value):
            out.append(self.named(raw, f"{key}[{i}]", CHECKS, names, head="check"))
        return out


def flat_steps(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every step of ``steps``, those inside ``repeat`` included (once each), in order."""
    out: list[Mapping[str, Any]] = []
    for step in steps:
        out.append(step)
        if "repeat" in step:
            out.extend(flat_steps(step["repeat"]["steps"]))
    return out


def summary_names(test_id: str) -> set[str]:
    """The names a test leaves for later tests: ``sd_<test>`` and ``dof_<test>`` (the
    standard deviation of its primary readings, pooled over its points, and its degrees
    of freedom; see :mod:`procedures.runner`)."""
    key = test_id.replace("-", "_").replace(".", "_")
    return {f"sd_{key}", f"dof_{key}"}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: f"text {value!r}", bool: "a boolean"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )
