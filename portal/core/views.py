from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # readiness reports, never raises
        return False, exc.__class__.__name__


def _broker_ok() -> tuple[bool, str]:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return False, exc.__class__.__name__


REDIS_PING_TIMEOUT_SECONDS = 1.0


@lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(
        url, socket_timeout=REDIS_PING_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_PING_TIMEOUT_SECONDS
    )


def _redis_ok(url: str) -> tuple[bool, str]:
    try:
        _redis_client(url).ping()
        return True, "ok"
    except Exception as exc:
        return False, exc.__class__.__name__


@never_cache
def readyz(request):
    """Readiness: the database, the broker and (when REDIS_URL is set) Redis must answer; see docs/operations.md."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    if settings.REDIS_URL:
        checks["redis"] = _redis_ok(settings.REDIS_URL)
    ok = all(passed for passed, _detail in checks.values())
    return JsonResponse(
        {
            "status": "ok" if ok else "unavailable",
            "checks": {name: detail for name, (_passed, detail) in checks.items()},
        },
        status=200 if ok else 503,
    )


@never_cache
def metrics(request):
    """Prometheus exposition (portal/core/metrics.py): a valid bearer token, or a support session."""
    from portal.core import metrics as exposition

    token = exposition.bearer_token(request)
    user = getattr(request, "user", None)  # absent when answered before the session middleware (a scraper)
    support = token is None and user is not None and user.is_authenticated and user.is_support
    if not support and not exposition.token_valid(token):
        if not settings.METRICS_TOKEN:
            raise Http404  # no token configured: nothing here for anyone but support
        response = JsonResponse({"status": "unauthorized", "detail": "Bearer METRICS_TOKEN required."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition.exposition()
    return HttpResponse(body, content_type=content_type)
