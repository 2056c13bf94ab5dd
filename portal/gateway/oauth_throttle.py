"""Failed client authentications at POST /oauth/token, counted per presented client id.

After OAUTH_TOKEN_FAILURE_RATE failures (default 10 per 5 minutes, a moving window in the `limits` store at
RATELIMIT_STORAGE_URI) every request for that client id is refused with 429 until the window lets the
oldest failure go, even one with the right secret: guessing a secret stays pointless. The store being down
must not stop token issuance: the throttle then fails open, loudly, like the organization budget."""

import hashlib
import logging
import math
import time
from functools import lru_cache

from django.conf import settings
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)

NAMESPACE = "oauth-token-failures"


@lru_cache(maxsize=4)
def _limiter(uri: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(uri))


def token_rate():
    return parse(settings.OAUTH_TOKEN_FAILURE_RATE)


def _key(client_id: str) -> str:
    # Any string may be presented as a client id: keys stay short and hold no caller input.
    return hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def token_lockout_seconds(*, client_id: str) -> int | None:
    """Seconds until this client id may try again, or None when it is not locked out."""
    try:
        limiter, rate, key = _limiter(settings.RATELIMIT_STORAGE_URI), token_rate(), _key(client_id)
        if limiter.test(rate, NAMESPACE, key):
            return None
        reset_at, _ = limiter.get_window_stats(rate, NAMESPACE, key)
    except Exception:  # the store being down must not take /oauth/token down
        logger.exception("oauth token throttle store unavailable; not checking failures")
        return None
    return max(1, math.ceil(reset_at - time.time()))


def token_failure_record(*, client_id: str) -> bool:
    """Count one failed authentication; True when it is the one that starts a lockout."""
    try:
        limiter, rate, key = _limiter(settings.RATELIMIT_STORAGE_URI), token_rate(), _key(client_id)
        limiter.hit(rate, NAMESPACE, key)
        return not limiter.test(rate, NAMESPACE, key)
    except Exception:
        logger.exception("oauth token throttle store unavailable; failure not counted")
        return False
