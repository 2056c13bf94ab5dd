"""Settings shared by every environment; everything that varies comes from the environment."""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-key-change-me-in-production-0123456789abcdef")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal.core",
    "portal.accounts",
    "portal.organizations",
    "portal.clients",
    "portal.webhooks",
    "portal.kyc",
    "portal.gateway",
    "portal.console",
]

MIDDLEWARE = [
    "portal.core.middleware.TrustedProxyMiddleware",  # first: everything after it reads the client's address
    "portal.core.middleware.HealthProbeMiddleware",
    "portal.core.middleware.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.core.middleware.TokenLinkMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.accounts.middleware.StaffTwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.console.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web server and the Celery worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
# /v1 JSON bodies nesting deeper than this are a 400 (portal/core/api/parsers.py).
API_MAX_JSON_DEPTH = int(os.environ.get("API_MAX_JSON_DEPTH", "64"))
# Chunked request bodies are read up to this size where the server ends the input (portal/core/chunked.py).
CHUNKED_REQUEST_MAX_BYTES = int(os.environ.get("CHUNKED_REQUEST_MAX_BYTES", str(DATA_UPLOAD_MAX_MEMORY_SIZE)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024


# E-mail (Django 6.1 MAILERS): files under var/mail unless SMTP is configured.
def smtp_mailers(host: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": host,
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 15,
            },
        }
    }


if os.environ.get("EMAIL_HOST"):
    MAILERS = smtp_mailers(os.environ["EMAIL_HOST"])
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))},
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "NT24 Integration Portal <no-reply@novatrade24.com>")

# Cache and rate limiting: Redis when REDIS_URL is set, else an in-process store.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", REDIS_URL or "memory://")
# Failed client authentications per client id at POST /oauth/token before a lockout (portal/gateway/oauth_throttle.py).
OAUTH_TOKEN_FAILURE_RATE = os.environ.get("OAUTH_TOKEN_FAILURE_RATE", "10/5minutes")

# Celery: an embedded filesystem broker unless CELERY_BROKER_URL is set.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    from portal.core.broker import filesystem_transport_options

    CELERY_BROKER_URL = "filesystem://localhost/"  # a host keeps kombu from warning about a missing one
    CELERY_BROKER_TRANSPORT = "portal.core.broker:FilesystemTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_transport_options(VAR_DIR / "broker")
elif CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "portal.core.broker:RedisTransport"  # a worker survives a Redis restart
# Results are ignored except by the few tasks that ask (the worker health ping): Redis, else files under var/.
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or REDIS_URL or f"file://{VAR_DIR / 'celery-results'}"
if CELERY_RESULT_BACKEND.startswith("file://"):
    (VAR_DIR / "celery-results").mkdir(exist_ok=True)
CELERY_RESULT_EXPIRES = timedelta(hours=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep the worker's database connection across tasks (Celery closes it after each task otherwise).
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {}  # each app adds its periodic tasks in portal/settings/schedule.py

# Django REST framework and the OpenAPI schema.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's parsers plus a JSON nesting limit (API_MAX_JSON_DEPTH) and no NUL characters: 400, never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "portal.core.api.parsers.StrictJSONParser",
        "portal.core.api.parsers.StrictMultiPartParser",
        "portal.core.api.parsers.StrictFormParser",
    ],
    "EXCEPTION_HANDLER": "portal.core.api.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_VERSIONING_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NT24 Integration API",
    "DESCRIPTION": "Buyers and KYC, webhooks and the control plane of the NT24 Integration API. "
    "Errors are RFC 9457 problem+json; see /problems/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "SERVERS": [{"url": PORTAL_BASE_URL}],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "basicAuth": {
                "type": "http",
                "scheme": "basic",
                "description": "Client authentication at POST /oauth/token: client id and secret.",
            }
        }
    },
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": False, "displayOperationId": False},
}

# API gateway (portal/gateway/cache.py, ratelimit.py): in-process caches checked against the gateway
# generation in Redis, their bound without it, budget leases, and the hourly usage buffer.
GATEWAY_STATE_TTL_SECONDS = float(os.environ.get("GATEWAY_STATE_TTL_SECONDS", "30"))
GATEWAY_CACHE_MAX_AGE_SECONDS = float(os.environ.get("GATEWAY_CACHE_MAX_AGE_SECONDS", "60"))
GATEWAY_LEASE_SECONDS = float(os.environ.get("GATEWAY_LEASE_SECONDS", "0.5"))
GATEWAY_LEASE_MAX = int(os.environ.get("GATEWAY_LEASE_MAX", "50"))  # 0: count every request in Redis
CLIENT_USAGE_FLUSH_SECONDS = float(os.environ.get("CLIENT_USAGE_FLUSH_SECONDS", "10"))

