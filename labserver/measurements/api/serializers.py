"""The run payload an agent submits, and how runs are shown.

The payload serializers are the agent↔server contract in the OpenAPI schema. Each is
the serializer of a part of the run record (:mod:`procedures.record`): its fields are
that part's JSON keys, in its order, each required as the record requires it
(:class:`RecordIn`), and each field checks its value with the record's own checks
(numbers are finite JSON numbers, datetimes carry their offset: nothing is coerced,
guessed or clamped). Once every field is valid, the record reads the body
(:meth:`procedures.record.RunRecord.from_json`): what the services store is read from it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from procedures.acceptance import CHECKS
from procedures.record import (
    STANDARD_ROLES,
    Acceptance,
    Check,
    Curve,
    CurvePoint,
    CurveValue,
    MeterIdentity,
    MeterRegister,
    Point,
    Position,
    PositionInstrument,
    ProcedureRef,
    Reading,
    RecordError,
    Result,
    RunRecord,
    SharedPoint,
    StandardUsed,
    UncertaintyRatio,
)
from procedures.record.positions import METER_PROTOCOLS, POSITION_STATES
from procedures.record.reader import (
    aware_time,
    decimal_text,
    degrees_of_freedom,
    finite_number,
    strict_boolean,
)

from ..models import Point as PointRow
from ..models import Reading as ReadingRow
from ..models import Run, RunPosition, RunSignature, StandardUsage

MAX_POINTS = 2000
MAX_READINGS = 10000
MAX_CHECKS = 2000
MAX_CURVES = 100
MAX_POSITIONS = 200


def _checked(check: Callable[[Any], Any], data: Any) -> Any:
    """``check(data)`` (one of the record's checks), its refusal a validation error."""
    try:
        return check(data)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from None


class _Checked(serializers.Field):  # type: ignore[type-arg]
    """A value checked by one of the record's checks, given back as it came."""

    def check(self, data: Any) -> Any:
        raise NotImplementedError

    def to_internal_value(self, data: Any) -> Any:
        return _checked(self.check, data)

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.DOUBLE)
class FiniteNumber(_Checked):
    """A JSON number (not a string, not a boolean), finite."""

    def check(self, data: Any) -> Any:
        return finite_number(data)


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "enum": ["inf"]}]})
class DegreesOfFreedom(_Checked):
    """A positive number, or the text "inf" (given back as it came)."""

    def check(self, data: Any) -> Any:
        degrees_of_freedom(data)
        return data


