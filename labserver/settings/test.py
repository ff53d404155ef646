"""Settings for the test suite: PostgreSQL when ``DATABASE_URL`` is set (CI), else SQLite."""

from __future__ import annotations

from .dev import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
