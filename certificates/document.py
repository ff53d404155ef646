"""The certificate as plain data: what the PDF prints and the DCC carries.

One :class:`CertificateDocument` holds every field that ISO/IEC 17025:2017
7.8.2.1 (a–p) and 7.8.4.1 ask of a calibration certificate, and what legal
metrology asks of a verification certificate (the verdict against the MPE, the
verification mark and its validity). The PDF (:mod:`certificates.pdf`) and the
DCC (:mod:`certificates.dcc`) are two renderings of the same document, so they
cannot say different things.

Numbers are kept as measured (floats, never rounded here): the renderings round
them for the report (ILAC P14, :mod:`uncertainty.reporting`). Units are written
as caltrace writes them everywhere (``V``, ``mV``, ``Ohm``, ``degC``, ``kPa``,
``g``, ``kg``, ``L``, ``m3/h``, ``%``, ``%RH``, ``hPa``). Text the reader sees is
bilingual (:class:`Bilingual`, Vietnamese first, as the national regime requires;
English for the accredited and international reader).

:meth:`CertificateDocument.check` refuses a document that lacks what its kind
requires, naming the field, so nothing incomplete is ever rendered or signed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from enum import StrEnum

from certificates.errors import DocumentError

__all__ = [
    "Amendment",
    "Bilingual",
    "CertificateDocument",
    "Check",
    "Condition",
    "Conformity",
    "Curve",
    "CurveTerm",
    "Customer",
    "Instrument",
    "Issuer",
    "Kind",
    "Location",
    "Person",
    "ProcedureRef",
    "ResultRow",
    "ResultTable",
    "Standard",
    "Statement",
    "VerificationMark",
]


class Kind(StrEnum):
    """Calibration (hiệu chuẩn) reports errors with uncertainty; verification (kiểm định)
    is legal metrology: pass/fail against the MPE and a verification mark."""

    CALIBRATION = "calibration"
    VERIFICATION = "verification"


class Conformity(StrEnum):
    """A conformity statement, in the DCC's vocabulary (``dcc:conformity``)."""

    PASS = "pass"
    FAIL = "fail"
    CONDITIONAL_PASS = "conditionalPass"
    CONDITIONAL_FAIL = "conditionalFail"
    NO_PASS = "noPass"
    NO_FAIL = "noFail"


class Location(StrEnum):
    """Where the work was done (7.8.2.1 c), in the DCC's vocabulary (``performanceLocation``)."""

    LABORATORY = "laboratory"
    CUSTOMER = "customer"
    LABORATORY_BRANCH = "laboratoryBranch"
    CUSTOMER_BRANCH = "customerBranch"
    OTHER = "other"


@dataclass(frozen=True)
class Bilingual:
    """A text the reader sees, in Vietnamese and in English."""

    vi: str
    en: str

    def __str__(self) -> str:
        return f"{self.vi} / {self.en}" if self.vi != self.en else self.vi


@dataclass(frozen=True)
class Issuer:
    """The laboratory or verification center that issues the certificate (7.8.2.1 b)."""

    name: Bilingual
    address: str
    #: The accreditation or designation, e.g. ``"VILAS 001"``; empty when there is none.
    accreditation: str = ""
    #: Who accredited or designated it, e.g. ``"BoA (Bureau of Accreditation)"``.
    accreditation_body: str = ""
    #: ISO 3166-1 alpha-2 country code.
    country: str = "VN"
    contact: str = ""


@dataclass(frozen=True)
class Customer:
    """The customer (7.8.2.1 e)."""

    name: str
    address: str
    contact: str = ""


@dataclass(frozen=True)
class Instrument:
    """The item calibrated or verified (7.8.2.1 g)."""

    type: Bilingual
    manufacturer: str
    model: str
    serial: str
    #: Range and resolution (or verification scale interval and class) as the maker states them.
    description: str = ""
    #: The owner's or the lab's identifier, when it differs from the serial number.
    identifier: str = ""
    #: Its condition as received, e.g. "no visible damage" (7.8.2.1 g).
    condition: Bilingual | None = None