# Security headers and the built-in Content Security Policy (nonces, no CDN).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12

# Client addresses behind reverse proxies (portal.core.middleware.TrustedProxyMiddleware): how many proxies
# append to X-Forwarded-For (0: none, REMOTE_ADDR is the client), and which direct peers count as one. The
# peers default to gunicorn's FORWARDED_ALLOW_IPS, so one list says whom both trust (docs/operations.md).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
TRUSTED_PROXY_NETWORKS = [  # validated here: a typo stops the start, not every request
    entry if entry == "*" else str(ipaddress.ip_network(entry, strict=False))
    for entry in env_list("TRUSTED_PROXY_NETWORKS", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"))
]

# django-axes: lock an account+IP after 5 failures for 30 minutes; the address is REMOTE_ADDR only (as set by
# TrustedProxyMiddleware), never a header a client could forge.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "portal.core.audit.client_ip"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_USERNAME_FORM_FIELD = "username"

# Password-reset mails: beyond these the form still says "sent" but sends nothing (no enumeration, no mail bomb).
PASSWORD_RESET_RATE_PER_ADDRESS = os.environ.get("PASSWORD_RESET_RATE_PER_ADDRESS", "3/hour")
PASSWORD_RESET_RATE_PER_IP = os.environ.get("PASSWORD_RESET_RATE_PER_IP", "20/hour")

REQUIRE_STAFF_2FA = env_bool("REQUIRE_STAFF_2FA", False)
OTP_TOTP_ISSUER = "NT24 Integration Portal"

# Webhooks: outbound targets and the SSRF guard.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", False)
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", "")
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "15"))

# KYC self-service links: how many documents one link accepts (the page then says the limit is reached).
KYC_MAX_DOCUMENTS_PER_INVITATION = int(os.environ.get("KYC_MAX_DOCUMENTS_PER_INVITATION", "20"))

# /metrics (Prometheus): scrapers send `Authorization: Bearer <METRICS_TOKEN>`; unset, only support sessions see it.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# VIES checks: per-request timeout, retry schedule (base doubling up to max), worker lease, attempts.
VIES_TIMEOUT_SECONDS = float(os.environ.get("VIES_TIMEOUT_SECONDS", "10"))
VIES_RETRY_BASE_SECONDS = float(os.environ.get("VIES_RETRY_BASE_SECONDS", "30"))
VIES_RETRY_MAX_SECONDS = float(os.environ.get("VIES_RETRY_MAX_SECONDS", "3600"))
VIES_LEASE_SECONDS = float(os.environ.get("VIES_LEASE_SECONDS", "120"))
VIES_MAX_ATTEMPTS = int(os.environ.get("VIES_MAX_ATTEMPTS", "5"))  # then the rollup says UNKNOWN, retries go on
VIES_GIVE_UP_ATTEMPTS = int(os.environ.get("VIES_GIVE_UP_ATTEMPTS", "48"))
# The buyer's public KYC link: per client address, every request and (a much smaller budget) unknown tokens.
KYC_PUBLIC_RATE = os.environ.get("KYC_PUBLIC_RATE", "60/minute")
KYC_PUBLIC_MISS_RATE = os.environ.get("KYC_PUBLIC_MISS_RATE", "10/10minutes")

VIES_BASE_URL = os.environ.get("VIES_BASE_URL", "https://ec.europa.eu/taxation_customs/vies/rest-api").rstrip("/")

# The token of /kyc/i/<token>/ and member-invitation links is redacted from every line we log
# (portal/core/token_links.py): on the loggers that log request paths, and on our handlers for the rest.
_REDACT = ["redact_token_links"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_token_links": {"()": "portal.core.token_links.RedactTokenLinksFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": _REDACT},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": _REDACT},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": _REDACT},
        "django.security.csrf": {"filters": _REDACT},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False, "filters": _REDACT},
    },
}

from portal.settings.queues import *  # noqa: E402,F403
from portal.settings.schedule import *  # noqa: E402,F403
