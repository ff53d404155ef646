"""Append-only for real on PostgreSQL (issue 15, point 1): TRUNCATE refused on every
append-only table, audit chain heads that move only by appending, and an application role
that cannot get past either (docs/centers/lims.md, "Two database roles").

The refusals of the triggers are shown as the owner (``as_owner``), whom no privilege stops;
the runtime role's limits through a real login of its own (``DATABASE_URL``'s user, as CI
runs the suite), not the ``SET ROLE`` of the test connection.
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from labserver.core import audit
from labserver.core.models import GENESIS, AuditChain, AuditEntry
from labserver.core.roles import append_only_tables
from tests.support.dbroles import as_owner, runtime_role
from tests.support.deploy import manage, production_env

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="triggers and roles are PostgreSQL's; SQLite relies on the application alone",
    ),
    pytest.mark.django_db,
]
needs_two_roles = pytest.mark.skipif(
    not runtime_role(),
    reason="needs DATABASE_OWNER_URL and a runtime role in DATABASE_URL, as CI sets them",
)

# Every table an `append_only(` call of the migrations protects (core 0002 and 0003, issuance
# 0002 and 0005, measurements 0002 and 0008, traceability 0002 and 0003, customer_requests
# 0001, lots 0001, registry 0001, 0003 and 0005, federation 0001 and 0005).
APPEND_ONLY = [
    "core_auditanchor",
    "core_auditentry",
    "customer_requests_customerrequest",
    "customer_requests_requestevent",
    "customer_requests_requestinstrument",
    "customer_requests_requestjob",
    "federation_arrival",
    "federation_documentcheck",
    "issuance_certificate",
    "issuance_certificateevent",
    "issuance_voidednumber",
    "lots_lot",
    "lots_lotdecision",
    "lots_lotmeter",
    "lots_meterresult",
    "lots_sampledraw",
    "lots_samplingplan",
    "measurements_point",
    "measurements_reading",
    "measurements_runposition",
    "measurements_runsignature",
    "measurements_standardusage",
    "registry_calibrationlinkfact",
    "registry_certificatefact",
    "registry_designationfact",
    "registry_organizationfact",
    "registry_patterndecisionfact",
    "registry_recallnoticefact",
    "registry_reliancefact",
    "registry_signingkeyfact",
    "registry_standardfact",
    "registry_verifiercertificationfact",
    "traceability_affecteditem",
    "traceability_decision",
    "traceability_standardlink",
]


def _partitions() -> list[str]:
    """The partitions of the partitioned append-only tables (the certificate facts' years,
    their default): each protected by the triggers it inherits and its own TRUNCATE one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = ANY(%s::regclass[]) ORDER BY c.relname",
            [APPEND_ONLY],
        )
        return [name for (name,) in cursor.fetchall()]


def test_the_database_knows_every_append_only_table() -> None:
    partitions = _partitions()
    assert "registry_certificatefact_default" in partitions
    assert append_only_tables(connection) == sorted([*APPEND_ONLY, *partitions])


