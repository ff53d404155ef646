"""The certificate as a Digital Calibration Certificate (PTB DCC 3.1.2, D-SI 2.1.0).

:func:`build_dcc` writes a :class:`~certificates.document.CertificateDocument`
as DCC XML; :func:`validate_dcc` checks any DCC (ours, or a file a laboratory
uploads) against the schema shipped in ``certificates/schema/``, offline.

What a reader of the XML should know:

* **Numbers are rounded as the certificate prints them** (ILAC P14, with
  :mod:`uncertainty.reporting`): the expanded uncertainty ``U`` to two
  significant digits; the error, the indication and the reference value of the
  same row to the decimal place of ``U``; the coverage factor ``k`` to two
  decimals. Nominal values, MPEs, check values and limits, influence
  conditions and curve coefficients are written as the document holds them
  (their shortest decimal form, never an exponent). ``p`` is a fraction
  (``0.95``), as D-SI requires. Nothing is written that is not a finite
  number: a NaN, an infinity, ``k < 1`` or ``p`` outside (0, 1) is refused
  with a :class:`~certificates.errors.DccError` naming the field.
* **Units** are translated to D-SI by :mod:`certificates.units`; an unknown
  unit is refused naming its field. Relative humidity (``%RH``) is written
  ``\\percent`` with ``si:label`` "relative humidity", as D-SI has no unit for it.
* **Texts** the reader sees are written twice, ``lang="vi"`` then
  ``lang="en"``; Vietnamese is the mandatory language (the national regime),
  English is used too. Names, addresses and free text entered once (a model,
  an address, a note) are written once, without a language.
* **Result tables**: one ``dcc:measurementResult`` per table. Its first
  ``dcc:result`` holds one ``dcc:list`` per row (named by the row's label),
  each value a ``dcc:quantity`` with an ``si:real``; ``U``, ``k`` and ``p`` sit
  on the error (on the indication when the row has no error: a result judged as it
  is, written to the coarser of its resolution and ``U``'s last digit, a count with no
  ``U`` and its words as ``si:label``, its limit a ``caltrace_upperLimit``); the row's verdict
  is the list's ``dcc:measurementMetaData`` (``dcc:conformity``). Per-row lists
  rather than per-column ``si:realListXMLList`` because a row may lack a value
  (a column list cannot have a gap) and each row has its own unit. Checks and
  the correction curve are further ``dcc:result`` elements.
* **refType**: values use the DCC good-practice style names
  ``basic_nominalValue``, ``basic_referenceValue``, ``basic_measuredValue``,
  ``basic_measurementError``, ``basic_maximumPermissibleError`` and
  ``basic_conformity``. This vocabulary was NOT verified against the
  good-practice list (no copy was at hand); names caltrace made up start with
  ``caltrace_``.
* **What DCC 3.1.2 has no element for** goes into ``dcc:statements``: the
  kind of certificate (``caltrace_calibrationCertificate`` or
  ``caltrace_verificationCertificate``), the date of issue
  (``caltrace_issueDate``; DCC 3.3.0 adds ``issueDate``), the verification
  mark and its validity, the agreed recalibration date, deviations, remarks,
  and the reason of an amendment (``caltrace_amended`` /
  ``caltrace_substituted``; the replaced certificate itself is
  ``coreData/previousReport``, tied by its SHA-256).
* ``dcc:eMail`` is required by the 3.1.2 schema for the laboratory and the
  customer. When the document's contact is not an e-mail address it goes to
  ``dcc:phone``, and when there is none the element is left empty: an empty
  e-mail is a true statement, an invented one is not.
* The output is deterministic: no clock is read; the same document gives the
  same bytes (UTF-8, pretty-printed, with an XML declaration). Every output is
  validated before it is returned.

Validation never touches the network: the parsers are built with
``no_network=True`` and ``resolve_entities=False``; the D-SI schema that
``dcc.xsd`` imports by URL is mapped to the shipped copy by an
:class:`lxml.etree.Resolver` that reads ``certificates/schema/catalog.xml``
(no ``XML_CATALOG_FILES`` in the environment); the compiled schema is cached
per process. A DOCTYPE (and so any entity) is refused outright.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from certificates.document import (
    Bilingual,
    CertificateDocument,
    Check,
    Condition,
    Conformity,
    Curve,
    Customer,
    Issuer,
    Kind,
    Person,
    ResultRow,
    ResultTable,
    Standard,
)
from certificates.errors import DccError
from certificates.units import dsi_unit, unit_note
from uncertainty.display import observed_value, to_resolution
from uncertainty.errors import ModelError
from uncertainty.reporting import round_result, round_to_uncertainty, round_uncertainty

__all__ = ["DCC_NAMESPACE", "DCC_SCHEMA_VERSION", "SI_NAMESPACE", "build_dcc", "validate_dcc"]

DCC_NAMESPACE = "https://ptb.de/dcc"
SI_NAMESPACE = "https://ptb.de/si"
DCC_SCHEMA_VERSION = "3.1.2"

_SCHEMA_DIR = Path(__file__).with_name("schema")
_NSMAP = {"dcc": DCC_NAMESPACE, "si": SI_NAMESPACE}
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CATALOG_NAMESPACE = "urn:oasis:names:tc:entity:xmlns:xml:catalog"
# One validation at a time: the compiled schema is shared by the process and
# its error log belongs to the last validation run (the LIMS may use threads).
_VALIDATION = threading.Lock()


# --------------------------------------------------------------------------- validation


def _safe_parser() -> Any:
    """A parser that never reads the network, never expands an entity, never loads a DTD."""
    return etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, dtd_validation=False
    )


def _catalog() -> dict[str, Path]:
    """The URL -> local file mapping of ``certificates/schema/catalog.xml``."""
    catalog = etree.parse(str(_SCHEMA_DIR / "catalog.xml"), _safe_parser())
    mapping: dict[str, Path] = {}
    for entry in catalog.getroot():
        if not isinstance(entry.tag, str):
            continue  # a comment
        name = entry.get("name") or entry.get("systemId")
        target = entry.get("uri")
        kinds = (f"{{{_CATALOG_NAMESPACE}}}uri", f"{{{_CATALOG_NAMESPACE}}}system")
        if entry.tag in kinds and name and target:
            mapping[name] = _SCHEMA_DIR / target
    return mapping


class _ShippedSchemas(etree.Resolver):  # type: ignore[misc]
    """Resolves a schema URL listed in the shipped catalog to the shipped file.

    Anything else is left to libxml2, whose parser here has ``no_network``: a
    URL not in the catalog fails to load rather than being fetched.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mapping = _catalog()
        #: The URLs this resolver answered, in order (lets a test see it was used).
        self.resolved: list[str] = []

    def resolve(self, system_url: str, public_id: str | None, context: Any) -> Any:
        local = self.mapping.get(system_url)
        if local is None:
            return None
        self.resolved.append(system_url)
        return self.resolve_filename(str(local), context)


