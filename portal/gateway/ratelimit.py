"""One request budget per organization, shared by all its clients, counted atomically in Redis.

The `limits` library's fixed window on `settings.RATELIMIT_STORAGE_URI` (Redis in production and CI,
`memory://` under `make run` without Redis). Responses carry the IETF RateLimit headers
(draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "org";q=600;w=60` and `RateLimit: "org";r=12;t=48`.

On Redis, the one round trip that spends a request also counts the client's run of consecutive 429s
(reset by any admitted request) and reads the gateway generation (portal/core/generation.py), so the
in-process caller cache (portal/gateway/cache.py) is checked for freshness at no extra cost.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from portal.core.generation import GENERATION_KEY, storage

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
POLICY_NAME = "org"

_limiters: dict[str, FixedWindowRateLimiter] = {}
_scripts: dict[int, object] = {}
_lock = threading.Lock()

# One round trip spends the budget, reads the gateway generation and keeps the runs of 429s.
# KEYS: budget window, gateway generation, the organization's runs of 429s (a hash: client → run).
# ARGV: window seconds, limit, client id, lease max, lease divisor, run expiry seconds.
# Grants `1 + min(lease max, (remaining - 1) // lease divisor)` requests (never more than remain):
# the first for this call, the rest as a lease the process hands out itself (see organization_budget_take).
# An admitted request ends its client's run of 429s; a refused one extends it and is not counted.
# Returns {granted, count after, ms left in the window, generation, run before, run after, clients on a run}.
_SPEND = """
local limit = tonumber(ARGV[2])
local current = tonumber(redis.call('get', KEYS[1]) or '0')
local ttl = redis.call('pttl', KEYS[1])
local generation = tonumber(redis.call('get', KEYS[2]) or '0')
local remaining = limit - current
if remaining <= 0 then
    local after = redis.call('hincrby', KEYS[3], ARGV[3], 1)
    redis.call('expire', KEYS[3], ARGV[6])
    return {0, current, ttl, generation, after - 1, after, {}}
end
local grant = 1 + math.min(tonumber(ARGV[4]), math.floor((remaining - 1) / tonumber(ARGV[5])))
current = redis.call('incrby', KEYS[1], grant)
if current == grant then
    redis.call('expire', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1]) * 1000
end
local before = tonumber(redis.call('hget', KEYS[3], ARGV[3]) or '0')
if before > 0 then
    redis.call('hdel', KEYS[3], ARGV[3])
end
local running = {}
if grant > 1 then
    running = redis.call('hkeys', KEYS[3])
end
return {grant, current, ttl, generation, before, 0, running}
"""
STREAK_EXPIRY_SECONDS = 86400
# Leases: at most settings.GATEWAY_LEASE_MAX requests beyond the current one at most 1/DIVISOR of what
# remains (so the last LEASE_DIVISOR requests of every window are counted one by one in Redis), an eighth
# of the process's recent calls, and none for a process with fewer than LEASE_MIN_DEMAND recent calls.
LEASE_DIVISOR = 64
LEASE_MIN_DEMAND = 32
# Without Redis (`make run`, one web process) the runs of 429s are counted in this process.
_local_streaks: dict = {}


@dataclass
class _Lease:
    """Requests of an organization's current window this process has already counted in Redis."""

    units: int  # still to hand out
    count: int  # the window's count after the claim (the last leased request's position)
    generation: int
    expires: float  # monotonic
    reset_at: float  # wall clock
    running: frozenset  # clients on a run of 429s at claim time: they go to Redis one by one


@dataclass
class _Demand:
    """How many /v1 calls of an organization this process served lately (two lease-long buckets)."""

    started: float
    current: int = 0
    previous: int = 0

    def note(self, now: float, period: float) -> int:
        """Count one call; returns the calls of the last one to two periods."""
        if now - self.started >= period:
            self.previous = self.current if now - self.started < 2 * period else 0
            self.current = 0
            self.started = now
        self.current += 1
        return self.current + self.previous


_leases: dict = {}
_demand: dict = {}
_known_generation: list = [None]
_running_clients: set = set()


