import pytest

from portal.clients import gateway_state, usage


@pytest.fixture(autouse=True)
def _fresh_gateway_caches():
    """Each test starts with an empty gateway cache and usage buffer (they are per process)."""
    gateway_state.gateway_state_invalidate()
    usage._buffer.clear()
    yield
    gateway_state.gateway_state_invalidate()
    usage._buffer.clear()
