"""Tests of the DCC XML (certificates.dcc) and of the D-SI units (certificates.units).

Every DCC is checked by the real schema (PTB DCC 3.1.2 with D-SI 2.1.0,
shipped in certificates/schema/), offline. Rules cited:

* ISO/IEC 17025:2017 7.8.2.1 (what a certificate states), 7.8.8 (amendments).
* ILAC P14: U to at most two significant digits, the value to the same place.
* D-SI 2.1.0: ``si:coverageFactor`` is at least 1, ``si:coverageProbability``
  a fraction; units in D-SI notation (``\\kilo\\pascal``, ``\\tothe{n}``).
"""

from __future__ import annotations

import dataclasses
import math
import socket
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from certificates import dcc
from certificates.dcc import DCC_NAMESPACE, SI_NAMESPACE, build_dcc, validate_dcc
from certificates.document import (
    Amendment,
    Bilingual,
    CertificateDocument,
    Check,
    Condition,
    Conformity,
    Curve,
    CurveTerm,
    Kind,
)
from certificates.errors import CertificateError, DccError
from certificates.units import DSI_UNITS, dsi_unit, unit_note
from scenarios.certificates import EXAMPLES, example
from uncertainty.display import indication_text
from uncertainty.reporting import round_result

NS = {"dcc": DCC_NAMESPACE, "si": SI_NAMESPACE}
DSI_URL = "https://ptb.de/si/v2.1.0/SI_Format.xsd"


def parse(xml: bytes) -> Any:
    return etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))


def texts(root: Any, path: str) -> list[str]:
    return [element.text for element in root.xpath(path, namespaces=NS)]


def with_row(document: CertificateDocument, index: int, **changes: Any) -> CertificateDocument:
    table = document.results[0]
    rows = list(table.rows)
    rows[index] = dataclasses.replace(rows[index], **changes)
    table = dataclasses.replace(table, rows=tuple(rows))
    return dataclasses.replace(document, results=(table, *document.results[1:]))


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[CertificateDocument, bytes]]:
    """Each example document and its DCC, built once for the module."""
    return {name: (make(), build_dcc(make())) for name, make in EXAMPLES.items()}


# --------------------------------------------------------------------------- every example


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_builds_a_dcc_the_schema_accepts(name: str) -> None:
    xml = build_dcc(example(name))
    validate_dcc(xml)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")
    xml.decode("utf-8")
    assert parse(xml).get("schemaVersion") == "3.1.2"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_same_document_gives_the_same_bytes(name: str, built: Any) -> None:
    assert build_dcc(example(name)) == built[name][1]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_unique_identifier_is_the_certificate_number(name: str, built: Any) -> None:
    document, xml = built[name]
    root = parse(xml)
    assert texts(root, "//dcc:coreData/dcc:uniqueIdentifier") == [document.number]
    assert texts(root, "//dcc:coreData/dcc:beginPerformanceDate") == [
        document.performed_from.isoformat()
    ]
    assert texts(root, "//dcc:coreData/dcc:performanceLocation") == [document.location.value]
    assert document.verify_url in texts(root, "//dcc:coreData//dcc:identification/dcc:value")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_standards_certificate_is_tied_by_its_hash(name: str, built: Any) -> None:
    # ISO/IEC 17025:2017 7.8.4.1 c: the standards used and their traceability.
    document, xml = built[name]
    root = parse(xml)
    for result in root.xpath("//dcc:measurementResult", namespaces=NS):
        certificates = {
            certificate.findtext("dcc:referralID", namespaces=NS): certificate
            for certificate in result.xpath(
                ".//dcc:measuringEquipment/dcc:certificate", namespaces=NS
            )
        }
        for standard in document.standards:
            if standard.certificate_sha256 is None:
                assert standard.certificate_number not in certificates
                continue
            certificate = certificates[standard.certificate_number]
            assert certificate.findtext("dcc:procedure", namespaces=NS) == "SHA-256"
            assert certificate.findtext("dcc:value", namespaces=NS) == standard.certificate_sha256


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_row_is_written_as_the_certificate_prints_it(name: str, built: Any) -> None:
    # ILAC P14: U to two significant digits, the result to the same decimal place.
    document, xml = built[name]
    root = parse(xml)
    results = root.xpath("//dcc:measurementResult", namespaces=NS)
    assert len(results) == len(document.results)
    for table, result in zip(document.results, results, strict=True):
        rows = result.xpath(".//dcc:list[@refType='caltrace_resultRow']", namespaces=NS)
        assert len(rows) == len(table.rows)
        for row, element in zip(table.rows, rows, strict=True):
            assert element.findtext("dcc:name/dcc:content", namespaces=NS) == row.label
            error = element.find("dcc:quantity[@refType='basic_measurementError']/si:real", NS)
            assert error is not None
            assert row.error is not None
            assert error.findtext("si:unit", namespaces=NS) == dsi_unit(row.unit)
            if row.expanded_uncertainty is not None:
                rounded = round_result(row.error, row.expanded_uncertainty)
                assert error.findtext("si:value", namespaces=NS) == rounded.value_text
                unc = error.find("si:expandedUnc", NS)
                assert unc.findtext("si:uncertainty", namespaces=NS) == rounded.uncertainty_text
                assert unc.findtext("si:coverageFactor", namespaces=NS) == (
                    f"{row.coverage_factor:.2f}"
                )
                assert Decimal(unc.findtext("si:coverageProbability", namespaces=NS)) == Decimal(
                    repr(row.coverage_probability)
                )
            if row.mpe is not None:
                mpe = element.find(
                    "dcc:quantity[@refType='basic_maximumPermissibleError']/si:real/si:value", NS
                )
                assert Decimal(mpe.text) == Decimal(repr(row.mpe))
            conformity = texts(element, "dcc:measurementMetaData/dcc:metaData/dcc:conformity")
            assert conformity == ([row.conformity.value] if row.conformity else [])


