"""Production: PostgreSQL, Redis, gunicorn behind TLS."""

import os

from portal.settings.base import *  # noqa: F403
from portal.settings.base import env_bool, smtp_mailers

DEBUG = False
SECRET_KEY = os.environ["SECRET_KEY"]
REQUIRE_STAFF_2FA = env_bool("REQUIRE_STAFF_2FA", True)
WEBHOOK_ALLOW_HTTP = False
WEBHOOK_ALLOWED_NETWORKS: list[str] = []
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Production mail always goes out over SMTP (a relay on localhost unless EMAIL_HOST says otherwise).
MAILERS = smtp_mailers(os.environ.get("EMAIL_HOST", "localhost"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
