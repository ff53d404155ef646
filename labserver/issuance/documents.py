"""An approved run as the plain certificate document (:mod:`certificates.document`).

Everything comes from what the LIMS stored: the organization, the customer and the
instrument of the job, the procedure definition as registered, the run's environment,
its points as the SERVER re-evaluated them (never the agent's claims), the server's
checks and curves, the standards used with the certificate in force on the day, and
the run's electronic signatures. A value the certificate needs that the records do not
hold is refused (:class:`IncompleteRecord`, naming the record and field), never guessed.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from certificates.document import (
    Amendment,
    Bilingual,
    CertificateDocument,
    Check,
    Condition,
    Conformity,
    Curve,
    CurveTerm,
    Customer,
    Instrument,
    Issuer,
    Kind,
    Location,
    Person,
    ProcedureRef,
    ResultRow,
    ResultTable,
    Standard,
    Statement,
    VerificationMark,
)
from labserver.core.errors import DomainError
from labserver.jobs.models import Job, parsed_procedure
from labserver.measurements.models import Point, PositionState, Run, RunPosition, RunSignature
from labserver.measurements.partitions import readings_prefetch
from procedures.acceptance import observed
from procedures.definition import ProcedureDefinition
from procedures.record import UncertaintyRatio
from procedures.references import printable_references
from uncertainty.display import number_text, uncertainty_text, unit_symbol
from uncertainty.reporting import round_result

__all__ = [
    "IncompleteRecord",
    "add_months",
    "certificate_texts",
    "document_for",
    "indication_resolution",
    "specification_text",
    "verification_valid_until",
]

# The country whose law a verification is made under (the issuer's, Issuer.country).
_COUNTRY = "VN"
_COUNTRY_TAG = re.compile(r"\(([A-Z]{2})\)")
# A number in a programming language's notation ("3.9083e-3") is written for print
# ("3.9083 × 10⁻³").
_E_NOTATION = re.compile(
    r"(?<![\w.])(?P<mantissa>-?\d+(?:\.\d+)?)[eE](?P<exponent>[+-]?\d+)(?![\w])"
)
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class IncompleteRecord(DomainError):
    """The records lack something the certificate must state (422), named by ``field``."""

    status = 422
    code = "incomplete_record"


@dataclass(frozen=True)
class Certified:
    """What one certificate reports on: the instrument of ``job`` and the results the server
    evaluated for it. A run of one instrument: the run's job, points, checks, curves and
    statement. A position of a multi-position run: its own job, points (their own readings;
    the shared ones, the reference's, are the run's), checks and statement; the standards,
    environment, procedure and signatures are the run's in both cases."""

    run: Run
    job: Job
    points: list[Point]
    checks: list[Any]
    curves: Mapping[str, Any]
    conformity: str
    position: RunPosition | None = None

    @classmethod
    def of(cls, run: Run, position: RunPosition | None = None) -> Certified:
        """The run's results, or ``position``'s (a measured position of ``run`` with its
        job): else :class:`IncompleteRecord` naming the position."""
        if position is None:
            return cls(
                run,
                run.job,
                _with_readings(run, run.points.all()),
                run.server_checks or [],
                run.server_curves or {},
                run.server_conformity,
            )
        where = f"positions[{position.number}]"
        if position.run_id != run.pk:
            raise IncompleteRecord(f"{where}: not a position of run {run.pk}", field="position")
        if position.state != PositionState.MEASURED:
            raise IncompleteRecord(
                f"{where}: position {position.number} was {position.state}"
                f"{f' ({position.reason})' if position.reason else ''}: nothing to certify",
                field="position",
            )
        if position.job is None:
            raise IncompleteRecord(
                f"{where}.job: position {position.number} (serial {position.serial}) has no job",
                field="position.job",
            )
        # A position has no curves of its own (its run fits none by position).
        points = _with_readings(run, position.points.all())
        checks = position.server_checks or []
        return cls(run, position.job, points, checks, {}, position.server_conformity, position)


def _with_readings(run: Run, points: QuerySet[Point]) -> list[Point]:
    """``points`` of ``run`` by index, each with its stored readings (its own: in a
    multi-position run the shared ones, the reference's, are the run's), looked up in the
    partitions of the run's years only."""
    return list(points.prefetch_related(readings_prefetch([run])).order_by("index"))


# ISO/IEC 17025 7.8.2.1 o: what each signature on the run means, as the certificate prints it.
MEANINGS: dict[str, Bilingual] = {
    RunSignature.Meaning.PERFORMED: Bilingual(
        "Tôi đã thực hiện phép đo này", "I performed these measurements"
    ),
    RunSignature.Meaning.CHECKED: Bilingual("Tôi đã kiểm tra kết quả", "I checked these results"),
    RunSignature.Meaning.AUTHORIZED: Bilingual(
        "Tôi phê duyệt kết quả và ban hành giấy chứng nhận",
        "I approve these results and authorize this certificate",
    ),
}

CONDITIONS: dict[str, Bilingual] = {
    "temperature": Bilingual("Nhiệt độ", "Temperature"),
    "humidity": Bilingual("Độ ẩm tương đối", "Relative humidity"),
    "pressure": Bilingual("Áp suất khí quyển", "Atmospheric pressure"),
}