@pytest.mark.parametrize("table", [*APPEND_ONLY, "core_auditchain"])
def test_truncate_is_refused_even_to_the_owner(table: str) -> None:
    # CASCADE so that no foreign key stops it before the trigger does; the trigger of the
    # table named fires first.
    with (
        pytest.raises(DatabaseError, match=rf"TRUNCATE on public\.{table} refused"),
        as_owner(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f'TRUNCATE "{table}" CASCADE')


# -- chain heads ------------------------------------------------------------------------------


@pytest.fixture
def chain() -> AuditChain:
    """The system chain with two entries appended the application's way."""
    with transaction.atomic():
        for n in (1, 2):
            audit.record(
                actor=None, action="probe", object_type="probe", object_id=n, organization_id=None
            )
    return AuditChain.objects.get(key=audit.chain_key(None))


def _append_entry(chain: AuditChain) -> str:
    """An entry appended after the head, as ``audit.record`` does; its hash."""
    content: dict[str, Any] = {
        "chain": chain.key,
        "seq": chain.length + 1,
        "at": datetime.now(UTC),
        "actor": "system",
        "actor_user_id": None,
        "organization_id": None,
        "action": "probe",
        "object_type": "probe",
        "object_id": "x",
        "before": None,
        "after": None,
        "reason": "",
        "prev_hash": chain.head,
    }
    digest = audit.entry_hash(**content)
    AuditEntry.objects.create(**content, hash=digest)
    return digest


def _move(chain_key: str, **fields: object) -> None:
    AuditChain.objects.filter(key=chain_key).update(**fields)


def test_the_head_moves_to_the_entry_appended_after_it(chain: AuditChain) -> None:
    digest = _append_entry(chain)
    with transaction.atomic():
        _move(chain.key, length=chain.length + 1, head=digest)
    assert AuditChain.objects.get(key=chain.key).head == digest


def test_the_head_is_not_pointed_at_another_hash(chain: AuditChain) -> None:
    _append_entry(chain)
    with (
        pytest.raises(DatabaseError, match="is not the hash of entry 3 appended after"),
        transaction.atomic(),
    ):
        _move(chain.key, length=chain.length + 1, head="f" * 64)


def test_the_head_does_not_move_without_an_entry(chain: AuditChain) -> None:
    forged = "e" * 64
    with pytest.raises(DatabaseError, match="is not the hash of entry 3"), transaction.atomic():
        _move(chain.key, length=chain.length + 1, head=forged)


def test_the_head_does_not_move_back(chain: AuditChain) -> None:
    first = AuditEntry.objects.get(chain=chain.key, seq=chain.length - 1)
    with pytest.raises(DatabaseError, match="not from length 2 to 1"), transaction.atomic():
        _move(chain.key, length=chain.length - 1, head=first.hash)


def test_the_head_does_not_jump(chain: AuditChain) -> None:
    _append_entry(chain)
    chain.refresh_from_db()
    with pytest.raises(DatabaseError, match="not from length 2 to 4"), transaction.atomic():
        _move(chain.key, length=chain.length + 2)


def test_the_head_keeps_its_key(chain: AuditChain) -> None:
    with pytest.raises(DatabaseError, match="its key cannot become org:999"), transaction.atomic():
        _move(chain.key, key="org:999")


def test_a_head_is_never_removed_even_by_the_owner(chain: AuditChain) -> None:
    with (
        pytest.raises(DatabaseError, match=r"DELETE on public\.core_auditchain refused"),
        as_owner(),
    ):
        AuditChain.objects.filter(key=chain.key).delete()


def test_a_head_starts_at_the_genesis() -> None:
    with transaction.atomic():
        AuditChain.objects.create(key="org:424242")  # what audit.record does for a new chain
    with pytest.raises(DatabaseError, match="a head starts at the genesis"), transaction.atomic():
        AuditChain.objects.create(key="org:434343", length=5, head="d" * 64)
    assert AuditChain.objects.get(key="org:424242").head == GENESIS


# -- the runtime role -------------------------------------------------------------------------


@needs_two_roles
def test_the_tests_run_as_the_runtime_role() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, pg_has_role(current_user, session_user, 'MEMBER') "
            "FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (runtime_role(), False, False)


def _runtime_url() -> str:
    """``DATABASE_URL`` (the runtime role's own login), on this worker's test database."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path="/" + str(connection.settings_dict["NAME"])).geturl()


@pytest.fixture
def runtime_login() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(_runtime_url(), autocommit=True) as login:
        yield login


def _pk(table: str) -> str:
    """The column the UPDATE sets to itself: the primary key's (the registry's facts are
    keyed by their global key), but a reading's value: its id is generated always, and
    PostgreSQL refuses to set it before it looks at the role's privileges."""
    if table == "measurements_reading":
        return "value"
    return "key" if table.startswith("registry_") else "id"


