"""Reading the demo's YAML files: every value with the file, line and key it was written at.

A :class:`Value` is one node of a composed YAML document (anchors and aliases resolved by
the composer) and where it is; its accessors return plain Python values of the kind asked
for or raise :class:`DemoDataError`, which names the file, the line and the key: a text
where a number belongs, a key the format does not have, a required key missing, a name
that refers to nothing declared.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor

from .where import Where

__all__ = ["Value", "optional", "read_yaml"]


def read_yaml(path: Path) -> Value:
    """The document of the YAML file ``path``, as a :class:`Value` at its top."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except OSError as err:
        raise Where(file, "").error(f"cannot be read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise Where(file, "", line).error(f"not valid YAML ({err})") from None
    if node is None:
        raise Where(file, "").error("the file is empty")
    return Value(node, file, "")


_YAML = "tag:yaml.org,2002:"
_KINDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "nothing",
    "timestamp": "a date",
    "map": "a mapping",
    "seq": "a list",
}


class Value:
    """A value of a data file and where it was written."""

    def __init__(self, node: yaml.Node, file: str, key: str) -> None:
        self.node = node
        lines: tuple[tuple[str, int], ...] = ()
        if isinstance(node, yaml.MappingNode):
            lines = tuple((str(k.value), k.start_mark.line + 1) for k, _ in node.value)
        self.where = Where(file, key, node.start_mark.line + 1, lines)

    def fail(self, message: str) -> NoReturn:
        raise self.where.error(message)

    def _child(self, node: yaml.Node, key: str) -> Value:
        """``node``, at ``key`` under this value (a name, or ``[i]`` in a list)."""
        dot = "." if self.where.key and not key.startswith("[") else ""
        return Value(node, self.where.file, f"{self.where.key}{dot}{key}")

    def _kind(self) -> str:
        tag = str(self.node.tag)
        return _KINDS.get(tag.removeprefix(_YAML), tag)

    def _expect(self, *kinds: str) -> Any:
        """The value as YAML reads it, which must be of one of ``kinds`` (str, int...)."""
        if self.node.tag not in {_YAML + kind for kind in kinds}:
            got = self._kind()
            if isinstance(self.node, yaml.ScalarNode):
                got += f" {self.node.value!r}"
                if kinds != ("str",) and _number_text(self.node):
                    got += " (YAML 1.1 reads a number with an exponent but no decimal point "
                    got += "as text: write 1.0e-6, not 1e-6)"
                elif "str" in kinds:
                    got += " (quote it to make it text)"
            wanted = "a number" if kinds == ("int", "float") else _KINDS[kinds[0]]
            self.fail(f"expected {wanted}, got {got}")
        return SafeConstructor().construct_object(self.node, deep=True)

    def _pairs(self) -> list[tuple[Value, Value]]:
        """A mapping's (key, value) pairs, each key text and written once."""
        if not isinstance(self.node, yaml.MappingNode):
            self.fail(f"expected a mapping, got {self._kind()}")
        pairs: list[tuple[Value, Value]] = []
        for key_node, value_node in self.node.value:
            key = self._child(key_node, str(key_node.value))
            if key_node.tag != _YAML + "str":
                key.fail("a key that is not text")
            if any(k.node.value == key_node.value for k, _ in pairs):
                key.fail("written twice")
            pairs.append((key, Value(value_node, key.where.file, key.where.key)))
        return pairs

    def entries(self) -> dict[str, Value]:
        """The entries of a mapping by key."""
        return {str(key.node.value): value for key, value in self._pairs()}

    def fields(self, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Value]:
        """The entries of a mapping of known keys; an unknown key or a missing required one
        fails."""
        pairs = self._pairs()
        for key, _ in pairs:
            if key.node.value not in required + optional:
                key.fail(f"unknown key (expected {', '.join(required + optional)})")
        found = {str(key.node.value): value for key, value in pairs}
        for name in required:
            if name not in found:
                self._child(self.node, name).fail("missing")
        return found

    def items(self) -> list[Value]:
        """The entries of a list."""
        if not isinstance(self.node, yaml.SequenceNode):
            self.fail(f"expected a list, got {self._kind()}")
        return [self._child(node, f"[{i}]") for i, node in enumerate(self.node.value)]

    def text(self) -> str:
        value = str(self._expect("str"))
        if not value.strip():
            self.fail("empty")
        return value

    def texts(self) -> list[str]:
        return [item.text() for item in self.items()]

    def one_of(self, known: Collection[str], what: str) -> str:
        """The text, which must name one of ``known`` (``what`` says what they are)."""
        text = self.text()
        if text not in known:
            self.fail(f"no {what} {text!r} (there are: {', '.join(sorted(known)) or 'none'})")
        return text

    def filled(self, **names: Any) -> str:
        """The text with its ``{placeholders}`` replaced by ``names``."""
        try:
            return self.text().format_map(names)
        except (KeyError, ValueError, IndexError, AttributeError) as err:
            self.fail(f"a placeholder that is not one of {sorted(names)} ({err!r})")

    def number(self) -> int | float:
        value = self._expect("int", "float")
        return int(value) if isinstance(value, int) else float(value)

    def integer(self) -> int:
        return int(self._expect("int"))

    def flag(self) -> bool:
        return bool(self._expect("bool"))

    def day(self) -> date:
        value = self._expect("timestamp")
        if not isinstance(value, date) or hasattr(value, "hour"):
            self.fail("expected a date (YYYY-MM-DD), not a time")
        return value

    def mapping(self) -> dict[str, Any]:
        """A mapping as plain data (its nested values as YAML reads them)."""
        return dict(self._expect("map"))


def optional(fields: dict[str, Value], key: str) -> str:
    """The text at ``key`` of ``fields``, or an empty text where it is not given."""
    return fields[key].text() if key in fields else ""


def _number_text(node: yaml.Node) -> bool:
    """Whether ``node`` is an unquoted number YAML 1.1 took for text (``1e-6``)."""
    if not isinstance(node, yaml.ScalarNode) or node.style is not None:
        return False
    try:
        float(node.value)
    except ValueError:
        return False
    return node.tag == _YAML + "str" and "e" in node.value.lower()
