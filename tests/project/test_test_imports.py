"""No test module imports another test module (issue 17): what tests share — helpers, data,
fixtures — lives in ``tests/support/``, the one ``tests.`` package a test may import;
fixtures reach the tests through ``pytest_plugins`` (``tests/conftest.py``) or a
directory's ``conftest.py``. A test that imports another drags that module's tests and
autouse fixtures along, and a conftest importing another conftest runs its hooks twice.

The check reads every ``tests/**.py`` with :mod:`ast`: ``import``, ``from … import`` (relative
ones resolved against the file's package), ``importlib.import_module("…")`` with a literal
name, and the names listed in ``pytest_plugins``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = "tests.support"


def module_of(path: Path, root: Path = ROOT) -> str:
    """The dotted name of a file under ``root`` (a package's ``__init__.py``: the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for each module ``path`` imports or names as a plugin."""
    module = module_of(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if node.module and target != "tests":
                yield node.lineno, target
            else:  # `from tests import support`, `from . import conftest`: modules, maybe
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
        ):
            for item in ast.walk(node.value):
                if isinstance(item, ast.Constant) and isinstance(item.value, str):
                    yield node.lineno, item.value


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "import_module") or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )


def forbidden(name: str) -> bool:
    """A ``tests.`` module other than :data:`SHARED` and what is below it."""
    if name != "tests" and not name.startswith("tests."):
        return False
    return not (name == SHARED or name.startswith(f"{SHARED}."))


def violations(root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / "tests").rglob("*.py")):
        if SHARED.replace(".", "/") in path.relative_to(root).as_posix():
            continue  # the shared helpers may import one another
        for line, name in sorted(set(imported_names(path, root))):
            if forbidden(name):
                found.append(f"{path.relative_to(root)}:{line}: imports {name}")
    return found


def test_no_test_module_imports_another_test_module() -> None:
    assert violations() == []


def test_the_check_sees_each_form_of_import(tmp_path: Path) -> None:
    package = tmp_path / "tests" / "area"
    package.mkdir(parents=True)
    (tmp_path / "tests" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "test_a.py").write_text(
        "import importlib\n"
        "from tests.support.lims import Center\n"  # allowed
        "from tests import support\n"  # allowed
        "from .conftest import helper\n"  # line 4
        "from . import test_b\n"  # line 5
        "from ..other.conftest import fixture\n"  # line 6
        "import tests.other.test_c\n"  # line 7
        "from tests import other\n"  # line 8
        "importlib.import_module('tests.other.test_d')\n"  # line 9
        "pytest_plugins = ['tests.support.x', 'tests.other.plugin']\n"  # line 10
    )
    assert violations(tmp_path) == [
        "tests/area/test_a.py:4: imports tests.area.conftest",
        "tests/area/test_a.py:5: imports tests.area.test_b",
        "tests/area/test_a.py:6: imports tests.other.conftest",
        "tests/area/test_a.py:7: imports tests.other.test_c",
        "tests/area/test_a.py:8: imports tests.other",
        "tests/area/test_a.py:9: imports tests.other.test_d",
        "tests/area/test_a.py:10: imports tests.other.plugin",
    ]
