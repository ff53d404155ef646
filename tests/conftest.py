"""The test databases are made by the owner and used by the runtime role (tests/support/dbroles)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.ingest import MIGRATED_SQLITE_VARIABLE
from tests.support.dbroles import act_as_runtime
from tests.support.federation import SHARED_TEMPLATE_VARIABLE

_BUILDER = pytest.StashKey[subprocess.Popen[bytes]]()
_CLUSTER_TEMPLATE = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's set-up (each worker's database created and migrated by the owner,
    the grants applied at the end of migrate), then every connection as the runtime role
    until the session ends; the owner again for pytest-django to drop the database."""
    with django_db_blocker.unblock():
        act_as_runtime(True)
    yield
    with django_db_blocker.unblock():
        act_as_runtime(False)


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """Each test starts in the deployment's default language: a request in Vietnamese
    leaves Vietnamese active in its thread (Django's locale middleware activates a language
    per request and never deactivates it), which would otherwise reach the next test."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


# A child of pytest-xdist's controlling process that migrates the run's template database
# while the workers collect the tests. argv: the run's id.
BUILD_TEMPLATE = (
    "import sys, django\n"
    "django.setup()\n"
    "from tests.support.dbroles.base import build_template\n"
    "build_template(sys.argv[1])\n"
)


def _template_wanted(config: pytest.Config) -> bool:
    """pytest-xdist's controlling process, with workers, on PostgreSQL as the two roles."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return False
    from django.conf import settings

    return bool(settings.DATABASES["default"]["ENGINE"] == "tests.support.dbroles")


def _is_controller(config: pytest.Config) -> bool:
    """pytest's own process: the one process of a run without workers, or pytest-xdist's
    controlling process."""
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """A folder of the run for the migrated cluster the multi-cluster tests clone
    (tests/support/federation.py: built by the first that needs it, in any worker); then
    start migrating the workers' template database now (tests/support/dbroles/base.py): the
    run's id chosen here is the one pytest-xdist gives its workers."""
    if _is_controller(config) and SHARED_TEMPLATE_VARIABLE not in os.environ:
        folder = tempfile.mkdtemp(prefix="caltrace-cluster-template-")
        Path(folder).chmod(0o755)  # the server's OS user reaches its cluster through it
        os.environ[SHARED_TEMPLATE_VARIABLE] = folder  # the workers inherit it
        # and the benchmarks' smoke tests on SQLite share one migrated database
        os.environ[MIGRATED_SQLITE_VARIABLE] = str(Path(folder) / "sqlite")
        config.stash[_CLUSTER_TEMPLATE] = Path(folder)
    if not _template_wanted(config):
        return
    config.option.testrunuid = config.option.testrunuid or uuid.uuid4().hex
    builder = subprocess.Popen(
        [sys.executable, "-c", BUILD_TEMPLATE, config.option.testrunuid],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "labserver.settings.test"},
    )
    config.stash[_BUILDER] = builder


def pytest_sessionfinish(session: pytest.Session) -> None:
    """pytest's own process, the tests done: remove the run's cluster template (stopped by
    whoever built it); with pytest-xdist, drop the template the workers' databases were
    cloned from."""
    folder = session.config.stash.get(_CLUSTER_TEMPLATE, None)
    if folder is not None:
        os.environ.pop(SHARED_TEMPLATE_VARIABLE, None)
        os.environ.pop(MIGRATED_SQLITE_VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)
    if not _template_wanted(session.config):
        return
    builder = session.config.stash.get(_BUILDER, None)
    if builder is not None:
        builder.wait(timeout=600)  # had it failed, a worker migrated the template instead
    from django.conf import settings

    from tests.support.dbroles.base import drop_template

    drop_template(settings.DATABASES["default"])