def test_the_dmm_rows_read_as_printed() -> None:
    # The worked numbers of example dmm-dcv: 10 V point, U = 0.000095 V (k = 2).
    root = parse(build_dcc(example("dmm-dcv")))
    row = root.xpath("//dcc:list[dcc:name/dcc:content='10 V']", namespaces=NS)[0]
    error = row.find("dcc:quantity[@refType='basic_measurementError']/si:real", NS)
    assert error.findtext("si:value", namespaces=NS) == "0.000060"
    assert error.findtext("si:unit", namespaces=NS) == r"\volt"
    assert error.findtext("si:expandedUnc/si:uncertainty", namespaces=NS) == "0.000095"
    assert error.findtext("si:expandedUnc/si:coverageFactor", namespaces=NS) == "2.00"
    assert error.findtext("si:expandedUnc/si:coverageProbability", namespaces=NS) == "0.95"
    indication = row.find("dcc:quantity[@refType='basic_measuredValue']/si:real/si:value", NS)
    assert indication.text == "10.00006"  # to the 10 V range's 10 µV


def test_the_mark_number_is_read_back_from_a_dcc_and_only_from_one(built: Any) -> None:
    """What ``reserve_numbers`` reads from a verification's DCC left after a restore."""
    document, xml = built["nawi-r76"]
    assert document.mark
    assert dcc.mark_number_of(xml) == document.mark.number
    calibrations = [x for d, x in built.values() if d.mark is None]
    assert calibrations
    assert {dcc.mark_number_of(x) for x in calibrations} == {None}
    assert dcc.mark_number_of(b"%PDF-1.7 not a DCC") is None


