"""Per-IP limits on the buyer's public link, so tokens cannot be guessed at speed (the `limits` library).

The store is `settings.RATELIMIT_STORAGE_URI` (Redis in production). When it cannot be reached the limits
are kept in this process instead (a moving window in memory), so the page keeps answering and guessing
stays bounded per worker process; Redis is tried again after STORE_RETRY_SECONDS.
"""

import logging
import threading
import time
from functools import lru_cache

from django.conf import settings
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)

# How long the in-process fallback is used before the shared store is tried again.
STORE_RETRY_SECONDS = 5.0
# A store that does not answer quickly counts as down: the page must not hang on it.
STORE_TIMEOUT_SECONDS = 0.5

_fallback = MovingWindowRateLimiter(MemoryStorage())
_store_down_until = [0.0]
_lock = threading.Lock()


@lru_cache(maxsize=4)
def _limiter(uri: str) -> MovingWindowRateLimiter:
    options = {}
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        options = {"socket_timeout": STORE_TIMEOUT_SECONDS, "socket_connect_timeout": STORE_TIMEOUT_SECONDS}
    return MovingWindowRateLimiter(storage_from_string(uri, **options))


def limiter() -> MovingWindowRateLimiter:
    return _limiter(settings.RATELIMIT_STORAGE_URI)


def fallback_limiter() -> MovingWindowRateLimiter:
    """The in-process limiter used while the shared store is down."""
    return _fallback


def _rates():
    return (
        parse(settings.KYC_PUBLIC_RATE),
        parse(settings.KYC_PUBLIC_MISS_RATE),
    )


def _run(operation):
    """`operation(limiter)` on the shared store, or on the in-process fallback while that store is down."""
    if time.monotonic() >= _store_down_until[0]:
        try:
            return operation(limiter())
        except Exception as exc:  # Redis down or timing out: degrade, never a 500
            with _lock:
                first = time.monotonic() >= _store_down_until[0]
                _store_down_until[0] = time.monotonic() + STORE_RETRY_SECONDS
            if first:
                # Only the kind of error: the request's path (with its token) is never part of this line.
                logger.warning(
                    "KYC public-link rate-limit store unavailable (%s); limiting in this process for %ss",
                    type(exc).__name__,
                    STORE_RETRY_SECONDS,
                )
    return operation(_fallback)


def public_link_allowed(ip: str | None) -> bool:
    """Every request on a link counts; unknown tokens count a second, much smaller budget."""
    key = ip or "unknown"
    rate, misses = _rates()

    def check(active: MovingWindowRateLimiter) -> bool:
        if not active.test(misses, "kyc-public-miss", key):
            return False
        return active.hit(rate, "kyc-public", key)

    return _run(check)


def public_link_miss(ip: str | None) -> None:
    _rate, misses = _rates()
    _run(lambda active: active.hit(misses, "kyc-public-miss", ip or "unknown"))


def public_link_limits_reset() -> None:
    """Forget every count, shared and in-process (tests; a fresh process starts like this)."""
    _fallback.storage.reset()
    _store_down_until[0] = 0.0
    try:
        limiter().storage.reset()
    except Exception:
        logger.warning("KYC public-link rate-limit store unavailable; not reset")
