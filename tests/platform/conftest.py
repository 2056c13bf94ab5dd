import pytest

from portal.clients import gateway_state, usage


@pytest.fixture(autouse=True)
def _fresh_gateway_caches():
    """The gateway caches organization state and buffers usage per process; no test may see another's."""
    gateway_state.gateway_state_invalidate()
    usage._buffer.clear()
    yield
    gateway_state.gateway_state_invalidate()
    usage._buffer.clear()