@functools.cache
def _schema() -> Any:
    """The compiled DCC 3.1.2 schema (compiled once per process)."""
    resolver = _ShippedSchemas()
    parser = _safe_parser()
    parser.resolvers.add(resolver)
    schema_document = etree.parse(str(_SCHEMA_DIR / "dcc.xsd"), parser)
    return etree.XMLSchema(schema_document)


def _line_of(xml: bytes, needle: bytes) -> int:
    return xml[: xml.index(needle)].count(b"\n") + 1


def validate_dcc(xml: bytes) -> None:
    """Check that ``xml`` is a DCC valid against the DCC 3.1.2 schema, offline.

    Refuses a document that is not well-formed, that has a DOCTYPE (and so
    possibly entities: an uploaded file is never trusted; the bytes
    ``<!DOCTYPE`` are refused wherever they appear, before any parsing), or
    that the schema refuses. The first error is reported. Units and values are
    not interpreted here: this is the schema's check only.

    Raises:
        DccError: ``field`` is the path of the element at fault (``xml`` when
            the bytes are not XML at all); the message begins with its line,
            e.g. ``"line 212: Element '{https://ptb.de/si}coverageFactor': ..."``.
    """
    if not isinstance(xml, bytes):
        raise DccError(f"expected the XML as bytes, not {type(xml).__name__}", field="xml")
    if b"<!DOCTYPE" in xml:
        line = _line_of(xml, b"<!DOCTYPE")
        raise DccError(f"line {line}: a DCC has no DOCTYPE or entities", field="xml")
    try:
        tree = etree.fromstring(xml, _safe_parser()).getroottree()
    except etree.XMLSyntaxError as error:
        raise DccError(
            f"line {error.lineno}: not well-formed XML: {error.msg}", field="xml"
        ) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        # Reached only when the DOCTYPE is in an encoding other than UTF-8.
        raise DccError("line 1: a DCC has no DOCTYPE or entities", field="xml")
    with _VALIDATION:
        schema = _schema()
        if schema.validate(tree):
            return
        first = schema.error_log[0]
    raise DccError(f"line {first.line}: {first.message}", field=first.path or "xml")


# --------------------------------------------------------------------------- numbers


def _decimal(value: float | Decimal, field: str) -> Decimal:
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise DccError(f"not a number: {value!r}", field=field)
    elif not math.isfinite(value):
        raise DccError(f"not a finite number: {value!r}", field=field)
    else:
        # The shortest repr is the decimal number the float was written as.
        number = Decimal(repr(value))
    if not number.is_finite():
        raise DccError(f"not a finite number: {value!r}", field=field)
    return number


def _to_resolution(value: float | Decimal, resolution: float, field: str) -> Decimal:
    try:
        return to_resolution(value, resolution, where=field)
    except ModelError as error:
        raise DccError(str(error), field=field) from None