@needs_two_roles
@pytest.mark.parametrize(
    "statement",
    [
        *(f'TRUNCATE "{table}" CASCADE' for table in APPEND_ONLY),
        *(f'UPDATE "{table}" SET {_pk(table)} = {_pk(table)}' for table in APPEND_ONLY),
        *(f'DELETE FROM "{table}"' for table in APPEND_ONLY),
        "DELETE FROM core_auditchain",
        "TRUNCATE core_auditchain",
        "DROP TRIGGER core_auditentry_append_only ON core_auditentry",
        "DROP TRIGGER core_auditchain_moves ON core_auditchain",
        "ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_append_only",
        "ALTER TABLE core_auditentry DISABLE TRIGGER USER",
        "ALTER TABLE core_auditentry ADD COLUMN sneaky text",
        "DROP TABLE core_auditentry",
        "DROP FUNCTION caltrace_append_only() CASCADE",
        "SET session_replication_role = replica",
        "CREATE TABLE probe (id int)",
    ],
)
def test_the_runtime_role_cannot(
    runtime_login: psycopg.Connection[tuple[object, ...]], statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        runtime_login.execute(statement)


@needs_two_roles
def test_the_runtime_role_owns_nothing_and_reads_and_appends(
    runtime_login: psycopg.Connection[tuple[object, ...]],
) -> None:
    owned = runtime_login.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_has_role(current_user, c.relowner, 'MEMBER')"
    ).fetchone()
    assert owned == (0,)
    with runtime_login.transaction(force_rollback=True):
        runtime_login.execute("SELECT count(*) FROM core_auditentry")
        runtime_login.execute(
            "INSERT INTO core_auditchain (key, length, head) VALUES ('org:515151', 0, %s)",
            [GENESIS],
        )


def _grants() -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s AND table_schema = current_schema()",
            [runtime_role()],
        )
        grants: dict[str, set[str]] = {}
        for table, privilege in cursor.fetchall():
            grants.setdefault(table, set()).add(privilege)
    return grants


@needs_two_roles
def test_grant_runtime_role_is_idempotent_and_undoes_a_wider_grant() -> None:
    after_migrate = _grants()
    assert {after_migrate[table] == {"SELECT", "INSERT"} for table in APPEND_ONLY} == {True}
    assert after_migrate["core_auditchain"] == {"SELECT", "INSERT", "UPDATE"}
    assert after_migrate["jobs_job"] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    out = io.StringIO()
    with as_owner():
        call_command("grant_runtime_role", database="default", stdout=out)
        call_command("grant_runtime_role", database="default", stdout=out)
    assert _grants() == after_migrate
    protected = len(APPEND_ONLY) + len(_partitions())
    assert {after_migrate[table] == {"SELECT", "INSERT"} for table in _partitions()} == {True}
    granted = f"granted to {runtime_role()}: SELECT, INSERT on {protected} append-only"
    assert granted in out.getvalue()
    with as_owner(), connection.cursor() as cursor:
        cursor.execute(f"GRANT UPDATE, TRUNCATE ON issuance_certificate TO {runtime_role()}")
        cursor.execute(f"GRANT DELETE ON core_auditchain TO {runtime_role()}")
    assert _grants()["issuance_certificate"] == {"SELECT", "INSERT", "UPDATE", "TRUNCATE"}
    with as_owner():
        call_command("migrate", verbosity=0)  # migrate grants again at its end
    assert _grants() == after_migrate


@needs_two_roles
def test_grant_runtime_role_refuses_to_grant_to_itself() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="is the role this connection logs in as"):
        call_command("grant_runtime_role", database="default", stdout=io.StringIO())


def _check_deploy(
    tmp_path: Path, database_url: str, owner_url: str | None
) -> subprocess.CompletedProcess[str]:
    env = production_env(tmp_path)
    env.pop("DATABASE_OWNER_URL", None)
    env["DATABASE_URL"] = database_url
    if owner_url:
        env["DATABASE_OWNER_URL"] = owner_url
    return manage("check", "--deploy", "--fail-level", "WARNING", env=env)


def _owner_url() -> str:
    """The URL the test connection logs in with (the owner's), on this worker's database."""
    s = connection.settings_dict
    login = quote(str(s["USER"]), safe="")
    if s.get("PASSWORD"):
        login += ":" + quote(str(s["PASSWORD"]), safe="")
    return f"postgres://{login}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def test_check_deploy_warns_when_the_application_connects_as_the_owner(tmp_path: Path) -> None:
    result = _check_deploy(tmp_path, _owner_url(), None)
    assert result.returncode != 0
    assert "(caltrace.W001)" in result.stderr + result.stdout
    assert f"role {connection.settings_dict['USER']} owns" in result.stderr + result.stdout


@needs_two_roles
def test_check_deploy_is_clean_for_the_runtime_role(tmp_path: Path) -> None:
    result = _check_deploy(tmp_path, _runtime_url(), _owner_url())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
