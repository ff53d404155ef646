"""The documents a procedure follows, as data: which of them a certificate may print.

A certificate is read by a verifier who looks the cited documents up, so a reference is
printed only when its identity (document number, edition and title) was read in a stored
source; the others stay in the procedure's metadata and in :func:`references_table`,
the report of what is still to be confirmed. A procedure file writes each reference as::

    references:
      - document: OIML R 76-1           # the document's number, as its publisher writes it
        edition: "2006"                 # year or version; "" where the document has none
        title: Non-automatic weighing instruments, Part 1 ...
        clauses: 3.5.1 Table 6, A.4.4.1 # what the procedure takes from it (optional)
        verified: true                  # number, edition and title read in ``source``
        source: https://...             # required when verified
        note: why it is unverified, or what it is for (optional)
        printed: false                  # optional: kept as a source of values, never cited
                                        # as the method (a foreign regulation)

A plain string (the form of definitions stored before structured references) is read as
an unverified reference whose document is that string, so an old definition still loads
and prints nothing it never confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from procedures.errors import InvalidValueError

__all__ = [
    "Reference",
    "parse_reference",
    "printable_references",
    "references_table",
    "verified_references",
]

_KEYS: Final = frozenset(
    {"document", "edition", "title", "clauses", "verified", "source", "note", "printed"}
)


@dataclass(frozen=True, slots=True)
class Reference:
    """One document a procedure follows.

    Attributes:
        document: the number as its publisher writes it (``"OIML R 76-1"``).
        edition: the year or version (``"2006"``, ``"3.0 (2015)"``), or ``""``.
        title: the title in the document's own language.
        clauses: the clauses the procedure takes from it, or ``""``.
        verified: whether number, edition and title were read in ``source``.
        source: where they were read (a URL), ``""`` when unverified.
        note: why it is unverified, or what it serves for.
        printed: False for a document kept only as the source of some values (it is
            never cited on a certificate as the method, verified or not).
    """

    document: str
    edition: str
    title: str
    clauses: str = ""
    verified: bool = False
    source: str = ""
    note: str = ""
    printed: bool = True

    @property
    def identifier(self) -> str:
        """``"OIML R 76-1:2006"`` (a year's edition), ``"EURAMET cg-15 v3.0 (02/2015)"`` (a
        version): the number and the edition, as documents cite each other."""
        if not self.edition:
            return self.document
        if self.edition.isdigit():
            return f"{self.document}:{self.edition}"
        return f"{self.document} {self.edition}"

    @property
    def citation(self) -> str:
        """The reference as a certificate prints it: identifier, title and clauses."""
        text = f"{self.identifier}, {self.title}" if self.title else self.identifier
        return f"{text} ({self.clauses})" if self.clauses else text

    @property
    def printable(self) -> bool:
        """Whether a certificate may cite it: confirmed in a source and meant to be cited."""
        return self.verified and self.printed

    def as_dict(self) -> dict[str, Any]:
        """The reference as plain data (the definition's JSON and the tables' report)."""
        return {
            "document": self.document,
            "edition": self.edition,
            "title": self.title,
            "clauses": self.clauses,
            "verified": self.verified,
            "source": self.source,
            "note": self.note,
            "printed": self.printed,
        }


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidValueError(
            "expected a non-empty text" if required else "expected a text",
            argument=f"{where}.{key}",
        )
    return value.strip()


def parse_reference(entry: Any, *, where: str = "references[0]") -> Reference:
    """A reference from a definition's entry (a mapping, or a legacy string).

    Raises :class:`~procedures.errors.InvalidValueError` naming the key at fault
    (``references[2].source``): an unknown key, a missing document or title, a
    ``verified`` that is not a boolean, a verified reference without its source.
    """
    if isinstance(entry, str):
        if not entry.strip():
            raise InvalidValueError("expected a document", argument=where)
        return Reference(
            entry.strip(), "", "", note="written as plain text: not confirmed in a source"
        )
    if not isinstance(entry, Mapping):
        raise InvalidValueError("expected a mapping of document, edition and title", argument=where)
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise InvalidValueError(
            f"unknown key(s) {', '.join(map(str, unknown))}; known: {', '.join(sorted(_KEYS))}",
            argument=where,
        )
    flags: dict[str, bool] = {}
    for flag, default in (("verified", False), ("printed", True)):
        value = entry.get(flag, default)
        if not isinstance(value, bool):
            raise InvalidValueError("expected true or false", argument=f"{where}.{flag}")
        flags[flag] = value
    edition = entry.get("edition", "")
    if isinstance(edition, int) and not isinstance(edition, bool):
        edition = str(edition)  # a year written without quotes
    if not isinstance(edition, str):
        raise InvalidValueError("expected a year or a version", argument=f"{where}.edition")
    source = _text(entry, "source", where, required=flags["verified"])
    return Reference(
        document=_text(entry, "document", where, required=True),
        edition=edition.strip(),
        title=_text(entry, "title", where, required=True),
        clauses=_text(entry, "clauses", where, required=False),
        verified=flags["verified"],
        source=source,
        note=_text(entry, "note", where, required=False),
        printed=flags["printed"],
    )


def verified_references(references: Iterable[Reference]) -> tuple[Reference, ...]:
    """The references a certificate may cite (confirmed and meant to be cited), in order."""
    return tuple(reference for reference in references if reference.printable)


def printable_references(references: Iterable[Reference]) -> tuple[str, ...]:
    """The citations a certificate prints: :func:`verified_references` as text.

    Nothing unconfirmed reaches a certificate: an unverified reference stays in the
    definition and in :func:`references_table`.
    """
    return tuple(reference.citation for reference in verified_references(references))


def references_table(procedures: Mapping[str, Sequence[Reference]]) -> dict[str, Any]:
    """Every procedure's references as plain data, with the unverified ones listed apart.

    ``procedures`` maps a procedure id to its references. The entry has the shape of
    the tables of :func:`procedures.mpe.tables` (``id``, ``title``, ``unverified``).
    """
    by_procedure = {
        procedure_id: [reference.as_dict() for reference in references]
        for procedure_id, references in sorted(procedures.items())
    }
    return {
        "id": "procedure-references",
        "title": "The documents each shipped procedure follows, and which a certificate cites",
        "document": "the references: of each procedure definition",
        "rules": {
            "printed": "verified (number, edition and title read in its source) and printed",
            "kept": "unverified, or printed: false (a source of values, not the method)",
        },
        "confirmed_in": sorted(
            {reference.source for refs in procedures.values() for reference in refs} - {""}
        ),
        "procedures": by_procedure,
        "unverified": [
            f"{procedure_id}: {reference.identifier}"
            for procedure_id, references in sorted(procedures.items())
            for reference in references
            if not reference.verified
        ],
    }
