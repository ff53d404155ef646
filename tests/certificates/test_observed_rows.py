"""Results judged as they are against a limit (an electricity meter's no-load count and its
time to the first pulse): printed as observed, against "≤ limit", never as an error ± MPE;
a count a whole number in words, with no uncertainty; a time to what the bench resolves.
"""

from __future__ import annotations

import dataclasses

import pytest

from certificates.dcc import build_dcc, validate_dcc
from certificates.document import Bilingual, CertificateDocument, Conformity, ResultRow, ResultTable
from certificates.errors import DocumentError
from certificates.pdf import render_pdf
from scenarios.certificates import example
from tests.support.readable import dcc_text, pdf_text, problems, rounding_problems

PULSES = Bilingual("xung", "pulses")


def _count(**changes: object) -> ResultRow:
    row = ResultRow(
        label="0 A",
        nominal=None,
        reference=None,
        indication=0.0,
        error=None,
        unit="1",
        conformity=Conformity.PASS,
        resolution=1.0,
        limit=1.0,
        counted=PULSES,
    )
    return dataclasses.replace(row, **changes)  # type: ignore[arg-type]


def _time(**changes: object) -> ResultRow:
    row = ResultRow(
        label="0.02 A",
        nominal=0.02,
        reference=None,
        indication=76.3521,
        error=None,
        unit="s",
        expanded_uncertainty=0.0057735,
        coverage_factor=2.0,
        coverage_probability=0.9545,
        conformity=Conformity.PASS,
        resolution=0.01,
        limit=93.0,
    )
    return dataclasses.replace(row, **changes)  # type: ignore[arg-type]


def _meter(count: ResultRow | None = None, time: ResultRow | None = None) -> CertificateDocument:
    """A verification whose first two tables are a no-load and a starting test."""
    document = example("pressure-r101")
    tables = (
        ResultTable(
            test_id="no-load",
            title=Bilingual("Thử không tải", "No-load test"),
            quantity=Bilingual("Thử không tải", "No-load test"),
            rows=(count or _count(),),
        ),
        ResultTable(
            test_id="starting",
            title=Bilingual("Thử khởi động", "Starting test"),
            quantity=Bilingual("Thử khởi động", "Starting test"),
            rows=(time or _time(),),
        ),
    )
    return dataclasses.replace(document, results=tables + document.results)


def test_a_count_and_a_time_read_as_observed_against_their_limits(tmp_path):
    document = _meter()
    document.check()
    xml = build_dcc(document)
    validate_dcc(xml)
    text = pdf_text(render_pdf(document, dcc_xml=xml), tmp_path)
    # The count: whole, its unit in words in both languages, its limit as the rule says.
    # The time: to the bench's 0.01 s (coarser than U's last digit: never finer than what
    # was read), its U to two significant digits, its limit a maximum, not a ± band.
    for words in (
        "Số chỉ (xung)",
        "Indication (pulses)",
        "Giới hạn cho phép (xung)",
        "Permissible limit (pulses)",
        "0 A 0 ≤ 1 Đạt / Pass",
        "0.02 A 76.35 ≤ 93 0.0058 2.00 95 Đạt / Pass",
    ):
        assert words in text, words
    for wrong in ("76.3521", "± 93", "(1)"):
        assert wrong not in text, wrong
    assert not problems(text, what="pdf")
    assert not rounding_problems(document, text, what="pdf")
    # The DCC: the count in words (si:label), its limit; the time rounded the same way.
    words = dcc_text(xml)
    assert "xung / pulses" in words
    assert "Permissible limit (≤)" in words
    assert b"<si:value>76.35</si:value>" in xml
    assert b"76.3521" not in xml


def test_a_time_whose_uncertainty_is_coarser_than_its_resolution_is_rounded_to_it(tmp_path):
    # ILAC P14: never finer than U's last digit (U = 1.2 s: to 0.1 s).
    document = _meter(time=_time(expanded_uncertainty=1.2))
    xml = build_dcc(document)
    text = pdf_text(render_pdf(document, dcc_xml=xml), tmp_path)
    assert "0.02 A 76.4 ≤ 93 1.2 2.00 95" in text
    assert b"<si:value>76.4</si:value>" in xml


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"indication": 0.5}, "indication", "a count is a whole number, not 0.5"),
        (
            {"expanded_uncertainty": 0.58, "coverage_factor": 2.0, "coverage_probability": 0.95},
            "expanded_uncertainty",
            "a count is stated without uncertainty",
        ),
        ({"mpe": 1.0}, "mpe", "not an error against ± MPE"),
        ({"limit": None}, "mpe", "states its MPE (or limit) and verdict"),
    ],
)
def test_it_refuses_a_count_that_is_not_one(changes, field, words):
    with pytest.raises(DocumentError) as caught:
        _meter(count=_count(**changes)).check()
    assert caught.value.field == f"results[0].rows[0].{field}"
    assert words in caught.value.message


def test_the_verdict_s_meaning_names_the_limits_and_what_failed(tmp_path):
    passed = pdf_text(render_pdf(_meter()), tmp_path)
    assert "and its other test results within their permissible limits" in passed
    assert "và các kết quả thử khác nằm trong giới hạn cho phép" in passed
    document = _meter(count=_count(indication=2.0, conformity=Conformity.FAIL))
    assert document.statement is not None
    statement = dataclasses.replace(document.statement, conformity=Conformity.FAIL)
    failed = pdf_text(
        render_pdf(dataclasses.replace(document, statement=statement, mark=None)), tmp_path
    )
    assert "The instrument's test results exceed their permissible limits" in failed
    assert "Kết quả thử của phương tiện đo vượt quá giới hạn cho phép" in failed
    assert "errors exceed" not in failed
