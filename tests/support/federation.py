"""Nodes of a federation for the tests: clusters of their own, each a migrated caltrace
database, and a center's LIMS in a child process issuing through its own code.

* :func:`migrated_template` — one throw-away cluster (``wal_level = logical``) with the
  production roles and a migrated caltrace database, stopped: :meth:`Cluster.clone` makes
  the nodes from it in a second each (``initdb`` and ``migrate`` are the slow parts, done
  once).
* :class:`NodeLims` — ``python -m tests.support.federation`` with the node's
  ``DATABASE_URL`` (the runtime role) and ``DATABASE_OWNER_URL`` (the superuser): it builds a
  center (:func:`tests.support.lims.make_center`), issues, amends and revokes certificates
  with the DEMO PKI through the LIMS's API and services, and runs management commands
  (``call_command``, as ``manage.py`` does, without a Django start-up each), one JSON line
  per order on its stdin; on order, it serves its LIMS over HTTP on a free loopback port
  (:meth:`NodeLims.serve`: Django's threaded WSGI server, as ``runserver`` runs it).
* :func:`manage` — ``manage.py`` itself against a node, in a process of its own.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.support.clusters import LOGICAL_REPLICATION, Cluster, ClusterError

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "caltrace"
OWNER_ROLE = "caltrace_owner"
RUNTIME_ROLE = "caltrace_app"
SETTINGS = "labserver.settings.dev"


def node_env(
    cluster: Cluster, var: Path, *, owner: str = OWNER_ROLE, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The LIMS's environment on ``cluster``'s database: the runtime role, the owner (or
    ``owner``: the superuser ``postgres`` for the federation commands), its own var/."""
    return {
        **(extra or {}),
        **{k: v for k, v in os.environ.items() if k not in ("CALTRACE_RUNTIME_ROLE",)},
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": cluster.url(RUNTIME_ROLE, DATABASE),
        "DATABASE_OWNER_URL": cluster.url(owner, DATABASE),
        "CALTRACE_VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        "CALTRACE_DEMO_PKI_DIR": str(var / "demo-pki"),
        "CALTRACE_ANCHOR_DIR": str(var / "anchors"),
    }


def manage(
    cluster: Cluster, var: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``manage.py ARGS`` on ``cluster`` as the superuser (the federation commands need one on
    PostgreSQL 15), whatever its exit status."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=node_env(cluster, var, owner="postgres", extra=env),
        capture_output=True,
        text=True,
        timeout=300,
    )


#: Set by the suite's controlling process (tests/conftest.py) to a folder of the run: the
#: first module (in any worker, or a benchmark's process under it) that needs a migrated
#: cluster builds it there, under a lock; the others clone that one (``initdb`` and
#: ``migrate`` cost about 20 s of the suite's two cores each time).
SHARED_TEMPLATE_VARIABLE = "CALTRACE_TEST_CLUSTER_TEMPLATE"


@contextmanager
def migrated_template(bindir: Path, home: Path) -> Iterator[Cluster]:
    """A stopped cluster holding a migrated caltrace database and the production roles, to
    clone (never to start: others clone it too). The run's shared one where the suite set
    :data:`SHARED_TEMPLATE_VARIABLE`, else one of its own in ``home``, killed whatever
    happens."""
    shared = os.environ.get(SHARED_TEMPLATE_VARIABLE, "")
    if shared:
        yield _shared_template(bindir, Path(shared))
        return
    template = Cluster(bindir=bindir, home=home / "template")
    try:
        _build_template(template, home / "template-var")
        yield template
    finally:
        template.kill()


def _build_template(template: Cluster, var: Path) -> None:
    """``initdb``, the roles, the database migrated by ``manage.py migrate``; stopped."""
    template.initdb(LOGICAL_REPLICATION)
    template.start()
    try:
        template.sql(f"CREATE ROLE {OWNER_ROLE} LOGIN")
        template.sql(f"CREATE ROLE {RUNTIME_ROLE} LOGIN")
        template.sql(f"CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}")
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            env=node_env(template, var),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if migrated.returncode != 0:
            raise ClusterError(
                f"migrate failed:\n{migrated.stdout[-3000:]}{migrated.stderr[-3000:]}"
            )
        template.stop()
    finally:
        template.kill()