def _limiter() -> FixedWindowRateLimiter:
    uri = settings.RATELIMIT_STORAGE_URI
    limiter = _limiters.get(uri)
    if limiter is None:
        with _lock:
            limiter = _limiters.get(uri)
            if limiter is None:
                limiter = FixedWindowRateLimiter(storage())
                _limiters[uri] = limiter
    return limiter


@dataclass(frozen=True)
class BudgetState:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    # The gateway generation read in the same round trip (None when not on Redis or the store is down).
    generation: int | None = None
    # The calling client's run of consecutive 429s before and after this request.
    streak_before: int = 0
    streak_after: int = 0

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


def _streak_key(organization_id) -> str:
    return f"nt24:gateway:429s:{organization_id}"


def _lease_seconds() -> float:
    return settings.GATEWAY_LEASE_SECONDS


def _lease_max() -> int:
    """How many requests a lease may hold beyond the current one (0: every request counted in Redis)."""
    if _lease_seconds() <= 0:
        return 0
    return max(0, settings.GATEWAY_LEASE_MAX)


def organization_budget_hit(*, organization, client_id=None) -> BudgetState:
    """Spend exactly one request of the organization's budget in the store (atomic); `allowed` is False
    when it is used up. With `client_id`, also keeps that client's run of consecutive 429s."""
    return _spend(organization, client_id, lease_max=0)


