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
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
from labserver.measurements.models import Point, Run, RunSignature
from labserver.measurements.services import parsed_procedure
from procedures.definition import ProcedureDefinition
from procedures.references import printable_references
from uncertainty.reporting import round_result

__all__ = ["IncompleteRecord", "add_months", "document_for", "verification_valid_until"]


class IncompleteRecord(DomainError):
    """The records lack something the certificate must state (422), named by ``field``."""

    status = 422
    code = "incomplete_record"


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


def verification_valid_until(run: Run) -> date:
    """The last day of a verification's validity: the day of the verification (the run's
    end, local date) plus the instrument type's verification interval, in months.

    Refused when the instrument type states no interval: the validity is never guessed.
    """
    instrument_type = run.job.instrument.instrument_type
    months = instrument_type.verification_interval_months
    if not months:
        raise IncompleteRecord(
            f"instrument type {instrument_type.code!r} has no verification interval: set "
            "instrument_type.verification_interval_months before issuing a verification",
            field="instrument_type.verification_interval_months",
        )
    return add_months(timezone.localdate(run.finished_at), months)


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


def _customer(run: Run) -> Customer:
    owner = run.job.instrument.owner
    if not owner.address.strip():
        # ISO/IEC 17025 7.8.2.1 e: the name and contact information of the customer.
        raise IncompleteRecord(
            f"customer.address: the instrument's owner {owner.code} has no address on record",
            field="customer.address",
        )
    return Customer(name=owner.name, address=owner.address)


def _instrument(run: Run) -> Instrument:
    item = run.job.instrument
    kind = item.instrument_type
    for name in ("manufacturer", "model", "serial"):
        if not str(getattr(item, name)).strip():
            raise IncompleteRecord(
                f"instrument.{name}: the instrument {item.pk} has no {name} on record",
                field=f"instrument.{name}",
            )
    spec = item.specification or {}
    description = "; ".join(f"{key} = {spec[key]}" for key in sorted(spec))
    return Instrument(
        type=Bilingual(kind.name_vi or kind.name, kind.name),
        manufacturer=item.manufacturer,
        model=item.model,
        serial=item.serial,
        description=description,
    )


