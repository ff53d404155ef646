"""The test databases are made by the owner and used by the runtime role (tests/support/dbroles)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.dbroles import act_as_runtime


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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """pytest-xdist's controlling process, its workers done: drop the template their
    databases were cloned from (tests/support/dbroles/base.py)."""
    if hasattr(session.config, "workerinput") or not getattr(
        session.config.option, "numprocesses", None
    ):
        return
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "tests.support.dbroles":
        from tests.support.dbroles.base import drop_template

        drop_template(database)
