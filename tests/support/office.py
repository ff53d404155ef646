"""The front office of a test center: a reception desk person and a customer registered
through the services, and the spreadsheets an import is given."""

from __future__ import annotations

import io
from dataclasses import dataclass

from labserver.accounts.models import Organization, User
from labserver.instruments import customers
from labserver.instruments.models import InstrumentType
from tests.support.lims import Center, person


@dataclass
class Desk:
    center: Center
    reception: User
    customer: Organization


def make_desk(center: Center) -> Desk:
    """A reception person of ``center`` and a customer it registered."""
    code = center.org.code.lower()
    reception = person(center.org, f"{code}-reception", "reception")
    account = customers.register_customer(
        actor=reception,
        center=center.org,
        code=f"{center.org.code}-WATER",
        name=f"Water Company of {center.org.code}",
        address="3 River Road",
        contact="Ms Lan",
        phone="+84 24 0000 0000",
    )
    return Desk(center=center, reception=reception, customer=account.customer)


def balance_type() -> InstrumentType:
    return InstrumentType.objects.get_or_create(
        code="nawi",
        defaults={
            "name": "Non-automatic weighing instrument",
            "name_vi": "Cân không tự động",
            "field": "mass",
            "legal_category": "group_1",
        },
    )[0]


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "\r\n".join(",".join(row) for row in rows).encode("utf-8")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["instrument_type", "manufacturer", "model", "serial", "pattern", "location"]