def _shared_template(bindir: Path, folder: Path) -> Cluster:
    """The run's template in ``folder``: built by the first caller, which holds an exclusive
    lock on ``folder/lock`` meanwhile (the others wait on it, then find it ready). A build
    that failed leaves no ``ready`` mark, so the next caller tries again and reports its own
    failure."""
    folder.mkdir(parents=True, exist_ok=True)
    template = Cluster(bindir=bindir, home=folder / "template")
    ready = folder / "ready"
    with (folder / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not ready.exists():
                if template.home.exists():  # a failed build's remains
                    shutil.rmtree(template.home)
                _build_template(template, folder / "template-var")
                ready.write_text(str(template.port), encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    template.port = int(ready.read_text(encoding="utf-8"))
    return template


@dataclass(frozen=True)
class Done:
    """A management command's outcome, as a process's: exit status, stdout, stderr."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


class NodeLims:
    """A node's LIMS in a child process on its database (see the module's doc), with the
    superuser ``postgres`` as its owner connection: on PostgreSQL 15 the federation
    commands need one."""

    def __init__(self, cluster: Cluster, var: Path, env: dict[str, str]) -> None:
        self.code = f"the node of port {cluster.port}"
        self.pending: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.federation"],
            cwd=ROOT,
            env=node_env(cluster, var, owner="postgres", extra=env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def build_center(self, code: str) -> None:
        """Order the center ``code`` built on this node (its organization, people, customer,
        instrument, standard, bench and first job: :func:`tests.support.lims.make_center`);
        the next order waits for it, so two nodes build theirs at once."""
        self.code = code
        self._send("center", code=code)
        self.pending.append("center")

    def manage(self, *args: str) -> Done:
        """``manage.py ARGS`` run inside the child (Django's ``call_command``)."""
        returncode, stdout, stderr = self.ask("manage", args=list(args))
        return Done(list(args), returncode, stdout, stderr)

    def ask(self, order: str, **arguments: Any) -> Any:
        """Send ``order``, wait for its answer (after those of the orders still pending)."""
        while self.pending:
            self._receive(self.pending.pop(0))
        self._send(order, **arguments)
        return self._receive(order)

    def _send(self, order: str, **arguments: Any) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps({"order": order, **arguments}) + "\n")
        stdin.flush()

    def _receive(self, order: str) -> Any:
        stdout = self.process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            raise ClusterError(f"the LIMS of {self.code} ended: {self._stderr()}")
        answer = json.loads(line)
        if "error" in answer:
            raise ClusterError(f"the LIMS of {self.code}, {order}: {answer['error']}")
        return answer["answer"]

    def issue(self) -> str:
        """A certificate issued: its number."""
        number: str = self.ask("issue")
        return number

    def amend(self, number: str) -> str:
        """``number`` amended: the new certificate's number."""
        replacement: str = self.ask("amend", number=number)
        return replacement

    def personal(self) -> list[str]:
        """The customer's name and address, the people's names, as in the center's database."""
        values: list[str] = self.ask("personal")
        return values

    def revoke(self, number: str) -> None:
        self.ask("revoke", number=number)

    def pdf(self, number: str) -> str:
        """Where the signed PDF of certificate ``number`` is stored (on this node)."""
        path: str = self.ask("pdf", number=number)
        return path

    def public(self, number: str) -> Any:
        """What this node's public lookup answers for ``number`` (None: not found)."""
        return self.ask("public", number=number)

    def check(self, path: str) -> Any:
        """This node's verdict on the file at ``path`` (the public check of an upload)."""
        return self.ask("check", path=path)

    def directorate(self, code: str) -> None:
        """The directorate ``code`` made on this node, with its administrator."""
        self.ask("directorate", code=code)

    def register(self, service: str, **decision: Any) -> str:
        """``service`` of :mod:`labserver.accounts.registers` called by the directorate's
        administrator with ``decision`` (dates as ISO text): the fact's key."""
        key: str = self.ask("register", service=service, decision=decision)
        return key

    def serve(self) -> str:
        """Serve this node's LIMS over HTTP on a free loopback port, in the child, until it
        ends: the base URL."""
        url: str = self.ask("serve")
        return url

    def standard(self) -> str:
        """The asset id of the center's reference standard (its calibrator)."""
        asset: str = self.ask("standard")
        return asset

    def out_of_tolerance(self, since: str) -> str:
        """The center's standard found out of tolerance since ``since`` (ISO), its
        nonconformity opened by its quality manager: the nonconformity's number."""
        number: str = self.ask("out_of_tolerance", since=since)
        return number

    def calibrated_by(
        self, owner: str, standard: str, upstream_certificate: str, certificate: str, on: str
    ) -> None:
        """The center's standard calibrated on ``on`` (ISO) by another center's ``standard``
        (in force under its ``upstream_certificate``), recorded by the center's quality
        manager as the certificate ``certificate`` of its standard."""
        self.ask(
            "calibrated_by",
            owner=owner,
            standard=standard,
            upstream_certificate=upstream_certificate,
            certificate=certificate,
            on=on,
        )

    def enforce(self, card: str) -> None:
        """Enforce the national registers on this center, its verifier holding ``card``."""
        self.ask("enforce", card=card)

    def _stderr(self) -> str:
        stderr: IO[str] | None = self.process.stderr
        return stderr.read()[-3000:] if stderr is not None else ""

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@dataclass
class _Child:
    """The child's side: the center it built, kept between orders."""

    center: Any = None
    issued: int = 0
    registrar: Any = None
    """The directorate's administrator, on the national node."""


def _obey(child: _Child, order: dict[str, Any]) -> Any:
    from django.db import connections

    from labserver.issuance.models import Certificate
    from labserver.issuance.services import amend_certificate, revoke_certificate
    from tests.support.issuing import issued
    from tests.support.lims import (
        PASSWORD,
        make_center,
        make_dmm,
        make_procedure,
        next_job,
        with_serial,
    )

    connections.close_all()  # the node may have been restarted since the last order
    if order["order"] == "manage":
        return _call(order["args"])
    if order["order"] == "public":
        from labserver.issuance.national import registered_public
        from labserver.issuance.public import public_certificate

        # as the public lookup's view answers: its own certificate, else its registry's
        return public_certificate(order["number"]) or registered_public(order["number"])
    if order["order"] == "check":
        from pathlib import Path

        from labserver.issuance.verification import verify_upload

        return verify_upload(Path(order["path"]).read_bytes()).as_json()
    if order["order"] == "pdf":
        return Certificate.objects.get(number=order["number"]).pdf.path
    if order["order"] == "directorate":
        child.registrar = _make_directorate(order["code"])
        return None
    if order["order"] == "register":
        return _register(child.registrar, order["service"], order["decision"])
    if order["order"] == "enforce":
        return _enforce(child.center, order["card"])
    if order["order"] == "serve":
        return _serve()
    if order["order"] == "center":
        child.center = make_center(order["code"], make_dmm(), make_procedure())
        with_serial(child.center)  # the customer's address, among others
        return _make_personal(child.center)
    center = child.center
    if order["order"] == "personal":
        return _personal(center)
    if order["order"] == "standard":
        return center.standard.asset_id
    if order["order"] == "out_of_tolerance":
        return _out_of_tolerance(center, order["since"])
    if order["order"] == "calibrated_by":
        return _calibrated_by(center, order)
    if order["order"] == "issue":
        if child.issued:
            next_job(center)  # a job takes one run to its certificate
        child.issued += 1
        return issued(center).number
    certificate = Certificate.objects.get(number=order["number"])
    if order["order"] == "amend":
        return amend_certificate(
            actor=center.signatory, certificate=certificate, password=PASSWORD, reason="typo"
        ).number
    if order["order"] == "revoke":
        revoke_certificate(
            actor=center.signatory,
            certificate=certificate,
            password=PASSWORD,
            reason="the instrument was not the customer's",
        )
        return None
    raise ValueError(f"unknown order {order['order']!r}")


def _make_personal(center: Any) -> None:
    """The center's records made personal as a real one's are: its customer's name and its
    people's names (which, with the customer's address, must never leave the node)."""
    from labserver.accounts.models import Organization, User

    code = center.org.code
    Organization.objects.filter(pk=center.instrument.owner_id).update(
        name=f"Công ty Cấp nước Riêng Tư {code}"
    )
    for role in PEOPLE:
        user = getattr(center, role)
        User.objects.filter(pk=user.pk).update(full_name=f"Nguyễn Văn Bí Mật {role} {code}")


def _make_directorate(code: str) -> Any:
    """The national node's directorate and its administrator, who enters the registers."""
    from labserver.accounts import services as accounts
    from tests.support.lims import person

    directorate = accounts.create_organization(
        actor=None, code=code, name=f"Directorate {code}", kind="directorate"
    )
    return person(directorate, f"{code.lower()}-admin", "administrator")


def _register(registrar: Any, service: str, decision: dict[str, Any]) -> str:
    """A decision entered in the national registers by ``registrar``: its fact's key."""
    from datetime import date

    from labserver.accounts import registers

    days = {k: date.fromisoformat(v) for k, v in decision.items() if k.endswith(("_on", "_from"))}
    if decision.get("valid_until"):
        days["valid_until"] = date.fromisoformat(decision["valid_until"])
    key: str = getattr(registers, service)(actor=registrar, **{**decision, **days}).key
    return key


def _out_of_tolerance(center: Any, since: str) -> str:
    """The center's standard found out of tolerance: its nonconformity, opened as its
    quality manager opens one (which registers the out-of-tolerance fact)."""
    from datetime import date

    from django.utils import timezone

    from labserver.nonconformities.services import open_nonconformity

    return open_nonconformity(
        actor=center.quality_manager,
        standard=center.standard,
        out_of_tolerance_since=date.fromisoformat(since),
        found_on=timezone.localdate(),
        description="as-found error beyond its specification at its calibration",
    ).number


def _calibrated_by(center: Any, order: dict[str, Any]) -> None:
    """The center's standard calibrated by another node's standard, recorded as a center
    records it: its quality manager records the certificate, naming the upstream standard of
    the other organization (which writes the registry's link fact with it)."""
    from datetime import date, timedelta

    from labserver.standards.services import StandardElsewhere, record_certificate
    from tests.support.lims import calibrator_values

    on = date.fromisoformat(order["on"])
    record_certificate(
        actor=center.quality_manager,
        standard=center.standard,
        number=order["certificate"],
        issuing_lab=order["owner"],
        calibrated_on=on,
        issued_on=on,
        due_on=on + timedelta(days=365),
        values=calibrator_values(),
        calibrated_with=StandardElsewhere(
            order["owner"], order["standard"], order["upstream_certificate"]
        ),
    )


def _enforce(center: Any, card: str) -> None:
    """The center enforcing the national registers (an operator sets
    CALTRACE_NATIONAL_REGISTERS and restarts; the child sets it in place), its verifier
    holding verifier's card ``card``."""
    from django.conf import settings

    from labserver.accounts.models import Membership, Role

    Membership.objects.filter(user=center.metrologist, role=Role.METROLOGIST).update(
        certificate_number=card
    )
    settings.CALTRACE_NATIONAL_REGISTERS = True


def _serve() -> str:
    """The node's LIMS on Django's threaded WSGI server, on a free loopback port, in a
    thread of the child: its base URL. Its request log is dropped (nobody reads the child's
    stderr until it ends: a full pipe would stop the server)."""
    import threading

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _call(args: list[str]) -> tuple[int, str, str]:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as error:  # what manage.py prints and exits with
        err.write(f"CommandError: {error}\n")
        return error.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


PEOPLE = ("metrologist", "reviewer", "signatory", "quality_manager", "auditor")


def _personal(center: Any) -> list[str]:
    """The personal values of the center as its database holds them now."""
    from labserver.accounts.models import Organization, User

    customer = Organization.objects.get(pk=center.instrument.owner_id)
    names = User.objects.filter(pk__in=[getattr(center, r).pk for r in PEOPLE])
    return [customer.name, customer.address, *names.values_list("full_name", flat=True)]


def main() -> int:
    """The child: one JSON order a line on stdin, one JSON answer a line on stdout."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    django.setup()
    child = _Child()
    for line in sys.stdin:
        try:
            answer = {"answer": _obey(child, json.loads(line))}
        except Exception as error:  # the parent reports it, with the order
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