def test_the_verification_states_its_verdict_mark_and_checks(built: Any) -> None:
    document, xml = built["nawi-r76"]
    assert document.kind is Kind.VERIFICATION
    assert document.mark
    assert document.statement
    root = parse(xml)
    statement = root.xpath("//dcc:statement[@refType='basic_conformity']", namespaces=NS)[0]
    assert statement.findtext("dcc:conformity", namespaces=NS) == "pass"
    declaration = texts(statement, "dcc:declaration/dcc:content")
    assert document.statement.specification.vi in declaration
    assert document.statement.specification.en in declaration
    mark = root.xpath("//dcc:statement[@refType='caltrace_verificationMark']", namespaces=NS)[0]
    assert mark.findtext("dcc:date", namespaces=NS) == document.mark.valid_until.isoformat()
    assert document.mark.number in texts(root, "//dcc:coreData//dcc:identification/dcc:value")
    checks = root.xpath("//dcc:list[@refType='caltrace_check']", namespaces=NS)
    assert len(checks) == len(document.results[0].checks)
    for check, element in zip(document.results[0].checks, checks, strict=True):
        assert texts(element, "dcc:name/dcc:content") == [check.name.vi, check.name.en]
        assert texts(element, ".//dcc:conformity") == [check.conformity.value]
        # the value to the resolution of its indications (issue 16), the limit as stated
        assert check.resolution is not None
        assert texts(element, "dcc:quantity/si:real/si:value") == [
            indication_text(check.value, check.resolution),
            repr(check.limit),
        ]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_text_the_reader_sees_is_in_vietnamese_and_english(name: str, built: Any) -> None:
    document, xml = built[name]
    root = parse(xml)
    assert texts(root, "//dcc:usedLangCodeISO639_1") == ["vi", "en"]
    assert texts(root, "//dcc:mandatoryLangCodeISO639_1") == ["vi"]
    for parent in root.xpath("//*[dcc:content[@lang]]", namespaces=NS):
        langs = [content.get("lang") for content in parent.findall("dcc:content[@lang]", NS)]
        assert langs.count("vi") == langs.count("en") >= 1, etree.tostring(parent)
    item = texts(root, "//dcc:item/dcc:name/dcc:content")
    assert item == [document.instrument.type.vi, document.instrument.type.en]
    titles = texts(root, "//dcc:measurementResult/dcc:name/dcc:content")
    assert titles == [
        text for table in document.results for text in (table.title.vi, table.title.en)
    ]


# --------------------------------------------------------------------------- amendments


def test_an_amendment_carries_the_replaced_certificate_and_its_hash() -> None:
    # ISO/IEC 17025:2017 7.8.8: an amended report identifies the one it replaces.
    replaced_sha = "3f" * 32
    document = dataclasses.replace(
        example("dmm-dcv"),
        number="HN-HC-2026-000123-A1",
        amendment=Amendment(
            replaces="HN-HC-2026-000123",
            type_of_change="amended",
            reason=Bilingual("Sửa số sê-ri", "Serial number corrected"),
            replaces_sha256=replaced_sha,
        ),
    )
    root = parse(build_dcc(document))
    previous = root.find("dcc:administrativeData/dcc:coreData/dcc:previousReport", NS)
    assert previous is not None
    assert previous.findtext("dcc:referralID", namespaces=NS) == "HN-HC-2026-000123"
    assert previous.findtext("dcc:procedure", namespaces=NS) == "SHA-256"
    assert previous.findtext("dcc:value", namespaces=NS) == replaced_sha
    assert texts(root, "//dcc:uniqueIdentifier") == ["HN-HC-2026-000123-A1"]
    statement = root.xpath("//dcc:statement[@refType='caltrace_amended']", namespaces=NS)[0]
    declaration = " ".join(texts(statement, "dcc:declaration/dcc:content"))
    assert "Serial number corrected" in declaration
    assert "Sửa số sê-ri" in declaration


def test_an_original_certificate_has_no_previous_report(built: Any) -> None:
    assert not parse(built["dmm-dcv"][1]).xpath("//dcc:previousReport", namespaces=NS)


@pytest.mark.parametrize(("sha", "why"), [("", "SHA-256 of its PDF"), ("xyz", "64 digits")])
def test_it_refuses_an_amendment_not_tied_by_a_hash(sha: str, why: str) -> None:
    document = dataclasses.replace(
        example("dmm-dcv"),
        number="HN-HC-2026-000123-A1",
        amendment=Amendment(
            "HN-HC-2026-000123", "substituted", Bilingual("Lỗi", "Error"), replaces_sha256=sha
        ),
    )
    with pytest.raises(DccError, match=why) as raised:
        build_dcc(document)
    assert raised.value.field == "amendment.replaces_sha256"


# --------------------------------------------------------------------------- refusals


def _line_with(xml: bytes, needle: bytes) -> int:
    return xml[: xml.index(needle)].count(b"\n") + 1


def test_validate_refuses_a_coverage_factor_of_zero_naming_its_line(built: Any) -> None:
    # D-SI 2.1.0 kValueType: a coverage factor is at least 1.
    xml = built["dmm-dcv"][1]
    needle = b"<si:coverageFactor>2.00</si:coverageFactor>"
    line = _line_with(xml, needle)
    broken = xml.replace(needle, b"<si:coverageFactor>0</si:coverageFactor>", 1)
    with pytest.raises(DccError) as raised:
        validate_dcc(broken)
    assert raised.value.message.startswith(f"line {line}: ")
    assert "coverageFactor" in raised.value.message
    assert raised.value.field is not None
    assert raised.value.field.endswith("/si:coverageFactor")


