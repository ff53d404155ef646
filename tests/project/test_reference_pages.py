"""The reference pages name exactly the keys the code knows, so they cannot drift.

Each key table of ``docs/reference/`` (a table whose first column header is one of
:data:`CHECKED_HEADERS`, its first column one key per row in backticks) is compared with
the code's own list: a parser's allowed keys, a registry, the OpenAPI schema, the output
of an evaluation. Where a parser keeps its allowed keys inside a function, the list is
read from its own refusal of an unknown key ("unknown key (expected one of: ...)").
``docs/operators/environment.md`` is compared with every environment variable the LIMS
reads, found in its source. A new key table must be given its check below, or the first
test fails; a key added to the code without its row, or a row left for a key the code
no longer knows, fails the second.
"""

from __future__ import annotations

import ast
import copy
import functools
import glob
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
ENVIRONMENT_PAGE = DOCS / "operators" / "environment.md"

#: A table whose first column header is one of these lists keys, one per row, and is checked.
CHECKED_HEADERS = frozenset(
    {
        "key",
        "value",
        "variable",
        "option",
        "operation",
        "name",
        "step",
        "rule",
        "check",
        "plan",
        "limit",
    }
)
PROBE = "zz_not_a_key"


# ------------------------------------------------------------------ reading the pages


@dataclass(frozen=True)
class Table:
    page: str
    heading: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def names(self) -> list[str]:
        """The first code span of each row's first cell."""
        return [first_code(row[0], f"{self.page}, {self.heading}") for row in self.rows]

    def column(self, index: int) -> list[str]:
        return [row[index] if index < len(row) else "" for row in self.rows]


def first_code(cell: str, where: str) -> str:
    match = re.search(r"`([^`]+)`", cell)
    assert match is not None, f"{where}: a row whose first cell names no key: {cell!r}"
    return match.group(1)


