"""Settings shared by every deployment; values that vary come from the environment."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

REPO_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("CALTRACE_VAR_DIR", REPO_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean from the environment: 1/true/yes/on or 0/false/no/off."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}: expected a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    """Read an integer from the environment."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated list from the environment."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_env(name: str = "DATABASE_URL") -> dict[str, object]:
    """``DATABASE_URL`` (PostgreSQL in production and CI), else an embedded SQLite file.

    ``name`` reads another variable of the same form (``DATABASE_OWNER_URL``)."""
    url = os.environ.get(name, "").strip()
    if url:
        # Health checks: a persistent connection that died while idle (PostgreSQL
        # restarted) is replaced at the start of the next request instead of failing it.
        config = dict(
            dj_database_url.parse(
                url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
            )
        )
    else:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "labserver.sqlite3"),
        }
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # BEGIN IMMEDIATE: two writers never read the same audit-chain head.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    config["ATOMIC_REQUESTS"] = False
    return config


DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",  # Content-Security-Policy (issue 15, point 4)
    # Login lockouts (issue 15, point 4). Before the LIMS apps: axes' receiver of
    # user_login_failed then runs before the one that writes the audit entry
    # (labserver.accounts.lockout), which reads the count axes has just updated.
    "axes",
    "labserver.core",
    "labserver.registry",
    "labserver.federation",
    "labserver.accounts",
    "labserver.instruments",
    "labserver.standards",
    "labserver.jobs",
    "labserver.measurements",
    "labserver.issuance",
    "labserver.traceability",
    "labserver.nonconformities",
    "labserver.customer_requests",
    "labserver.lots",
    "labserver.portal",
    "labserver.work",
    "labserver.oversight",
    "labserver.office",
    "labserver.reports",
    "labserver.notifications",
    "labserver.search",
    "labserver.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "labserver.core.middleware.RequestSizeLimitMiddleware",
    "labserver.core.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The dates and times of pages in the signed-in person's organization's zone (issue 16).
    "labserver.accounts.zones.OrganizationTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Session idle timeout and Content-Security-Policy (issue 15, point 4).
    "labserver.core.middleware.SessionIdleMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a login refused by a lockout into the lockout page (issue 15, point 4).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "labserver.urls"
WSGI_APPLICATION = "labserver.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "labserver.web.navigation.navigation",
                "labserver.search.context.search_field",
            ],
        },
    },
]

DATABASES = {"default": database_from_env()}

# Two PostgreSQL roles (docs/centers/lims.md, "Two database roles"): DATABASE_URL is the
# runtime role the application connects as (SELECT and INSERT only on append-only tables, owns
# nothing); DATABASE_OWNER_URL, when set, the role that owns the tables and runs `migrate`
# (which then picks the "owner" connection) and `grant_runtime_role`. Without it, one role
# does both, as in a single-role development set-up. SQLite has no roles: without
# DATABASE_URL the owner's URL has nothing to own and is not read.
_sqlite = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if os.environ.get("DATABASE_OWNER_URL", "").strip() and not _sqlite:
    DATABASES["owner"] = database_from_env("DATABASE_OWNER_URL")
    _where = [
        {key: config.get(key) for key in ("ENGINE", "HOST", "PORT", "NAME")}
        for config in (DATABASES["default"], DATABASES["owner"])
    ]
    if _where[0] != _where[1]:
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL: the owner must reach the database of DATABASE_URL "
            f"(same engine, host, port and name), got {_where[1]} for {_where[0]}"
        )
