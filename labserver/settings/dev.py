"""Settings for the local demo (`make demo`): SQLite under var/, plain HTTP on loopback.

Never use these settings on a network: the secret key is a fixed demo value.
"""

from __future__ import annotations

import os

from .base import *  # noqa: F403

# Invitations to set a password are printed on the console, not sent.
EMAIL_BACKEND = os.environ.get(
    "CALTRACE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)

SECRET_KEY = os.environ.get(
    "SECRET_KEY", "caltrace-DEMO-ONLY-insecure-key-do-not-use-in-production-0123456789"
)
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from the apps (no collectstatic needed for the demo).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # type: ignore[assignment]
# Certificates are signed with the embedded DEMO PKI when no key is configured.
CALTRACE_ALLOW_DEMO_PKI = True
# The scenarios (scenarios/): `manage.py loaddemo` and the demo data set. Not in production's
# settings: the LIMS never imports them, and a production LIMS has no demo to load.
INSTALLED_APPS = [*INSTALLED_APPS, "scenarios"]  # noqa: F405
