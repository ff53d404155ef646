"""The page framework: sign-in, the role rule every page states, the language switch,
and the translation catalogues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib  # type: ignore[import-untyped]
import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from labserver.web.access import page_for
from tests.support.browser import Page
from tests.support.lims import PASSWORD, Center

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def signed_in(user_name: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user_name, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_the_home_page_is_open_to_everyone_and_offers_the_sign_in() -> None:
    page = Client().get("/").content.decode()
    assert 'href="/accounts/login/"' in page
    assert "/verify/" in page


def test_a_wrong_password_is_refused_and_says_so(center: Center) -> None:
    response = Client().post(
        "/accounts/login/", {"username": center.reviewer.username, "password": "wrong"}
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_signed_in_the_home_page_lists_the_person_s_roles(center: Center) -> None:
    page = signed_in(center.signatory.username).get("/").content.decode()
    assert "Signatory" in page
    assert center.signatory.full_name in page


@page_for("quality_manager")
def _for_quality_managers(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the page")


def test_a_page_for_a_role_lets_in_only_that_role(center: Center) -> None:
    factory = RequestFactory()

    request = factory.get("/somewhere/")
    request.user = AnonymousUser()
    response = _for_quality_managers(request)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/somewhere/")

    request = factory.get("/somewhere/")
    request.user = center.metrologist
    refused = _for_quality_managers(request)
    assert isinstance(refused, HttpResponse)
    assert refused.status_code == 403
    assert "Quality manager" in refused.content.decode()

    request = factory.get("/somewhere/")
    request.user = center.quality_manager
    allowed = _for_quality_managers(request)
    assert isinstance(allowed, HttpResponse)
    assert allowed.content == b"the page"


def test_the_language_switch_serves_the_pages_in_vietnamese(center: Center) -> None:
    client = signed_in(center.signatory.username)
    response = client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert '<html lang="vi">' in page
    assert "Đăng xuất" in page  # Sign out
    assert "Người ký duyệt" in page  # the role, Signatory
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Sign out" in client.get("/").content.decode()


@pytest.mark.parametrize(
    "catalogue",
    sorted(ROOT.glob("labserver/*/locale/vi/LC_MESSAGES/django.po")),
    ids=lambda p: p.parts[-5],
)
def test_every_message_is_translated_and_compiled(catalogue: Path) -> None:
    po = polib.pofile(str(catalogue))
    untranslated = [
        e.msgid
        for e in po
        if not e.obsolete
        and (not all(e.msgstr_plural.values()) if e.msgid_plural else not e.msgstr)
    ]
    fuzzy = [e.msgid for e in po if "fuzzy" in e.flags]
    assert (untranslated, fuzzy) == ([], []), catalogue
    compiled = polib.mofile(str(catalogue.with_suffix(".mo")))

    def text(entry: Any) -> Any:
        if entry.msgid_plural:
            return tuple(entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural))
        return entry.msgstr

    wanted = {e.msgid: text(e) for e in po if not e.obsolete}
    have = {e.msgid: text(e) for e in compiled if e.msgid}
    assert have == wanted, f"{catalogue.with_suffix('.mo')} is stale: run make messages"


# --------------------------------------------------------------------------- in a browser

browser = pytest.mark.django_db(transaction=True)


@browser
@pytest.mark.parametrize(
    "role", ["metrologist", "reviewer", "signatory", "quality_manager", "auditor"]
)
def test_each_role_signs_in_and_sees_its_role(center: Center, page: Page, role: str) -> None:
    user = getattr(center, role)
    page.open("/accounts/login/")
    page.find("#id_username").send_keys(user.username)
    page.find("#id_password").send_keys(PASSWORD)
    page.click_and_wait("form.stack button[type=submit]")
    roles = page.text("#roles")
    expected = {
        "metrologist": "Metrologist / verifier",
        "reviewer": "Reviewer",
        "signatory": "Signatory",
        "quality_manager": "Quality manager",
        "auditor": "Auditor",
    }[role]
    assert expected in roles
    page.screenshot(f"home-{role}")


@browser
def test_the_language_switch_in_the_browser(center: Center, page: Page) -> None:
    page.open("/accounts/login/")
    assert page.text("h1") == "Sign in"
    from selenium.webdriver.support.select import Select

    Select(page.find("#language")).select_by_value("vi")
    page.click_and_wait("form.lang button[type=submit]")
    assert page.text("h1") == "Đăng nhập"
    assert page.driver.find_element("css selector", "html").get_attribute("lang") == "vi"
    page.screenshot("login-vi")
    Select(page.find("#language")).select_by_value("en")
    page.click_and_wait("form.lang button[type=submit]")
    assert page.text("h1") == "Sign in"