def test_validate_refuses_xml_that_is_not_well_formed_naming_its_line(built: Any) -> None:
    xml = built["dmm-dcv"][1]
    needle = b"</dcc:uniqueIdentifier>"
    line = _line_with(xml, needle)
    with pytest.raises(DccError) as raised:
        validate_dcc(xml.replace(needle, b"</dcc:uniqueIdentifierX>", 1))
    assert raised.value.message.startswith(f"line {line}: not well-formed")
    assert raised.value.field == "xml"


def test_validate_refuses_a_missing_element_naming_it(built: Any) -> None:
    xml = built["dmm-dcv"][1]
    root = parse(xml)
    root.find("dcc:administrativeData/dcc:coreData/dcc:uniqueIdentifier", NS).getparent().remove(
        root.find("dcc:administrativeData/dcc:coreData/dcc:uniqueIdentifier", NS)
    )
    with pytest.raises(DccError, match="uniqueIdentifier") as raised:
        validate_dcc(etree.tostring(root))
    assert raised.value.field is not None
    assert "dcc:coreData" in raised.value.field


def test_it_refuses_a_doctype_with_an_entity() -> None:
    # An uploaded file is never trusted: no DTD, no entity, however harmless it looks.
    xml = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
        b'<dcc:digitalCalibrationCertificate xmlns:dcc="https://ptb.de/dcc">&lol2;'
        b"</dcc:digitalCalibrationCertificate>\n"
    )
    with pytest.raises(DccError, match=r"^xml: line 2: a DCC has no DOCTYPE"):
        validate_dcc(xml)


def test_it_refuses_an_external_entity_without_reading_it(tmp_path: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    xml = (
        f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n'
        "<r>&x;</r>\n"
    ).encode()
    with pytest.raises(DccError, match="DOCTYPE") as raised:
        validate_dcc(xml)
    assert "do not read" not in str(raised.value)


def test_it_refuses_text_instead_of_bytes() -> None:
    with pytest.raises(DccError, match="bytes"):
        validate_dcc("<x/>")  # type: ignore[arg-type]


def test_it_refuses_an_unknown_unit_naming_the_field() -> None:
    document = with_row(example("dmm-dcv"), 2, unit="furlong")
    with pytest.raises(DccError, match="furlong") as raised:
        build_dcc(document)
    assert raised.value.field == "results[0].rows[2].unit"


def test_it_refuses_an_unknown_condition_unit_naming_the_field() -> None:
    document = example("dmm-dcv")
    conditions = (document.conditions[0], Condition(Bilingual("Áp suất", "Pressure"), 1.0, "atm"))
    with pytest.raises(DccError) as raised:
        build_dcc(dataclasses.replace(document, conditions=conditions))
    assert raised.value.field == "conditions[1].unit"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"coverage_factor": 0.0}, "coverage_factor"),
        ({"coverage_factor": 0.5}, "coverage_factor"),
        ({"coverage_probability": 95.0}, "coverage_probability"),
        ({"coverage_probability": 1.0}, "coverage_probability"),
    ],
)
def test_it_refuses_a_coverage_the_dcc_cannot_state(changes: dict[str, float], field: str) -> None:
    # D-SI 2.1.0: k >= 1, p a fraction; a certificate never states p = 100 %.
    with pytest.raises(DccError) as raised:
        build_dcc(with_row(example("dmm-dcv"), 1, **changes))
    assert raised.value.field == f"results[0].rows[1].{field}"


def test_it_never_writes_a_nan() -> None:
    with pytest.raises(CertificateError) as raised:
        build_dcc(with_row(example("dmm-dcv"), 0, error=math.nan))
    assert raised.value.field == "results[0].rows[0].error"


def test_it_refuses_a_release_it_does_not_know() -> None:
    with pytest.raises(DccError) as raised:
        build_dcc(dataclasses.replace(example("dmm-dcv"), software_version=""))
    assert raised.value.field == "software_version"


def test_it_refuses_an_uncertainty_with_no_value_to_belong_to() -> None:
    document = with_row(example("dmm-dcv"), 0, error=None, indication=None)
    with pytest.raises(DccError) as raised:
        build_dcc(document)
    assert raised.value.field == "results[0].rows[0].expanded_uncertainty"


