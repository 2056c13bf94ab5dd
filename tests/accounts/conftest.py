import pytest


@pytest.fixture(autouse=True)
def _fresh_throttles(settings):
    """Reset-mail throttles count in a store of their own per test, never in a shared Redis."""
    settings.RATELIMIT_STORAGE_URI = "memory://"
    from portal.core.throttle import throttle_limiter

    throttle_limiter().storage.reset()
