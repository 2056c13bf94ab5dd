"""One request budget per organization, shared by all its clients, counted atomically in Redis.

The `limits` library's fixed window on `settings.RATELIMIT_STORAGE_URI` (Redis in production and CI,
`memory://` under `make run` without Redis). Responses carry the IETF RateLimit headers
(draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "org";q=600;w=60` and `RateLimit: "org";r=12;t=48`.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
POLICY_NAME = "org"

_limiters: dict[str, FixedWindowRateLimiter] = {}
_scripts: dict[int, object] = {}
_lock = threading.Lock()

# The library's fixed-window INCR+EXPIRE, also returning the key's TTL: one round trip per request.
_INCR_EXPIRE_TTL = """
local current = redis.call('incrby', KEYS[1], ARGV[2])
if current == tonumber(ARGV[2]) then
    redis.call('expire', KEYS[1], ARGV[1])
end
return {current, redis.call('pttl', KEYS[1])}
"""


def _limiter() -> FixedWindowRateLimiter:
    uri = settings.RATELIMIT_STORAGE_URI
    limiter = _limiters.get(uri)
    if limiter is None:
        with _lock:
            limiter = _limiters.get(uri)
            if limiter is None:
                limiter = FixedWindowRateLimiter(storage_from_string(uri))
                _limiters[uri] = limiter
    return limiter


@dataclass(frozen=True)
class BudgetState:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{POLICY_NAME}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{POLICY_NAME}";r={self.remaining};t={self.reset_seconds}',
        }

    def as_json(self) -> dict:
        return {
            "limit": self.limit,
            "windowSeconds": WINDOW_SECONDS,
            "remaining": self.remaining,
            "resetSeconds": self.reset_seconds,
        }


def _item(organization) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(max(int(organization.rate_limit_per_minute), 1))


def _key(organization) -> str:
    return f"org:{organization.pk}"


def organization_budget_hit(*, organization) -> BudgetState:
    """Spend one request of the organization's budget (atomic INCR); `allowed` is False when it is used up."""
    item = _item(organization)
    storage = _limiter().storage
    key = item.key_for(_key(organization))
    try:
        count, reset = _incr(storage, key, item.get_expiry())
    except Exception:  # the budget store being down must not take the API down: fail open, loudly
        logger.exception("rate-limit store unavailable; allowing the request")
        return BudgetState(allowed=True, limit=item.amount, remaining=item.amount, reset_seconds=WINDOW_SECONDS)
    return BudgetState(
        allowed=count <= item.amount, limit=item.amount, remaining=max(0, item.amount - count), reset_seconds=reset
    )


def _incr(storage, key: str, expiry: int) -> tuple[int, int]:
    """What FixedWindowRateLimiter.hit() does (atomic INCR, EXPIRE on a new window), keeping the
    count and the seconds left so the RateLimit headers need no extra round trip on Redis."""
    if isinstance(storage, RedisStorage):
        script = _scripts.get(id(storage))
        if script is None:
            script = _scripts[id(storage)] = storage.get_connection().register_script(_INCR_EXPIRE_TTL)
        count, ttl_ms = script([storage.prefixed_key(key)], [expiry, 1])
        return int(count), max(0, math.ceil(int(ttl_ms) / 1000))
    count = storage.incr(key, expiry, amount=1)
    return count, max(0, math.ceil(storage.get_expiry(key) - time.time()))


def organization_budget_peek(*, organization) -> BudgetState:
    """The budget without spending any (for the portal page)."""
    item = _item(organization)
    try:
        stats = _limiter().get_window_stats(item, _key(organization))
    except Exception:
        logger.exception("rate-limit store unavailable")
        return BudgetState(allowed=True, limit=item.amount, remaining=item.amount, reset_seconds=WINDOW_SECONDS)
    reset = max(0, math.ceil(stats.reset_time - time.time()))
    return BudgetState(allowed=stats.remaining > 0, limit=item.amount, remaining=stats.remaining, reset_seconds=reset)


def organization_budget_reset(*, organization) -> None:
    _limiter().clear(_item(organization), _key(organization))