# The role that `grant_runtime_role` (and `migrate`, at its end) grants to: the user of
# DATABASE_URL when an owner is configured, or CALTRACE_RUNTIME_ROLE.
CALTRACE_RUNTIME_ROLE = os.environ.get("CALTRACE_RUNTIME_ROLE", "").strip() or (
    str(DATABASES["default"].get("USER") or "") if "owner" in DATABASES else ""
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("vi", "Tiếng Việt")]
# Translations: each app's locale/<lang>/LC_MESSAGES/django.po, compiled to django.mo, both
# committed (`make messages` refreshes them; a test checks that each .mo matches its .po).
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Ho_Chi_Minh")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Request bodies: the largest accepted JSON body (a run with its raw I/O) and
# the largest uploaded file (a standard's calibration certificate).
CALTRACE_MAX_JSON_BYTES = env_int("CALTRACE_MAX_JSON_BYTES", 8 * 1024 * 1024)
CALTRACE_MAX_UPLOAD_BYTES = env_int("CALTRACE_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = CALTRACE_MAX_JSON_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# A standard is "due" this many days before its calibration runs out.
CALTRACE_DUE_SOON_DAYS = env_int("CALTRACE_DUE_SOON_DAYS", 30)

# Certificates (labserver.issuance). The public address of the LIMS: the verification
# page of certificate N is CALTRACE_PUBLIC_URL/verify/N, printed as the QR code.
CALTRACE_PUBLIC_URL = os.environ.get("CALTRACE_PUBLIC_URL", "http://127.0.0.1:8000")
# The signing key: a PKCS#12 file ({org} is replaced by the organization's code) and its
# password, or a PKCS#11 token; the CA certificate(s) and CRLs that validate it (PEM
# files); an RFC 3161 time-stamping service. See labserver/issuance/keys.py.
CALTRACE_SIGNING_PKCS12 = os.environ.get("CALTRACE_SIGNING_PKCS12", "")
CALTRACE_SIGNING_PASSWORD = os.environ.get("CALTRACE_SIGNING_PASSWORD", "")
CALTRACE_SIGNING_PKCS11_LIBRARY = os.environ.get("CALTRACE_SIGNING_PKCS11_LIBRARY", "")
CALTRACE_SIGNING_PKCS11_TOKEN = os.environ.get("CALTRACE_SIGNING_PKCS11_TOKEN", "")
CALTRACE_SIGNING_PKCS11_KEY = os.environ.get("CALTRACE_SIGNING_PKCS11_KEY", "")
CALTRACE_SIGNING_PKCS11_PIN = os.environ.get("CALTRACE_SIGNING_PKCS11_PIN", "")
CALTRACE_SIGNING_TRUST_ROOTS = env_list("CALTRACE_SIGNING_TRUST_ROOTS", [])
CALTRACE_SIGNING_CRLS = env_list("CALTRACE_SIGNING_CRLS", [])
CALTRACE_TSA_URL = os.environ.get("CALTRACE_TSA_URL", "")
# The embedded DEMO PKI (generated per organization on first use) is allowed only where a
# settings module says so (dev and test); production never signs with it.
CALTRACE_ALLOW_DEMO_PKI = False
CALTRACE_DEMO_PKI_DIR = Path(os.environ.get("CALTRACE_DEMO_PKI_DIR", VAR_DIR / "demo-pki"))
# Anchors of the audit trail (labserver/issuance/anchors.py): one JSON-lines file per
# organization, appended and fsynced. Put it where a backup of the database does not live
# (another disk, a mount replicated off the host, a WORM bucket synced from it).
CALTRACE_ANCHOR_DIR = Path(os.environ.get("CALTRACE_ANCHOR_DIR", VAR_DIR / "anchors"))
# The organization (code) whose key also anchors the chains with no key of their own: the
# system chain and customers' chains. Empty: those chains are not anchored.
CALTRACE_SYSTEM_ANCHOR_ORGANIZATION = os.environ.get("CALTRACE_SYSTEM_ANCHOR_ORGANIZATION", "")
# The largest file the public verification accepts.
CALTRACE_MAX_VERIFY_BYTES = env_int("CALTRACE_MAX_VERIFY_BYTES", 10 * 1024 * 1024)
# Issuing writes a certificate's files under temporary names and publishes them at the
# commit (labserver/issuance/staging.py); `manage.py verify_storage --repair` deletes a
# temporary no record needs once it is this old: longer than any issue takes.
CALTRACE_STALE_TEMPORARY_MINUTES = env_int("CALTRACE_STALE_TEMPORARY_MINUTES", 60)
# The national registers (docs/centers/national-registers.md): True on a node that subscribes
# to the national node's publication of them (and on the national node itself). A run is then
# refused when its verifier holds no certification in force in the register on the run's
# day, a verification when the instrument's pattern approval is not in force (instrument types
# whose legal category requires one), and a verification certificate when the organization
# holds no designation in force for the instrument's type or field on the issue date. False
# (the default): no such check, as before.
CALTRACE_NATIONAL_REGISTERS = env_bool("CALTRACE_NATIONAL_REGISTERS", False)
# The national node's open data (labserver/portal/opendata.py): True on the node that
# subscribes to every center's registry; its verification-results dataset then counts the
# registry's certificate facts of every issuer, hosted or replicated. False (the default):
# the node's own certificates, as before.
CALTRACE_NATIONAL_OPEN_DATA = env_bool("CALTRACE_NATIONAL_OPEN_DATA", False)
# The secret the national node proves itself with when it fetches a certificate's signed PDF
# from this center (GET /api/v1/registry/documents/<number>.pdf, docs/operators/federation.md):
# from the environment only, never the database. Empty (the default): nobody may fetch.
CALTRACE_NATIONAL_FETCH_SECRET = os.environ.get("CALTRACE_NATIONAL_FETCH_SECRET", "")
# When the database cannot be reached the LIMS answers 503 with this Retry-After (seconds).
CALTRACE_DATABASE_RETRY_AFTER_S = env_int("CALTRACE_DATABASE_RETRY_AFTER_S", 30)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "labserver.accounts.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "labserver.core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "labserver.core.schema.AutoSchema",
    # Anonymous endpoints name their own throttles (labserver.core.throttles), whose rates
    # come from CALTRACE_THROTTLE_RATES below; nothing is throttled by default.
    "DEFAULT_THROTTLE_CLASSES": [],
    "EXCEPTION_HANDLER": "labserver.core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "STRICT_JSON": True,
    "COERCE_DECIMAL_TO_STRING": False,
    "DATETIME_FORMAT": "iso-8601",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "caltrace LIMS API",
    "DESCRIPTION": (
        "Reference standards, instruments, jobs, runs submitted by bench agents, "
        "review and approval, audit trail."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "labserver.jobs.models.JobState",
        "RunStateEnum": "labserver.measurements.models.RunState",
        "StandardStatusEnum": "labserver.standards.models.Status",
        "CertificateKindEnum": "labserver.issuance.models.CertificateKind",
        "CertificateStatusEnum": "labserver.issuance.models.CertificateStatus",
        "VerdictStatusEnum": ["valid", "superseded", "revoked", "altered", "unknown"],
    },
}

