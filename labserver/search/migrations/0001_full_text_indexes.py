"""GIN indexes for the staff's search, on PostgreSQL only: one per source the search matches
(``to_tsvector('simple', ...)``, separators made spaces, of a certificate's number and mark, an instrument's serial,
manufacturer and model, an organization's code and name, a job's number), built from the
very expressions :mod:`labserver.search.queries` filters on, so the planner can use them.

They are created here rather than in the owning apps' models because they exist on
PostgreSQL only (a GIN index has no SQLite form, and the embedded default is SQLite), and
because they change no model: the owning apps' migration graphs stay as they were. On
SQLite this migration does nothing.
"""

from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import F, Func, TextField

# (app, model, fields, index name): the fields as labserver.search.queries names them.
INDEXES = (
    ("issuance", "Certificate", ("number", "mark_number"), "search_cert_fts"),
    ("instruments", "Instrument", ("serial", "manufacturer", "model"), "search_instrument_fts"),
    ("accounts", "Organization", ("code", "name"), "search_organization_fts"),
    ("jobs", "Job", ("number",), "search_job_fts"),
)


class Separated(Func):
    """As labserver.search.queries.Separated (kept here so this migration never changes)."""

    function = "translate"
    template = "%(function)s(%(expressions)s, '-/._:', '     ')"
    output_field = TextField()


def _index(fields: tuple[str, ...], name: str) -> GinIndex:
    document = SearchVector(*(Separated(F(field)) for field in fields), config="simple")
    return GinIndex(document, name=name)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for app, model, fields, name in INDEXES:
        schema_editor.add_index(apps.get_model(app, model), _index(fields, name))


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for app, model, fields, name in INDEXES:
        schema_editor.remove_index(apps.get_model(app, model), _index(fields, name))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_front_office_roles"),
        ("instruments", "0002_customer_accounts_active_instruments"),
        ("issuance", "0005_voided_numbers"),
        ("jobs", "0002_job_scheduled_on"),
    ]

    operations = [migrations.RunPython(create, drop)]
