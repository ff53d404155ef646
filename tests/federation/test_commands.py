"""``manage.py federation``'s refusals that need no cluster of their own: bad input named
before anything is created, and the password never shown."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from labserver.federation.replication import shown

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="federation is PostgreSQL's logical replication"
)


@on_postgresql
def test_a_subscription_is_named_like_a_postgresql_identifier() -> None:
    with pytest.raises(CommandError) as refused:
        call_command("federation", "subscribe", "Center-HN", "--conninfo", "host=127.0.0.1")
    assert "subscription 'Center-HN': use lower-case letters, digits and _" in str(refused.value)


@on_postgresql
def test_an_issuer_is_an_organization_code() -> None:
    with pytest.raises(CommandError) as refused:
        call_command("federation", "publish", "--issuer", "QT1' OR true --")
    assert '--issuer "QT1\' OR true --": not an organization code' in str(refused.value)


@on_postgresql
def test_a_connection_libpq_cannot_read_is_named() -> None:
    with pytest.raises(CommandError) as refused:
        call_command("federation", "subscribe", "center_hn", "--conninfo", "host=a port")
    assert "--conninfo: libpq cannot read it" in str(refused.value)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite fallback's refusal")
def test_sqlite_has_no_replication() -> None:
    with pytest.raises(CommandError, match="sqlite has no logical replication"):
        call_command("federation", "status")


def test_the_password_is_never_shown() -> None:
    said = shown("host=center.example.vn user=caltrace_federation password=s3cret dbname=caltrace")
    assert "s3cret" not in said
    assert "host=center.example.vn" in said
    assert "user=caltrace_federation" in said
