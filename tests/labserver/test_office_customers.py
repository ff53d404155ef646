"""The front office's customer and instrument pages through Django's test client: register,
edit, deactivate (never delete), search, import from CSV and XLSX all-or-nothing, and who
may do what (a metrologist: 403; another center's desk: 404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labserver.accounts import services as accounts
from labserver.accounts.models import Organization
from labserver.core.errors import DomainError
from labserver.core.models import AuditEntry
from labserver.instruments import services as instruments
from labserver.instruments.imports import MAX_BYTES
from labserver.instruments.models import CustomerAccount, Instrument
from tests.support.lims import Center
from tests.support.office import HEADER, Desk, balance_type, csv_bytes, make_desk, xlsx_bytes
from tests.support.pages import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(center: Center) -> Desk:
    return make_desk(center)


def test_reception_registers_a_customer_audited(desk: Desk) -> None:
    client = signed_in(desk.reception)
    answer = client.post(
        "/office/customers/new/",
        {"center": desk.center.org.pk, "code": "QT1-MARKET", "name": "Market traders"},
    )
    customer = Organization.objects.get(code="QT1-MARKET")
    assert answer.status_code == 302
    assert answer["Location"] == f"/office/customers/{customer.pk}/"
    assert customer.kind == Organization.Kind.CUSTOMER
    assert customer.parent_id == desk.center.org.pk
    assert CustomerAccount.objects.get(customer=customer).center_id == desk.center.org.pk
    entry = AuditEntry.objects.get(action="customer.register", object_id=str(customer.pk))
    assert entry.actor_user_id == desk.reception.pk
    assert entry.organization_id == desk.center.org.pk


def test_a_bad_customer_form_names_the_field_and_saves_nothing(desk: Desk) -> None:
    client = signed_in(desk.reception)
    count = Organization.objects.count()
    page = client.post("/office/customers/new/", {"code": "not a code!", "name": ""})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="id_code_error"' in html
    assert 'id="id_name_error"' in html
    # the existing code is refused by the service, next to the code field
    page = client.post(
        "/office/customers/new/",
        {"center": desk.center.org.pk, "code": desk.customer.code, "name": "Again"},
    )
    assert "id_code_error" in page.content.decode()
    assert Organization.objects.count() == count


def test_the_list_searches_by_name_and_code(desk: Desk) -> None:
    client = signed_in(desk.reception)
    assert desk.customer.code in client.get("/office/customers/").content.decode()
    assert desk.customer.code in client.get("/office/customers/?q=water").content.decode()
    assert desk.customer.code in client.get("/office/customers/?q=qt1-wat").content.decode()
    none = client.get("/office/customers/?q=nothing-like-it").content.decode()
    assert "No customer matches this search." in none


def test_the_list_speaks_vietnamese(desk: Desk) -> None:
    client = signed_in(desk.reception)
    client.cookies["django_language"] = "vi"
    html = client.get("/office/customers/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Khách hàng" in html


def test_a_metrologist_is_refused_and_another_center_sees_nothing(
    desk: Desk, other_center: Center
) -> None:
    assert signed_in(desk.center.metrologist).get("/office/customers/").status_code == 403
    stranger = make_desk(other_center).reception
    client = signed_in(stranger)
    assert desk.customer.code not in client.get("/office/customers/").content.decode()
    base = f"/office/customers/{desk.customer.pk}/"
    assert client.get(base).status_code == 404
    assert client.post(base + "deactivate/", {"reason": "x"}).status_code == 404
    assert client.get(base + "instruments/import/").status_code == 404
    assert CustomerAccount.objects.get(customer=desk.customer).active


def test_editing_a_customer_is_audited_with_before_and_after(desk: Desk) -> None:
    client = signed_in(desk.reception)
    answer = client.post(
        f"/office/customers/{desk.customer.pk}/edit/",
        {"name": "River Water Company", "address": "4 River Road", "email": "desk@example.org"},
    )
    assert answer.status_code == 302
    desk.customer.refresh_from_db()
    assert desk.customer.name == "River Water Company"
    entry = AuditEntry.objects.get(action="customer.edit")
    assert (entry.before or {})["name"].startswith("Water Company")
    assert (entry.after or {})["email"] == "desk@example.org"


def test_deactivating_a_customer_needs_a_reason_and_keeps_it(desk: Desk) -> None:
    client = signed_in(desk.reception)
    url = f"/office/customers/{desk.customer.pk}/deactivate/"
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 400
    assert "deactivate-reason_error" in refused.content.decode()
    assert client.post(url, {"reason": "contract ended"}).status_code == 302
    account = CustomerAccount.objects.get(customer=desk.customer)
    assert not account.active
    assert Organization.objects.filter(pk=desk.customer.pk).exists()  # never deleted
    assert AuditEntry.objects.get(action="customer.deactivate").reason == "contract ended"
    with pytest.raises(DomainError, match="deactivated"):
        instruments.register_instrument(
            actor=desk.reception,
            organization=desk.center.org,
            owner=desk.customer,
            instrument_type=balance_type(),
            manufacturer="M",
            model="X",
            serial="1",
        )


def instrument_form(**changes: Any) -> dict[str, Any]:
    return {
        "instrument_type": balance_type().pk,
        "manufacturer": "Example Scales",
        "model": "EX-30",
        "serial": "SN-1",
        "location": "Hall 1",
        **changes,
    }


def test_reception_registers_edits_and_deactivates_an_instrument(desk: Desk) -> None:
    client = signed_in(desk.reception)
    base = f"/office/customers/{desk.customer.pk}/"
    assert client.post(base + "instruments/new/", instrument_form()).status_code == 302
    # the same serial again: refused next to the serial field, nothing added
    again = client.post(base + "instruments/new/", instrument_form())
    assert "id_serial_error" in again.content.decode()
    assert Instrument.objects.filter(owner=desk.customer).count() == 1
    instrument = Instrument.objects.get(owner=desk.customer)
    edit = f"/office/customers/instruments/{instrument.pk}/"
    assert client.post(edit + "edit/", instrument_form(location="Hall 2")).status_code == 302
    instrument.refresh_from_db()
    assert instrument.location == "Hall 2"
    assert client.post(edit + "deactivate/", {"reason": "scrapped"}).status_code == 302
    instrument.refresh_from_db()
    assert not instrument.active
    names = ("instrument.register", "instrument.edit", "instrument.deactivate")
    entries = AuditEntry.objects.filter(action__in=names, object_id=str(instrument.pk))
    assert list(entries.order_by("seq").values_list("action", flat=True)) == [
        "instrument.register",
        "instrument.edit",
        "instrument.deactivate",
    ]
    assert "Deactivated" in client.get(base).content.decode()


def test_an_instrument_named_by_a_job_keeps_its_identity(center: Center) -> None:
    with pytest.raises(DomainError, match="jobs name this instrument"):
        instruments.edit_instrument(
            actor=center.quality_manager,
            instrument=center.instrument,
            instrument_type=center.instrument.instrument_type,
            manufacturer="Keysight",
            model="34465A",
            serial="ANOTHER",
        )


def upload(client: Any, desk: Desk, name: str, data: bytes) -> Any:
    return client.post(
        f"/office/customers/{desk.customer.pk}/instruments/import/",
        {"file": SimpleUploadedFile(name, data)},
    )


GOOD = [
    HEADER,
    ["nawi", "Example Scales", "EX-30", "A-1", "", "Stall 1"],
    ["nawi", "Example Scales", "EX-30", "A-2", "", "Stall 2"],
    ["nawi", "Other Scales", "OS-6", "B-1", "", ""],
]
BAD = [
    HEADER,
    ["nawi", "Example Scales", "EX-30", "A-1", "", ""],
    ["thermometer", "Example Scales", "EX-30", "A-2", "", ""],
    ["nawi", "Example Scales", "EX-30", "", "", ""],
    ["nawi", "Example Scales", "EX-30", "A-1", "", ""],
    ["nawi", "Example Scales", "EX-30", "A-5", "NO-SUCH-PATTERN", ""],
]


@pytest.mark.parametrize(
    ("name", "encode"), [("list.csv", csv_bytes), ("list.xlsx", xlsx_bytes)], ids=["csv", "xlsx"]
)
def test_a_good_file_imports_every_row(desk: Desk, name: str, encode: Any) -> None:
    balance_type()
    answer = upload(signed_in(desk.reception), desk, name, encode(GOOD))
    assert answer.status_code == 302
    serials = set(Instrument.objects.filter(owner=desk.customer).values_list("serial", flat=True))
    assert serials == {"A-1", "A-2", "B-1"}
    registered = AuditEntry.objects.filter(
        action="instrument.register", after__owner=desk.customer.code
    )
    assert registered.count() == 3
    assert (AuditEntry.objects.get(action="instrument.import").after or {})["file"] == name
    # the same list again: every row is registered already, nothing is added
    again = upload(signed_in(desk.reception), desk, name, encode(GOOD))
    assert again.status_code == 422
    assert [p.row for p in again.context["problems"]] == [2, 3, 4]
    assert "Already registered for this type and manufacturer." in again.content.decode()
    assert Instrument.objects.filter(owner=desk.customer).count() == 3


@pytest.mark.parametrize(
    ("name", "encode"), [("list.csv", csv_bytes), ("list.xlsx", xlsx_bytes)], ids=["csv", "xlsx"]
)
def test_a_bad_file_imports_nothing_and_names_each_row(desk: Desk, name: str, encode: Any) -> None:
    balance_type()
    entries = AuditEntry.objects.count()
    answer = upload(signed_in(desk.reception), desk, name, encode(BAD))
    assert answer.status_code == 422
    problems = [(p.row, p.column) for p in answer.context["problems"]]
    assert problems == [
        (3, "instrument_type"),
        (4, "serial"),
        (5, "serial"),
        (6, "pattern"),
    ]
    html = answer.content.decode()
    assert "Nothing was imported: 4 problems to correct." in html
    assert "The same instrument as in row 2." in html
    assert not Instrument.objects.filter(owner=desk.customer).exists()  # row 2 rolled back
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "not an XLSX workbook"),
        ("list.txt", b"a,b", "Only a CSV (.csv) or XLSX (.xlsx) file"),
        ("list.csv", b"\x00\x01\x02binary", "not a spreadsheet"),
        ("list.csv", b"x" * (MAX_BYTES + 1), "larger than 2 MiB"),
        ("list.csv", b"instrument_type,maker,model,serial\r\nnawi,a,b,c", "Unknown column"),
        ("list.csv", b"instrument_type,manufacturer,model\r\nnawi,a,b", "This column is required"),
    ],
    ids=["not-xlsx", "other-kind", "binary", "too-large", "unknown-column", "missing-column"],
)
def test_a_file_that_is_no_instrument_list_is_refused_clearly(
    desk: Desk, name: str, data: bytes, why: str
) -> None:
    balance_type()
    answer = upload(signed_in(desk.reception), desk, name, data)
    assert answer.status_code == 422
    assert why in answer.content.decode()
    assert not Instrument.objects.filter(owner=desk.customer).exists()


def test_the_template_names_the_columns(desk: Desk) -> None:
    answer = signed_in(desk.reception).get("/office/customers/instruments/template.csv")
    assert answer.content.decode().splitlines()[0] == ",".join(HEADER)


def test_a_customer_registered_before_the_front_office_is_listed_and_kept(desk: Desk) -> None:
    # as the API and the demo register customers: an organization under the center, no account
    older = accounts.create_organization(
        actor=None, code="QT1-OLD", name="Older customer", kind="customer", parent=desk.center.org
    )
    client = signed_in(desk.reception)
    assert "QT1-OLD" in client.get("/office/customers/?q=older").content.decode()
    url = f"/office/customers/{older.pk}/deactivate/"
    assert client.post(url, {"reason": "merged"}).status_code == 302
    account = CustomerAccount.objects.get(customer=older)
    assert (account.center_id, account.active) == (desk.center.org.pk, False)