def _number(value: float | Decimal, field: str) -> str:
    """A number in fixed-point notation (never an exponent, never ``-0``)."""
    number = _decimal(value, field)
    if number.is_zero():
        number = number.copy_abs()
    return format(number, "f")


def _coverage_factor(k: float, field: str) -> str:
    number = _decimal(k, field)
    if number < 1:
        raise DccError(f"a coverage factor is at least 1, not {k!r}", field=field)
    # Two decimals, as the certificate prints it (uncertainty.reporting.format_result).
    return format(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")


def _coverage_probability(p: float, field: str) -> str:
    number = _decimal(p, field)
    if not 0 < number < 1:
        raise DccError(f"a coverage probability is a fraction in (0, 1), not {p!r}", field=field)
    return format(number, "f")


def _sha256(value: str, field: str) -> str:
    if not _SHA256.fullmatch(value):
        raise DccError(f"not a SHA-256 in hex (64 digits): {value!r}", field=field)
    return value.lower()


def _required(text: str, field: str, why: str) -> str:
    if not text.strip():
        raise DccError(why, field=field)
    return text


# --------------------------------------------------------------------------- XML helpers


def _dcc(parent: Any, name: str, text: str | None = None, ref_type: str | None = None) -> Any:
    element = etree.SubElement(parent, f"{{{DCC_NAMESPACE}}}{name}")
    if ref_type:
        element.set("refType", ref_type)
    if text is not None:
        element.text = text
    return element


def _si(parent: Any, name: str, text: str | None = None) -> Any:
    element = etree.SubElement(parent, f"{{{SI_NAMESPACE}}}{name}")
    if text is not None:
        element.text = text
    return element


def _bilingual(parent: Any, name: str, text: Bilingual, ref_type: str | None = None) -> Any:
    """A ``dcc:textType`` element: the Vietnamese then the English text."""
    element = _dcc(parent, name, ref_type=ref_type)
    _dcc(element, "content", text.vi).set("lang", "vi")
    _dcc(element, "content", text.en).set("lang", "en")
    return element


def _plain(parent: Any, name: str, text: str) -> Any:
    """A ``dcc:textType`` element with one text entered once (a name), no language."""
    element = _dcc(parent, name)
    _dcc(element, "content", text)
    return element


def _contents(element: Any, texts: Iterable[str | Bilingual]) -> None:
    for text in texts:
        if isinstance(text, Bilingual):
            _dcc(element, "content", text.vi).set("lang", "vi")
            _dcc(element, "content", text.en).set("lang", "en")
        elif text.strip():
            _dcc(element, "content", text)


def _rich(parent: Any, name: str, texts: Iterable[str | Bilingual]) -> Any:
    """A ``dcc:richContentType`` element, one ``dcc:content`` per text."""
    element = _dcc(parent, name)
    _contents(element, texts)
    return element


#: The name of the identification that carries a verification mark's number.
MARK_NUMBER_NAME = Bilingual("Số tem kiểm định", "Verification mark number")


def mark_number_of(dcc: bytes) -> str | None:
    """The verification mark number a DCC built here carries, or None (no mark, or not a
    DCC: bytes that do not parse). Read safely: no network, no entity, no DTD."""
    try:
        root = etree.fromstring(dcc, _safe_parser())
    except etree.XMLSyntaxError:
        return None
    for identification in root.iter(f"{{{DCC_NAMESPACE}}}identification"):
        names = {
            str(c.text or "").strip()
            for c in identification.iterfind(f"{{{DCC_NAMESPACE}}}name/{{{DCC_NAMESPACE}}}content")
        }
        if MARK_NUMBER_NAME.en in names:
            value = str(identification.findtext(f"{{{DCC_NAMESPACE}}}value") or "").strip()
            return value or None
    return None


def _identification(parent: Any, issuer: str, value: str, name: Bilingual) -> None:
    identification = _dcc(parent, "identification")
    _dcc(identification, "issuer", issuer)
    _dcc(identification, "value", value)
    _bilingual(identification, "name", name)


def _real(
    parent: Any,
    value: float | Decimal,
    unit: str,
    field: str,
    *,
    uncertainty: tuple[Decimal, str, str] | None = None,
    label: str | None = None,
) -> Any:
    """An ``si:real``: value, D-SI unit, optionally ``U`` / ``k`` / ``p`` (already as text);
    ``label`` the words the unit needs (a count's: "xung / pulses"), else its own note."""
    real = _si(parent, "real")
    note = label or unit_note(unit)
    if note:
        _si(real, "label", note)
    _si(real, "value", _number(value, field))
    _si(real, "unit", dsi_unit(unit, field=f"{field.rpartition('.')[0]}.unit"))
    if uncertainty is not None:
        u, k, p = uncertainty
        expanded = _si(real, "expandedUnc")
        _si(expanded, "uncertainty", _number(u, field))
        _si(expanded, "coverageFactor", k)
        _si(expanded, "coverageProbability", p)
    return real


def _quantity(
    parent: Any,
    ref_type: str,
    name: Bilingual | str,
    value: float | Decimal,
    unit: str,
    field: str,
    *,
    uncertainty: tuple[Decimal, str, str] | None = None,
    label: str | None = None,
) -> Any:
    quantity = _dcc(parent, "quantity", ref_type=ref_type)
    if isinstance(name, Bilingual):
        _bilingual(quantity, "name", name)
    else:
        _plain(quantity, "name", name)
    _real(quantity, value, unit, field, uncertainty=uncertainty, label=label)
    return quantity


def _conformity_metadata(parent: Any, conformity: Conformity) -> None:
    metadata = _dcc(parent, "metaData", ref_type="basic_conformity")
    _dcc(metadata, "conformity", conformity.value)


# --------------------------------------------------------------------------- names

# The quantities of a row are told apart by refType (basic_nominalValue, ...):
# DCC good-practice style names, NOT verified against the good-practice list.
_NOMINAL = Bilingual("Giá trị danh định", "Nominal value")
_REFERENCE = Bilingual("Giá trị chuẩn", "Reference value")
_INDICATION = Bilingual("Số chỉ", "Indication")
_ERROR = Bilingual("Sai số", "Error")
_MPE = Bilingual("Sai số lớn nhất cho phép (±)", "Maximum permissible error (±)")
# The largest value a result judged as it is may take (a count, a time): no ± band.
_UPPER_LIMIT = Bilingual("Giới hạn cho phép (≤)", "Permissible limit (≤)")
_VALUE = Bilingual("Giá trị", "Value")
_LIMIT = Bilingual("Giới hạn", "Limit")
_ROLES = {
    "performed": Bilingual("Người thực hiện", "Performed by"),
    "checked": Bilingual("Người kiểm tra", "Checked by"),
    "authorized": Bilingual("Người phê duyệt", "Authorized by"),
}


# --------------------------------------------------------------------------- the builder


class _Builder:
    """Writes one document; each method writes one part of the DCC."""

    def __init__(self, document: CertificateDocument) -> None:
        self.document = document

    def build(self) -> Any:
        root = etree.Element(f"{{{DCC_NAMESPACE}}}digitalCalibrationCertificate", nsmap=_NSMAP)
        root.set("schemaVersion", DCC_SCHEMA_VERSION)
        administrative = _dcc(root, "administrativeData")
        self._software(_dcc(administrative, "dccSoftware"))
        self._core(_dcc(administrative, "coreData"))
        self._items(_dcc(administrative, "items"))
        laboratory = _dcc(administrative, "calibrationLaboratory")
        if self.document.issuer.accreditation.strip():
            _dcc(laboratory, "calibrationLaboratoryCode", self.document.issuer.accreditation)
        self._issuer_contact(laboratory, "contact")
        self._people(_dcc(administrative, "respPersons"))
        self._customer(administrative, self.document.customer)
        self._statements(administrative)
        results = _dcc(root, "measurementResults")
        for t, table in enumerate(self.document.results):
            self._measurement_result(results, table, f"results[{t}]")
        return root

    # administrativeData ------------------------------------------------------------

    def _software(self, parent: Any) -> None:
        software = _dcc(parent, "software")
        _plain(software, "name", self.document.software)
        _dcc(
            software,
            "release",
            _required(
                self.document.software_version,
                "software_version",
                "a DCC states the release of the software that wrote it",
            ),
        )
        _dcc(software, "type", "application")

    def _core(self, core: Any) -> None:
        document = self.document
        _dcc(core, "countryCodeISO3166_1", document.issuer.country)
        _dcc(core, "usedLangCodeISO639_1", "vi")
        _dcc(core, "usedLangCodeISO639_1", "en")
        # Vietnamese is the language of the certificate in law; every text the
        # reader sees is also in English.
        _dcc(core, "mandatoryLangCodeISO639_1", "vi")
        _dcc(core, "uniqueIdentifier", document.number)
        identifications = _dcc(core, "identifications")
        if document.mark is not None:
            _identification(
                identifications,
                "calibrationLaboratory",
                document.mark.number,
                MARK_NUMBER_NAME,
            )
        _identification(
            identifications,
            "calibrationLaboratory",
            document.verify_url,
            Bilingual("Trang xác minh giấy chứng nhận", "Verification page of the certificate"),
        )
        _identification(
            identifications,
            "calibrationLaboratory",
            document.run_id,
            Bilingual("Mã lần đo trong caltrace", "caltrace run"),
        )
        if document.received_on is not None:
            _dcc(core, "receiptDate", document.received_on.isoformat())
        _dcc(core, "beginPerformanceDate", document.performed_from.isoformat())
        _dcc(core, "endPerformanceDate", document.performed_to.isoformat())
        _dcc(core, "performanceLocation", document.location.value)
        if document.amendment is not None:
            amendment = document.amendment
            previous = _dcc(core, "previousReport")
            _bilingual(
                previous,
                "referral",
                Bilingual(
                    f"Giấy chứng nhận số {amendment.replaces}, được thay thế bởi giấy này",
                    f"Certificate {amendment.replaces}, replaced by this one",
                ),
            )
            _dcc(previous, "referralID", amendment.replaces)
            _dcc(previous, "procedure", "SHA-256")
            sha = _required(
                amendment.replaces_sha256,
                "amendment.replaces_sha256",
                "the DCC ties the replaced certificate by the SHA-256 of its PDF",
            )
            _dcc(previous, "value", _sha256(sha, "amendment.replaces_sha256"))

    def _items(self, items: Any) -> None:
        instrument = self.document.instrument
        item = _dcc(items, "item")
        _bilingual(item, "name", instrument.type)
        texts: list[str | Bilingual] = [instrument.description]
        if instrument.condition is not None:
            texts.append(
                Bilingual(
                    f"Tình trạng khi nhận: {instrument.condition.vi}",
                    f"Condition as received: {instrument.condition.en}",
                )
            )
        if any(isinstance(text, Bilingual) or text.strip() for text in texts):
            _rich(item, "description", texts)
        _plain(_dcc(item, "manufacturer"), "name", instrument.manufacturer)
        _dcc(item, "model", instrument.model)
        identifications = _dcc(item, "identifications")
        _identification(
            identifications,
            "manufacturer",
            instrument.serial,
            Bilingual("Số sê-ri", "Serial number"),
        )
        if instrument.identifier.strip():
            _identification(
                identifications,
                "other",
                instrument.identifier,
                Bilingual("Mã nhận dạng", "Identifier"),
            )

    def _issuer_contact(self, parent: Any, name: str) -> Any:
        issuer: Issuer = self.document.issuer
        contact = _dcc(parent, name)
        _bilingual(contact, "name", issuer.name)
        _contact_details(contact, issuer.contact)
        location = _dcc(contact, "location")
        _dcc(location, "countryCode", issuer.country)
        _rich(
            location,
            "further",
            [
                _required(
                    issuer.address,
                    "issuer.address",
                    "a certificate states the laboratory's address",
                )
            ],
        )
        return contact

    def _customer(self, parent: Any, customer: Customer) -> None:
        contact = _dcc(parent, "customer")
        _plain(contact, "name", customer.name)
        _contact_details(contact, customer.contact)
        location = _dcc(contact, "location")
        _rich(
            location,
            "further",
            [
                _required(
                    customer.address,
                    "customer.address",
                    "a DCC states the customer's address (dcc:customer/location)",
                )
            ],
        )

    def _people(self, parent: Any) -> None:
        authorized = self.document.people_in("authorized")
        main = authorized[0] if authorized else None
        for person in self.document.people:
            self._person(parent, person, main=person is main)

    @staticmethod
    def _person(parent: Any, person: Person, *, main: bool) -> None:
        element = _dcc(parent, "respPerson")
        _plain(_dcc(element, "person"), "name", person.name)
        role = _ROLES.get(person.role)
        signed = person.signed_at.isoformat()
        texts: list[str | Bilingual] = []
        if role is not None:
            texts.append(role)
        texts += [
            person.title,
            person.meaning,
            Bilingual(f"Ký lúc {signed}", f"Signed at {signed}"),
        ]
        _rich(element, "description", texts)
        _dcc(element, "role", person.role)
        if main:
            _dcc(element, "mainSigner", "true")

    def _statements(self, parent: Any) -> None:
        document = self.document
        statements = _dcc(parent, "statements")
        kind = document.title
        statement = _dcc(
            statements, "statement", ref_type=f"caltrace_{document.kind.value}Certificate"
        )
        _rich(statement, "declaration", [kind])

        statement = _dcc(statements, "statement", ref_type="caltrace_issueDate")
        _rich(statement, "declaration", [Bilingual("Ngày ban hành", "Date of issue")])
        _dcc(statement, "date", document.issued_on.isoformat())

        if document.statement is not None:
            conformity = document.statement
            statement = _dcc(statements, "statement", ref_type="basic_conformity")
            for reference in document.procedure.references:
                _dcc(statement, "norm", reference)
            declaration = _dcc(statement, "declaration")
            _bilingual(
                declaration, "name", Bilingual("Tuyên bố sự phù hợp", "Statement of conformity")
            )
            _contents(
                declaration,
                [
                    conformity.specification,
                    Bilingual(
                        f"Quy tắc quyết định: {conformity.decision_rule.vi}",
                        f"Decision rule: {conformity.decision_rule.en}",
                    ),
                    Bilingual(
                        f"Áp dụng cho: {conformity.covers.vi}",
                        f"Covers: {conformity.covers.en}",
                    ),
                ],
            )
            if document.kind is Kind.VERIFICATION:
                self._issuer_contact(statement, "respAuthority")
            _dcc(statement, "conformity", conformity.conformity.value)

        if document.mark is not None:
            mark = document.mark
            until = mark.valid_until.isoformat()
            statement = _dcc(statements, "statement", ref_type="caltrace_verificationMark")
            _rich(
                statement,
                "declaration",
                [
                    Bilingual(
                        f"Tem kiểm định số {mark.number}, có hiệu lực đến {until}",
                        f"Verification mark {mark.number}, valid until {until}",
                    )
                ],
            )
            _dcc(statement, "date", until)

        if document.next_due is not None:
            due = document.next_due.isoformat()
            statement = _dcc(statements, "statement", ref_type="caltrace_recalibrationDate")
            _rich(
                statement,
                "declaration",
                [
                    Bilingual(
                        f"Ngày hiệu chuẩn lại khuyến nghị (theo thỏa thuận với khách hàng): {due}",
                        f"Recommended recalibration date (agreed with the customer): {due}",
                    )
                ],
            )
            _dcc(statement, "date", due)

        for ref_type, texts in (
            ("caltrace_deviation", document.deviations),
            ("caltrace_remark", document.remarks),
        ):
            for text in texts:
                _rich(_dcc(statements, "statement", ref_type=ref_type), "declaration", [text])

        if document.amendment is not None:
            amendment = document.amendment
            statement = _dcc(
                statements, "statement", ref_type=f"caltrace_{amendment.type_of_change}"
            )
            _dcc(statement, "reference", amendment.replaces)
            verb = (
                Bilingual("sửa đổi", "amends")
                if amendment.type_of_change == "amended"
                else Bilingual("thay thế", "substitutes")
            )
            _rich(
                statement,
                "declaration",
                [
                    Bilingual(
                        f"Giấy chứng nhận này {verb.vi} giấy chứng nhận số {amendment.replaces}"
                        f" (ISO/IEC 17025:2017 7.8.8). Lý do: {amendment.reason.vi}",
                        f"This certificate {verb.en} certificate {amendment.replaces}"
                        f" (ISO/IEC 17025:2017 7.8.8). Reason: {amendment.reason.en}",
                    )
                ],
            )

    # measurementResults ------------------------------------------------------------

    def _measurement_result(self, parent: Any, table: ResultTable, field: str) -> None:
        document = self.document
        result = _dcc(parent, "measurementResult")
        _bilingual(result, "name", table.title)
        _rich(result, "description", [f"caltrace test {table.test_id}"])

        methods = _dcc(result, "usedMethods")
        method = _dcc(methods, "usedMethod", ref_type="caltrace_procedure")
        procedure = document.procedure
        _bilingual(method, "name", procedure.title)
        # The method's description carries how the rounding error of the indication was
        # eliminated (R 76-1 A.4.4.3), in both languages: it is part of the method used.
        _rich(
            method,
            "description",
            [
                f"caltrace procedure {procedure.id} {procedure.version}, SHA-256 "
                + _sha256(procedure.sha256, "procedure.sha256"),
                *(() if procedure.rounding_method is None else (procedure.rounding_method,)),
            ],
        )
        for reference in procedure.references:
            _dcc(method, "norm", reference)

        software = _dcc(result, "usedSoftware")
        self._software(software)

        equipments = _dcc(result, "measuringEquipments")
        for s, standard in enumerate(document.standards):
            self._standard(equipments, standard, f"standards[{s}]")

        if document.conditions:
            conditions = _dcc(result, "influenceConditions")
            for c, condition in enumerate(document.conditions):
                self._condition(conditions, condition, f"conditions[{c}]")

        results = _dcc(result, "results")
        rows = _dcc(results, "result", ref_type="caltrace_resultRows")
        _bilingual(rows, "name", table.quantity)
        data = _dcc(rows, "data")
        for r, row in enumerate(table.rows):
            self._row(data, row, f"{field}.rows[{r}]")
        if table.checks:
            checks = _dcc(results, "result", ref_type="caltrace_checks")
            _bilingual(checks, "name", Bilingual("Các phép kiểm tra", "Checks"))
            data = _dcc(checks, "data")
            for c, check in enumerate(table.checks):
                self._check(data, check, f"{field}.checks[{c}]")
        if table.curve is not None:
            self._curve(results, table.curve, f"{field}.curve")

    @staticmethod
    def _standard(parent: Any, standard: Standard, field: str) -> None:
        equipment = _dcc(parent, "measuringEquipment")
        _bilingual(equipment, "name", standard.name)
        issued = standard.certificate_date.isoformat()
        until = standard.certificate_valid_until.isoformat()
        issuer = standard.certificate_issuer
        if standard.certificate_issuer_accreditation.strip():
            issuer = f"{issuer} ({standard.certificate_issuer_accreditation})"
        texts: list[str | Bilingual] = [
            standard.function_range,
            Bilingual(f"Vai trò: {standard.role}", f"Role: {standard.role}"),
            Bilingual(
                f"Giấy chứng nhận số {standard.certificate_number} do {issuer} cấp ngày {issued},"
                f" có hiệu lực đến {until}",
                f"Certificate {standard.certificate_number} issued by {issuer} on {issued},"
                f" valid until {until}",
            ),
        ]
        if standard.uncertainty.strip():
            texts.append(
                Bilingual(
                    f"Độ không đảm bảo đo theo giấy chứng nhận: {standard.uncertainty}",
                    f"Uncertainty as certified: {standard.uncertainty}",
                )
            )
        _rich(equipment, "description", texts)
        if standard.certificate_sha256 is not None:
            certificate = _dcc(equipment, "certificate")
            _plain(certificate, "referral", issuer)
            _dcc(certificate, "referralID", standard.certificate_number)
            _dcc(certificate, "procedure", "SHA-256")
            _dcc(
                certificate,
                "value",
                _sha256(standard.certificate_sha256, f"{field}.certificate_sha256"),
            )
        _plain(_dcc(equipment, "manufacturer"), "name", standard.manufacturer)
        _dcc(equipment, "model", standard.model)
        identifications = _dcc(equipment, "identifications")
        _identification(
            identifications, "manufacturer", standard.serial, Bilingual("Số sê-ri", "Serial number")
        )
        _identification(
            identifications,
            "calibrationLaboratory",
            standard.asset_id,
            Bilingual("Mã thiết bị chuẩn", "Asset number"),
        )
        _identification(
            identifications,
            "other",
            standard.certificate_number,
            Bilingual("Số giấy chứng nhận", "Certificate number"),
        )

    @staticmethod
    def _condition(parent: Any, condition: Condition, field: str) -> None:
        element = _dcc(parent, "influenceCondition")
        _bilingual(element, "name", condition.name)
        data = _dcc(element, "data")
        _quantity(
            data,
            "basic_measuredValue",
            condition.name,
            condition.value,
            condition.unit,
            f"{field}.value",
        )
        if condition.uncertainty is not None:
            _quantity(
                data,
                "caltrace_uncertaintyOrVariation",
                Bilingual(
                    "Độ không đảm bảo đo mở rộng hoặc nửa khoảng biến thiên (±)",
                    "Expanded uncertainty or half-width of the variation (±)",
                ),
                condition.uncertainty,
                condition.unit,
                f"{field}.uncertainty",
            )

    @staticmethod
    def _row(parent: Any, row: ResultRow, field: str) -> None:
        element = _dcc(parent, "list", ref_type="caltrace_resultRow")
        _plain(element, "name", row.label)
        if row.note.strip():
            _rich(element, "description", [row.note])
        unit = row.unit
        uncertainty: tuple[Decimal, str, str] | None = None
        rounded_u: Decimal | None = None
        if row.expanded_uncertainty is not None:
            k, p = row.coverage_factor, row.coverage_probability
            if k is None or p is None:
                name = "coverage_factor" if k is None else "coverage_probability"
                raise DccError(
                    "stated with the expanded uncertainty (D-SI)", field=f"{field}.{name}"
                )
            rounded_u = round_uncertainty(
                _decimal(row.expanded_uncertainty, f"{field}.expanded_uncertainty")
            )
            uncertainty = (
                rounded_u,
                _coverage_factor(k, f"{field}.coverage_factor"),
                _coverage_probability(p, f"{field}.coverage_probability"),
            )

        def measured(value: float, name: str) -> Decimal:
            number = _decimal(value, f"{field}.{name}")
            if name == "indication" and name == carrier and row.resolution is not None:
                # Observed as it is, with its U: to the coarser of its resolution and U's
                # last digit (uncertainty.display.observed_value).
                try:
                    return observed_value(
                        number, row.resolution, rounded_u, where=f"{field}.indication"
                    )
                except ModelError as error:
                    raise DccError(str(error), field=f"{field}.indication") from None
            if name == "indication" and row.resolution is not None:
                # What the instrument showed, to its resolution (uncertainty.display).
                return _to_resolution(number, row.resolution, f"{field}.indication")
            return number if rounded_u is None else round_to_uncertainty(number, rounded_u)

        # A count's unit is the unit one, in words what it counts (si:label).
        words = str(row.counted) if row.counted is not None else None
        # U goes with the error; with the indication when the row has no error.
        carrier = "error" if row.error is not None else "indication"
        if uncertainty is not None and getattr(row, carrier) is None:
            raise DccError(
                "an uncertainty needs the error or the indication it belongs to",
                field=f"{field}.expanded_uncertainty",
            )
        written = 0
        if row.nominal is not None:
            _quantity(
                element, "basic_nominalValue", _NOMINAL, row.nominal, unit, f"{field}.nominal"
            )
            written += 1
        for name, ref_type, title in (
            ("reference", "basic_referenceValue", _REFERENCE),
            ("indication", "basic_measuredValue", _INDICATION),
            ("error", "basic_measurementError", _ERROR),
        ):
            value = getattr(row, name)
            if value is None:
                continue
            _quantity(
                element,
                ref_type,
                title,
                measured(value, name),
                unit,
                f"{field}.{name}",
                uncertainty=uncertainty if name == carrier else None,
                label=words,
            )
            written += 1
        if row.mpe is not None:
            _quantity(element, "basic_maximumPermissibleError", _MPE, row.mpe, unit, f"{field}.mpe")
            written += 1
        if row.limit is not None:
            _quantity(
                element,
                "caltrace_upperLimit",
                _UPPER_LIMIT,
                row.limit,
                unit,
                f"{field}.limit",
                label=words,
            )
            written += 1
        if not written:
            raise DccError("a result row reports at least one value", field=field)
        if row.conformity is not None or row.uncertainty_ratio_flag:
            metadata = _dcc(element, "measurementMetaData")
            if row.conformity is not None:
                _conformity_metadata(metadata, row.conformity)
            if row.uncertainty_ratio_flag:
                flag = _dcc(metadata, "metaData", ref_type="caltrace_uncertaintyRatioFlag")
                _rich(
                    flag,
                    "declaration",
                    [
                        Bilingual(
                            "U > MPE/3: không đáp ứng yêu cầu về tỉ số độ không đảm bảo đo",
                            "U > MPE/3: the uncertainty ratio requirement is not met",
                        )
                    ],
                )
                _dcc(flag, "valid", "false")

    @staticmethod
    def _check(parent: Any, check: Check, field: str) -> None:
        element = _dcc(parent, "list", ref_type="caltrace_check")
        _bilingual(element, "name", check.name)
        value: float | Decimal = check.value
        if check.resolution is not None:
            # A difference or spread of indications: to the resolution they were read to.
            value = _to_resolution(check.value, check.resolution, f"{field}.value")
        _quantity(element, "basic_measuredValue", _VALUE, value, check.unit, f"{field}.value")
        _quantity(element, "caltrace_limit", _LIMIT, check.limit, check.unit, f"{field}.limit")
        _conformity_metadata(_dcc(element, "measurementMetaData"), check.conformity)

    @staticmethod
    def _curve(parent: Any, curve: Curve, field: str) -> None:
        result = _dcc(parent, "result", ref_type="caltrace_correctionCurve")
        _bilingual(result, "name", Bilingual("Đường cong hiệu chính", "Correction curve"))
        _rich(result, "description", [curve.description])
        data = _dcc(result, "data")
        for t, term in enumerate(curve.terms):
            where = f"{field}.terms[{t}]"
            element = _dcc(data, "list", ref_type="caltrace_curveTerm")
            _plain(element, "name", term.name)
            try:
                # A fitted coefficient to two significant digits of its own standard
                # uncertainty (GUM 7.2.6), as the PDF prints it.
                rounded = round_result(term.value, term.standard_uncertainty)
            except ModelError as error:
                raise DccError(str(error), field=f"{where}.standard_uncertainty") from None
            _quantity(
                element, "caltrace_coefficient", _VALUE, rounded.value, term.unit, f"{where}.value"
            )
            _quantity(
                element,
                "caltrace_standardUncertainty",
                Bilingual("Độ không đảm bảo đo chuẩn", "Standard uncertainty"),
                rounded.expanded_uncertainty,
                term.unit,
                f"{where}.standard_uncertainty",
            )
        _quantity(
            data,
            "caltrace_curveExpandedUncertainty",
            Bilingual(
                "Độ không đảm bảo đo mở rộng của số hiệu chính đọc từ đường cong",
                "Expanded uncertainty of a correction read off the curve",
            ),
            round_uncertainty(
                _decimal(curve.expanded_uncertainty, f"{field}.expanded_uncertainty")
            ),
            curve.unit,
            f"{field}.expanded_uncertainty",
        )
        _quantity(
            data,
            "caltrace_coverageFactor",
            Bilingual("Hệ số phủ", "Coverage factor"),
            Decimal(_coverage_factor(curve.coverage_factor, f"{field}.coverage_factor")),
            "1",
            f"{field}.coverage_factor",
        )


def _contact_details(contact: Any, text: str) -> None:
    """``dcc:eMail`` (required by the schema; empty when there is none) and ``dcc:phone``."""
    if "@" in text:
        _dcc(contact, "eMail", text.strip())
    else:
        _dcc(contact, "eMail", "")
        if text.strip():
            _dcc(contact, "phone", text.strip())


def build_dcc(document: CertificateDocument) -> bytes:
    """The DCC 3.1.2 XML of ``document`` (UTF-8 bytes, valid against the shipped schema).

    Calls ``document.check()`` first. Values are in the document's units,
    written in D-SI; rounded as the module docstring says. Deterministic: the
    same document gives the same bytes.

    Raises:
        DocumentError: the document lacks what its kind requires.
        DccError: a value the DCC cannot carry (an unknown unit, ``k < 1``, a
            malformed SHA-256, ...), naming the field.
    """
    document.check()
    root = _Builder(document).build()
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_dcc(xml)
    return xml
