import os

import pytest

from portal.gateway.ratelimit import _limiter

REDIS_URI = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/6"


@pytest.fixture
def redis_budget(settings):
    """The budget (and the caller cache's generation) on a real Redis: REDIS_URL, else the local one on DB 6."""
    settings.RATELIMIT_STORAGE_URI = REDIS_URI
    assert _limiter().storage.check(), f"Redis at {REDIS_URI} must be running for this test"
    return REDIS_URI
