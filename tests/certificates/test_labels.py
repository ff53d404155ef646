"""The sheet of verification labels (tem kiểm định), read back with pdftotext."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from datetime import date

import pytest

from certificates.errors import DocumentError
from certificates.labels import COLUMNS, ROWS, Label, render_labels
from scenarios.certificates import example
from tests.support.tools import require_tool


def _labels() -> list[Label]:
    return [
        Label.for_document(example(name))
        for name in ("nawi-r76", "pressure-r101", "watermeter-r49")
    ]


def _text(data: bytes, tmp_path) -> list[str]:
    tool = require_tool("pdftotext")
    path = tmp_path / "labels.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        [tool, "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    return [re.sub(r"\s+", " ", page) for page in out.split("\f") if page.strip()]


def test_each_label_carries_the_mark_instrument_validity_and_issuer(tmp_path):
    labels = _labels()
    (page,) = _text(render_labels(labels), tmp_path)
    assert page.count("TEM KIỂM ĐỊNH / VERIFICATION MARK") == len(labels)
    for label in labels:
        assert f"Số / No. {label.mark_number}" in page
        assert f"S/N {label.serial}" in page
        assert f"Hiệu lực đến / Valid until {label.valid_until.isoformat()}" in page
        assert label.certificate_number in page
    assert "Trung tâm Kỹ thuật Tiêu chuẩn Đo lường Chất lượng Hà Nội (DEMO)" in page
    assert "Áp kế kiểu lò xo / Bourdon tube pressure gauge" in page


def test_more_labels_than_a_sheet_holds_continue_on_the_next(tmp_path):
    labels = [
        dataclasses.replace(_labels()[0], mark_number=f"HN-26-{i:07d}")
        for i in range(COLUMNS * ROWS + 1)
    ]
    pages = _text(render_labels(labels), tmp_path)
    assert len(pages) == 2
    assert "HN-26-0000024" in pages[1]
    assert "HN-26-0000023" in pages[0]


def test_the_sheet_embeds_its_fonts_and_renders_the_same_twice(tmp_path):
    tool = require_tool("pdffonts")
    data = render_labels(_labels())
    assert data == render_labels(_labels())
    path = tmp_path / "labels.pdf"
    path.write_bytes(data)
    fonts = subprocess.run(
        [tool, str(path)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    assert fonts
    assert all(re.search(r"\byes\s+yes\s+yes\b", line) for line in fonts)


def test_it_refuses_no_labels_and_empty_fields():
    with pytest.raises(DocumentError) as caught:
        render_labels([])
    assert caught.value.field == "labels"
    broken = dataclasses.replace(_labels()[0], mark_number=" ")
    with pytest.raises(DocumentError) as caught:
        render_labels([_labels()[1], broken])
    assert caught.value.field == "labels[1].mark_number"


def test_it_refuses_text_too_long_for_a_label_rather_than_cutting_it():
    long = dataclasses.replace(_labels()[0], instrument="Cân " * 200)
    with pytest.raises(DocumentError) as caught:
        render_labels([long])
    assert caught.value.field == "labels[0]"


def test_a_calibration_certificate_has_no_label():
    with pytest.raises(DocumentError) as caught:
        Label.for_document(example("dmm-dcv"))
    assert caught.value.field == "mark"


def test_a_label_is_built_from_its_certificate():
    label = Label.for_document(example("watermeter-r49"))
    assert label.mark_number == "HN-26-0093021"
    assert label.valid_until == date(2031, 11, 19)
    assert label.verify_url.endswith("/verify/HN-KD-2026-009302")