@dataclass(frozen=True)
class ProcedureRef:
    """The method used (7.8.2.1 f): caltrace's procedure and the documents it follows."""

    id: str
    version: str
    title: Bilingual
    #: SHA-256 of the procedure definition as run.
    sha256: str
    #: Normative documents, e.g. ``("OIML R 76-1:2006", "ĐLVN 15:2009")``: only those
    #: confirmed in a source (:func:`procedures.references.printable_references`).
    references: tuple[str, ...] = ()
    #: How the rounding error of the indication was eliminated (OIML R 76-1 A.4.4.3:
    #: the changepoint method, or a display with d ≤ e/5), as the procedure states it
    #: (:attr:`procedures.definition.ProcedureDefinition.rounding_statement`); None
    #: where the procedure reads no rounded indication against an MPE.
    rounding_method: Bilingual | None = None


@dataclass(frozen=True)
class Condition:
    """An environmental or influence condition during the measurement (7.8.4.1 b)."""

    name: Bilingual
    value: float
    unit: str
    #: Expanded uncertainty of the value, or the half-width of its variation, in ``unit``.
    uncertainty: float | None = None


@dataclass(frozen=True)
class ResultRow:
    """One reported point. ``error`` is indication minus reference value, in ``unit``.

    A calibration row has ``expanded_uncertainty``, ``coverage_factor`` and
    ``coverage_probability`` (ILAC P14); a verification row has ``mpe`` (the
    ± limit, in ``unit``) and its ``conformity``. Either may have both.

    A result judged as it is (an electricity meter's no-load count, its time to the first
    pulse) has no ``error`` and no ``mpe``: its ``indication`` is what was observed and
    ``limit`` the largest value the rule allows (printed "≤ limit"). A count also has
    ``counted``, what it counts in words (its unit, in place of ``unit`` "1"): it is a
    whole number and is stated without uncertainty.
    """

    label: str
    nominal: float | None
    reference: float | None
    indication: float | None
    error: float | None
    unit: str
    expanded_uncertainty: float | None = None
    coverage_factor: float | None = None
    coverage_probability: float | None = None
    mpe: float | None = None
    conformity: Conformity | None = None
    #: True when U > MPE / 3, the legal requirement not met (flagged on the certificate).
    uncertainty_ratio_flag: bool = False
    note: str = ""
    #: The resolution the indication was read to (the scale interval d or d_T, e, the
    #: dial's division), in ``unit``: the indication is printed to it. None when unknown.
    resolution: float | None = None
    #: The instrument's range the point was measured on, as printed (``"10 V"``); empty
    #: when the instrument has no ranges.
    instrument_range: str = ""
    #: The largest value a result judged as it is may take, in ``unit`` (``≤ limit``);
    #: None for an error against ± ``mpe``.
    limit: float | None = None
    #: What a count counts, a plural noun in both languages (Bilingual("xung", "pulses")):
    #: the row's unit in words. None when the result is not a count.
    counted: Bilingual | None = None


@dataclass(frozen=True)
class Check:
    """A test-level check: repeatability, eccentricity, hysteresis (value against its limit)."""

    name: Bilingual
    value: float
    limit: float
    unit: str
    conformity: Conformity
    #: The resolution of the indications the value is made of, in ``unit``: the value
    #: is printed to it. None when unknown.
    resolution: float | None = None


@dataclass(frozen=True)
class CurveTerm:
    """One coefficient of a fitted correction curve, with its standard uncertainty."""

    name: str
    value: float
    standard_uncertainty: float
    unit: str


@dataclass(frozen=True)
class Curve:
    """A correction curve fitted to the points: correction = sum of terms × x^power."""

    description: Bilingual
    terms: tuple[CurveTerm, ...]
    #: Expanded uncertainty of a correction read off the curve, in the quantity's unit.
    expanded_uncertainty: float
    coverage_factor: float
    unit: str


@dataclass(frozen=True)
class ResultTable:
    """The results of one test of the procedure (7.8.2.1 m)."""

    test_id: str
    title: Bilingual
    #: The quantity the rows report, e.g. Bilingual("Điện áp một chiều", "DC voltage").
    quantity: Bilingual
    rows: tuple[ResultRow, ...]
    checks: tuple[Check, ...] = ()
    curve: Curve | None = None


@dataclass(frozen=True)
class Statement:
    """The conformity statement and the decision rule it used (7.8.6.2)."""

    conformity: Conformity
    #: The specification or clauses against which conformity is stated, e.g.
    #: Bilingual("OIML R 76-1:2006, 3.5.1, MPE khi kiểm định ban đầu", "... initial verification").
    specification: Bilingual
    #: The decision rule, e.g. "simple acceptance (ILAC G8:09/2019 4.2.1), w = 0".
    decision_rule: Bilingual
    #: Which results the statement covers (7.8.6.2 a).
    covers: Bilingual