def organization_budget_take(*, organization, client_id) -> BudgetState:
    """Spend one request for a /v1 call: from this process's lease when it holds one, else in Redis.

    While much of the window remains, the Redis call grants a few requests more than asked (at most
    GATEWAY_LEASE_MAX, at most 1/LEASE_DIVISOR of what remains); this process hands them out for at most
    GATEWAY_LEASE_SECONDS, and only while the gateway generation it read with them is the newest it has
    seen. The budget is never exceeded (every request is counted in Redis before it is admitted); the
    last LEASE_DIVISOR requests of a window go to Redis one by one, as do clients on a run of 429s."""
    now = time.monotonic()
    period = _lease_seconds()
    with _lock:
        demand = _demand.get(organization.pk)
        if demand is None:
            demand = _demand[organization.pk] = _Demand(started=now)
        recent = demand.note(now, period) if period > 0 else 0
        lease = _leases.get(organization.pk)
        if (
            str(client_id) not in _running_clients
            and lease is not None
            and lease.units > 0
            and lease.expires > now
            and lease.generation == _known_generation[0]
            and str(client_id) not in lease.running
        ):
            lease.units -= 1
            limit = max(int(organization.rate_limit_per_minute), 1)
            return BudgetState(
                allowed=True,
                limit=limit,
                remaining=max(0, limit - (lease.count - lease.units)),
                reset_seconds=max(0, math.ceil(lease.reset_at - time.time())),
                generation=lease.generation,
            )
    # Leases only pay off for a busy process: lease an eighth of what it served in the last lease time
    # or two, and nothing below LEASE_MIN_DEMAND calls, so a lease is used up long before it expires
    # and a process that goes quiet leaves (almost) nothing unused.
    extra = min(_lease_max(), recent // 8) if recent >= LEASE_MIN_DEMAND else 0
    return _spend(organization, client_id, lease_max=extra)


def _spend(organization, client_id, *, lease_max: int) -> BudgetState:
    item = _item(organization)
    storage = _limiter().storage
    key = item.key_for(_key(organization))
    try:
        if isinstance(storage, RedisStorage):
            return _spend_redis(storage, organization, item, key, client_id, lease_max)
        count = storage.incr(key, item.get_expiry(), amount=1)
        reset = max(0, math.ceil(storage.get_expiry(key) - time.time()))
        allowed = count <= item.amount
        if not allowed:
            storage.decr(key, amount=1)  # refused requests are not counted (as on Redis)
        with _lock:
            before = _local_streaks.pop(client_id, 0)
            after = 0 if allowed else before + 1
            if after:
                _local_streaks[client_id] = after
    except Exception:  # the budget store being down must not take the API down: fail open, loudly
        logger.exception("rate-limit store unavailable; allowing the request")
        return BudgetState(allowed=True, limit=item.amount, remaining=item.amount, reset_seconds=WINDOW_SECONDS)
    return BudgetState(
        allowed=allowed,
        limit=item.amount,
        remaining=max(0, item.amount - count),
        reset_seconds=reset,
        streak_before=before,
        streak_after=after,
    )


def _spend_redis(storage, organization, item, key, client_id, lease_max: int) -> BudgetState:
    script = _scripts.get(id(storage))
    if script is None:
        script = _scripts[id(storage)] = storage.get_connection().register_script(_SPEND)
    keys = [storage.prefixed_key(key), GENERATION_KEY, _streak_key(organization.pk)]
    args = [item.get_expiry(), item.amount, str(client_id), lease_max, LEASE_DIVISOR]
    claimed = time.monotonic()
    granted, count, ttl_ms, generation, before, after, running = script(keys, [*args, STREAK_EXPIRY_SECONDS])
    granted, count, ttl_ms, generation = int(granted), int(count), int(ttl_ms), int(generation)
    before, after = int(before), int(after)
    reset_at = time.time() + max(ttl_ms, 0) / 1000
    client_key = str(client_id)
    with _lock:
        if generation != _known_generation[0]:
            _known_generation[0] = generation
            _leases.clear()
        if after:
            _running_clients.add(client_key)
        else:
            _running_clients.discard(client_key)
        if granted > 1:
            # Valid for the lease time, and never past the window the requests were counted in.
            lifetime = min(_lease_seconds(), max(ttl_ms, 0) / 1000 - 0.05)
            _leases[organization.pk] = _Lease(
                units=granted - 1,
                count=count,
                generation=generation,
                expires=claimed + lifetime,
                reset_at=reset_at,
                running=frozenset(r.decode() if isinstance(r, bytes) else str(r) for r in running),
            )
    admitted_count = count - granted + 1
    return BudgetState(
        allowed=granted > 0,
        limit=item.amount,
        remaining=max(0, item.amount - (admitted_count if granted else count)),
        reset_seconds=max(0, math.ceil(ttl_ms / 1000)),
        generation=generation,
        streak_before=before,
        streak_after=after,
    )


def organization_budget_refund(*, organization) -> None:
    """Give back one request (a request admitted on stale cached data turned out to be refused)."""
    item = _item(organization)
    storage = _limiter().storage
    key = item.key_for(_key(organization))
    try:
        if isinstance(storage, RedisStorage):
            storage.get_connection().decr(storage.prefixed_key(key))
        else:
            storage.decr(key, amount=1)
    except Exception:
        logger.exception("rate-limit store unavailable; could not refund a request")


def client_streak_reset(*, client) -> None:
    """Forget a client's run of consecutive 429s (after a pause starts or ends)."""
    storage = _limiter().storage
    with _lock:
        _local_streaks.pop(client.pk, None)
        _running_clients.discard(str(client.pk))
    if isinstance(storage, RedisStorage):
        try:
            storage.get_connection().hdel(_streak_key(client.organization_id), str(client.pk))
        except Exception:
            logger.exception("rate-limit store unavailable; could not reset a 429 run")


def generation_changed(*, generation: int | None, client=None) -> None:
    """A `portal.core.generation` listener: leases read under an older generation are dropped, and a client
    whose pause started or ended starts a fresh run of 429s."""
    if generation is not None:
        with _lock:
            _known_generation[0] = generation
            _leases.clear()
    if client is not None:
        client_streak_reset(client=client)


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


def budget_local_state_clear() -> None:
    """Forget this process's leases and runs of 429s (tests; a fresh process starts like this)."""
    with _lock:
        _leases.clear()
        _demand.clear()
        _running_clients.clear()
        _local_streaks.clear()
        _known_generation[0] = None


def organization_budget_reset(*, organization) -> None:
    with _lock:
        _leases.pop(organization.pk, None)
    _limiter().clear(_item(organization), _key(organization))
