"""Every example certificate reads as a metrologist would sign it (issue 16).

The examples of :mod:`certificates.examples` (one per shipped procedure, both kinds),
rendered to PDF and DCC and read back with ``pdftotext`` and an XML parser: no
unverified reference, no raw ``key = value``, no ASCII unit where an SI symbol exists
(SI Brochure 5.4), no unrounded float or exponent, and no indication or check value
finer than the resolution it was read to. The same checks run on the certificate of a
real run of each shipped procedure in ``tests/labserver/test_issuance_demo.py``.
"""

from __future__ import annotations

import dataclasses

import pytest

from certificates.dcc import build_dcc
from certificates.document import Check, Kind
from certificates.examples import EXAMPLES, example
from certificates.pdf import render_pdf
from tests.certificates.readable import (
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
