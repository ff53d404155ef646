"""The run payload an agent submits, and how runs are shown.

The payload serializers are the agent↔server contract in the OpenAPI schema.
Numbers must be finite JSON numbers and datetimes must carry their offset:
nothing is coerced, guessed or clamped.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from procedures.acceptance import CHECKS

from ..models import Point, Reading, Run, RunSignature, StandardUsage

MAX_POINTS = 2000
MAX_READINGS = 10000
MAX_CHECKS = 2000
MAX_CURVES = 100


def finite_number(data: Any) -> float:
    """A JSON number (not a string, not a boolean) that is finite, or a validation error."""
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise serializers.ValidationError(f"must be a number, got {type(data).__name__}")
    value = float(data)
    if not math.isfinite(value):
        raise serializers.ValidationError("must be finite")
    return value


@extend_schema_field(OpenApiTypes.DOUBLE)
class FiniteNumber(serializers.Field):  # type: ignore[type-arg]
    """A JSON number (not a string, not a boolean), finite."""

    def to_internal_value(self, data: Any) -> float:
        return finite_number(data)

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "enum": ["inf"]}]})
class DegreesOfFreedom(serializers.Field):  # type: ignore[type-arg]
    """A positive number, or the text "inf"."""

    def to_internal_value(self, data: Any) -> float | str:
        if data == "inf":
            return "inf"
        value = finite_number(data)
        if value <= 0:
            raise serializers.ValidationError('must be positive or "inf"')
        return value

    def to_representation(self, value: Any) -> Any:
        return value


class AwareDateTime(serializers.DateTimeField):
    """An ISO 8601 datetime with its UTC offset; a naive one is refused."""

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if isinstance(value, str) and not (
            value.endswith("Z") or "+" in value[10:] or "-" in value[10:]
        ):
            raise serializers.ValidationError("must carry a UTC offset (e.g. 2026-11-22T08:00:00Z)")
        return parsed


class ReadingIn(serializers.Serializer):  # type: ignore[type-arg]
    quantity = serializers.CharField(
        max_length=100,
        required=False,
        help_text="The model quantity this reading is a sample of (default: readings_quantity)",
    )
    value = FiniteNumber()
    unit = serializers.CharField(max_length=32)
    timestamp = AwareDateTime()
    stable = serializers.BooleanField(allow_null=True, required=False, default=None)
    raw = serializers.CharField(allow_blank=True, required=False, default="", max_length=4096)


class ResultIn(serializers.Serializer):  # type: ignore[type-arg]
    value = FiniteNumber()
    u = FiniteNumber()
    U = FiniteNumber()
    k = FiniteNumber()
    dof = DegreesOfFreedom(required=False)


class AcceptanceIn(serializers.Serializer):  # type: ignore[type-arg]
    lower = FiniteNumber(required=False, allow_null=True, default=None)
    upper = FiniteNumber(required=False, allow_null=True, default=None)
    mpe = FiniteNumber(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        lower, upper = attrs.get("lower"), attrs.get("upper")
        if lower is not None and upper is not None and lower > upper:
            raise serializers.ValidationError({"lower": "must not exceed upper"})
        if attrs.get("mpe") is not None and attrs["mpe"] <= 0:
            raise serializers.ValidationError({"mpe": "must be positive"})
        return attrs


class PointIn(serializers.Serializer):  # type: ignore[type-arg]
    index = serializers.IntegerField(min_value=0)
    test = serializers.CharField(max_length=100)
    nominal = FiniteNumber()
    unit = serializers.CharField(max_length=32)
    readings = ReadingIn(many=True, allow_empty=False, max_length=MAX_READINGS)  # type: ignore[call-arg]
    readings_quantity = serializers.CharField(max_length=100)
    output = serializers.CharField(max_length=100)
    model = serializers.DictField(help_text="A measurement model (measurement-model.md)")
    result = ResultIn()
    acceptance = AcceptanceIn(required=False)
    conformity = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for reading in attrs["readings"]:
            reading.setdefault("quantity", attrs["readings_quantity"])
        return attrs


@extend_schema_field({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"})
class DecimalText(serializers.Field):  # type: ignore[type-arg]
    """A number written as plain decimal text (``"0.5"``, ``"-12"``), as the rules give it:
    no exponent, no NaN or infinity, not a JSON number."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"must be decimal text, got {type(data).__name__}")
        try:
            value = Decimal(data)
        except InvalidOperation:
            raise serializers.ValidationError(f"not a decimal number: {data!r}") from None
        if not value.is_finite() or "e" in data.lower():
            raise serializers.ValidationError(f"not a plain decimal number: {data!r}")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBoolean(serializers.Field):  # type: ignore[type-arg]
    """A JSON true or false (not "true", not 1)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError(f"must be true or false, got {data!r}")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class CheckIn(serializers.Serializer):  # type: ignore[type-arg]
    """One test-level check the agent computed (``checks:`` of a procedure's test)."""

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


class CurvePointIn(serializers.Serializer):  # type: ignore[type-arg]
    index = serializers.IntegerField(min_value=0)
    x = FiniteNumber()
    y = FiniteNumber()
    u_y = FiniteNumber()
    residual = FiniteNumber()


class CurveValueIn(serializers.Serializer):  # type: ignore[type-arg]
    x = FiniteNumber()
    value = FiniteNumber()
    u = FiniteNumber()


def _numbers(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=FiniteNumber(), max_length=MAX_POINTS, **kwargs)


def _matrix() -> serializers.ListField:
    return serializers.ListField(child=_numbers(), max_length=MAX_POINTS)


class CurveIn(serializers.Serializer):  # type: ignore[type-arg]
    """A calibration curve the agent fitted through a test's points (``curve:``)."""

    test = serializers.CharField(max_length=100)
    fit = serializers.CharField(max_length=32)
    degree = serializers.IntegerField(min_value=0)
    x = serializers.CharField(max_length=100)
    y = serializers.CharField(max_length=100)
    x0 = FiniteNumber()
    weighted = StrictBoolean()
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


class StandardUsedIn(serializers.Serializer):  # type: ignore[type-arg]
    asset_id = serializers.CharField(max_length=64)
    role = serializers.ChoiceField(choices=["reference", "source", "environment"])
    function = serializers.CharField(max_length=64)
    unit = serializers.CharField(max_length=32)
    range = serializers.ListField(child=FiniteNumber(), min_length=2, max_length=2)

    def validate_range(self, value: list[float]) -> list[float]:
        if value[0] > value[1]:
            raise serializers.ValidationError("low must not exceed high")
        return value


class ProcedureRefIn(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField(max_length=100)
    version = serializers.CharField(max_length=32)
    hash = serializers.RegexField(r"^[0-9a-f]{64}$")


class RunIn(serializers.Serializer):  # type: ignore[type-arg]
    """A run as submitted by an agent, signed over the exact request body."""

    run_id = serializers.UUIDField()
    job = serializers.CharField(max_length=32, help_text="The job number")
    procedure = ProcedureRefIn()
    operator = serializers.CharField(max_length=150, help_text="Username of the metrologist")
    software_version = serializers.CharField(max_length=100)
    started_at = AwareDateTime()
    finished_at = AwareDateTime()
    environment = serializers.DictField(required=False, default=dict)
    standards = StandardUsedIn(many=True, allow_empty=False)
    points = PointIn(many=True, allow_empty=False, max_length=MAX_POINTS)  # type: ignore[call-arg]
    checks = CheckIn(many=True, required=False, default=list, max_length=MAX_CHECKS)  # type: ignore[call-arg]
    curves = serializers.DictField(
        child=CurveIn(),
        required=False,
        default=dict,
        help_text="The curves fitted over the tests with a curve, by test id",
    )
    raw_io = serializers.ListField(child=serializers.DictField(), required=False, default=list)
    supersedes = serializers.UUIDField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["finished_at"] < attrs["started_at"]:
            raise serializers.ValidationError({"finished_at": "is before started_at"})
        indexes = [p["index"] for p in attrs["points"]]
        if len(set(indexes)) != len(indexes):
            raise serializers.ValidationError({"points": "point indexes must be unique"})
        if len(attrs["curves"]) > MAX_CURVES:
            raise serializers.ValidationError({"curves": f"more than {MAX_CURVES} curves"})
        for test_id, curve in attrs["curves"].items():
            if curve["test"] != test_id:
                raise serializers.ValidationError(
                    {"curves": {test_id: {"test": f"is {curve['test']!r}, not {test_id!r}"}}}
                )
        known = set(indexes)
        for i, check in enumerate(attrs["checks"]):
            unknown = [p for p in check["points"] if p not in known]
            if unknown:
                raise serializers.ValidationError(
                    {"checks": {str(i): {"points": f"no point {unknown[0]} in the run"}}}
                )
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


class ReadingOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Reading
        fields = ["index", "quantity", "value", "unit", "timestamp", "stable", "raw"]


class PointOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    readings = ReadingOut(many=True, read_only=True)

    class Meta:
        model = Point
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


class RunDetailOut(RunOut):
    points = PointOut(many=True, read_only=True)
    standards = StandardUsageOut(many=True, read_only=True, source="standard_usages")

    class Meta(RunOut.Meta):
        fields = [
            *RunOut.Meta.fields,
            "points",
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
