"""Settings shared by every deployment; values that vary come from the environment."""

from __future__ import annotations

import os
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
        config = dict(dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60)))
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
    "labserver.core",
    "labserver.accounts",
    "labserver.instruments",
    "labserver.standards",
    "labserver.jobs",
    "labserver.measurements",
    "labserver.issuance",
    "labserver.traceability",
    "labserver.portal",
    "labserver.work",
    "labserver.oversight",
    "labserver.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "labserver.core.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    },
]

DATABASES = {"default": database_from_env()}

# Two PostgreSQL roles (docs/centers/lims.md, "Two database roles"): DATABASE_URL is the
# runtime role the application connects as (SELECT and INSERT only on append-only tables, owns
# nothing); DATABASE_OWNER_URL, when set, the role that owns the tables and runs `migrate`
# (which then picks the "owner" connection) and `grant_runtime_role`. Without it, one role
# does both, as on SQLite and in a single-role development set-up.
if os.environ.get("DATABASE_OWNER_URL", "").strip():
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
# The largest file the public verification accepts.
CALTRACE_MAX_VERIFY_BYTES = env_int("CALTRACE_MAX_VERIFY_BYTES", 10 * 1024 * 1024)

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
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}


def require_env(name: str) -> str:
    """A setting production cannot run without."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment for production settings "
            "(use DJANGO_SETTINGS_MODULE=labserver.settings.dev for a local demo)"
        )
    return value
