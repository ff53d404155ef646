"""The documentation site in ``docs/`` builds, and every page of it is in the navigation.

``make docs`` runs ``mkdocs build --strict``: a broken link or anchor between pages, or a
page that ``nav`` leaves out, fails it (``mkdocs.yml`` turns those into warnings, strict mode
into errors). The first test runs the same build into a temporary folder, so a page moved or
renamed without its links fails here; the second names the pages that ``nav`` forgets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CONFIG = ROOT / "mkdocs.yml"


def nav_pages(entries: Any) -> list[str]:
    """The Markdown files named anywhere in a ``nav`` (pages, sections, section indexes)."""
    pages: list[str] = []
    if isinstance(entries, str):
        if not entries.startswith(("http://", "https://")):
            pages.append(entries)
    elif isinstance(entries, list):
        for entry in entries:
            pages.extend(nav_pages(entry))
    elif isinstance(entries, dict):
        for value in entries.values():
            pages.extend(nav_pages(value))
    return pages


def test_docs_build_in_strict_mode(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    assert (tmp_path / "site" / "index.html").is_file(), output


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert Path(config["docs_dir"]) == Path("docs")
    listed = nav_pages(config["nav"])
    assert len(listed) == len(set(listed)), f"pages listed twice: {sorted(listed)}"
    missing = [p for p in listed if not (DOCS / p).is_file()]
    assert not missing, f"nav names pages that do not exist: {missing}"
    pages = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))
    forgotten = [page for page in pages if page not in listed]
    assert not forgotten, f"pages of docs/ that mkdocs.yml's nav leaves out: {forgotten}"