@extend_schema_field({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"})
class DecimalText(_Checked):
    """A number written as plain decimal text (``"0.5"``, ``"-12"``), as the rules give it:
    no exponent, no NaN or infinity, not a JSON number."""

    def check(self, data: Any) -> Any:
        return decimal_text(data)


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBoolean(_Checked):
    """A JSON true or false (not "true", not 1)."""

    def check(self, data: Any) -> Any:
        return strict_boolean(data)


class AwareDateTime(serializers.DateTimeField):
    """An ISO 8601 datetime with its UTC offset; a naive one is refused."""

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        _checked(aware_time, value)
        return parsed


class RecordIn(serializers.Serializer):  # type: ignore[type-arg]
    """The serializer of a part of the run record (``record``): its fields are the part's
    JSON keys (``KEYS``), in that order, required as the part requires them
    (``REQUIRED``); a field the record lacks, or a key without a field, is an error when
    the class is made."""

    record: ClassVar[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls._declared_fields
        keys, required = cls.record.KEYS, cls.record.REQUIRED
        if set(declared) != set(keys):
            raise TypeError(
                f"{cls.__name__} and {cls.record.__name__} differ in "
                f"{sorted(set(declared) ^ set(keys))}"
            )
        cls._declared_fields = {key: _required(declared[key], key in required) for key in keys}


def _required(field: Any, required: bool) -> Any:
    """``field`` made again with ``required``: DRF copies a field by making it again from
    its arguments (``Field.__deepcopy__``), so the argument is set there."""
    field._kwargs = {**field._kwargs, "required": required}
    return copy.deepcopy(field)


class ReadingIn(RecordIn):
    record = Reading

    quantity = serializers.CharField(
        max_length=100,
        help_text="The model quantity this reading is a sample of (default: readings_quantity)",
    )
    value = FiniteNumber()
    unit = serializers.CharField(max_length=32)
    timestamp = AwareDateTime()
    stable = StrictBoolean(allow_null=True)
    raw = serializers.CharField(allow_blank=True, max_length=4096)


class ResultIn(RecordIn):
    record = Result

    value = FiniteNumber()
    u = FiniteNumber()
    U = FiniteNumber()
    k = FiniteNumber()
    dof = DegreesOfFreedom()


class AcceptanceIn(RecordIn):
    record = Acceptance

    lower = FiniteNumber(allow_null=True)
    upper = FiniteNumber(allow_null=True)
    mpe = FiniteNumber(allow_null=True)
    rule = serializers.CharField(max_length=100, allow_null=True)
    document = serializers.CharField(max_length=300, allow_null=True)


@extend_schema_field({"type": "string", "pattern": r"^[1-9][0-9]*/[1-9][0-9]*$"})
class RatioText(serializers.CharField):
    """A ratio such as ``"1/3"``."""


class UncertaintyRatioIn(RecordIn):
    """The 1/3-MPE check of a point: U/MPE, the largest ratio allowed, whether it is met."""

    record = UncertaintyRatio

    ratio = FiniteNumber()
    max = RatioText(max_length=32)
    met = StrictBoolean()


class PointIn(RecordIn):
    record = Point

    index = serializers.IntegerField(min_value=0)
    test = serializers.CharField(max_length=100)
    nominal = FiniteNumber()
    unit = serializers.CharField(max_length=32)
    readings_quantity = serializers.CharField(max_length=100)
    output = serializers.CharField(max_length=100)
    model = serializers.DictField(help_text="A measurement model (measurement-model.md)")
    result = ResultIn()
    conformity = serializers.CharField(allow_blank=True)
    acceptance = AcceptanceIn()
    uncertainty_ratio = UncertaintyRatioIn()
    readings = ReadingIn(many=True, allow_empty=False, max_length=MAX_READINGS)  # type: ignore[call-arg]


class CheckIn(RecordIn):
    """One test-level check the agent computed (``checks:`` of a procedure's test)."""

    record = Check

    check = serializers.ChoiceField(choices=sorted(CHECKS))
    test = serializers.CharField(max_length=100, help_text="What was checked")
    rule = serializers.CharField(max_length=200, help_text="The document and clause")
    value = DecimalText(help_text="The value compared, in unit")
    limit = DecimalText(help_text="The largest value the rule accepts, in unit")
    unit = serializers.CharField(max_length=32, allow_blank=True)
    passed = StrictBoolean()
    at = DecimalText(allow_null=True, help_text="The load or pressure of the limit, in at_unit")
    at_unit = serializers.CharField(max_length=32, allow_null=True, allow_blank=True)
    points = serializers.ListField(
        child=serializers.IntegerField(min_value=0), allow_empty=False, max_length=MAX_POINTS
    )


class CurvePointIn(RecordIn):
    record = CurvePoint

    index = serializers.IntegerField(min_value=0)
    x = FiniteNumber()
    y = FiniteNumber()
    u_y = FiniteNumber()
    residual = FiniteNumber()


class CurveValueIn(RecordIn):
    record = CurveValue

    x = FiniteNumber()
    value = FiniteNumber()
    u = FiniteNumber()


def _numbers(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=FiniteNumber(), max_length=MAX_POINTS, **kwargs)


def _matrix(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=_numbers(), max_length=MAX_POINTS, **kwargs)


class CurveIn(RecordIn):
    """A calibration curve the agent fitted through a test's points (``curve:``)."""

    record = Curve

    test = serializers.CharField(max_length=100)
    fit = serializers.CharField(max_length=32)
    degree = serializers.IntegerField(min_value=0)
    x = serializers.CharField(max_length=100)
    y = serializers.CharField(max_length=100)
    x0 = FiniteNumber()
    weighted = StrictBoolean()
    generalized = StrictBoolean(help_text="Points sharing terms: a generalized least-squares fit")
    shared = serializers.ListField(
        child=serializers.CharField(max_length=100),
        max_length=MAX_POINTS,
        help_text="The model's terms common to every point",
    )
    covariance_y = _matrix(allow_null=True, help_text="The points' covariance (generalized)")
    x_unit = serializers.CharField(max_length=32, allow_blank=True)
    points = CurvePointIn(many=True, allow_empty=False, max_length=MAX_POINTS)  # type: ignore[call-arg]
    coefficients = _numbers(allow_empty=False)
    u_coefficients = _numbers(allow_empty=False)
    covariance = _matrix()
    correlation = _matrix()
    residuals = _numbers()
    residual_sd = FiniteNumber()
    dof = serializers.IntegerField(min_value=0)
    chi_square = FiniteNumber(allow_null=True)
    values = CurveValueIn(many=True, max_length=MAX_POINTS)  # type: ignore[call-arg]


class StandardUsedIn(RecordIn):
    record = StandardUsed

    asset_id = serializers.CharField(max_length=64)
    role = serializers.ChoiceField(choices=list(STANDARD_ROLES))
    function = serializers.CharField(max_length=64)
    unit = serializers.CharField(max_length=32)
    range = serializers.ListField(child=FiniteNumber(), min_length=2, max_length=2)


class ProcedureRefIn(RecordIn):
    record = ProcedureRef

    id = serializers.CharField(max_length=100)
    version = serializers.CharField(max_length=32)
    hash = serializers.RegexField(r"^[0-9a-f]{64}$")


class SharedPointIn(RecordIn):
    """The readings a multi-position run takes once for every position at one point."""

    record = SharedPoint

    index = serializers.IntegerField(min_value=0)
    test = serializers.CharField(max_length=100)
    readings = ReadingIn(many=True, max_length=MAX_READINGS)  # type: ignore[call-arg]


class PositionInstrumentIn(RecordIn):
    record = PositionInstrument

    serial = serializers.CharField(max_length=100)
    type = serializers.CharField(max_length=100, allow_blank=True)
    parameters = serializers.DictField(help_text="The numbers of its specification")


class MeterRegisterIn(RecordIn):
    record = MeterRegister

    code = serializers.CharField(max_length=32, help_text="Its OBIS code")
    value = DecimalText(help_text="As the meter stated it, to the register's own resolution")
    unit = serializers.CharField(max_length=16)


class MeterIdentityIn(RecordIn):
    """A position's meter as read through its optical port before the test."""

    record = MeterIdentity

    protocol = serializers.ChoiceField(choices=list(METER_PROTOCOLS))
    port = serializers.CharField(max_length=200, help_text="The optical probe's port")
    serial = serializers.CharField(max_length=100, help_text="The serial number the meter stated")
    serial_code = serializers.CharField(max_length=32, help_text="The OBIS code stating it")
    registers = MeterRegisterIn(many=True, max_length=32)  # type: ignore[call-arg]
    read_at = AwareDateTime()


class PositionIn(RecordIn):
    """One position of a multi-position run: its instrument, state, points and checks."""

    record = Position

    position = serializers.IntegerField(min_value=1)
    instrument = PositionInstrumentIn()
    state = serializers.ChoiceField(choices=list(POSITION_STATES))
    reason = serializers.CharField(max_length=500, help_text="Why it was skipped or removed")
    points = PointIn(many=True, max_length=MAX_POINTS)  # type: ignore[call-arg]
    checks = CheckIn(many=True, max_length=MAX_CHECKS)  # type: ignore[call-arg]
    identity = MeterIdentityIn(
        allow_null=True, help_text="Its meter as read through its optical port"
    )


class RunIn(RecordIn):
    """A run as submitted by an agent, signed over the exact request body. Once its
    fields are valid, the body is read as a run record (``validated_data["record"]``):
    the record refuses what its parts do not agree on (a run finished before it started,
    a point index twice, a check of a point not in the run, a curve under another
    test's id), naming the field."""

    record = RunRecord

    run_id = serializers.UUIDField()
    job = serializers.CharField(max_length=32, help_text="The job number")
    procedure = ProcedureRefIn()
    operator = serializers.CharField(max_length=150, help_text="Username of the metrologist")
    software_version = serializers.CharField(max_length=100)
    started_at = AwareDateTime()
    finished_at = AwareDateTime()
    environment = serializers.DictField()
    standards = StandardUsedIn(many=True, allow_empty=False)
    # empty in a multi-position run (its points are by position); the record refuses an
    # empty list otherwise
    points = PointIn(many=True, max_length=MAX_POINTS)  # type: ignore[call-arg]
    shared = SharedPointIn(many=True, max_length=MAX_POINTS)  # type: ignore[call-arg]
    positions = PositionIn(many=True, max_length=MAX_POSITIONS)  # type: ignore[call-arg]
    checks = CheckIn(many=True, max_length=MAX_CHECKS)  # type: ignore[call-arg]
    curves = serializers.DictField(
        child=CurveIn(), help_text="The curves fitted over the tests with a curve, by test id"
    )
    raw_io = serializers.ListField(child=serializers.DictField())
    supersedes = serializers.UUIDField(allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs.get("curves") or {}) > MAX_CURVES:
            raise serializers.ValidationError({"curves": f"more than {MAX_CURVES} curves"})
        try:
            attrs["record"] = RunRecord.from_json(self.initial_data)
        except RecordError as exc:
            key = exc.field or api_settings.NON_FIELD_ERRORS_KEY
            raise serializers.ValidationError({key: [exc.message]}) from None
        return attrs


class RunAccepted(serializers.Serializer):  # type: ignore[type-arg]
    run_id = serializers.UUIDField()
    job = serializers.CharField()
    state = serializers.CharField()
    payload_sha256 = serializers.CharField()
    disagreements = serializers.IntegerField()
    conformity = serializers.CharField(
        help_text="The run's statement: fail when a point or a test-level check fails"
    )
    checks = serializers.ListField(child=serializers.DictField())
    curves = serializers.DictField(child=serializers.DictField())
    disagreement = serializers.ListField(child=serializers.DictField())
    points = serializers.ListField(child=serializers.DictField())
    positions = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="A multi-position run's: each position's state, statement, checks and points",
    )


class ReadingOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = ReadingRow
        fields = ["index", "quantity", "value", "unit", "timestamp", "stable", "raw"]


class PointOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    readings = ReadingOut(many=True, read_only=True)

    class Meta:
        model = PointRow
        fields = [
            "index",
            "test",
            "nominal",
            "unit",
            "output",
            "readings_quantity",
            "model",
            "acceptance",
            "agent_result",
            "server_result",
            "budget",
            "agent_conformity",
            "server_conformity",
            "disagreement",
            "readings",
        ]


class StandardUsageOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    asset_id = serializers.CharField(source="standard.asset_id", read_only=True)
    certificate_number = serializers.CharField(source="certificate.number", read_only=True)

    class Meta:
        model = StandardUsage
        fields = [
            "asset_id",
            "certificate_number",
            "used_on",
            "role",
            "function",
            "range_low",
            "range_high",
            "unit",
        ]


class SignatureOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = RunSignature
        fields = ["username", "name", "meaning", "signed_at", "comment"]


class RunOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    job = serializers.CharField(source="job.number", read_only=True)
    organization = serializers.CharField(source="organization.code", read_only=True)
    agent = serializers.CharField(source="agent.name", read_only=True)
    operator = serializers.CharField(source="operator.username", read_only=True)
    procedure = serializers.CharField(source="procedure.__str__", read_only=True)
    signatures = SignatureOut(many=True, read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "organization",
            "job",
            "agent",
            "operator",
            "procedure",
            "supersedes",
            "software_version",
            "started_at",
            "finished_at",
            "received_at",
            "state",
            "server_conformity",
            "disagreements",
            "environment",
            "payload_sha256",
            "signatures",
        ]


class PositionOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A position of a multi-position run, with its instrument's job and its points."""

    points = PointOut(many=True, read_only=True)
    job = serializers.CharField(
        source="job.number",
        read_only=True,
        default=None,
        help_text="The job of the instrument mounted there, found by its serial",
    )

    class Meta:
        model = RunPosition
        fields = [
            "number",
            "job",
            "serial",
            "instrument_type",
            "parameters",
            "state",
            "reason",
            "agent_checks",
            "server_checks",
            "disagreement",
            "disagreements",
            "server_conformity",
            "identity",
            "points",
        ]


class RunDetailOut(RunOut):
    points = serializers.SerializerMethodField(
        help_text="The run's points; a multi-position run's are under its positions"
    )
    positions = PositionOut(many=True, read_only=True)
    standards = StandardUsageOut(many=True, read_only=True, source="standard_usages")

    @extend_schema_field(PointOut(many=True))
    def get_points(self, run: Run) -> Any:
        own = [p for p in run.points.all() if p.position_id is None]
        return PointOut(own, many=True, context=self.context).data

    class Meta(RunOut.Meta):
        fields = [
            *RunOut.Meta.fields,
            "points",
            "positions",
            "agent_checks",
            "server_checks",
            "agent_curves",
            "server_curves",
            "disagreement",
            "standards",
            "raw_io",
        ]


class SignIn(serializers.Serializer):  # type: ignore[type-arg]
    """An electronic signature: the signer re-enters their password (21 CFR 11.200)."""

    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RejectIn(serializers.Serializer):  # type: ignore[type-arg]
    """A rejection: the signer's password again, and the reason the run goes back."""

    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    reason = serializers.CharField()