def test_a_row_without_an_error_carries_u_on_its_indication() -> None:
    root = parse(build_dcc(with_row(example("dmm-dcv"), 0, error=None)))
    row = root.xpath("//dcc:list[@refType='caltrace_resultRow']", namespaces=NS)[0]
    assert not row.xpath("dcc:quantity[@refType='basic_measurementError']", namespaces=NS)
    indication = row.find("dcc:quantity[@refType='basic_measuredValue']/si:real", NS)
    assert indication.findtext("si:expandedUnc/si:uncertainty", namespaces=NS) == "0.0000031"
    assert indication.findtext("si:value", namespaces=NS) == "0.1000012"


# --------------------------------------------------------------------------- content details


def test_relative_humidity_is_a_percent_labelled_relative_humidity(built: Any) -> None:
    root = parse(built["dmm-dcv"][1])
    humidity = root.xpath(
        "(//dcc:influenceCondition[dcc:name/dcc:content='Relative humidity'])[1]", namespaces=NS
    )[0]
    real = humidity.find("dcc:data/dcc:quantity/si:real", NS)
    assert real.findtext("si:unit", namespaces=NS) == r"\percent"
    assert real.findtext("si:label", namespaces=NS) == "relative humidity"
    assert real.findtext("si:value", namespaces=NS) == "48.0"


def test_checks_and_a_correction_curve_are_written_and_valid() -> None:
    document = example("dmm-dcv")
    curve = Curve(
        description=Bilingual("Số hiệu chính = a0 + a1·x", "Correction = a0 + a1·x"),
        terms=(
            CurveTerm("a0", -1.2e-6, 3.0e-7, "V"),
            CurveTerm("a1", -6.05e-6, 1.1e-6, "1"),
            CurveTerm("a2", 2.0e-9, 1.0e-9, "1/V"),
        ),
        expanded_uncertainty=1.234e-5,
        coverage_factor=2.0,
        unit="V",
    )
    check = Check(Bilingual("Độ lặp lại", "Repeatability"), 1.5e-6, 5e-6, "V", Conformity.PASS)
    table = dataclasses.replace(document.results[0], curve=curve, checks=(check,))
    root = parse(build_dcc(dataclasses.replace(document, results=(table,))))
    terms = root.xpath("//dcc:list[@refType='caltrace_curveTerm']", namespaces=NS)
    assert [t.findtext("dcc:name/dcc:content", namespaces=NS) for t in terms] == ["a0", "a1", "a2"]
    # Each coefficient to two significant digits of its own standard uncertainty (GUM
    # 7.2.6, issue 16): -6.05e-6 with u = 1.1e-6 reads -0.0000061.
    assert texts(terms[1], "dcc:quantity/si:real/si:value") == ["-0.0000061", "0.0000011"]
    assert texts(terms[1], "dcc:quantity/si:real/si:unit") == [r"\one", r"\one"]
    assert texts(terms[2], "dcc:quantity/si:real/si:unit")[0] == r"\volt\tothe{-1}"
    expanded = root.xpath(
        "//dcc:quantity[@refType='caltrace_curveExpandedUncertainty']/si:real/si:value",
        namespaces=NS,
    )
    assert [e.text for e in expanded] == ["0.000012"]
    assert texts(root, "//dcc:list[@refType='caltrace_check']//dcc:conformity") == ["pass"]


def test_a_verification_row_flagged_for_its_uncertainty_ratio_says_so() -> None:
    document = with_row(example("nawi-r76"), 0, uncertainty_ratio_flag=True)
    root = parse(build_dcc(document))
    flags = root.xpath("//dcc:metaData[@refType='caltrace_uncertaintyRatioFlag']", namespaces=NS)
    assert len(flags) == 1
    assert "U > MPE/3" in " ".join(texts(flags[0], "dcc:declaration/dcc:content"))


def test_a_customer_without_e_mail_is_written_with_an_empty_e_mail(built: Any) -> None:
    document, xml = built["nawi-r76"]
    assert not document.customer.contact
    customer = parse(xml).find("dcc:administrativeData/dcc:customer", NS)
    assert customer.findtext("dcc:eMail", namespaces=NS) == ""
    assert customer.findtext("dcc:name/dcc:content", namespaces=NS) == document.customer.name