@dataclass(frozen=True)
class Standard:
    """A reference standard used, and its certificate in force when it was used (7.8.4.1 c)."""

    asset_id: str
    name: Bilingual
    manufacturer: str
    model: str
    serial: str
    #: Its role in the run: reference, source, environment.
    role: str
    #: The function and range used, e.g. "DC voltage, 10 V range".
    function_range: str
    certificate_number: str
    certificate_issuer: str
    #: The issuer's accreditation (e.g. "VILAS 001") or NMI status (e.g. "NMI, CIPM MRA").
    certificate_issuer_accreditation: str
    certificate_date: date
    certificate_valid_until: date
    #: SHA-256 of the standard's own certificate file (ties the DCC's chain by hash);
    #: None when only a paper certificate is on file.
    certificate_sha256: str | None = None
    #: The standard's expanded uncertainty, as its certificate states it (free text).
    uncertainty: str = ""


@dataclass(frozen=True)
class Person:
    """A person responsible for the certificate (7.8.2.1 o): who, in which role, meaning what."""

    name: str
    #: performed | checked | authorized
    role: str
    #: What the signature means, e.g. Bilingual("Tôi xác nhận ...", "I confirm ...").
    meaning: Bilingual
    signed_at: datetime
    title: str = ""


@dataclass(frozen=True)
class VerificationMark:
    """The legal verification mark (tem kiểm định) and the validity of the verification."""

    number: str
    valid_until: date


@dataclass(frozen=True)
class Amendment:
    """This certificate replaces another (ISO/IEC 17025 7.8.8)."""

    #: The number of the certificate replaced.
    replaces: str
    #: amended | substituted (DCC ``typeOfChange``)
    type_of_change: str
    reason: Bilingual
    #: SHA-256 of the replaced certificate's PDF, so the link is tied by hash.
    replaces_sha256: str = ""


@dataclass(frozen=True)
class CertificateDocument:
    """Everything a certificate says. Build it, :meth:`check` it, then render it."""

    number: str
    kind: Kind
    issuer: Issuer
    customer: Customer
    instrument: Instrument
    procedure: ProcedureRef
    location: Location
    performed_from: date
    performed_to: date
    issued_on: date
    conditions: tuple[Condition, ...]
    results: tuple[ResultTable, ...]
    statement: Statement | None
    standards: tuple[Standard, ...]
    people: tuple[Person, ...]
    #: The public verification page of this certificate (the QR code's target).
    verify_url: str
    #: The run the results come from (caltrace's id), for the record.
    run_id: str
    received_on: date | None = None
    #: Additions, deviations or exclusions from the method (7.8.2.1 n).
    deviations: tuple[Bilingual, ...] = ()
    remarks: tuple[Bilingual, ...] = ()
    mark: VerificationMark | None = None
    amendment: Amendment | None = None
    #: A recommended recalibration date: printed only when agreed with the customer (7.8.4.3).
    next_due: date | None = None
    software: str = "caltrace"
    software_version: str = ""

    @property
    def failed_verification(self) -> bool:
        """A verification whose verdict is fail: the instrument does not meet its MPEs. What
        is issued for it is a notice of the failure, never a verification certificate, and it
        carries no verification mark (a failed instrument gets no certificate and no mark:
        the national procedures' "fail → no certificate")."""
        return (
            self.kind is Kind.VERIFICATION
            and self.statement is not None
            and self.statement.conformity in (Conformity.FAIL, Conformity.CONDITIONAL_FAIL)
        )

    @property
    def title(self) -> Bilingual:
        """The document's title (7.8.2.1 a)."""
        if self.failed_verification:
            return Bilingual(
                "THÔNG BÁO KẾT QUẢ KIỂM ĐỊNH KHÔNG ĐẠT", "NOTICE OF FAILED VERIFICATION"
            )
        if self.kind is Kind.VERIFICATION:
            return Bilingual("GIẤY CHỨNG NHẬN KIỂM ĐỊNH", "VERIFICATION CERTIFICATE")
        return Bilingual("GIẤY CHỨNG NHẬN HIỆU CHUẨN", "CALIBRATION CERTIFICATE")

    def people_in(self, role: str) -> tuple[Person, ...]:
        """The people who signed in ``role`` (performed, checked, authorized)."""
        return tuple(p for p in self.people if p.role == role)

    def check(self) -> None:
        """Refuse a document that lacks what its kind requires, naming the field.

        Raises:
            DocumentError: the first field at fault, e.g.
                ``results[0].rows[2].expanded_uncertainty``.
        """
        _check_text(self, "")
        _check_numbers(self, "")
        if self.performed_to < self.performed_from:
            raise DocumentError("ends before it begins", field="performed_to")
        if self.issued_on < self.performed_to:
            raise DocumentError("issued before the work ends", field="issued_on")
        if not self.results or not any(table.rows for table in self.results):
            raise DocumentError("a certificate reports at least one result", field="results")
        if not self.standards:
            raise DocumentError("traceability needs the standards used", field="standards")
        for role in ("performed", "authorized"):
            if not self.people_in(role):
                raise DocumentError(f"nobody signed as {role}", field="people")
        for t, table in enumerate(self.results):
            for r, row in enumerate(table.rows):
                where = f"results[{t}].rows[{r}]"
                if self.kind is Kind.CALIBRATION:
                    for name in ("expanded_uncertainty", "coverage_factor", "coverage_probability"):
                        if getattr(row, name) is None:
                            raise DocumentError(
                                "a calibration result states its uncertainty (ILAC P14)",
                                field=f"{where}.{name}",
                            )
                elif (row.mpe is None and row.limit is None) or row.conformity is None:
                    name = "mpe" if row.mpe is None and row.limit is None else "conformity"
                    raise DocumentError(
                        "a verification result states its MPE (or limit) and verdict",
                        field=f"{where}.{name}",
                    )
                _check_observed(row, where)
                if row.expanded_uncertainty is not None and row.expanded_uncertainty <= 0:
                    raise DocumentError("must be positive", field=f"{where}.expanded_uncertainty")
        if self.kind is Kind.VERIFICATION:
            if self.statement is None:
                raise DocumentError("a verification states a verdict", field="statement")
            if self.failed_verification:
                if self.mark is not None:
                    raise DocumentError(
                        "a failed verification carries no verification mark", field="mark"
                    )
            elif self.mark is None:
                raise DocumentError("a verification certificate carries its mark", field="mark")
            elif self.mark.valid_until <= self.performed_to:
                raise DocumentError("must follow the verification", field="mark.valid_until")
        if self.amendment is not None:
            if self.amendment.type_of_change not in ("amended", "substituted"):
                raise DocumentError("amended or substituted", field="amendment.type_of_change")
            if self.amendment.replaces == self.number:
                raise DocumentError("cannot replace itself", field="amendment.replaces")


