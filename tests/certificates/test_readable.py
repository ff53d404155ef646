"""Every example certificate reads as a metrologist would sign it (issue 16).

The examples of :mod:`scenarios.certificates` (one per shipped procedure, both kinds),
rendered to PDF and DCC and read back with ``pdftotext`` and an XML parser: no
unverified reference, no raw ``key = value``, no ASCII unit where an SI symbol exists
(SI Brochure 5.4), no unrounded float or exponent, and no indication or check value
finer than the resolution it was read to. The same checks run on the certificate of a
real run of each shipped procedure in ``tests/labserver/test_issuance_demo.py``.
"""

from __future__ import annotations

import dataclasses

import pytest
from lxml import etree  # type: ignore[import-untyped]

from certificates.dcc import DCC_NAMESPACE, build_dcc, validate_dcc
from certificates.document import Check, Kind
from certificates.pdf import render_pdf
from procedures.definition import ProcedureDefinition, library, load_definition
from procedures.references import printable_references
from scenarios.certificates import EXAMPLES, example
from tests.support.readable import (
    CONDITION_NAMES,
    dcc_numbers,
    dcc_text,
    pdf_text,
    problems,
    rounding_problems,
)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_certificate_reads_cleanly(name, tmp_path):
    document = example(name)
    xml = build_dcc(document)
    text = pdf_text(render_pdf(document, dcc_xml=xml), tmp_path)
    found = problems(text, what=f"{name}.pdf") + problems(dcc_text(xml), what=f"{name}.xml")
    found += rounding_problems(document, text, what=f"{name}.pdf")
    found += problems(" ".join(dcc_numbers(xml)), what=f"{name}.xml numbers")
    assert not found, "\n".join(found)


def test_the_examples_cover_both_kinds():
    assert {example(name).kind for name in EXAMPLES} == {Kind.CALIBRATION, Kind.VERIFICATION}


def test_the_checks_catch_what_issue_16_found(tmp_path):
    # The checks themselves: a certificate with the defects issue 16 found is caught.
    document = example(next(n for n in EXAMPLES if example(n).kind is Kind.VERIFICATION))
    table = document.results[0]
    bad_check = Check(
        name=table.checks[0].name if table.checks else document.title,
        value=1.9547419999999818,
        limit=9.6,
        unit="degC",
        conformity=table.checks[0].conformity
        if table.checks
        else document.results[0].rows[0].conformity,  # type: ignore[arg-type]
    )
    rows = list(table.rows)
    rows[0] = dataclasses.replace(rows[0], indication=450.4, resolution=2.0)
    bad = dataclasses.replace(
        document,
        instrument=dataclasses.replace(document.instrument, description="span = 600; unit = kPa"),
        procedure=dataclasses.replace(
            document.procedure, references=("OIML R 101:1991 [unverified]",)
        ),
        results=(
            dataclasses.replace(table, rows=tuple(rows), checks=(bad_check,)),
            *document.results[1:],
        ),
    )
    text = pdf_text(render_pdf(bad), tmp_path)
    # The renderer rounds the indication; the checker must catch a text that does not.
    unrounded = text.replace(" 450 ", " 450.4 ", 1)
    assert unrounded != text
    found = "\n".join(problems(text, what="pdf") + rounding_problems(bad, unrounded, what="pdf"))
    assert "unverified reference" in found
    assert "raw key 'span = 6" in found
    assert "unrounded float '1.9547419999999818'" in found
    assert "'450.4', finer than its resolution" in found


def _shipped(procedure_id: str) -> ProcedureDefinition:
    return load_definition(library()[procedure_id])


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_cites_what_its_shipped_procedure_prints(name):
    # An example previews a certificate of a shipped procedure: the same version, the
    # same confirmed references (procedures.references.printable_references, the rule
    # labserver.issuance.documents applies) and, where the procedure records the room,
    # the environmental conditions (ISO/IEC 17025 7.8.4.1 b).
    document = example(name)
    definition = _shipped(document.procedure.id)
    assert document.procedure.version == definition.version
    assert document.procedure.references == printable_references(definition.references)
    names = {condition.name.en for condition in document.conditions}
    assert {CONDITION_NAMES[quantity] for quantity in definition.environment} <= names
    assert (document.procedure.rounding_method is None) == (definition.rounding_statement is None)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_states_the_resolution_of_what_was_read(name):
    # Issue 16: an indication is printed to the resolution it was read to (d, e, the
    # dial's division), and a check value to the resolution of its indications; without
    # the resolution the checker cannot hold the example to it ("255.0" on a 5 kPa dial).
    document = example(name)
    unstated = [
        f"{table.test_id}: {row.label}"
        for table in document.results
        for row in table.rows
        if row.indication is not None and row.resolution is None
    ] + [
        f"{table.test_id}: {check.name.en}"
        for table in document.results
        for check in table.checks
        if check.resolution is None
    ]
    assert unstated == []