# Units as caltrace writes them on certificates (certificates.document).
UNITS: dict[str, str] = {"°C": "degC", "℃": "degC", "ohm": "Ohm", "Ω": "Ohm"}

# The output a procedure reports at each point (the shipped procedures' convention): the
# error of indication E, or the correction C = -E; the factor turns it into the error.
OUTPUTS: dict[str, float] = {"E": 1.0, "C": -1.0}

CHECK_NAMES: dict[str, Bilingual] = {
    "repeatability": Bilingual("Độ lặp lại", "Repeatability"),
    "eccentricity": Bilingual("Độ lệch tâm", "Eccentricity"),
    "hysteresis": Bilingual("Độ trễ", "Hysteresis"),
}

# The quantity a table reports, by the unit of its nominal values.
QUANTITIES: dict[str, Bilingual] = {
    "V": Bilingual("Điện áp", "Voltage"),
    "mV": Bilingual("Điện áp", "Voltage"),
    "g": Bilingual("Khối lượng", "Mass"),
    "kg": Bilingual("Khối lượng", "Mass"),
    "kPa": Bilingual("Áp suất", "Pressure"),
    "MPa": Bilingual("Áp suất", "Pressure"),
    "bar": Bilingual("Áp suất", "Pressure"),
    "degC": Bilingual("Nhiệt độ", "Temperature"),
    "L": Bilingual("Thể tích", "Volume"),
    "m3": Bilingual("Thể tích", "Volume"),
}

DECISION_RULES: dict[str, Bilingual] = {
    "simple acceptance": Bilingual(
        "Chấp nhận đơn giản (ILAC G8:09/2019 4.2.1), w = 0",
        "Simple acceptance (ILAC G8:09/2019 4.2.1), w = 0",
    ),
    "guarded acceptance": Bilingual(
        "Chấp nhận có dải bảo vệ (ILAC G8:09/2019 4.2.2), w = U",
        "Guarded acceptance (ILAC G8:09/2019 4.2.2), w = U",
    ),
    "guarded rejection": Bilingual(
        "Loại bỏ có dải bảo vệ (ILAC G8:09/2019), w = U",
        "Guarded rejection (ILAC G8:09/2019), w = U",
    ),
    "non-binary": Bilingual(
        "Phát biểu không nhị phân (ILAC G8:09/2019 4.2.3)",
        "Non-binary statement (ILAC G8:09/2019 4.2.3)",
    ),
}

CONFORMITY: dict[str, Conformity] = {
    "pass": Conformity.PASS,
    "fail": Conformity.FAIL,
    "conditional pass": Conformity.CONDITIONAL_PASS,
    "conditional fail": Conformity.CONDITIONAL_FAIL,
}

# The verdicts of a verification that fail it: what is issued for them is a notice of the
# failure, with no verification mark (CertificateDocument.failed_verification).
FAILING = ("fail", "conditional fail")


def carries_mark(run: Run, position: RunPosition | None = None) -> bool:
    """Whether the certificate of ``run`` (of its ``position``'s instrument, when given)
    carries a verification mark: a verification that did not fail (a failed one is a
    notice of the failure, and a failed instrument is never marked)."""
    verdict = run.server_conformity if position is None else position.server_conformity
    return run.procedure.kind == Kind.VERIFICATION and verdict not in FAILING


# An instrument's specification in words (ISO/IEC 17025 7.8.2.1 g: the item described so
# that a reader recognises it): the label of each key caltrace's procedures use, and where
# the unit of its value comes from ("unit": the specification's own unit key; a symbol; or
# nothing for a pure number). A key not listed is written with its words, never as a raw
# ``key = value``.
SPECIFICATION: dict[str, tuple[Bilingual, str | None]] = {
    "accuracy_class": (Bilingual("Cấp chính xác", "Accuracy class"), None),
    "span": (Bilingual("Khoảng đo", "Span"), "unit"),
    "max_capacity": (Bilingual("Mức cân lớn nhất Max", "Maximum capacity Max"), "unit"),
    "min_capacity": (Bilingual("Mức cân nhỏ nhất Min", "Minimum capacity Min"), "unit"),
    "e": (Bilingual("Giá trị độ chia kiểm e", "Verification scale interval e"), "unit"),
    "d": (Bilingual("Giá trị độ chia d", "Scale interval d"), "unit"),
    "d_T": (
        Bilingual("Giá trị độ chia ở chế độ thử d_T", "Scale interval in test mode d_T"),
        "unit",
    ),
    "resolution": (Bilingual("Độ phân giải", "Resolution"), "unit"),
    "division": (Bilingual("Giá trị độ chia", "Scale division"), "unit"),
    "q3": (Bilingual("Lưu lượng danh định Q3", "Permanent flow rate Q3"), "m³/h"),
    "ratio": (Bilingual("Tỉ số R = Q3/Q1", "Ratio R = Q3/Q1"), None),
    "temperature_class": (Bilingual("Cấp nhiệt độ", "Temperature class"), None),
    # A fuel dispenser (procedure fuel-dispenser-r117): flow rates in L/min, volumes in L.
    "q_max": (Bilingual("Lưu lượng lớn nhất Q_max", "Maximum flow rate Q_max"), "L/min"),
    "q_min": (Bilingual("Lưu lượng nhỏ nhất Q_min", "Minimum flow rate Q_min"), "L/min"),
    "mmq": (Bilingual("Lượng đo nhỏ nhất MMQ", "Minimum measured quantity MMQ"), "L"),
    "scale_interval": (Bilingual("Giá trị độ chia", "Scale interval"), "L"),
    # An electricity meter (procedure electricity-meter-r46): currents from the smallest.
    "i_st": (Bilingual("Dòng điện khởi động I_st", "Starting current I_st"), "A"),
    "i_min": (Bilingual("Dòng điện nhỏ nhất I_min", "Minimum current I_min"), "A"),
    "i_tr": (Bilingual("Dòng điện chuyển tiếp I_tr", "Transitional current I_tr"), "A"),
    "i_ref": (Bilingual("Dòng điện chuẩn I_ref", "Reference current I_ref"), "A"),
    "i_max": (Bilingual("Dòng điện lớn nhất I_max", "Maximum current I_max"), "A"),
    "u_ref": (Bilingual("Điện áp chuẩn U_ref", "Reference voltage U_ref"), "V"),
    "f_ref": (Bilingual("Tần số chuẩn f_ref", "Reference frequency f_ref"), "Hz"),
    "constant": (Bilingual("Hằng số công tơ", "Meter constant"), "imp/kWh"),
    "phases": (Bilingual("Số pha", "Number of phases"), None),
    "dcv_ranges": (Bilingual("Các phạm vi đo điện áp một chiều", "DC voltage ranges"), None),
    "display": (Bilingual("Hiển thị", "Display"), None),
}

