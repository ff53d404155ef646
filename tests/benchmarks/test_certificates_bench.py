"""The certificates benchmark stays runnable: ``benchmarks/certificates.py`` on a tiny run.

Both arms, the hand-written reportlab + stock pyHanko baseline and caltrace's issuing
path, make one signed certificate per key (and one untimed before), so that a change to
the renderer, the DCC or the signer that breaks the benchmark, or makes the two arms
stop producing the same pages, fails the suite rather than the next measurement.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.certificates import (
    BASELINE,
    CALTRACE,
    NAIVE,
    baseline_pdf,
    measure,
    page_count,
    same_pages,
)
from certificates.dcc import build_dcc
from certificates.pdf import render_pdf
from certificates.verify import verify_pdf
from scenarios.certificates import example
from tests.support.tools import require_tool


def test_both_arms_sign_certificates_of_the_same_pages_with_either_key(tmp_path: Path) -> None:
    require_tool("pdftotext")
    samples: dict[str, tuple[bytes, bytes]] = {}

    figures = measure(
        example_name="dmm-dcv",
        keys=["rsa-3072", "p-256"],
        rounds=1,
        seconds=0.0,
        naive_seconds=0.0,
        directory=tmp_path,
        expected_pages=2,
        samples=samples,
    )

    assert [f.key for f in figures] == ["rsa-3072", "p-256"]
    for f in figures:
        assert f.check is not None
        assert f.check.ok
        assert f.check.caltrace_pages == f.check.baseline_pages == 2
        assert f.check.word_share is not None
        assert f.check.word_share >= 0.9
        for arm in (BASELINE, CALTRACE, NAIVE):
            assert len(f.rates[arm]) == 1
            assert f.median(arm) > 0
        assert set(f.stages[CALTRACE]) == {"render", "dcc", "sign"}
        assert all(f.stage_ms(CALTRACE, stage) > 0 for stage in f.stages[CALTRACE])
    for baseline, caltrace in samples.values():
        for signed in (baseline, caltrace):
            assert signed.startswith(b"%PDF")
            assert b"/ByteRange" in signed
    # Both arms' signatures are real ones, by the demo signer of the key.
    for key in ("rsa-3072", "p-256"):
        roots = [(tmp_path / key / "ca.pem").read_bytes()]
        for signed in samples[key]:
            result = verify_pdf(signed, trust_roots=roots)
            assert result.intact
            assert result.trusted
            assert result.covers_whole_file


def test_the_same_pages_check_tells_a_different_document_apart() -> None:
    require_tool("pdftotext")
    dmm = baseline_pdf(example("dmm-dcv"))
    other = baseline_pdf(example("thermometer-bath"))

    assert same_pages(dmm, dmm, expected_pages=2).ok
    check = same_pages(dmm, other, expected_pages=None)
    assert check.word_share is not None
    assert check.word_share < 0.9
    assert not check.ok
    assert not same_pages(dmm, dmm, expected_pages=3).ok


def test_the_default_example_is_a_two_page_certificate() -> None:
    # The figure is for a two-page certificate; the benchmark asserts it too.
    document = example("dmm-dcv")
    assert page_count(render_pdf(document, dcc_xml=build_dcc(document))) == 2