def test_the_weighing_example_has_the_loads_r76_asks_for():
    # OIML R 76-1:2006 A.4.4.1: at least 10 different loads for the weighing test, up to
    # Max and back, among them Min, Max and the loads where the MPE changes (500 e and
    # 2 000 e of class III), as procedures/library/nawi-r76.yaml plans them.
    document = example("nawi-r76")
    [table] = [t for t in document.results if t.test_id == "weighing"]
    loads = [row.nominal for row in table.rows if row.nominal is not None]
    assert len(loads) == len(table.rows)
    e, maximum = 5.0, 15000.0
    assert len(set(loads)) >= 10
    assert {20 * e, 500 * e, 2000 * e, maximum} <= set(loads)
    peak = loads.index(maximum)
    assert loads[: peak + 1] == sorted(loads[: peak + 1])
    assert loads[peak:] == sorted(loads[peak:], reverse=True)
    # Table 6's MPE on initial verification at each load.
    for row in table.rows:
        assert row.nominal is not None
        step = 0.5 if row.nominal <= 500 * e else 1.0 if row.nominal <= 2000 * e else 1.5
        assert row.mpe == step * e, row.label


def test_the_thermometer_example_has_the_points_of_its_procedure():
    # thermometer-bath.yaml 1.1.0: seven points from −40 °C to 80 °C.
    definition = _shipped("thermometer-bath")
    nominals = [row.nominal for table in example("thermometer-bath").results for row in table.rows]
    assert nominals == [point.nominal for point in definition.points]
    assert (nominals[0], nominals[-1], len(nominals)) == (-40.0, 80.0, 7)


def test_an_unconfirmed_reference_in_an_example_is_caught(tmp_path):
    # The references the examples used to print, none confirmed in a source: each one
    # named on the certificate is reported, in the PDF and in the DCC.
    unconfirmed = ("ĐLVN 15:2009", "Eichordnung Anlage 16 (DE) 3.1", "MID MI-001")
    document = example("nawi-r76")
    bad = dataclasses.replace(
        document,
        procedure=dataclasses.replace(
            document.procedure, references=(*document.procedure.references, *unconfirmed)
        ),
    )
    found = "\n".join(
        problems(pdf_text(render_pdf(bad), tmp_path), what="pdf")
        + problems(dcc_text(build_dcc(bad)), what="xml")
    )
    for name in ("ĐLVN 15:2009", "Eichordnung", "MID", "MI-001"):
        assert f"pdf: {name!r} is not a reference confirmed" in found
        assert f"xml: {name!r} is not a reference confirmed" in found
    # The confirmed ones are not.
    assert "OIML R 76-1:2006' is not" not in found
    assert "JCGM 100:2008' is not" not in found


def test_the_weighing_certificate_states_how_the_rounding_error_was_eliminated(tmp_path):
    # Issue 16 / OIML R 76-1:2006 A.4.4.3: the NAWI certificate says how the rounding
    # error of the indication was eliminated, in both languages, with the method, in the
    # PDF and in the DCC's usedMethod description (which the DCC schema accepts).
    document = example("nawi-r76")
    statement = _shipped("nawi-r76").rounding_statement
    assert statement is not None
    xml = build_dcc(document)
    validate_dcc(xml)
    text = pdf_text(render_pdf(document, dcc_xml=xml), tmp_path)
    method = text.index("Phương pháp")
    for language in ("vi", "en"):
        assert statement[language] in text
        assert text.index(statement[language]) > method
    root = etree.fromstring(xml)
    ns = {"dcc": DCC_NAMESPACE}
    for used in root.iterfind(".//dcc:usedMethod", ns):
        contents = {
            content.get("lang"): content.text
            for content in used.iterfind("dcc:description/dcc:content", ns)
        }
        assert contents.get("vi") == statement["vi"]
        assert contents.get("en") == statement["en"]
    # A procedure with no rounding statement prints none.
    assert "e/5" not in pdf_text(render_pdf(example("dmm-dcv")), tmp_path)