def _procedure(run: Run, definition: ProcedureDefinition) -> ProcedureRef:
    procedure = run.procedure
    return ProcedureRef(
        id=procedure.procedure_id,
        version=procedure.version,
        title=Bilingual(definition.title["vi"], definition.title["en"]),
        sha256=procedure.content_hash,
        references=printable_references(definition.references),
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


def _label(point: Point, definition: ProcedureDefinition, repeated: bool, falling: bool) -> str:
    spec = definition.point(point.index)
    text = f"{point.nominal:g} {_unit(point.unit)}"
    if "position" in spec.params:
        text = f"{text}, vị trí / position {spec.params['position']}"
    if repeated:
        text = f"{text} {'↓' if falling else '↑'}"
    return text


def _indication(point: Point, unit: str) -> float | None:
    """The mean of the point's primary readings, when they are in the row's unit."""
    values = [
        r.value
        for r in point.readings.all()
        if r.quantity == point.readings_quantity and _unit(r.unit) == unit
    ]
    return math.fsum(values) / len(values) if values else None


def _row(point: Point, label: str) -> ResultRow:
    where = f"points[{point.index}].server_result"
    result = point.server_result or {}
    unit = _unit(str(result.get("unit") or point.unit))
    value = _number(result.get("value"), f"{where}.value")
    acceptance = result.get("acceptance") or point.acceptance or {}
    mpe = acceptance.get("mpe")
    conformity = point.server_conformity
    expanded = _number(result.get("U"), f"{where}.U")
    sign = OUTPUTS.get(point.output)
    if sign is None:
        raise IncompleteRecord(
            f"points[{point.index}].output: {point.output!r} is neither an error (E) nor a "
            "correction (C): the certificate cannot say what it is",
            field=f"points[{point.index}].output",
        )
    error = sign * value
    note = ""
    if sign < 0:
        # A correction is the error with its sign changed (JCGM 200 2.53); the value the
        # procedure reports is kept beside it, rounded as ILAC P14 asks.
        rounded = round_result(value, expanded)
        note = f"{point.output} = {rounded.value} {unit}"
    same_unit = _unit(point.unit) == unit
    return ResultRow(
        label=label,
        nominal=point.nominal if same_unit else None,
        reference=None,
        indication=_indication(point, unit),
        error=error,
        unit=unit,
        expanded_uncertainty=expanded,
        coverage_factor=_number(result.get("k"), f"{where}.k"),
        coverage_probability=(
            _number(result["coverage_probability"], f"{where}.coverage_probability")
            if result.get("coverage_probability") is not None
            else None
        ),
        mpe=_number(mpe, f"{where}.acceptance.mpe") if mpe is not None else None,
        conformity=(
            _conformity(conformity, f"points[{point.index}].server_conformity")
            if conformity
            else None
        ),
        uncertainty_ratio_flag=result.get("uncertainty_ratio_met") is False,
        note=note,
    )


def _checks(run: Run, test_of_point: Mapping[int, str], test_id: str) -> tuple[Check, ...]:
    out = []
    for i, check in enumerate(run.server_checks or []):
        points = check.get("points") or []
        if not points or test_of_point.get(int(points[0])) != test_id:
            continue
        where = f"run.server_checks[{i}]"
        out.append(
            Check(
                name=CHECK_NAMES.get(check["check"], Bilingual(check["check"], check["check"])),
                value=_number(check.get("value"), f"{where}.value"),
                limit=_number(check.get("limit"), f"{where}.limit"),
                unit=_unit(str(check.get("unit") or "")),
                conformity=Conformity.PASS if check.get("passed") is True else Conformity.FAIL,
            )
        )
    return tuple(out)


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


def _results(run: Run, definition: ProcedureDefinition) -> tuple[ResultTable, ...]:
    points = list(run.points.prefetch_related("readings").order_by("index"))
    test_of_point = {p.index: p.test for p in points}
    tables = []
    for test in definition.tests:
        done = [p for p in points if p.test == test.id]
        if not done:
            continue
        nominals = [p.nominal for p in done]
        peak = nominals.index(max(nominals))
        rows = tuple(
            _row(p, _label(p, definition, nominals.count(p.nominal) > 1, falling=i > peak))
            for i, p in enumerate(done)
        )
        unit = _unit(done[0].unit)
        curve_data = (run.server_curves or {}).get(test.id)
        tables.append(
            ResultTable(
                test_id=test.id,
                title=Bilingual(test.title["vi"], test.title["en"]),
                quantity=QUANTITIES.get(unit, Bilingual(test.title["vi"], test.title["en"])),
                rows=rows,
                checks=_checks(run, test_of_point, test.id),
                curve=_curve(test.id, curve_data, done) if curve_data else None,
            )
        )
    return tuple(tables)


def _specification(run: Run) -> Bilingual:
    documents: list[str] = []
    for point in run.points.order_by("index"):
        acceptance = (point.server_result or {}).get("acceptance") or {}
        document = str(acceptance.get("document") or "").strip()
        if document and document not in documents:
            documents.append(document)
    for check in run.server_checks or []:
        rule = str(check.get("rule") or "").strip()
        if rule and rule not in documents:
            documents.append(rule)
    if not documents:
        raise IncompleteRecord(
            "the run states a verdict but no point names the document of its limits",
            field="points.server_result.acceptance.document",
        )
    text = "; ".join(documents)
    return Bilingual(text, text)


def _statement(run: Run, definition: ProcedureDefinition, kind: Kind) -> Statement | None:
    if not run.server_conformity:
        if kind is Kind.VERIFICATION:
            raise IncompleteRecord(
                "a verification states a verdict, and the run has none",
                field="run.server_conformity",
            )
        return None
    rule = definition.decision_rule
    return Statement(
        conformity=_conformity(run.server_conformity, "run.server_conformity"),
        specification=_specification(run),
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
            f", {low:g} … {high:g} {_unit(usage.unit)}"
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
                function_range=f"{usage.function}{span}",
                certificate_number=certificate.number,
                certificate_issuer=certificate.issuing_lab,
                certificate_issuer_accreditation=certificate.accreditation,
                certificate_date=certificate.calibrated_on,
                certificate_valid_until=certificate.due_on,
                certificate_sha256=certificate.sha256 or None,
            )
        )
    return tuple(out)


def _people(run: Run) -> tuple[Person, ...]:
    signatures: Iterable[RunSignature] = run.signatures.order_by("signed_at", "pk")
    return tuple(
        Person(
            name=s.name,
            role=s.meaning,
            meaning=MEANINGS[s.meaning],
            signed_at=s.signed_at,
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
) -> CertificateDocument:
    """The certificate document of the approved ``run``, numbered ``number``.

    ``issued_at`` is the moment of issue (its local date is printed); ``verify_url`` the
    public verification page (the QR code's target). A verification needs its
    ``mark_number``; its validity is ``mark_valid_until`` when given (an amendment keeps
    the original's), else :func:`verification_valid_until`. Raises
    :class:`IncompleteRecord` when the records lack what the certificate must state.
    The caller checks the result with :meth:`CertificateDocument.check`.
    """
    definition = parsed_procedure(run.procedure)
    kind = Kind(run.procedure.kind)
    mark = None
    if kind is Kind.VERIFICATION:
        if not mark_number:
            raise IncompleteRecord("a verification needs its mark number", field="mark_number")
        mark = VerificationMark(mark_number, mark_valid_until or verification_valid_until(run))
    return CertificateDocument(
        number=number,
        kind=kind,
        issuer=_issuer(run),
        customer=_customer(run),
        instrument=_instrument(run),
        procedure=_procedure(run, definition),
        location=_location(run),
        performed_from=timezone.localdate(run.started_at),
        performed_to=timezone.localdate(run.finished_at),
        issued_on=timezone.localdate(issued_at),
        conditions=_conditions(run),
        results=_results(run, definition),
        statement=_statement(run, definition, kind),
        standards=_standards(run),
        people=_people(run),
        verify_url=verify_url,
        run_id=str(run.pk),
        mark=mark,
        amendment=amendment,
        software_version=_software_version(),
    )
