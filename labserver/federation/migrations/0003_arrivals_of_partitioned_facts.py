"""The arrival trigger's function made aware of partitions: on the partitioned certificate
facts' table (registry 0008) it fires on the partition a row goes to, and checks and
reports against the whole table."""

from django.db import migrations

from labserver.federation.arrivals import TABLES, arrival_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("federation", "0002_arrivals_of_every_registry_table"),
        ("registry", "0008_certificate_facts_by_year"),
    ]

    operations = [arrival_trigger(TABLES)]