def codes(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def split_row(line: str) -> tuple[str, ...]:
    """The cells of a Markdown table row; a ``|`` inside a code span is not a separator."""
    cells, current, in_code = [], "", False
    for char in line.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return tuple(cells)


def tables(path: Path) -> list[Table]:
    """Every table of a page, with the heading it is under (fenced code skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    page = path.relative_to(DOCS).as_posix()
    found: list[Table] = []
    heading, fenced, i = "", False, 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            heading = line.lstrip("#").strip().replace("`", "")
        elif (
            not fenced
            and line.startswith("|")
            and i + 1 < len(lines)
            and re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", lines[i + 1].strip())
        ):
            header = split_row(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                row = split_row(lines[i])
                assert len(row) == len(header), f"{page}: a row of {len(row)} cells: {lines[i]}"
                rows.append(row)
                i += 1
            found.append(Table(page, heading, header, tuple(rows)))
            continue
        i += 1
    return found


@functools.cache
def checked_tables() -> dict[tuple[str, str], Table]:
    out: dict[tuple[str, str], Table] = {}
    for path in sorted(REFERENCE.glob("*.md")):
        for table in tables(path):
            if table.header[0].lower() in CHECKED_HEADERS:
                where = (table.page, table.heading)
                assert where not in out, f"two key tables under {where}: give each a heading"
                out[where] = table
    return out


def assert_same(documented: list[str], known: set[str], where: str) -> None:
    twice = sorted({key for key in documented if documented.count(key) > 1})
    assert not twice, f"{where}: listed twice: {twice}"
    missing = sorted(known - set(documented))
    unknown = sorted(set(documented) - known)
    assert not missing, f"{where}: the code knows these, the page does not list them: {missing}"
    assert not unknown, f"{where}: the page lists these, the code does not know them: {unknown}"


# ------------------------------------------------------------- the model file (uncertainty)


def model_top_keys() -> set[str]:
    from uncertainty import model

    return set(model._TOP_KEYS)


def model_quantity_keys() -> set[str]:
    from uncertainty import model

    return set(model._QUANTITY_KEYS)


def model_distributions() -> set[str]:
    from uncertainty import model

    return set(model._DISTRIBUTIONS)


def expression_names() -> set[str]:
    from uncertainty.expressions import CONSTANTS, FUNCTIONS

    return set(FUNCTIONS) | set(CONSTANTS)


def evaluate_options() -> set[str]:
    import argparse

    from uncertainty.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    evaluate = commands.choices["evaluate"]
    out: set[str] = set()
    for action in evaluate._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        out.update(action.option_strings or [action.dest])
    return out


@functools.cache
def evaluation_keys() -> dict[str, set[str]]:
    """The keys of the evaluations of every published example, by part of the output."""
    from uncertainty.cli import evaluate
    from uncertainty.errors import UncertaintyError
    from uncertainty.model import load_model

    keys: dict[str, set[str]] = {}

    def add(part: str, mapping: dict[str, Any]) -> None:
        keys.setdefault(part, set()).update(mapping)

    for path in sorted(glob.glob(str(ROOT / "examples" / "models" / "*.json"))):
        model = load_model(path)
        for second_order in (False, True):
            try:
                gum = evaluate(model, method="gum", second_order=second_order)
            except UncertaintyError:
                continue  # second-order terms of a correlated model are refused
            add("gum", gum)
            for output in gum["outputs"].values():
                add("gum output", output)
                for line in output["budget"]:
                    add("budget", line)
        mc = evaluate(model, method="mc", trials=2000, seed=1)
        add("mc", mc)
        for output in mc["outputs"].values():
            add("mc output", output)
        both = evaluate(model, method="both", trials=2000, seed=1)
        add("both", both)
        for validation in both["validation"].values():
            add("validation", validation)
    return keys


def output_keys_accepted(table: Table) -> None:
    """The parser keeps the keys of an output inside a function: each listed key must be
    accepted, and a key that is not listed refused."""
    from uncertainty.errors import ModelError
    from uncertainty.model import parse_model

    samples = {"expression": "x", "unit": "m", "description": "text"}
    quantities = {"x": {"value": 1, "u": 0.1, "unit": "m"}}
    for key in table.names():
        assert key in samples, f"{table.page}: no sample value for the output key {key!r}"
        parse_model(
            {"outputs": {"y": {"expression": "x", key: samples[key]}}, "quantities": quantities}
        )
    with pytest.raises(ModelError, match="unknown key"):
        parse_model({"outputs": {"y": {"expression": "x", PROBE: 1}}, "quantities": quantities})


# ------------------------------------------------------------------- the procedure file


def shipped_definition() -> dict[str, Any]:
    path = ROOT / "procedures" / "library" / "dmm-dcv.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def allowed_keys(mutate: Callable[[dict[str, Any]], None]) -> set[str]:
    """The keys the definition's parser allows where ``mutate`` puts an unknown one, read
    from its refusal."""
    from procedures.definition import DefinitionError, definition_from_data

    data = copy.deepcopy(shipped_definition())
    mutate(data)
    with pytest.raises(DefinitionError) as refused:
        definition_from_data(data)
    assert refused.value.key.endswith(PROBE), refused.value
    match = re.fullmatch(r"unknown key \(expected one of: (.*)\)", refused.value.reason)
    assert match is not None, refused.value.reason
    return set(match.group(1).split(", "))


def probe(*path: str | int) -> Callable[[dict[str, Any]], None]:
    """Put the unknown key in the mapping at ``path`` (created when missing)."""

    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path:
            if isinstance(part, str) and part not in node:
                node[part] = {}
            node = node[part]
        node[PROBE] = 1

    return mutate


def register_resolution_probe(data: dict[str, Any]) -> None:
    """A quantity bound to the resolution of the first test's readings, with the unknown
    key."""
    quantities = data["tests"][0]["model"]["quantities"]
    read = next(q["readings"] for q in quantities.values() if "readings" in q)
    quantities["d_reg"] = {"resolution_of_readings": [read], PROBE: 1}


def step_probe(kind: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["tests"][0]["steps"].insert(0, {kind: {PROBE: 1}})

    return mutate


def step_arguments(table: Table) -> None:
    from procedures.definition import STEP_KINDS

    assert_same(table.names(), set(STEP_KINDS), f"{table.page}, {table.heading}")
    for kind, arguments in zip(table.names(), table.column(1), strict=True):
        known = set() if kind in ("operate", "standby", "zero") else allowed_keys(step_probe(kind))
        assert codes(arguments) == known, f"{table.page}: the step {kind} takes {sorted(known)}"


def rule_arguments(name: str) -> Callable[[Table], None]:
    """A table of the rules, checks or plans of ``procedures.acceptance``: each one's
    arguments, the optional ones (``?``) in italics."""

    def check(table: Table) -> None:
        from procedures import acceptance

        rules = getattr(acceptance, name)
        assert_same(table.names(), set(rules), f"{table.page}, {table.heading}")
        for rule, cell in zip(table.names(), table.column(1), strict=True):
            arguments = rules[rule].arguments
            assert codes(cell) == set(arguments), f"{table.page}: {rule} takes {sorted(arguments)}"
            optional = set(re.findall(r"\*`([^`]+)`\*", cell))
            expected = {arg for arg, kind in arguments.items() if kind.endswith("?")}
            assert optional == expected, f"{table.page}: {rule}'s optional arguments: {expected}"

    return check


def reference_keys() -> set[str]:
    from procedures import references

    return set(references._KEYS)


def measurement_functions() -> set[str]:
    from procedures.definition import FUNCTIONS

    return set(FUNCTIONS)


# ---------------------------------------------------------------------- the bench file


def bench_top_keys() -> set[str]:
    from agent import config

    return set(config._TOP_KEYS)


def bench_role_keys() -> set[str]:
    from agent import config

    return set(config._ROLE_KEYS)


def bench_optical_keys() -> set[str]:
    from agent import config

    return set(config._OPTICAL_KEYS)


def bench_drivers() -> set[str]:
    from agent.config import NO_DRIVER
    from drivers.registry import names

    return set(names()) | {NO_DRIVER}


def agent_environment() -> set[str]:
    from agent.cli import OPERATOR_ENV
    from agent.config import TOKEN_ENV

    return {TOKEN_ENV, OPERATOR_ENV}


# ------------------------------------------------------------------------------ the API


@functools.cache
def api_schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    # drf-spectacular is untyped: the schema the LIMS serves at /api/schema/, as a dict.
    schema = SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    assert isinstance(schema, dict)
    return schema


def api_operations() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in api_schema()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def api_error_keys() -> set[str]:
    return set(api_schema()["components"]["schemas"]["Error"]["properties"])


def throttle_scopes() -> set[str]:
    from django.conf import settings

    return set(settings.CALTRACE_THROTTLE_RATES)


# --------------------------------------------------------------------------- the checks


def same_as(known: Callable[[], set[str]]) -> Callable[[Table], None]:
    def check(table: Table) -> None:
        assert_same(table.names(), known(), f"{table.page}, {table.heading}")

    return check


def same_as_evaluation(part: str) -> Callable[[Table], None]:
    return same_as(lambda: evaluation_keys()[part])


def same_as_parser(mutate: Callable[[dict[str, Any]], None]) -> Callable[[Table], None]:
    return same_as(lambda: allowed_keys(mutate))


def stated_range_probe(data: dict[str, Any]) -> None:
    """A stated class whose source is complete and whose one range has the unknown key."""
    source = {
        "document": "TEST-FIXTURE 0001",
        "edition": "2026",
        "table": "Table T",
        "transcribed_by": "One",
        "checked_by": "Another",
        "date": "2026-11-30",
    }
    data["class_limits"] = {"T1": {"source": source, "ranges": [{PROBE: 1}]}}


MODEL = "reference/model-file.md"
PROCEDURE = "reference/procedure-file.md"
BENCH = "reference/bench-file.md"
API = "reference/api.md"

CHECKS: dict[tuple[str, str], Callable[[Table], None]] = {
    (MODEL, "The file"): same_as(model_top_keys),
    (MODEL, "outputs"): output_keys_accepted,
    (MODEL, "quantities"): same_as(model_quantity_keys),
    (MODEL, "Distributions"): same_as(model_distributions),
    (MODEL, "Expressions"): same_as(expression_names),
    (MODEL, "The command line"): same_as(evaluate_options),
    (MODEL, "GUM"): same_as_evaluation("gum"),
    (MODEL, "GUM: each output"): same_as_evaluation("gum output"),
    (MODEL, "GUM: each line of the budget"): same_as_evaluation("budget"),
    (MODEL, "Monte Carlo"): same_as_evaluation("mc"),
    (MODEL, "Monte Carlo: each output"): same_as_evaluation("mc output"),
    (MODEL, "Both"): same_as_evaluation("validation"),
    (PROCEDURE, "The file"): same_as_parser(probe()),
    (PROCEDURE, "references"): same_as(reference_keys),
    (PROCEDURE, "roles"): same_as_parser(probe("roles", "source")),
    (PROCEDURE, "needs"): same_as_parser(probe("roles", "uut", "needs", 0)),
    (PROCEDURE, "Functions"): same_as(measurement_functions),
    (PROCEDURE, "environment"): same_as_parser(probe("environment", "temperature")),
    (PROCEDURE, "acceptance"): same_as_parser(probe("acceptance")),
    (PROCEDURE, "rounding_error"): same_as_parser(probe("rounding_error")),
    (PROCEDURE, "A class"): same_as_parser(probe("class_limits", "T1")),
    (PROCEDURE, "Its source"): same_as_parser(probe("class_limits", "T1", "source")),
    (PROCEDURE, "Its ranges"): same_as_parser(stated_range_probe),
    (PROCEDURE, "tests"): same_as_parser(probe("tests", 0)),
    (PROCEDURE, "Steps"): step_arguments,
    (PROCEDURE, "model"): same_as_parser(probe("tests", 0, "model")),
    (PROCEDURE, "Bound to the readings"): same_as_parser(
        probe("tests", 0, "model", "quantities", "x")
    ),
    (PROCEDURE, "Bound to a certificate"): same_as_parser(
        probe("tests", 0, "model", "quantities", "V_s")
    ),
    (PROCEDURE, "Bound to a resolution"): same_as_parser(
        probe("tests", 0, "model", "quantities", "d_res")
    ),
    (PROCEDURE, "Bound to a register's resolution"): same_as_parser(register_resolution_probe),
    (PROCEDURE, "Rules (mpe)"): rule_arguments("RULES"),
    (PROCEDURE, "Checks (checks)"): rule_arguments("CHECKS"),
    (PROCEDURE, "Plans (plan)"): rule_arguments("PLANS"),
    (PROCEDURE, "curve"): same_as_parser(probe("tests", 0, "curve")),
    (BENCH, "The file"): same_as(bench_top_keys),
    (BENCH, "roles"): same_as(bench_role_keys),
    (BENCH, "optical"): same_as(bench_optical_keys),
    (BENCH, "Drivers"): same_as(bench_drivers),
    (BENCH, "The environment"): same_as(agent_environment),
    (API, "Errors"): same_as(api_error_keys),
    (API, "Limits"): same_as(throttle_scopes),
    (API, "Operations"): same_as(api_operations),
}


def test_every_key_table_of_the_reference_has_its_check() -> None:
    found = set(checked_tables())
    assert not found - set(CHECKS), (
        f"key tables without a check here: {sorted(found - set(CHECKS))}"
    )
    assert not set(CHECKS) - found, f"checks whose table is gone: {sorted(set(CHECKS) - found)}"


@pytest.mark.parametrize("where", sorted(CHECKS), ids=lambda where: f"{where[0]}:{where[1]}")
def test_the_key_table_names_what_the_code_knows(where: tuple[str, str]) -> None:
    CHECKS[where](checked_tables()[where])


def test_a_wrong_row_is_caught() -> None:
    """The check bites: a key the code does not know, or one it knows left out, fails."""
    table = checked_tables()[(BENCH, "roles")]
    extra = Table(table.page, table.heading, table.header, (*table.rows, ("`colour`", "")))
    short = Table(table.page, table.heading, table.header, table.rows[1:])
    for wrong in (extra, short):
        with pytest.raises(AssertionError):
            CHECKS[(BENCH, "roles")](wrong)


# ----------------------------------------------------------- the operators' environment

#: The functions of ``labserver/settings/base.py`` that read a variable named by their
#: first argument.
ENV_READERS = frozenset(
    {
        "env_bool",
        "env_int",
        "env_list",
        "env_rate",
        "env_networks",
        "require_env",
        "database_from_env",
    }
)


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def variables_read(tree: ast.AST) -> Iterator[str]:
    """The environment variables a module reads by name: ``os.environ.get("X")``,
    ``os.environ["X"]``, ``os.getenv("X")``, ``env_int("X", …)`` and the like, and a
    reader's default name (``database_from_env(name="DATABASE_URL")``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            environ_call = isinstance(func, ast.Attribute) and (
                (func.attr in ("get", "setdefault", "pop") and _is_environ(func.value))
                or func.attr == "getenv"
            )
            if environ_call or name in ENV_READERS:
                variable = _text(node.args[0])
                if variable is not None:
                    yield variable
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            variable = _text(node.slice)
            if variable is not None:
                yield variable
        elif isinstance(node, ast.FunctionDef) and node.name in ENV_READERS:
            for default in node.args.defaults:
                variable = _text(default)
                if variable is not None:
                    yield variable


