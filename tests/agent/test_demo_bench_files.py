"""``make demo DEMO_PORT=8101`` writes bench files that reach the LIMS on the port it
serves on (issue 18): ``scripts/demo.py`` points every bench file at its address."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import yaml

ROOT = Path(__file__).resolve().parents[2]


def demo_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_script", ROOT / "scripts" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_points_its_bench_files_at_the_port_it_serves_on(tmp_path: Path) -> None:
    header = "# DEMO bench configuration of HN bench-mass (lims: the LIMS's address)\n"
    body = {"bench": "bench-mass", "organization": "HN", "lims": "http://127.0.0.1:8000"}
    for name in ("HN-bench-mass.yaml", "HN-bench-flow.yaml"):
        (tmp_path / name).write_text(header + yaml.safe_dump(body, sort_keys=False))
    (tmp_path / "HN-bench-mass.token").write_text("lims: not a bench file\n")
    changed = demo_script().point_bench_files(tmp_path, "http://127.0.0.1:8101")
    assert [p.name for p in changed] == ["HN-bench-flow.yaml", "HN-bench-mass.yaml"]
    for path in changed:
        text = path.read_text()
        assert text.startswith(header)  # the comments kept
        assert yaml.safe_load(text)["lims"] == "http://127.0.0.1:8101"
    assert (tmp_path / "HN-bench-mass.token").read_text() == "lims: not a bench file\n"
    # a second start on the same port changes nothing
    assert demo_script().point_bench_files(tmp_path, "http://127.0.0.1:8101") == []
