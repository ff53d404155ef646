"""The quality manager's pages of in-service lots (Django's test client): a lot created,
its meters imported, the plan recorded with its operating characteristic shown as a table and
a chart, the sample drawn with its seed shown, the results entered and the lot decided; a bad
file lists its rows and imports nothing; an auditor reads without the forms; another
center's lot is not found; the pages speak Vietnamese."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from labserver.accounts import services as accounts
from labserver.accounts.models import Organization
from labserver.lots import services
from labserver.lots.models import Lot, Stage
from tests.support.lims import TODAY, Center
from tests.support.pages import signed_in

pytestmark = pytest.mark.django_db

METERS = "serial,location\n" + "".join(f"WM-{i:02d},Block {i}\n" for i in range(1, 11))


def utility(center: Center) -> Organization:
    """A customer the center serves: the owner of the lot's meters."""
    return accounts.create_organization(
        actor=None,
        code=f"{center.org.code}-UTIL",
        name="Water utility",
        kind="customer",
        parent=center.org,
    )


def created(center: Center) -> Lot:
    owner = utility(center)
    client = signed_in(center.quality_manager)
    response = client.post(
        "/office/lots/new/",
        {
            "number": "L-1",
            "instrument_type": center.instrument.instrument_type.pk,
            "installed_year": 2018,
            "owner": owner.pk,
        },
    )
    lot = Lot.objects.get(number="L-1")
    assert response.status_code == 302
    assert response["Location"] == f"/office/lots/{lot.pk}/"
    return lot


def upload(client: Client, lot: Lot, text: str) -> Any:
    return client.post(
        f"/office/lots/{lot.pk}/meters/",
        {"file": SimpleUploadedFile("meters.csv", text.encode(), "text/csv")},
    )


def test_the_quality_manager_takes_a_lot_through_its_steps(center: Center) -> None:
    lot = created(center)
    client = signed_in(center.quality_manager)
    assert upload(client, lot, METERS).status_code == 302
    response = client.post(
        f"/office/lots/{lot.pk}/plan/",
        {"sample_size": 3, "acceptance_number": 0, "basis": "Center's plan QP-7, table 2"},
    )
    assert response.status_code == 302
    page = client.get(f"/office/lots/{lot.pk}/").content.decode()
    # 3 of 10 meters: the hypergeometric model; with D = 2 nonconforming of 10,
    # P_a = C(8,3)/C(10,3) = 56/120 = 0.467 (to 0.001)
    assert "Hypergeometric" in page
    assert "<td>20.0</td><td>2</td><td>0.467</td>" in page
    assert '<svg class="oc-chart"' in page
    assert "Center&#x27;s plan QP-7, table 2" in page
    assert client.post(f"/office/lots/{lot.pk}/draw/", {"seed": "77"}).status_code == 302
    lot = Lot.objects.get(pk=lot.pk)
    page = client.get(f"/office/lots/{lot.pk}/").content.decode()
    assert "seed 77" in page
    for serial in lot.draw.serials:
        assert serial in page
        response = client.post(f"/office/lots/{lot.pk}/result/", {"serial": serial, "passed": "1"})
        assert response.status_code == 302
    until = TODAY + timedelta(days=730)
    response = client.post(f"/office/lots/{lot.pk}/decide/", {"valid_until": until.isoformat()})
    assert response.status_code == 302
    assert Lot.objects.get(pk=lot.pk).stage == Stage.ACCEPTED
    page = client.get(f"/office/lots/{lot.pk}/").content.decode()
    assert f"extended until {until.isoformat()}" in page
    assert "L-1" in client.get("/office/lots/").content.decode()


def test_a_bad_file_lists_its_rows_and_imports_nothing(center: Center) -> None:
    lot = created(center)
    page = upload(signed_in(center.quality_manager), lot, "serial\nA\nA\n")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="problems"' in text
    assert "The same meter as in row 2." in text
    assert not lot.meters.exists()


def test_a_refused_plan_names_its_field(center: Center) -> None:
    lot = created(center)
    client = signed_in(center.quality_manager)
    upload(client, lot, METERS)
    page = client.post(
        f"/office/lots/{lot.pk}/plan/", {"sample_size": 11, "acceptance_number": 0, "basis": "x"}
    )
    assert page.status_code == 200
    assert "between 1 and the lot&#x27;s 10 meters" in page.content.decode()


def test_an_auditor_reads_without_the_forms_and_others_are_kept_out(
    center: Center, other_center: Center
) -> None:
    lot = created(center)
    upload(signed_in(center.quality_manager), lot, METERS)
    page = signed_in(center.auditor).get(f"/office/lots/{lot.pk}/").content.decode()
    assert "L-1" in page
    assert 'id="plan-form"' not in page
    assert signed_in(center.auditor).post(f"/office/lots/{lot.pk}/plan/").status_code == 403
    assert signed_in(center.metrologist).get("/office/lots/").status_code == 403
    assert signed_in(other_center.quality_manager).get(f"/office/lots/{lot.pk}/").status_code == 404


def test_the_pages_speak_vietnamese(center: Center) -> None:
    lot = created(center)
    client = signed_in(center.quality_manager)
    client.cookies["django_language"] = "vi"
    upload(client, lot, METERS)
    page = client.get(f"/office/lots/{lot.pk}/").content.decode()
    assert "Kế hoạch lấy mẫu" in page
    assert "Sampling plan" not in page
    assert "Lô phương tiện đo đang sử dụng" in client.get("/office/lots/").content.decode()


def test_the_list_reads_the_same_queries_for_one_lot_or_many(
    center: Center, django_assert_max_num_queries: Any
) -> None:
    lot = created(center)
    upload(signed_in(center.quality_manager), lot, METERS)
    client = signed_in(center.quality_manager)
    client.get("/office/lots/")  # the session and the caches warmed
    with django_assert_max_num_queries(12) as one:
        client.get("/office/lots/")
    for number in ("L-2", "L-3", "L-4"):
        services.create_lot(
            actor=center.quality_manager,
            organization=center.org,
            number=number,
            instrument_type=lot.instrument_type,
            installed_year=2018,
            owner=lot.owner,
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get("/office/lots/")
    assert page.content.decode().count("/office/lots/") >= 4
