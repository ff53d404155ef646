"""WSGI entry point for gunicorn: ``gunicorn labserver.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labserver.settings.production")
application = get_wsgi_application()
