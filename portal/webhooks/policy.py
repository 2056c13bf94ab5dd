"""Webhook rules that the engine, the services and the pages share: the retry schedule, the circuit breaker,
the per-endpoint cap's bounds, and the replay, retention, rotation and auto-disable windows."""

import email.utils
import random
from datetime import datetime, timedelta

# Replay, retention, signing-secret rotation and auto-disable.
REPLAY_WINDOW = timedelta(days=30)
RETENTION = timedelta(days=30)
MAX_ROTATION_OVERLAP = timedelta(days=7)
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)
AUTO_DISABLE_AFTER = timedelta(days=5)
DISABLE_WARNING_AFTER = timedelta(days=4)
REPLAY_CHUNK = 500

# Retries: 10 attempts within 72 h, exponential backoff with jitter.
MAX_ATTEMPTS = 10
RETRY_WINDOW = timedelta(hours=72)
BACKOFF_BASE_SECONDS = 20
BACKOFF_FACTOR = 3
JITTER = 0.2
MAX_CONCURRENCY_LIMITS = (1, 50)  # what an admin may set as an endpoint's cap
BREAKER_THRESHOLD = 5  # consecutive timeouts / connection failures that open the breaker
BREAKER_COOLDOWN = timedelta(seconds=60)  # first cool-down; doubles on each failed probe
BREAKER_COOLDOWN_MAX = timedelta(minutes=30)
BREAKER_FAILURE_CLASSES = ("timeout", "connection")  # an HTTP answer, even 5xx, proves the receiver is there

_rng = random.SystemRandom()


def retry_delay(attempt_number: int) -> timedelta:
    """Delay after failed attempt n (1..9): 20 s x 3^(n-1) ± 20 % — 20 s, 1 min, 3 min … 36 h; ≤ 66 h in total."""
    nominal = BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** (attempt_number - 1)
    return timedelta(seconds=nominal * _rng.uniform(1 - JITTER, 1 + JITTER))


def retry_after_seconds(response_headers: dict, status: int | None, *, now: datetime) -> float | None:
    """A receiver's Retry-After (seconds or HTTP date), honoured only on 429 and 503."""
    if status not in (429, 503):
        return None
    raw = next((v for k, v in response_headers.items() if k.lower() == "retry-after"), None)
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def next_attempt_time(
    *, first_attempt_at: datetime, attempt_number: int, now: datetime, retry_after: float | None = None
) -> datetime | None:
    """When to try again after failed attempt `attempt_number`, or None to give up; never past first + 72 h."""
    if attempt_number >= MAX_ATTEMPTS:
        return None
    deadline = first_attempt_at + RETRY_WINDOW
    if now >= deadline:
        return None
    delay = retry_delay(attempt_number)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return min(now + delay, deadline)
