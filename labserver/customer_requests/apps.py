from django.apps import AppConfig


class CustomerRequestsConfig(AppConfig):
    name = "labserver.customer_requests"
    # Not "requests": that is a library's name.
    label = "customer_requests"
    verbose_name = "Customers' requests"
