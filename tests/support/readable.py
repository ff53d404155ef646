"""What a reader of a certificate must never meet, as checks on extracted text (issue 16).

Among them a document no shipped procedure confirmed in a source (``ĐLVN 15:2009``, a
German ordinance): :data:`DOCUMENT` finds the documents named, and
:func:`confirmed_documents` is the set of ``procedures.references`` a certificate may cite.

Shared by the certificate-wide tests: the example certificates
(``tests/certificates/test_readable.py``) and the certificate of a real run of every
shipped procedure (``tests/labserver/test_issuance_demo.py``). The text is what
poppler's ``pdftotext`` reads out of the PDF (not what reportlab was given) and the
human-readable text of the DCC (its ``dcc:name``, ``dcc:content``, ``dcc:description``,
``dcc:norm`` and ``si:label`` elements).
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

from lxml import etree  # type: ignore[import-untyped]

from certificates._format import coverage_factor_text
from certificates.document import CertificateDocument
from procedures.definition import library, load_definition
from tests.support.tools import require_tool
from uncertainty.display import indication_text, number_text, result_texts

# A raw key: a snake_case name, or a lower-case word of three letters or more, then " = "
# and a number or a word ("accuracy_class = 1.6", "span = 600", "unit = kPa"). "k = 2.00",
# "U = 1.2", "w = 0", "C = -0.054" are the symbols of quantities, and "true value = t + C"
# an equation; they are not caught.
RAW_KEY = re.compile(
    r"(?<![\w/])([a-z][a-z0-9]*_[A-Za-z0-9_]+|[a-z]{3,})\s*=\s*(-?\d|[A-Za-z]{2,})"
)

# caltrace's ASCII unit spellings that have an SI symbol (SI Brochure 5.4).
ASCII_UNIT = re.compile(
    r"(?<![\w/])(degC\d?|degF|[kMm]?[Oo]hm|u[VAgms]|m[23]|[cd]m[23]|mm2)(?![\w])"
    r"|(?<![\w])1/deg"
)

# A float written with its binary noise: after a significant digit of the fraction, a run
# of six or more 0s or 9s, then other digits ("0.06099999999969441", "3.5897600000000125");
# a decimal with more than eleven significant digits is caught too. A small number
# (0.0000012) or a 6½-digit reading (1.000009) has no digit before its run of zeros.
FLOAT_NOISE = re.compile(r"\d\.\d*?[1-9]\d*?(0{6,}|9{6,})\d*[1-9]")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")
# A number in a programming language's notation ("3.9083e-3", "2.99e+14"), which no
# reader of a certificate should meet.
EXPONENT = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w-])")


# A normative document named the way the references of caltrace's procedures name them:
# OIML recommendations and documents, ĐLVN procedures, IEC standards, JCGM guides, EURAMET
# and DKD guidelines, the European directive and its annex, a German ordinance. Each one
# a certificate names must be a reference some shipped procedure confirmed in a source.
DOCUMENT = re.compile(
    r"OIML [RD] \d+(?:-\d+)?(?::\d{4})?|ĐLVN \d+(?::\d{4})?|IEC \d{4,5}(?:-\d+)?(?::\d{4})?"
    r"|JCGM \d+(?::\d{4})?|EURAMET cg-\d+|DKD-R \d+(?:-\d+)?|Eichordnung|Directive \d{4}/\d+/EU"
    r"|\bMID\b|\bMI-\d{3}\b"
)


# The name a certificate gives a quantity of a procedure's ``environment:`` (as
# labserver.issuance.documents.CONDITIONS names it).
CONDITION_NAMES = {"temperature": "Temperature", "humidity": "Relative humidity"}


@functools.cache
def confirmed_documents() -> frozenset[str]:
    """What a certificate may name: each printable reference of the shipped procedures
    (:attr:`procedures.references.Reference.printable`), as its number with and without
    its edition ("OIML R 76-1:2006", "OIML R 76-1"), and the recommendation a confirmed
    part belongs to ("OIML R 49" in a title, from "OIML R 49-1")."""
    names: set[str] = set()
    for path in library().values():
        for reference in load_definition(path).references:
            if reference.printable:
                names.update((reference.identifier, reference.document))
                names.add(re.sub(r"(OIML [RD] \d+)-\d+$", r"\1", reference.document))
    return frozenset(names)


def pdf_text(data: bytes, where: Path) -> str:
    """The whole text of a PDF as ``pdftotext -raw`` reads it, whitespace collapsed."""
    tool = require_tool("pdftotext")
    path = where / "certificate.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        [tool, "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return re.sub(r"\s+", " ", result.stdout.decode("utf-8"))


def dcc_text(xml: bytes) -> str:
    """The human-readable text of a DCC: every name, content, description, label and norm
    (the documents the method follows)."""
    root = etree.fromstring(xml)
    texts = [
        element.text
        for element in root.iter()
        if isinstance(element.tag, str)
        and etree.QName(element).localname in ("name", "content", "description", "label", "norm")
        and element.text
    ]
    return re.sub(r"\s+", " ", " ".join(texts))


def dcc_numbers(xml: bytes) -> list[str]:
    """Every number a DCC states (its ``si:value`` and ``si:uncertainty`` elements)."""
    root = etree.fromstring(xml)
    return [
        element.text.strip()
        for element in root.iter()
        if isinstance(element.tag, str)
        and etree.QName(element).localname in ("value", "uncertainty")
        and element.text
    ]


def _significant(token: str) -> int:
    digits = token.lstrip("-").replace(".", "").lstrip("0")
    return len(digits)


def problems(text: str, *, what: str) -> list[str]:
    """What a reader must not meet in ``text``: each problem named, with its context."""
    found = []

    def context(match: re.Match[str]) -> str:
        return text[max(0, match.start() - 40) : match.end() + 20]

    for match in re.finditer(r"unverified", text, re.IGNORECASE):
        found.append(f"{what}: an unverified reference: …{context(match)}…")
    for match in DOCUMENT.finditer(text):
        if match.group(0) not in confirmed_documents():
            found.append(
                f"{what}: {match.group(0)!r} is not a reference confirmed in a source: "
                f"…{context(match)}…"
            )
    for match in RAW_KEY.finditer(text):
        found.append(f"{what}: a raw key {match.group(0)!r}: …{context(match)}…")
    for match in ASCII_UNIT.finditer(text):
        found.append(f"{what}: an ASCII unit {match.group(0)!r}: …{context(match)}…")
    for match in FLOAT_NOISE.finditer(text):
        found.append(f"{what}: an unrounded float {match.group(0)!r}: …{context(match)}…")
    for match in DECIMAL.finditer(text):
        if _significant(match.group(0)) > 11:
            found.append(f"{what}: {match.group(0)!r} has more digits than any rounding allows")
    for match in EXPONENT.finditer(text):
        found.append(f"{what}: an exponent {match.group(0)!r}: …{context(match)}…")
    return found


def rounding_problems(document: CertificateDocument, text: str, *, what: str) -> list[str]:
    """Indications and check values finer than the resolution they were read to.

    For every row and check with a resolution, the value the reader meets must be the
    one rounded to that resolution, and the value as measured, when it has more digits,
    must not appear (450.4 kPa on a gauge with 2 kPa divisions).
    """
    found = []
    tokens = set(NUMBER.findall(text))
    # The numbers the tables print for other reasons (errors and U by ILAC P14, MPEs,
    # nominal values, limits) may coincide with a value rounded finer: they are not it.
    other: set[str] = set()
    for table in document.results:
        for row in table.rows:
            if row.expanded_uncertainty is not None:
                # the error and the reference value, both to U's last digit (ILAC P14);
                # a reference equal to the indication (error 0) is the reference's text
                for measured in (row.error, row.reference):
                    if measured is not None:
                        other.update(result_texts(measured, row.expanded_uncertainty))
            other.update(number_text(v) for v in (row.nominal, row.mpe) if v is not None)
            if row.coverage_factor is not None:  # k with two decimals: "2.00"
                other.add(coverage_factor_text(row.coverage_factor, "k"))
        if table.curve is not None:
            other.add(coverage_factor_text(table.curve.coverage_factor, "k"))
        other.update(number_text(check.limit) for check in table.checks)
    for t, table in enumerate(document.results):
        values = [
            (f"results[{t}].rows[{r}].indication", row.indication, row.resolution)
            for r, row in enumerate(table.rows)
        ] + [
            (f"results[{t}].checks[{c}].value", check.value, check.resolution)
            for c, check in enumerate(table.checks)
        ]
        for where, value, resolution in values:
            if value is None or resolution is None:
                continue
            rounded = indication_text(value, resolution)
            if rounded not in tokens:
                found.append(f"{what}: {where} {value!r} is not printed as {rounded!r}")
            step_places = max(0, -int(f"{resolution:e}".split("e")[1]))
            for token in tokens:
                places = len(token.partition(".")[2])
                if token in other:
                    continue
                if (
                    places > step_places
                    and abs(float(token) - value) < resolution / 2
                    and (token != rounded and abs(float(token) - value) < 10**-places)
                ):
                    found.append(
                        f"{what}: {where} is printed as {token!r}, finer than its "
                        f"resolution {resolution!r}"
                    )
    return found