# The unit of a specification whose own ``unit`` key is absent, by instrument type (a
# thermometer's resolution is in °C).
SPECIFICATION_UNITS: dict[str, str] = {"thermometer": "°C"}

FITS: dict[str, Bilingual] = {
    "line": Bilingual("đường thẳng", "straight line"),
    "quadratic": Bilingual("đa thức bậc hai", "quadratic"),
    "cubic": Bilingual("đa thức bậc ba", "cubic"),
}


def _unit(unit: str) -> str:
    return UNITS.get(unit, unit)


def _number(value: Any, field: str) -> float:
    """A finite number from stored data (JSON numbers or decimal text), or refuse."""
    if isinstance(value, bool) or value is None:
        raise IncompleteRecord(f"{field}: no number stored", field=field)
    try:
        number = float(Decimal(value)) if isinstance(value, str) else float(value)
    except (ArithmeticError, TypeError, ValueError):
        raise IncompleteRecord(f"{field}: {value!r} is not a number", field=field) from None
    if not math.isfinite(number):
        raise IncompleteRecord(f"{field}: {value!r} is not finite", field=field)
    return number


def _conformity(statement: str, field: str) -> Conformity:
    try:
        return CONFORMITY[statement]
    except KeyError:
        raise IncompleteRecord(
            f"{field}: {statement!r} is not a statement a certificate can carry", field=field
        ) from None


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on (the 31st becomes the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def verification_valid_until(run: Run, job: Job | None = None) -> date:
    """The last day of a verification's validity: the day of the verification (the run's
    end, local date) plus the instrument type's verification interval, in months; the
    instrument of ``job`` (a position's), else of the run's.

    Refused when the instrument type states no interval: the validity is never guessed.
    """
    instrument_type = (job or run.job).instrument.instrument_type
    months = instrument_type.verification_interval_months
    if not months:
        raise IncompleteRecord(
            f"instrument type {instrument_type.code!r} has no verification interval: set "
            "instrument_type.verification_interval_months before issuing a verification",
            field="instrument_type.verification_interval_months",
        )
    return add_months(timezone.localdate(run.finished_at, run.organization.zone), months)


def _issuer(run: Run) -> Issuer:
    org = run.organization
    if not org.address.strip():
        # ISO/IEC 17025 7.8.2.1 b: the name and address of the laboratory.
        raise IncompleteRecord(
            f"organization.address: {org.code} has no address on record",
            field="organization.address",
        )
    return Issuer(
        name=Bilingual(org.name, org.name),
        address=org.address,
        accreditation=org.accreditation,
    )


def _customer(job: Job) -> Customer:
    owner = job.instrument.owner
    if not owner.address.strip():
        # ISO/IEC 17025 7.8.2.1 e: the name and contact information of the customer.
        raise IncompleteRecord(
            f"customer.address: the instrument's owner {owner.code} has no address on record",
            field="customer.address",
        )
    return Customer(name=owner.name, address=owner.address)


def _instrument(job: Job) -> Instrument:
    item = job.instrument
    kind = item.instrument_type
    for name in ("manufacturer", "model", "serial"):
        if not str(getattr(item, name)).strip():
            raise IncompleteRecord(
                f"instrument.{name}: the instrument {item.pk} has no {name} on record",
                field=f"instrument.{name}",
            )
    description = specification_text(item.specification or {}, kind.code)
    return Instrument(
        type=Bilingual(kind.name_vi or kind.name, kind.name),
        manufacturer=item.manufacturer,
        model=item.model,
        serial=item.serial,
        description=description,
    )


def _spec_value(value: Any) -> str:
    if isinstance(value, bool):
        return "có / yes" if value else "không / no"
    if isinstance(value, int | float):
        return number_text(value)
    return str(value)


def specification_text(spec: Mapping[str, Any], type_code: str = "") -> str:
    """An instrument's specification in words in both languages, e.g. "Cấp chính xác /
    Accuracy class 1.6; Khoảng đo / Span 600 kPa".

    The ``unit`` key is not an item of its own: it is the unit of the values that take it.
    """
    unit = str(spec.get("unit") or SPECIFICATION_UNITS.get(type_code, ""))
    parts = []
    # The known keys in the order a data sheet gives them (class, capacity, intervals),
    # then any other in alphabetical order.
    order = {key: i for i, key in enumerate(SPECIFICATION)}
    for key in sorted(spec, key=lambda k: (order.get(k, len(order)), k)):
        if key == "unit":
            continue
        label, unit_of = SPECIFICATION.get(key, (None, None))
        if label is None:
            words = key.replace("_", " ").strip().capitalize()
            label = Bilingual(words, words)
        value = _spec_value(spec[key])
        shown_unit = unit if unit_of == "unit" else (unit_of or "")
        if shown_unit:
            value = f"{value} {unit_symbol(_unit(shown_unit))}"
        parts.append(f"{label.vi} / {label.en}: {value}")
    return "; ".join(parts)


def certificate_texts(texts: Iterable[str], *, country: str) -> tuple[str, ...]:
    """The documents a certificate may cite, out of a procedure's references or a rule's.

    Texts joined with ``;`` are taken one by one. Left out (they stay in the procedure's
    metadata, never on a certificate): a reference marked unverified (its edition, clause
    or title not confirmed against a source: ISO/IEC 17025 7.8.2.1 f asks for the method
    used, and an unconfirmed citation is not one), and national legislation of another
    country (a document tagged with a country code in parentheses, e.g. ``(DE)``): a
    foreign ordinance is not the specification of a verification under ``country``'s law.
    """
    out: list[str] = []
    for text in texts:
        for part in str(text).split(";"):
            part = part.strip()
            if not part or "unverified" in part.lower():
                continue
            tagged = _COUNTRY_TAG.search(part)
            if tagged and tagged.group(1) != country.upper():
                continue
            part = _E_NOTATION.sub(_power_of_ten, part)
            if part not in out:
                out.append(part)
    return tuple(out)


def _power_of_ten(match: re.Match[str]) -> str:
    exponent = str(int(match["exponent"])).translate(_SUPERSCRIPT)
    return f"{match['mantissa']} × 10{exponent}"


def _procedure(run: Run, definition: ProcedureDefinition) -> ProcedureRef:
    procedure = run.procedure
    return ProcedureRef(
        id=procedure.procedure_id,
        version=procedure.version,
        title=Bilingual(definition.title["vi"], definition.title["en"]),
        sha256=procedure.content_hash,
        # Verified references only (procedures.references), then as printed text: no
        # foreign law, numbers for print (certificate_texts).
        references=certificate_texts(printable_references(definition.references), country=_COUNTRY),
        rounding_method=(
            None
            if definition.rounding_statement is None
            else Bilingual(definition.rounding_statement["vi"], definition.rounding_statement["en"])
        ),
    )


def _conditions(run: Run) -> tuple[Condition, ...]:
    out = []
    for name in sorted(run.environment or {}):
        entry = run.environment[name]
        field = f"run.environment.{name}"
        if not isinstance(entry, Mapping):
            raise IncompleteRecord(f"{field}: expected a value and a unit", field=field)
        unit = entry.get("unit")
        if not isinstance(unit, str) or not unit.strip():
            raise IncompleteRecord(f"{field}.unit: no unit stored", field=f"{field}.unit")
        out.append(
            Condition(
                name=CONDITIONS.get(name, Bilingual(name, name)),
                value=_number(entry.get("value"), f"{field}.value"),
                unit=_unit(unit),
                uncertainty=(
                    _number(entry["uncertainty"], f"{field}.uncertainty")
                    if entry.get("uncertainty") is not None
                    else None
                ),
            )
        )
    return tuple(out)


# The direction of a point met twice at the same setting (rising and falling loads), in
# words: a reader needs no legend for them.
DIRECTIONS: dict[bool, Bilingual] = {
    False: Bilingual("tăng", "rising"),
    True: Bilingual("giảm", "falling"),
}


def _setting(point: Point, definition: ProcedureDefinition) -> tuple[Any, ...]:
    """What makes a point's setting: its nominal and its parameters (range, position)."""
    params = definition.point(point.index).params
    return (point.nominal, *sorted((k, repr(v)) for k, v in params.items()))


def _range_text(point: Point, definition: ProcedureDefinition) -> str:
    params = definition.point(point.index).params
    if "range" not in params:
        return ""
    return f"{number_text(float(params['range']))} {unit_symbol(_unit(point.unit))}"


def _label(point: Point, definition: ProcedureDefinition, repeated: bool, falling: bool) -> str:
    """ "1 V", "5000 g, vị trí / position 2", "450 kPa, tăng / rising": the words a reader
    needs to tell the points apart (the range has its own column)."""
    spec = definition.point(point.index)
    text = f"{number_text(point.nominal)} {unit_symbol(_unit(point.unit))}"
    if "position" in spec.params:
        text = f"{text}, vị trí / position {spec.params['position']}"
    if repeated:
        direction = DIRECTIONS[falling]
        text = f"{text}, {direction.vi} / {direction.en}"
    return text


def _read_role(steps: Iterable[Any], name: str) -> str | None:
    """The role whose reading is stored as ``name`` (a ``read`` step's ``as``), at any depth."""
    for step in steps:
        if isinstance(step, Mapping):
            read = step.get("read")
            if isinstance(read, Mapping) and read.get("as") == name:
                return str(read.get("role"))
            for value in step.values():
                nested = value if isinstance(value, list | tuple) else [value]
                found = _read_role(nested, name)
                if found is not None:
                    return found
    return None


def indication_resolution(point: Point, definition: ProcedureDefinition, unit: str) -> float | None:
    """The resolution the point's indication was read to, in ``unit``, from the model the
    bench bound: the quantity that is the reading instrument's resolution
    (``resolution_of`` its role) or the rectangular one whose half-width is half an
    instrument parameter or a constant (``d_T / 2``, ``time_resolution/2``). None when the
    model has none: never guessed."""
    test = next((t for t in definition.tests if t.id == point.test), None)
    if test is None:
        return None
    role = _read_role(test.steps, point.readings_quantity)
    halves = definition.resolution_halves
    bound = (point.model or {}).get("quantities") or {}
    for name, spec in (test.model.get("quantities") or {}).items():
        if not isinstance(spec, Mapping):
            continue
        of_reader = role is not None and spec.get("resolution_of") == role
        half = str(spec.get("half_width", "")).replace(" ", "")
        if not (of_reader or half in halves):
            continue
        entry = bound.get(name) or {}
        if _unit(str(entry.get("unit") or spec.get("unit") or "")) != unit:
            continue
        try:
            # In decimal, so that twice a half-width of 5e-08 is 1e-07, not 1.0000000000000001e-07.
            width = Decimal(repr(float(entry["half_width"])))
        except (KeyError, TypeError, ValueError, ArithmeticError):
            continue
        if width.is_finite() and width > 0:
            return float(2 * width)
    return None


def _indication(point: Point, unit: str) -> float | None:
    """The mean of the point's primary readings, when they are in the row's unit."""
    values = [
        r.value
        for r in point.readings.all()
        if r.quantity == point.readings_quantity and _unit(r.unit) == unit
    ]
    return math.fsum(values) / len(values) if values else None


def _row(point: Point, label: str, definition: ProcedureDefinition) -> ResultRow:
    where = f"points[{point.index}].server_result"
    result = point.server_result or {}
    unit = _unit(str(result.get("unit") or point.unit))
    value = _number(result.get("value"), f"{where}.value")
    acceptance = result.get("acceptance") or point.acceptance or {}
    mpe = acceptance.get("mpe")
    conformity = point.server_conformity
    expanded = _number(result.get("U"), f"{where}.U")
    sign = OUTPUTS.get(point.output)
    shown = observed(acceptance) if sign is None else None
    if sign is None and shown is None:
        raise IncompleteRecord(
            f"points[{point.index}].output: {point.output!r} is neither an error (E) nor a "
            "correction (C): the certificate cannot say what it is",
            field=f"points[{point.index}].output",
        )
    note = ""
    if sign is not None and sign < 0:
        # A correction is the error with its sign changed (JCGM 200 2.53); the value the
        # procedure reports is kept beside it, rounded as ILAC P14 asks.
        rounded = round_result(value, expanded)
        note = f"{point.output} = {rounded.value} {unit_symbol(unit)}"
    same_unit = _unit(point.unit) == unit
    limit = _number(mpe, f"{where}.acceptance.mpe") if mpe is not None else None
    # A count (no-load) is exact and judged as the number observed: no U, no U/MPE flag
    # (procedures.acceptance.Observed). A time (starting) keeps its U.
    counted = shown.counted if shown is not None else None
    count = counted is not None
    if counted is not None and not value.is_integer():
        raise IncompleteRecord(
            f"{where}.value: {value!r} is not a whole number of {counted['en']}",
            field=f"{where}.value",
        )
    coverage_probability = (
        _number(result["coverage_probability"], f"{where}.coverage_probability")
        if result.get("coverage_probability") is not None and not count
        else None
    )
    return ResultRow(
        label=label,
        nominal=point.nominal if same_unit else None,
        reference=None,
        # A count or a time judged as it is (no-load, starting) is what was observed,
        # against its limit: no error of indication.
        indication=value if shown is not None else _indication(point, unit),
        error=None if sign is None else sign * value,
        unit=unit,
        expanded_uncertainty=None if count else expanded,
        coverage_factor=None if count else _number(result.get("k"), f"{where}.k"),
        coverage_probability=coverage_probability,
        mpe=limit if shown is None else None,
        conformity=(
            _conformity(conformity, f"points[{point.index}].server_conformity")
            if conformity
            else None
        ),
        uncertainty_ratio_flag=shown is None and UncertaintyRatio.flagged(result),
        note=note,
        resolution=indication_resolution(point, definition, unit),
        instrument_range=_range_text(point, definition),
        limit=limit if shown is not None else None,
        counted=Bilingual(counted["vi"], counted["en"]) if counted is not None else None,
    )


def _checks(
    certified: Certified,
    rows_by_point: Mapping[int, ResultRow],
    test_of_point: Mapping[int, str],
    test_id: str,
) -> tuple[Check, ...]:
    """The test's checks; each value is made of the indications of its points, so it is
    printed to the coarsest resolution they were read to."""
    out = []
    for i, check in enumerate(certified.checks):
        points = check.get("points") or []
        if not points or test_of_point.get(int(points[0])) != test_id:
            continue
        where = f"run.server_checks[{i}]"
        unit = _unit(str(check.get("unit") or ""))
        resolutions = [
            row.resolution
            for p in points_of(check)
            if (row := rows_by_point.get(p)) is not None
            and row.resolution is not None
            and row.unit == unit
        ]
        out.append(
            Check(
                name=CHECK_NAMES.get(check["check"], Bilingual(check["check"], check["check"])),
                value=_number(check.get("value"), f"{where}.value"),
                limit=_number(check.get("limit"), f"{where}.limit"),
                unit=unit,
                conformity=Conformity.PASS if check.get("passed") is True else Conformity.FAIL,
                resolution=max(resolutions) if resolutions else None,
            )
        )
    return tuple(out)


def points_of(check: Mapping[str, Any]) -> list[int]:
    """The indexes of the points a stored check covers."""
    out = []
    for p in check.get("points") or []:
        try:
            out.append(int(p))
        except (TypeError, ValueError):
            continue
    return out


def _power_unit(y: str, x: str, power: int) -> str:
    if power == 0:
        return y
    if y == x and power == 1:
        return "1"
    denominator = x if power == 1 else f"{x}{power}"
    return f"1/{denominator}" if y == x and power == 2 else f"{y}/{denominator}"


def _curve(test_id: str, data: Mapping[str, Any], points: list[Point]) -> Curve:
    where = f"run.server_curves.{test_id}"
    y_unit = _unit(str((points[0].server_result or {}).get("unit") or points[0].unit))
    x_unit = _unit(str(data.get("x_unit") or ""))
    values = data.get("values") or []
    if not values:
        raise IncompleteRecord(f"{where}.values: the curve has no values", field=f"{where}.values")
    # The expanded uncertainty of a value read off the curve: the largest standard
    # uncertainty of the curve at its points, with the largest coverage factor of them.
    k = max(_number((p.server_result or {}).get("k"), f"points[{p.index}].k") for p in points)
    u = max(_number(v.get("u"), f"{where}.values.u") for v in values)
    fit = FITS.get(str(data.get("fit")), Bilingual(str(data.get("fit")), str(data.get("fit"))))
    x0 = _number(data.get("x0", 0.0), f"{where}.x0")
    variable = f"(x − {x0:g})" if x0 else "x"
    return Curve(
        description=Bilingual(
            f"Đường hiệu chính {data.get('y')} theo {data.get('x')}: {fit.vi}, "
            f"hệ số của {variable}^j",
            f"Correction curve of {data.get('y')} against {data.get('x')}: {fit.en}, "
            f"coefficients of {variable}^j",
        ),
        terms=tuple(
            CurveTerm(
                name=f"c{j}",
                value=_number(c, f"{where}.coefficients[{j}]"),
                standard_uncertainty=_number(
                    data["u_coefficients"][j], f"{where}.u_coefficients[{j}]"
                ),
                unit=_power_unit(y_unit, x_unit, j),
            )
            for j, c in enumerate(data.get("coefficients") or [])
        ),
        expanded_uncertainty=k * u,
        coverage_factor=k,
        unit=y_unit,
    )


def _results(certified: Certified, definition: ProcedureDefinition) -> tuple[ResultTable, ...]:
    points = certified.points
    test_of_point = {p.index: p.test for p in points}
    tables = []
    for test in definition.tests:
        done = [p for p in points if p.test == test.id]
        if not done:
            continue
        settings = [_setting(p, definition) for p in done]
        nominals = [p.nominal for p in done]
        peak = nominals.index(max(nominals))
        rows = tuple(
            _row(
                p,
                _label(p, definition, settings.count(settings[i]) > 1, falling=i > peak),
                definition,
            )
            for i, p in enumerate(done)
        )
        by_index = {p.index: row for p, row in zip(done, rows, strict=True)}
        unit = _unit(done[0].unit)
        curve_data = certified.curves.get(test.id)
        tables.append(
            ResultTable(
                test_id=test.id,
                title=Bilingual(test.title["vi"], test.title["en"]),
                quantity=QUANTITIES.get(unit, Bilingual(test.title["vi"], test.title["en"])),
                rows=rows,
                checks=_checks(certified, by_index, test_of_point, test.id),
                curve=_curve(test.id, curve_data, done) if curve_data else None,
            )
        )
    return tuple(tables)


def _specification(certified: Certified, definition: ProcedureDefinition) -> Bilingual:
    """The documents of the run's limits, in each language: a class table the procedure
    states (``class_limits:``) is cited as the center's transcription, in Vietnamese on
    the Vietnamese side; the other documents are cited as they are named."""
    documents: list[str] = []
    for point in certified.points:
        acceptance = (point.server_result or {}).get("acceptance") or {}
        document = str(acceptance.get("document") or "").strip()
        if document and document not in documents:
            documents.append(document)
    for check in certified.checks:
        rule = str(check.get("rule") or "").strip()
        if rule and rule not in documents:
            documents.append(rule)
    if not documents:
        raise IncompleteRecord(
            "the run states a verdict but no point names the document of its limits",
            field="points.server_result.acceptance.document",
        )
    printable = certificate_texts(documents, country=_COUNTRY)
    if not printable:
        raise IncompleteRecord(
            "the documents of the run's limits are all unconfirmed or foreign law: the "
            "certificate cannot name its specification",
            field="points.server_result.acceptance.document",
        )
    stated = definition.class_limits
    transcriptions = (
        {c.citation: c.citation_in("vi") for c in stated.classes.values()} if stated else {}
    )
    vi = certificate_texts([transcriptions.get(d, d) for d in documents], country=_COUNTRY)
    return Bilingual("; ".join(vi), "; ".join(printable))


def _statement(
    certified: Certified, definition: ProcedureDefinition, kind: Kind
) -> Statement | None:
    if not certified.conformity:
        if kind is Kind.VERIFICATION:
            raise IncompleteRecord(
                "a verification states a verdict, and the run has none",
                field="run.server_conformity",
            )
        return None
    rule = definition.decision_rule
    return Statement(
        conformity=_conformity(certified.conformity, "run.server_conformity"),
        specification=_specification(certified, definition),
        decision_rule=DECISION_RULES.get(rule, Bilingual(rule, rule)),
        covers=Bilingual("Mọi kết quả ở trên", "All results above"),
    )


def _standards(run: Run) -> tuple[Standard, ...]:
    out = []
    usages = run.standard_usages.select_related("standard", "certificate").order_by("pk")
    for i, usage in enumerate(usages):
        standard, certificate = usage.standard, usage.certificate
        for name in ("manufacturer", "model", "serial"):
            if not str(getattr(standard, name)).strip():
                raise IncompleteRecord(
                    f"standards[{i}].{name}: the reference standard {standard.asset_id} has "
                    f"no {name} on record",
                    field=f"standards[{i}].{name}",
                )
        low, high = usage.range_low, usage.range_high
        span = (
            f", {number_text(low)} … {number_text(high)} {unit_symbol(_unit(usage.unit))}"
            if low is not None and high is not None
            else ""
        )
        out.append(
            Standard(
                asset_id=standard.asset_id,
                name=Bilingual(standard.name, standard.name),
                manufacturer=standard.manufacturer,
                model=standard.model,
                serial=standard.serial,
                role=usage.role,
                function_range=f"{_function_words(usage.function)}{span}",
                certificate_number=certificate.number,
                certificate_issuer=certificate.issuing_lab,
                certificate_issuer_accreditation=certificate.accreditation,
                certificate_date=certificate.calibrated_on,
                certificate_valid_until=certificate.due_on,
                certificate_sha256=certificate.sha256 or None,
                uncertainty=_standard_uncertainty(certificate.values or [], usage),
            )
        )
    return tuple(out)


# The functions and quantities of a reference standard as a reader names them (the
# traceability table): caltrace's keys are for procedures, not for certificates.
FUNCTIONS: dict[str, Bilingual] = {
    "dcv": Bilingual("Điện áp một chiều", "DC voltage"),
    "acv": Bilingual("Điện áp xoay chiều", "AC voltage"),
    "res4w": Bilingual("Điện trở 4 dây", "4-wire resistance"),
    "res2w": Bilingual("Điện trở 2 dây", "2-wire resistance"),
    "pressure": Bilingual("Áp suất", "Pressure"),
    "mass": Bilingual("Khối lượng", "Mass"),
    "volume": Bilingual("Thể tích", "Volume"),
    "temperature": Bilingual("Nhiệt độ", "Temperature"),
    "humidity": Bilingual("Độ ẩm", "Humidity"),
    "r0": Bilingual("Điện trở ở 0 °C, R0", "Resistance at 0 °C, R0"),
    "cvd_a": Bilingual("Hệ số Callendar–Van Dusen A", "Callendar–Van Dusen coefficient A"),
    "cvd_b": Bilingual("Hệ số Callendar–Van Dusen B", "Callendar–Van Dusen coefficient B"),
    "cvd_c": Bilingual("Hệ số Callendar–Van Dusen C", "Callendar–Van Dusen coefficient C"),
}


def _function_words(function: str) -> str:
    words = FUNCTIONS.get(function)
    return str(words) if words is not None else function.replace("_", " ")


def _standard_uncertainty(values: Iterable[Any], usage: Any) -> str:
    """The expanded uncertainty the standard's certificate states for the function used,
    over the range used: "U = 20 Pa … 29 Pa (k = 2)" (ISO/IEC 17025 7.8.4.1 c, the
    traceability a reader can weigh). Empty when the certificate lists no value for it."""
    low, high = usage.range_low, usage.range_high
    found: list[tuple[float, str, float]] = []
    for value in values:
        if not isinstance(value, Mapping) or value.get("quantity") != usage.function:
            continue
        try:
            expanded, nominal = float(value["U"]), float(value.get("nominal", "nan"))
            k = float(value.get("k", 2))
        except (KeyError, TypeError, ValueError):
            continue
        if not (math.isfinite(expanded) and expanded > 0):
            continue
        ranged = low is not None and high is not None and math.isfinite(nominal)
        if ranged and not min(low, high) <= nominal <= max(low, high):
            continue
        found.append((expanded, _unit(str(value.get("unit") or usage.unit)), k))
    if not found:
        return ""
    units = {unit for _, unit, _ in found}
    factors = {k for _, _, k in found}
    if len(units) != 1 or len(factors) != 1:
        return "; ".join(
            f"U = {uncertainty_text(u)} {unit_symbol(unit)} (k = {number_text(k)})"
            for u, unit, k in found
        )
    unit = unit_symbol(units.pop())
    smallest = min(u for u, _, _ in found)
    largest = max(u for u, _, _ in found)
    span = (
        uncertainty_text(smallest)
        if uncertainty_text(smallest) == uncertainty_text(largest)
        else f"{uncertainty_text(smallest)} {unit} … {uncertainty_text(largest)}"
    )
    return f"U = {span} {unit} (k = {number_text(factors.pop())})"


def _people(run: Run) -> tuple[Person, ...]:
    signatures: Iterable[RunSignature] = run.signatures.order_by("signed_at", "pk")
    return tuple(
        Person(
            name=s.name,
            role=s.meaning,
            meaning=MEANINGS[s.meaning],
            # In the issuing organization's zone with its offset, like every date the
            # certificate prints: a signature before 07:00 local is not on another day.
            signed_at=timezone.localtime(s.signed_at, run.organization.zone),
        )
        for s in signatures
        if s.meaning in MEANINGS
    )


def _location(run: Run) -> Location:
    """Where the work was done (7.8.2.1 c): the run's own statement when it makes one,
    else the laboratory of the organization that registered the bench."""
    stated = (run.payload or {}).get("location")
    if stated:
        try:
            return Location(stated)
        except ValueError:
            raise IncompleteRecord(
                f"run.location: {stated!r} is not a place of work", field="run.location"
            ) from None
    return Location.LABORATORY


def _software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("caltrace")
    except PackageNotFoundError:
        return ""


def document_for(
    run: Run,
    *,
    number: str,
    issued_at: datetime,
    verify_url: str,
    amendment: Amendment | None = None,
    mark_number: str | None = None,
    mark_valid_until: date | None = None,
    position: RunPosition | None = None,
) -> CertificateDocument:
    """The certificate document of the approved ``run``, numbered ``number``; of the
    instrument of its ``position`` when given (a multi-position run: that position's job,
    points, checks and statement with the run's standards, environment, procedure and
    signatures, :class:`Certified`).

    ``issued_at`` is the moment of issue (its local date is printed); ``verify_url`` the
    public verification page (the QR code's target). A verification that did not fail needs
    its ``mark_number`` (a failed one is a notice of the failure, with none); its
    validity is ``mark_valid_until`` when given (an amendment keeps
    the original's), else :func:`verification_valid_until`. Raises
    :class:`IncompleteRecord` when the records lack what the certificate must state.
    The caller checks the result with :meth:`CertificateDocument.check`.
    """
    certified = Certified.of(run, position)
    definition = parsed_procedure(run.procedure)
    kind = Kind(run.procedure.kind)
    zone = run.organization.zone
    mark = None
    if carries_mark(run, position):
        if not mark_number:
            raise IncompleteRecord("a verification needs its mark number", field="mark_number")
        mark = VerificationMark(
            mark_number, mark_valid_until or verification_valid_until(run, certified.job)
        )
    return CertificateDocument(
        number=number,
        kind=kind,
        issuer=_issuer(run),
        customer=_customer(certified.job),
        instrument=_instrument(certified.job),
        procedure=_procedure(run, definition),
        location=_location(run),
        performed_from=timezone.localdate(run.started_at, zone),
        performed_to=timezone.localdate(run.finished_at, zone),
        issued_on=timezone.localdate(issued_at, zone),
        conditions=_conditions(run),
        results=_results(certified, definition),
        statement=_statement(certified, definition, kind),
        standards=_standards(run),
        people=_people(run),
        verify_url=verify_url,
        run_id=str(run.pk),
        mark=mark,
        amendment=amendment,
        remarks=_position_remark(certified.position),
        software_version=_software_version(),
    )


def _position_remark(position: RunPosition | None) -> tuple[Bilingual, ...]:
    """Where the instrument was on a multi-position bench: the run's record names its
    readings by position, and a reader of the run must find this instrument's."""
    if position is None:
        return ()
    return (
        Bilingual(
            f"Phương tiện đo được kiểm tại vị trí {position.number} của giàn thử, cùng các "
            "phương tiện đo khác, với cùng chuẩn và điều kiện môi trường.",
            f"The instrument was tested at position {position.number} of the bench, with "
            "other instruments, against the same standards in the same conditions.",
        ),
    )
