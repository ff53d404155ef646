"""Settings modules: ``production`` (the default of ``manage.py``), ``dev`` (demo) and ``test``.

Everything that differs between deployments comes from the environment
(``DATABASE_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``MEDIA_ROOT``...).
"""
