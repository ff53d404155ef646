"""Importing a customer's instruments from a CSV file or an XLSX workbook: all rows or none.

The file has a header row naming its columns (:data:`COLUMNS`, in any order, any case;
unknown columns are refused so a misspelt one is not silently dropped), then one
instrument a row. Every row is registered through
:func:`labserver.instruments.services.register_instrument` inside one transaction; each
row's problems (row number as the spreadsheet shows it, column, why) are collected, and if
there is any the transaction is rolled back and :class:`ImportRefused` lists them all:
nothing is half-imported.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from labserver.accounts.access import require_role
from labserver.accounts.models import Organization
from labserver.core import audit
from labserver.core.errors import DomainError

from .models import Instrument, InstrumentType, PatternApproval
from .services import FRONT_OFFICE, register_instrument

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
COLUMNS = ("instrument_type", "manufacturer", "model", "serial", "pattern", "location")
REQUIRED = ("instrument_type", "manufacturer", "model", "serial")
TEXT_COLUMNS = ("manufacturer", "model", "serial", "location")


@dataclass(frozen=True)
class Problem:
    """What is wrong, where: ``row`` as the spreadsheet numbers it (the header is row 1;
    0 for the file as a whole), ``column`` as the header names it ('' for a whole row)."""

    row: int
    column: str
    why: str


class ImportRefused(DomainError):
    """The file, or some of its rows, cannot be imported; nothing was (422)."""

    status = 422
    code = "import_refused"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(
            f"row {first.row}, {first.column or 'file'}: {first.why}", field=first.column or "file"
        )
        self.problems = problems


def _refuse(why: str) -> ImportRefused:
    return ImportRefused([Problem(0, "", why)])


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as text: a whole number without ``.0``, a date in ISO form."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(_("The file is not a CSV file in UTF-8.")) from None
    if "\x00" in text:
        raise _refuse(_("The file is not a spreadsheet (CSV or XLSX)."))
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise _refuse(_("The CSV file cannot be read: %(why)s") % {"why": exc}) from None


def _xlsx_rows(data: bytes) -> list[list[str]]:
    # openpyxl is needed by this import only: loaded here, not with the app.
    from openpyxl import load_workbook  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        raise _refuse(_("The file is not an XLSX workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append([_cell_text(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        workbook.close()


def read_table(
    name: str,
    data: bytes,
    *,
    columns: tuple[str, ...] = COLUMNS,
    required: tuple[str, ...] = REQUIRED,
) -> list[tuple[int, dict[str, str]]]:
    """The file's rows, each with its spreadsheet row number, as ``{column: text}``;
    blank rows are skipped. A file too large, of another kind, with a column not in
    ``columns`` or without one of ``required`` is refused (the instruments' columns unless
    the caller, e.g. a lot's import of meters, names its own)."""
    if len(data) > MAX_BYTES:
        raise _refuse(
            _("The file is larger than %(limit)d MiB.") % {"limit": MAX_BYTES // (1024 * 1024)}
        )
    lowered = name.lower()
    if lowered.endswith(".xlsx"):
        rows = _xlsx_rows(data)
    elif lowered.endswith(".csv"):
        rows = _csv_rows(data)
    else:
        raise _refuse(_("Only a CSV (.csv) or XLSX (.xlsx) file can be imported."))
    if not rows:
        raise _refuse(_("The file is empty."))
    header = [cell.strip().lower().replace(" ", "_") for cell in rows[0]]
    while header and not header[-1]:
        header.pop()
    problems = [
        Problem(
            1,
            cell or "?",
            _("Unknown column (expected: %(columns)s).") % {"columns": ", ".join(columns)},
        )
        for cell in header
        if cell not in columns
    ]
    problems += [
        Problem(1, column, _("This column is required."))
        for column in required
        if column not in header
    ]
    if problems:
        raise ImportRefused(problems)
    table = []
    for number, row in enumerate(rows[1:], start=2):
        values = {column: (row[i] if i < len(row) else "") for i, column in enumerate(header)}
        if any(values.values()):
            table.append((number, values))
    if not table:
        raise _refuse(_("The file has no instrument rows under its header."))
    if len(table) > MAX_ROWS:
        raise _refuse(_("The file has more than %(limit)d rows.") % {"limit": MAX_ROWS})
    return table


def _row_problems(
    number: int, values: dict[str, str], types: dict[str, InstrumentType]
) -> list[Problem]:
    problems = [
        Problem(number, column, _("This value is required."))
        for column in REQUIRED
        if not values.get(column)
    ]
    for column in TEXT_COLUMNS:
        limit = getattr(Instrument._meta.get_field(column), "max_length", None)
        if limit and len(values.get(column, "")) > limit:
            problems.append(
                Problem(number, column, _("Longer than %(limit)d characters.") % {"limit": limit})
            )
    code = values.get("instrument_type", "")
    if code and code not in types:
        problems.append(
            Problem(
                number,
                "instrument_type",
                _("Unknown instrument type code %(code)s.") % {"code": code},
            )
        )
    return problems


@transaction.atomic
def import_instruments(
    *, actor: Any, organization: Organization, owner: Organization, name: str, data: bytes
) -> list[Instrument]:
    """Register every instrument of the file for ``owner``, or none (:class:`ImportRefused`
    with every row's problems)."""
    require_role(actor, organization.pk, *FRONT_OFFICE, action="importing instruments")
    table = read_table(name, data)
    types = {t.code: t for t in InstrumentType.objects.all()}
    patterns = {
        p.number: p
        for p in PatternApproval.objects.filter(
            number__in={v["pattern"] for _, v in table if v.get("pattern")}
        )
    }
    # what is registered already, and where each instrument first appears in the file: the
    # usual mistakes, reported in the page's language (the service checks again)
    registered = set(
        Instrument.objects.filter(
            organization=organization, serial__in={v["serial"] for _, v in table}
        ).values_list("instrument_type__code", "manufacturer", "serial")
    )
    first_row: dict[tuple[str, str, str], int] = {}
    problems: list[Problem] = []
    created: list[Instrument] = []
    for number, values in table:
        found = _row_problems(number, values, types)
        key = (values["instrument_type"], values["manufacturer"], values["serial"])
        if key in registered:
            found.append(
                Problem(number, "serial", _("Already registered for this type and manufacturer."))
            )
        elif key in first_row:
            found.append(
                Problem(
                    number,
                    "serial",
                    _("The same instrument as in row %(row)d.") % {"row": first_row[key]},
                )
            )
        first_row.setdefault(key, number)
        pattern = patterns.get(values.get("pattern", "")) if values.get("pattern") else None
        if values.get("pattern") and pattern is None:
            found.append(
                Problem(
                    number,
                    "pattern",
                    _("Unknown pattern approval number %(number)s.")
                    % {"number": values["pattern"]},
                )
            )
        if found:
            problems += found
            continue
        try:
            with transaction.atomic():
                created.append(
                    register_instrument(
                        actor=actor,
                        organization=organization,
                        owner=owner,
                        instrument_type=types[values["instrument_type"]],
                        manufacturer=values["manufacturer"],
                        model=values["model"],
                        serial=values["serial"],
                        pattern=pattern,
                        location=values.get("location", ""),
                    )
                )
        except DomainError as exc:
            column = exc.field if exc.field in COLUMNS else ""
            problems.append(Problem(number, column or "", exc.detail))
    if problems:
        raise ImportRefused(problems)
    audit.record(
        actor=actor,
        action="instrument.import",
        object_type="organization",
        object_id=owner.pk,
        organization_id=organization.pk,
        after={"file": name, "owner": owner.code, "instruments": [i.pk for i in created]},
    )
    return created