def test_the_authorizing_person_is_the_main_signer(built: Any) -> None:
    document, xml = built["dmm-dcv"]
    people = parse(xml).xpath("//dcc:respPerson", namespaces=NS)
    assert [p.findtext("dcc:role", namespaces=NS) for p in people] == [
        person.role for person in document.people
    ]
    main = [
        p.findtext("dcc:person/dcc:name/dcc:content", namespaces=NS)
        for p in people
        if p.findtext("dcc:mainSigner", namespaces=NS) == "true"
    ]
    assert main == [document.people_in("authorized")[0].name]


def test_a_document_that_fails_its_own_check_is_not_built() -> None:
    document = dataclasses.replace(example("dmm-dcv"), standards=())
    with pytest.raises(CertificateError) as raised:
        build_dcc(document)
    assert raised.value.field == "standards"


# --------------------------------------------------------------------------- offline validation


def test_validation_never_opens_a_socket(monkeypatch: pytest.MonkeyPatch, built: Any) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    dcc._schema.cache_clear()  # compile the schema again, with the network refused
    try:
        validate_dcc(built["dmm-dcv"][1])
        assert build_dcc(example("nawi-r76")) == built["nawi-r76"][1]
    finally:
        dcc._schema.cache_clear()


def test_the_d_si_import_comes_from_the_shipped_copy_through_the_resolver() -> None:
    xsd = str(dcc._SCHEMA_DIR / "dcc.xsd")
    # Without the resolver, a parser that may not use the network cannot load the import.
    bare = etree.XMLParser(no_network=True, resolve_entities=False)
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(etree.parse(xsd, bare))
    resolver = dcc._ShippedSchemas()
    assert resolver.mapping[DSI_URL] == dcc._SCHEMA_DIR / "SI_Format.xsd"
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(resolver)
    schema = etree.XMLSchema(etree.parse(xsd, parser))
    assert resolver.resolved == [DSI_URL]
    assert schema.validate(etree.fromstring(build_dcc(example("dmm-dcv"))))


def test_the_schema_is_compiled_once_per_process() -> None:
    assert dcc._schema() is dcc._schema()


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("unit", "written"),
    [
        ("V", r"\volt"),
        ("mV", r"\milli\volt"),
        ("uV", r"\micro\volt"),
        ("A", r"\ampere"),
        ("mA", r"\milli\ampere"),
        ("Ohm", r"\ohm"),
        ("kOhm", r"\kilo\ohm"),
        ("degC", r"\degreecelsius"),
        ("K", r"\kelvin"),
        ("Pa", r"\pascal"),
        ("hPa", r"\hecto\pascal"),
        ("kPa", r"\kilo\pascal"),
        ("MPa", r"\mega\pascal"),
        ("bar", r"\bar"),
        ("g", r"\gram"),
        ("kg", r"\kilogram"),  # D-SI: the kilogram is a base unit, never \kilo\gram
        ("mg", r"\milli\gram"),
        ("L", r"\litre"),
        ("m3", r"\metre\tothe{3}"),
        ("L/h", r"\litre\hour\tothe{-1}"),
        ("m3/h", r"\metre\tothe{3}\hour\tothe{-1}"),
        ("%", r"\percent"),
        ("%RH", r"\percent"),
        ("s", r"\second"),
        ("Hz", r"\hertz"),
        ("1", r"\one"),
        ("1/degC", r"\degreecelsius\tothe{-1}"),
        ("1/degC2", r"\degreecelsius\tothe{-2}"),
        ("kg*m/s2", r"\kilogram\metre\second\tothe{-2}"),
    ],
)
def test_caltrace_units_are_written_in_d_si(unit: str, written: str) -> None:
    assert dsi_unit(unit) == written


@pytest.mark.parametrize(
    "unit", ["", " ", "furlong", "kkg", "V/", "V//s", "m0", "12", "%RH/h", "v", "1^2", "Pa*"]
)
def test_an_unknown_unit_is_refused_naming_the_field(unit: str) -> None:
    with pytest.raises(DccError) as raised:
        dsi_unit(unit, field="results[0].rows[2].unit")
    assert raised.value.field == "results[0].rows[2].unit"


def test_only_relative_humidity_needs_words_beside_its_unit() -> None:
    assert unit_note("%RH") == "relative humidity"
    assert all(unit_note(symbol) is None for symbol in DSI_UNITS)


def test_the_unit_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        DSI_UNITS["furlong"] = r"\furlong"  # type: ignore[index]