def lims_variables() -> set[str]:
    files = [ROOT / "manage.py", *sorted((ROOT / "labserver").rglob("*.py"))]
    found: set[str] = set()
    for path in files:
        found.update(variables_read(ast.parse(path.read_text(encoding="utf-8"))))
    return found


def test_the_environment_page_lists_every_variable_the_lims_reads() -> None:
    documented = [
        key
        for table in tables(ENVIRONMENT_PAGE)
        if table.header[0].lower() == "variable"
        for key in table.names()
    ]
    assert_same(documented, lims_variables(), "docs/operators/environment.md")


def test_the_operators_pages_name_only_variables_the_lims_reads() -> None:
    """The other operators' pages give variables in tables of their own (the signing keys,
    the proxies): each must be one the LIMS reads."""
    read = lims_variables()
    for path in sorted((DOCS / "operators").glob("*.md")):
        for table in tables(path):
            if table.header[0].lower() != "variable":
                continue
            for cell in table.column(0):
                for variable in codes(cell):
                    name = variable.split("=")[0]
                    assert name in read, f"{table.page}, {table.heading}: {name} is not read"


def test_the_scan_finds_every_form_of_reading_a_variable() -> None:
    source = """
import os
from os import environ
def database_from_env(name="A_DEFAULT"): ...
os.environ.get("A_GET"); os.environ["A_ITEM"]; environ.get("A_BARE"); os.getenv("A_GETENV")
os.environ.setdefault("A_SETDEFAULT", "x"); env_int("A_INT", 1); require_env("A_REQUIRED")
os.environ.get(options["password_env"])
"""
    assert set(variables_read(ast.parse(source))) == {
        "A_DEFAULT", "A_GET", "A_ITEM", "A_BARE", "A_GETENV", "A_SETDEFAULT", "A_INT",
        "A_REQUIRED",
    }  # fmt: skip
