"""Per-IP limits on the buyer's public link, so tokens cannot be guessed at speed (the `limits` library)."""

from functools import lru_cache

from django.conf import settings
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


@lru_cache(maxsize=4)
def _limiter(uri: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(uri))


def limiter() -> MovingWindowRateLimiter:
    return _limiter(settings.RATELIMIT_STORAGE_URI)


def public_link_allowed(ip: str | None) -> bool:
    """Every request on a link counts; unknown tokens count a second, much smaller budget."""
    key = ip or "unknown"
    rate = parse(getattr(settings, "KYC_PUBLIC_RATE", "60/minute"))
    misses = parse(getattr(settings, "KYC_PUBLIC_MISS_RATE", "10/10minutes"))
    if not limiter().test(misses, "kyc-public-miss", key):
        return False
    return limiter().hit(rate, "kyc-public", key)


def public_link_miss(ip: str | None) -> None:
    limiter().hit(parse(getattr(settings, "KYC_PUBLIC_MISS_RATE", "10/10minutes")), "kyc-public-miss", ip or "unknown")
