from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "labserver.web"
    label = "web"
    verbose_name = "Web pages"
