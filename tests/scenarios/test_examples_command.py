"""``python -m scenarios example``: the example certificates previewed as unsigned PDFs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from certificates.pdf import render_pdf
from scenarios.__main__ import main
from scenarios.certificates import EXAMPLES, example

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_command_writes_a_pdf(tmp_path, capsys):
    assert main(["example", "--list"]) == 0
    listed = capsys.readouterr().out
    for name in EXAMPLES:
        assert name in listed
    output = tmp_path / "preview.pdf"
    assert main(["example", "thermometer-bath", "-o", str(output)]) == 0
    assert output.read_bytes() == render_pdf(example("thermometer-bath"))
    with pytest.raises(SystemExit):
        main(["example", "no-such-example"])


def test_python_m_scenarios_lists_each_example_with_its_number_and_kind():
    result = subprocess.run(
        [sys.executable, "-m", "scenarios", "example", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == list(EXAMPLES)
    assert "dmm-dcv\tHN-HC-2026-000123\tcalibration certificate: Digital multimeter" in lines
