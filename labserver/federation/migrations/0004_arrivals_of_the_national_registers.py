"""The arrival trigger on the national registers' tables: on a center subscribing to them, a
repeated or contradicting fact of the directorate is recorded, never merged nor allowed to
stop replication (the function is replaced too: it names a register fact's directorate)."""

from django.db import migrations

from labserver.federation.arrivals import REGISTER_TABLES, arrival_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("federation", "0003_arrivals_of_partitioned_facts"),
        ("registry", "0009_national_registers"),
    ]

    operations = [arrival_trigger(REGISTER_TABLES, drop_function=False)]
