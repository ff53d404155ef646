"""Per-address limits on every anonymous endpoint and page, and on refused API tokens
(issue 15, points 3 and 4): 429 with ``Retry-After`` and the limit named, counted per
client address in the shared database cache, with ``X-Forwarded-For`` believed only from
a configured proxy.

The suite's settings turn every limit off; each test here sets the rates it exercises
(read at each request, so ``settings`` takes effect at once).
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from rest_framework.test import APIClient

from labserver.accounts import services as accounts
from labserver.core.throttles import client_address
from labserver.settings.base import env_networks, env_rate
from tests.support.dbroles import as_owner
from tests.support.lims import Center

pytestmark = pytest.mark.django_db

A = "192.0.2.10"
B = "198.51.100.20"
PDF = b"%PDF-1.7\n% not one of ours\n%%EOF\n"


@pytest.fixture
def rates(settings: Any) -> dict[str, str | None]:
    """Every limit off; a test turns on the one it tests."""
    settings.CALTRACE_THROTTLE_RATES = dict.fromkeys(django_settings.CALTRACE_THROTTLE_RATES)
    settings.CALTRACE_TRUSTED_PROXIES = []
    rates: dict[str, str | None] = settings.CALTRACE_THROTTLE_RATES
    return rates


def verify(client: APIClient, address: str = A, **extra: Any) -> Any:
    handle = io.BytesIO(PDF)
    handle.name = "certificate.pdf"
    return client.post(
        "/api/v1/verify", {"file": handle}, format="multipart", REMOTE_ADDR=address, **extra
    )


def assert_limited(response: Any, scope: str, rate: str) -> None:
    """429, a whole number of seconds to wait, and our error body naming the limit."""
    assert response.status_code == 429, response.content[:300]
    wait = int(response["Retry-After"])
    assert wait >= 1
    body = response.json()
    assert body["code"] == "throttled"
    assert body["field"] is None
    assert f"'{scope}'" in body["detail"], body["detail"]
    assert rate in body["detail"], body["detail"]


# ------------------------------------------------------------------------- the cache


def test_the_shared_cache_is_a_table_that_migrate_created() -> None:
    assert caches["default"].__class__.__name__ == "DatabaseCache"
    assert django_settings.CACHES["default"]["LOCATION"] == "caltrace_cache"
    assert "caltrace_cache" in connection.introspection.table_names()
    caches["default"].set("probe", [1.5, 2.5], 60)
    assert caches["default"].get("probe") == [1.5, 2.5]


@pytest.mark.django_db(transaction=True)
def test_migrate_makes_the_cache_table_and_unmaking_the_migration_drops_it() -> None:
    # The test database's own createcachetable would hide a migration that does nothing:
    # go back before it, then forward again (every app: later migrations of other apps
    # depend on core's), as the owner that migrates (tests/dbroles).
    with as_owner():
        call_command("migrate", "core", "0003_audit_anchor", verbosity=0)
        assert "caltrace_cache" not in connection.introspection.table_names()
        call_command("migrate", verbosity=0)
        assert "caltrace_cache" in connection.introspection.table_names()


def test_redis_is_used_when_configured_and_refused_without_its_package() -> None:
    # The settings are read in a fresh interpreter, as a worker reads them at start.
    env = {**os.environ, "CALTRACE_REDIS_URL": "redis://127.0.0.1:6379/0"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import labserver.settings.base as s; print(s.CACHES['default']['BACKEND'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    if importlib.util.find_spec("redis") is None:
        assert result.returncode != 0
        assert "CALTRACE_REDIS_URL is set but the Python package 'redis'" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "django.core.cache.backends.redis.RedisCache"


# ------------------------------------------------------------------------- API


def test_verify_uploads_are_limited_per_minute_per_address(rates: dict[str, Any]) -> None:
    rates["verify"] = "3/minute"
    client = APIClient()
    assert [verify(client).status_code for _ in range(3)] == [200, 200, 200]
    refused = verify(client)
    assert_limited(refused, "verify", "3 requests per minute")
    assert int(refused["Retry-After"]) <= 60
    # Another address is not affected.
    assert verify(client, address=B).status_code == 200


def test_verify_uploads_are_limited_per_day_too(rates: dict[str, Any]) -> None:
    rates["verify"] = "100/minute"
    rates["verify_daily"] = "2/day"
    client = APIClient()
    assert [verify(client).status_code for _ in range(2)] == [200, 200]
    refused = verify(client)
    assert_limited(refused, "verify_daily", "2 requests per day")
    assert int(refused["Retry-After"]) > 60  # the day's window, not the minute's


def test_the_limit_is_shared_by_separate_clients_through_the_database_cache(
    rates: dict[str, Any],
) -> None:
    # Two clients, as two workers would be: they share nothing but the cache table.
    rates["verify"] = "2/minute"
    assert verify(APIClient()).status_code == 200
    assert verify(APIClient()).status_code == 200
    assert verify(APIClient()).status_code == 429
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM caltrace_cache WHERE cache_key LIKE %s", ["%verify%"])
        assert cursor.fetchone()[0] == 1


def test_the_window_slides_requests_are_accepted_again_after_it(rates: dict[str, Any]) -> None:
    rates["verify"] = "2/minute"
    client = APIClient()
    with time_machine.travel("2026-12-06 08:00:00+00:00", tick=False) as traveller:
        verify(client)
        verify(client)
        refused = verify(client)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "60"
        traveller.shift(30)
        assert verify(client)["Retry-After"] == "30"
        traveller.shift(31)
        assert verify(client).status_code == 200


def test_public_lookups_are_limited_whether_the_number_exists_or_not(
    rates: dict[str, Any],
) -> None:
    rates["lookup"] = "2/minute"
    client = APIClient()
    path = "/api/v1/public/certificates/QT1-HC-2026-000404"
    assert [client.get(path, REMOTE_ADDR=A).status_code for _ in range(2)] == [404, 404]
    assert_limited(client.get(path, REMOTE_ADDR=A), "lookup", "2 requests per minute")
    assert client.get(path, REMOTE_ADDR=B).status_code == 404


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_its_documentation_page_are_limited(
    rates: dict[str, Any], path: str
) -> None:
    # Generating the schema costs far more than a look-up: anyone may read it, not at will.
    rates["lookup"] = "1/minute"
    client = APIClient()
    assert client.get(path, REMOTE_ADDR=A).status_code == 200
    refused = client.get(path, REMOTE_ADDR=A)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    if path == "/api/schema/":  # our error body, JSON as every error of the API
        assert refused.json()["code"] == "throttled"
        assert "'lookup'" in refused.json()["detail"]


def test_signed_in_endpoints_are_not_throttled(rates: dict[str, Any], center: Center) -> None:
    for scope in rates:
        rates[scope] = "1/minute"
    client = center.client("metrologist")
    assert {client.get("/api/v1/jobs/", REMOTE_ADDR=A).status_code for _ in range(5)} == {200}


# ------------------------------------------------------------------------- pages


def test_the_verification_page_is_limited_with_a_page_in_the_visitors_language(
    rates: dict[str, Any],
) -> None:
    rates["lookup"] = "1/minute"
    client = APIClient()
    path = "/verify/QT1-HC-2026-000404"
    assert client.get(path, REMOTE_ADDR=A).status_code == 404
    english = client.get(path, REMOTE_ADDR=A, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 429
    assert 1 <= int(english["Retry-After"]) <= 60
    assert "Too many requests came from your address" in english.content.decode()
    assert "1 per minute" in english.content.decode()
    vietnamese = client.get(path, REMOTE_ADDR=A, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Quá nhiều yêu cầu" in vietnamese
    assert "1 mỗi phút" in vietnamese
    assert client.get(path, REMOTE_ADDR=B).status_code == 404


def test_the_file_check_of_the_verification_page_counts_against_the_upload_limit(
    rates: dict[str, Any],
) -> None:
    rates["verify"] = "1/minute"
    client = APIClient()
    path = "/verify/QT1-HC-2026-000404"
    # GETs do not count against the upload limit...
    assert {client.get(path, REMOTE_ADDR=A).status_code for _ in range(3)} == {404}
    # ...uploads do, on the page and through the API alike.
    assert verify(client).status_code == 200
    refused = client.post(path, {"file": io.BytesIO(PDF)}, REMOTE_ADDR=A)
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/open-data/",
        "/open-data/datasets.json",
        "/open-data/verification-results.csv",
        "/open-data/verification-results.json",
        "/standards/register/",
    ],
)
def test_the_open_data_pages_are_limited(rates: dict[str, Any], path: str) -> None:
    rates["open_data"] = "2/minute"
    client = APIClient()
    assert [client.get(path, REMOTE_ADDR=A).status_code for _ in range(2)] == [200, 200]
    refused = client.get(path, REMOTE_ADDR=A)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert client.get(path, REMOTE_ADDR=B).status_code == 200


# ------------------------------------------------------------------------- client address


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(rates: dict[str, Any]) -> None:
    rates["verify"] = "2/minute"
    client = APIClient()
    # A client inventing a fresh address per request is still counted by its connection.
    for n in range(2):
        assert verify(client, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code == 200
    assert verify(client, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(
    rates: dict[str, Any], settings: Any
) -> None:
    settings.CALTRACE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    rates["verify"] = "1/minute"
    client = APIClient()
    proxy = "10.0.0.2"
    # Two clients behind our proxy are counted apart...
    assert verify(client, address=proxy, HTTP_X_FORWARDED_FOR=A).status_code == 200
    assert verify(client, address=proxy, HTTP_X_FORWARDED_FOR=B).status_code == 200
    # ...and a spoofed left-most hop does not make a new client of A.
    spoofed = verify(client, address=proxy, HTTP_X_FORWARDED_FOR=f"203.0.113.7, {A}, 10.0.0.9")
    assert spoofed.status_code == 429


def test_client_address_rules(settings: Any) -> None:
    factory = RequestFactory()

    def address(remote: str, forwarded: str | None = None) -> str:
        request = factory.get("/")
        request.META["REMOTE_ADDR"] = remote
        if forwarded is not None:
            request.META["HTTP_X_FORWARDED_FOR"] = forwarded
        return client_address(request)

    settings.CALTRACE_TRUSTED_PROXIES = []
    assert address(A, B) == A
    # IPv6 by the /64 one subscriber holds; IPv4-mapped as IPv4.
    assert address("2001:db8:1:2::17") == address("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert address("2001:db8:1:3::17") != address("2001:db8:1:2::17")
    assert address("::ffff:192.0.2.10") == A
    settings.CALTRACE_TRUSTED_PROXIES = ["10.0.0.1", "fd00::/8"]
    assert address("10.0.0.1", f"{B}, {A}") == A
    assert address("fd00::1", f"{A}, 10.0.0.1") == A
    assert address(B, A) == B  # the peer is not our proxy: its header proves nothing
    assert address("10.0.0.1", "10.0.0.1") == "10.0.0.1"  # from inside
    assert address("10.0.0.1") == "10.0.0.1"
    # A hop that is not an address counts against the proxy, never as a fresh client.
    assert address("10.0.0.1", "x" * 300) == "10.0.0.1"


def test_check_deploy_warns_behind_a_proxy_with_no_proxy_named(settings: Any) -> None:
    from django.core.checks import run_checks

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CALTRACE_TRUSTED_PROXIES = []
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert "caltrace.W301" in ids
    settings.CALTRACE_TRUSTED_PROXIES = ["10.0.0.2"]
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert "caltrace.W301" not in ids


# ------------------------------------------------------------------------- tokens


def test_token_guessing_from_one_address_is_throttled(
    rates: dict[str, Any], center: Center
) -> None:
    rates["token_failure"] = "3/minute"
    good = accounts.issue_api_token(actor=None, user=center.metrologist)
    guesser = APIClient()
    for n in range(3):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token ctu_guess{n}")
        assert guesser.get("/api/v1/me/", REMOTE_ADDR=A).status_code == 401
    guesser.credentials(HTTP_AUTHORIZATION="Token cta_guess4")
    assert_limited(guesser.get("/api/v1/me/", REMOTE_ADDR=A), "token_failure", "3 requests")
    # Past the limit even the right token is not looked up from that address...
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {good}")
    assert guesser.get("/api/v1/me/", REMOTE_ADDR=A).status_code == 429
    # ...while from another address it works.
    assert guesser.get("/api/v1/me/", REMOTE_ADDR=B).status_code == 200
    # The failures are counted in the shared cache.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM caltrace_cache WHERE cache_key LIKE %s", ["%token%"])
        assert cursor.fetchone()[0] == 1


def test_accepted_tokens_do_not_count(rates: dict[str, Any], center: Center) -> None:
    rates["token_failure"] = "1/minute"
    client = center.client("metrologist")
    assert {client.get("/api/v1/me/", REMOTE_ADDR=A).status_code for _ in range(5)} == {200}
    agent = center.agent_client()
    assert agent.get("/api/v1/jobs/", REMOTE_ADDR=A).status_code == 200


# ------------------------------------------------------------------------- settings


def test_the_default_rates_are_the_documented_ones() -> None:
    # docs/centers/security.md gives these values and the reasons for them; the suite's
    # settings turn them off, the deployed ones are base.py's.
    from labserver.settings import base

    if not any(name.startswith("CALTRACE_THROTTLE_") for name in os.environ):
        assert base.CALTRACE_THROTTLE_RATES == {
            "verify": "10/minute",
            "verify_daily": "100/day",
            "lookup": "60/minute",
            "open_data": "30/minute",
            "token_failure": "20/minute",
            "registry_documents": "300/minute",
        }
    assert base.CALTRACE_TRUSTED_PROXIES == [] or "CALTRACE_TRUSTED_PROXIES" in os.environ


def test_rates_from_the_environment_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALTRACE_THROTTLE_VERIFY", "20/hour")
    assert env_rate("CALTRACE_THROTTLE_VERIFY", "10/minute") == "20/hour"
    monkeypatch.setenv("CALTRACE_THROTTLE_VERIFY", "off")
    assert env_rate("CALTRACE_THROTTLE_VERIFY", "10/minute") is None
    monkeypatch.setenv("CALTRACE_THROTTLE_VERIFY", "ten per minute")
    with pytest.raises(ImproperlyConfigured, match="CALTRACE_THROTTLE_VERIFY"):
        env_rate("CALTRACE_THROTTLE_VERIFY", "10/minute")
    monkeypatch.setenv("CALTRACE_TRUSTED_PROXIES", "10.0.0.1, proxy.local")
    with pytest.raises(ImproperlyConfigured, match=r"CALTRACE_TRUSTED_PROXIES: 'proxy\.local'"):
        env_networks("CALTRACE_TRUSTED_PROXIES")