def _check_observed(row: ResultRow, where: str) -> None:
    """A result judged as it is against its limit: observed, never an error; a count a
    whole number without uncertainty (never rounded to one: refused)."""
    if row.limit is not None and (row.error is not None or row.mpe is not None):
        name = "error" if row.error is not None else "mpe"
        raise DocumentError(
            "a result judged against its limit is what was observed, not an error against ± MPE",
            field=f"{where}.{name}",
        )
    if row.counted is None:
        return
    if row.indication is None or row.error is not None:
        raise DocumentError("a count states the number observed", field=f"{where}.indication")
    if not float(row.indication).is_integer():
        raise DocumentError(
            f"a count is a whole number, not {row.indication!r}", field=f"{where}.indication"
        )
    if row.expanded_uncertainty is not None:
        raise DocumentError(
            "a count is stated without uncertainty", field=f"{where}.expanded_uncertainty"
        )


_OPTIONAL_TEXT = {
    "address",
    "accreditation",
    "accreditation_body",
    "contact",
    "description",
    "identifier",
    "note",
    "uncertainty",
    "title",
    "replaces_sha256",
    "software_version",
    "certificate_issuer_accreditation",
    "instrument_range",
}


def _children(value: object, path: str) -> Iterable[tuple[str, object, str]]:
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield f.name, getattr(value, f.name), f"{path}.{f.name}" if path else f.name
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield "", item, f"{path}[{i}]"


def _check_text(value: object, path: str) -> None:
    for name, child, where in _children(value, path):
        if isinstance(child, str) and not isinstance(child, StrEnum):
            if not child.strip() and name not in _OPTIONAL_TEXT:
                raise DocumentError("must not be empty", field=where)
        else:
            _check_text(child, where)


def _check_numbers(value: object, path: str) -> None:
    for _name, child, where in _children(value, path):
        if isinstance(child, float) and not math.isfinite(child):
            raise DocumentError(f"not a finite number: {child}", field=where)
        if not isinstance(child, (str, int, float, date, datetime)):
            _check_numbers(child, where)