# ------------------------------------------------------------------ lockouts (issue 15, point 4)
# Logins (the web sign-in and /admin/login/) are watched by django-axes; its failure records
# are rows in the database (the default handler), so every worker sees the same count.
# A login is refused after CALTRACE_LOGIN_FAILURE_LIMIT failures of the same user name from
# the same client address, for CALTRACE_LOGIN_COOLOFF_MINUTES after the last failure (0: until
# a quality manager or an administrator unlocks it). The pair, not the name alone: by name
# alone, anyone anywhere could lock a person out with five wrong passwords; by address alone,
# a botnet would get five guesses per address on every account, and a center behind one NAT
# address would be locked out together by five typing mistakes. See docs/centers/lockouts.md.
CALTRACE_LOGIN_FAILURE_LIMIT = env_int("CALTRACE_LOGIN_FAILURE_LIMIT", 5)
CALTRACE_LOGIN_COOLOFF_MINUTES = env_int("CALTRACE_LOGIN_COOLOFF_MINUTES", 30)
# Consecutive wrong passwords on an electronic signature before the person's signing is
# locked until a quality manager of their organization unlocks it (no cool-off: a stolen
# token must not become a slow password oracle).
CALTRACE_SIGNATURE_FAILURE_LIMIT = env_int("CALTRACE_SIGNATURE_FAILURE_LIMIT", 5)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = CALTRACE_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = (
    timedelta(minutes=CALTRACE_LOGIN_COOLOFF_MINUTES)
    if CALTRACE_LOGIN_COOLOFF_MINUTES > 0
    else None
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "labserver.web.lockout.lockout_response"
AXES_VERBOSE = False
# The client address is the one the per-address limits count (CALTRACE_TRUSTED_PROXIES,
# below): left unset behind a proxy, every login would seem to come from the proxy's
# address and the pair would lock by name alone.
AXES_CLIENT_IP_CALLABLE = "labserver.accounts.lockout.client_address"
# ------------------------------------------------------------------ end of lockouts

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}


# --------------------------------------------------------------------------------------------
# Shared cache, throttles, session idle timeout, Content-Security-Policy (issue 15, points 3-4).
# docs/centers/security.md explains each value.


def env_rate(name: str, default: str) -> str | None:
    """A throttle rate from the environment: ``<count>/<second|minute|hour|day>``, or
    ``off`` (no limit)."""
    raw = os.environ.get(name, "").strip() or default
    if raw.lower() == "off":
        return None
    match = re.fullmatch(r"([0-9]+)/(s|sec|second|m|min|minute|h|hour|d|day)", raw)
    if match is None or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f"{name}: expected a rate such as 10/minute (count/second|minute|hour|day) "
            f"or off, got {raw!r}"
        )
    return raw


def env_networks(name: str) -> list[str]:
    """IP addresses or networks (CIDR) from the environment, comma-separated."""
    entries = env_list(name, [])
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is not an IP address or network"
            ) from None
    return entries


