"""Records built once for a whole test module, each test still starting from them untouched.

Issuing a certificate (a run submitted, reviewed, approved, rendered, signed) takes about a
second; a module whose every test needs the same two or three issued certificates spent most
of its time building them again. :func:`module_transaction` opens one transaction for the
module, in which its fixture builds the records once; each test then runs inside it, in its
own savepoint (pytest-django's ``db``), rolled back at the test's end as before; the module's
transaction is rolled back when the module ends, so nothing is left for the next module.

The block is marked as a test case's, as Django's own ``TestCase`` marks its class-wide
block, so that the issuing code's ``atomic(durable=True)`` runs inside it as it does inside
a test (``transaction.on_commit`` callbacks are not run, as in every ``db`` test).

A test must not keep a model instance of the shared records between tests: :func:`fresh`
gives each test its own copies, read again from the database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, models, transaction

T = TypeVar("T")


@contextmanager
def module_transaction(django_db_blocker: Any) -> Iterator[None]:
    """Database access for a module's fixture, in a transaction rolled back at its end."""
    with django_db_blocker.unblock():
        block = transaction.atomic(using=DEFAULT_DB_ALIAS)
        block._from_testcase = True  # type: ignore[attr-defined]  # durable=True may nest in it
        block.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True, using=DEFAULT_DB_ALIAS)
            block.__exit__(None, None, None)


def fresh(value: T) -> T:
    """``value`` with every model instance in it read again from the database and every
    dataclass copied, so that what one test changes in memory never reaches the next."""
    if isinstance(value, models.Model):
        model: Any = type(value)
        again: T = model._default_manager.get(pk=value.pk)
        return again
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: fresh(getattr(value, f.name)) for f in dataclasses.fields(value)}
        copy: T = dataclasses.replace(value, **changes)
        return copy
    return value
