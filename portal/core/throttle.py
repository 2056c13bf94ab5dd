"""Quiet per-key throttles (the `limits` library on settings.RATELIMIT_STORAGE_URI) that fail open."""

import logging
from functools import lru_cache

from django.conf import settings
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


# A Redis that stopped answering must cost a request half a second, not the worker's whole timeout.
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


@lru_cache(maxsize=4)
def _limiter(uri: str) -> MovingWindowRateLimiter:
    options = REDIS_TIMEOUTS if uri.startswith(("redis://", "rediss://", "redis+unix://")) else {}
    return MovingWindowRateLimiter(storage_from_string(uri, wrap_exceptions=True, **options))


def throttle_limiter() -> MovingWindowRateLimiter:
    return _limiter(settings.RATELIMIT_STORAGE_URI)


def throttle_hit(rate: str, namespace: str, key: str) -> bool:
    """Count one use of `key`; False once `rate` is used up. True when the store cannot be reached (fail open)."""
    try:
        return throttle_limiter().hit(parse(rate), namespace, key)
    except StorageError as exc:
        log.warning(
            "throttle %s not applied: rate-limit store unreachable (%s)", namespace, type(exc.storage_error).__name__
        )
        return True
