"""The session idle timeout and the Content-Security-Policy header (issue 15, point 4).

A signed-in session ends ``CALTRACE_SESSION_IDLE_MINUTES`` (default 30) after the last
request, give or take the renewal interval of one minute, and never before; it is renewed
at most once a minute, not written at every request. Every answer, page or API, carries a
strict policy (the browser proof is tests/labserver/test_browser_csp.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)

pytestmark = pytest.mark.django_db

START = "2026-12-06 08:00:00+00:00"
PAGE = "/work/jobs/"


def signed_in(center: Center) -> Client:
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": center.metrologist.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content[:300]
    return client


def is_signed_in(client: Client) -> bool:
    response = client.get(PAGE)
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    return False


def stored_expiry(client: Client) -> Any:
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Session.objects.get(session_key=key).expire_date


def test_the_default_idle_time_is_thirty_minutes() -> None:
    assert settings.CALTRACE_SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_COOKIE_AGE == 30 * 60 + settings.CALTRACE_SESSION_RENEW_SECONDS
    assert settings.SESSION_SAVE_EVERY_REQUEST is False


def test_a_session_ends_after_the_idle_time_and_not_before(center: Center) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        client = signed_in(center)
        traveller.shift(timedelta(minutes=29))
        assert is_signed_in(client)  # each request keeps the session alive...
        traveller.shift(timedelta(minutes=29))
        assert is_signed_in(client)
        traveller.shift(timedelta(minutes=30))
        assert is_signed_in(client)  # ...up to the full idle time after the last one
        traveller.shift(timedelta(minutes=31, seconds=1))
        assert not is_signed_in(client)


def test_the_idle_time_is_configurable(center: Center, settings: Any) -> None:
    settings.CALTRACE_SESSION_IDLE_MINUTES = 5
    settings.SESSION_COOKIE_AGE = 5 * 60 + settings.CALTRACE_SESSION_RENEW_SECONDS
    with time_machine.travel(START, tick=False) as traveller:
        client = signed_in(center)
        traveller.shift(timedelta(minutes=5))
        assert is_signed_in(client)
        traveller.shift(timedelta(minutes=6, seconds=1))
        assert not is_signed_in(client)


def test_the_session_is_renewed_at_most_once_a_minute(center: Center) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        client = signed_in(center)
        traveller.shift(5)
        is_signed_in(client)
        first = stored_expiry(client)
        traveller.shift(30)
        is_signed_in(client)
        assert stored_expiry(client) == first  # no write within the minute
        traveller.shift(31)
        is_signed_in(client)
        assert stored_expiry(client) > first


def test_anonymous_requests_create_no_session(center: Center) -> None:
    before = Session.objects.count()
    client = Client()
    assert client.get("/open-data/").status_code == 200
    assert client.get("/api/v1/public/certificates/QT1-HC-2026-000404").status_code == 404
    assert Session.objects.count() == before
    assert settings.SESSION_COOKIE_NAME not in client.cookies


# ------------------------------------------------------------------------- CSP


def directives(response: Any) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/open-data/", "/verify/QT1-HC-2026-000404", "/admin/login/"]
)
def test_pages_carry_a_strict_policy(path: str) -> None:
    policy = directives(Client().get(path))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe" not in Client().get(path)["Content-Security-Policy"]


def test_the_api_carries_the_policy_too(center: Center) -> None:
    response = center.client("metrologist").get("/api/v1/jobs/")
    assert response.status_code == 200
    assert directives(response)["default-src"] == "'self'"
    anonymous = Client().get("/api/v1/public/certificates/QT1-HC-2026-000404")
    assert directives(anonymous)["frame-ancestors"] == "'none'"


def test_the_pages_hold_no_inline_script_or_style(center: Center) -> None:
    # What the policy would refuse, looked for in the HTML itself (the browser test sees
    # the rest: style attributes set by markup the server did not write).
    client = signed_in(center)
    for path in ["/", PAGE, "/open-data/", "/standards/register/", "/quality/audit/"]:
        response = client.get(path)
        assert response.status_code in (200, 403), path
        html = response.content.decode()
        assert "<style" not in html, path
        assert " style=" not in html, path
        assert "<script>" not in html, path