# The cache every worker shares (throttle counters, token failures): Redis when
# CALTRACE_REDIS_URL is set (the `redis` package must then be installed), else a table of
# the database, created by the migration core.0004_cache_table.
CALTRACE_CACHE_TABLE = "caltrace_cache"
CALTRACE_REDIS_URL = os.environ.get("CALTRACE_REDIS_URL", "").strip()
CACHES: dict[str, dict[str, object]]
if CALTRACE_REDIS_URL:
    if importlib.util.find_spec("redis") is None:
        raise ImproperlyConfigured(
            "CALTRACE_REDIS_URL is set but the Python package 'redis' is not installed "
            "(pip install redis), or unset CALTRACE_REDIS_URL to use the database cache"
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CALTRACE_REDIS_URL,
            "KEY_PREFIX": "caltrace",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CALTRACE_CACHE_TABLE,
            # Django's default (300 entries, a third dropped when full) would forget the
            # counters of a few hundred addresses: a crawler spread over many could reset them.
            "OPTIONS": {"MAX_ENTRIES": env_int("CALTRACE_CACHE_MAX_ENTRIES", 50_000)},
        }
    }

# Per client address; "off" lifts a limit. The client address is REMOTE_ADDR, or, when the
# request comes from one of CALTRACE_TRUSTED_PROXIES, the right-most X-Forwarded-For hop
# that is not one of them (labserver.core.throttles.client_address).
CALTRACE_THROTTLE_RATES: dict[str, str | None] = {
    "verify": env_rate("CALTRACE_THROTTLE_VERIFY", "10/minute"),
    "verify_daily": env_rate("CALTRACE_THROTTLE_VERIFY_DAILY", "100/day"),
    "lookup": env_rate("CALTRACE_THROTTLE_LOOKUP", "60/minute"),
    "open_data": env_rate("CALTRACE_THROTTLE_OPEN_DATA", "30/minute"),
    "token_failure": env_rate("CALTRACE_THROTTLE_TOKEN_FAILURE", "20/minute"),
    # the national node fetching signed PDFs: a batch at a time, never a flood
    "registry_documents": env_rate("CALTRACE_THROTTLE_REGISTRY_DOCUMENTS", "300/minute"),
}
CALTRACE_TRUSTED_PROXIES = env_networks("CALTRACE_TRUSTED_PROXIES")

# A session ends after this long without a request (labserver.core.middleware
# .SessionIdleMiddleware renews it at most once a minute, so it ends between N and N+1
# minutes after the last request).
CALTRACE_SESSION_IDLE_MINUTES = env_int("CALTRACE_SESSION_IDLE_MINUTES", 30)
if CALTRACE_SESSION_IDLE_MINUTES < 1:
    raise ImproperlyConfigured(
        f"CALTRACE_SESSION_IDLE_MINUTES: expected at least 1, got {CALTRACE_SESSION_IDLE_MINUTES}"
    )
CALTRACE_SESSION_RENEW_SECONDS = 60
SESSION_COOKIE_AGE = CALTRACE_SESSION_IDLE_MINUTES * 60 + CALTRACE_SESSION_RENEW_SECONDS
SESSION_SAVE_EVERY_REQUEST = False

# Content-Security-Policy (django-csp): our own scripts, styles and images only; nothing
# inline, no plugin, no framing, forms post to us. Views that need more say so with
# django-csp's decorators (the API's documentation page).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# The front office's invitations (a one-time link to set a password) go out by e-mail: SMTP
# (EMAIL_HOST, EMAIL_PORT) unless CALTRACE_EMAIL_BACKEND names another backend; the demo
# prints them on its console (dev.py).
EMAIL_BACKEND = os.environ.get(
    "CALTRACE_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("CALTRACE_FROM_EMAIL", "caltrace@localhost")
# How long an invitation's link to set a password stays good (Django's token machinery).
PASSWORD_RESET_TIMEOUT = env_int("CALTRACE_INVITATION_DAYS", 7) * 24 * 3600
# Notifications (labserver.notifications): certificates issued and recalls decided in the last
# N days are told about by `manage.py send_notifications` (and a failed send retried within it).
CALTRACE_NOTIFICATIONS_WINDOW_DAYS = env_int("CALTRACE_NOTIFICATIONS_WINDOW_DAYS", 14)
# --------------------------------------------------------------------------------------------


def require_env(name: str) -> str:
    """A setting production cannot run without."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment for production settings "
            "(use DJANGO_SETTINGS_MODULE=labserver.settings.dev for a local demo)"
        )
    return value
