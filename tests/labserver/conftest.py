"""The LIMS tests' directory: each test's files in its own temporary directory, an empty
cache, and the fixtures of :mod:`tests.support` these tests ask for by name."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches

from tests.support.browser import chromium, page  # noqa: F401  (fixtures)
from tests.support.ladder import hand  # noqa: F401  (a fixture)
from tests.support.lims import (  # noqa: F401  (fixtures)
    center,
    demo_pki,
    demo_pki_dir,
    dmm,
    other_center,
    procedure,
)
from tests.support.nonconformity import case  # noqa: F401  (a fixture)
from tests.support.registers import directorate, registrar  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Certificates issued with their transaction committed (threads, live servers) anchor
    # the audit trail: into the test's directory, never the checkout's var/anchors.
    settings.CALTRACE_ANCHOR_DIR = tmp_path / "anchors"


DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


@pytest.fixture(autouse=True)
def _empty_cache(request: pytest.FixtureRequest) -> None:
    """Each test that uses the database starts with an empty shared cache (throttle
    counters, token failures). A test's transaction is rolled back, but a live server's
    test is flushed table by table, and the cache table is not a model's."""
    if request.node.get_closest_marker("django_db") is None and not (
        DB_FIXTURES & set(request.fixturenames)
    ):
        return
    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        caches["default"].clear()
