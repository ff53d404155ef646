"""Federation: a node's registry carried to the national node by PostgreSQL logical
replication (``manage.py federation publish | subscribe | status``), and the facts that
arrive contradicting the registry, reported instead of merged (:mod:`.arrivals`)."""

from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "labserver.federation"
    label = "federation"
    verbose_name = "Federation"
