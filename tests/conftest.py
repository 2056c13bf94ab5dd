import pytest
from rest_framework.test import APIClient

from portal.clients.services import access_token_issue, client_create
from portal.core.audit import Actor
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, SupportUserFactory, UserFactory, pilot_organization


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def support_user(db):
    return SupportUserFactory()


@pytest.fixture
def organization(db):
    """A pilot organization: DPA registered, one partner authorized, the main capabilities granted."""
    return pilot_organization()


@pytest.fixture
def partner(organization):
    return organization.partner_authorizations.first().partner


def _member(organization, role):
    user = UserFactory()
    MembershipFactory(organization=organization, user=user, role=role)
    return user


@pytest.fixture
def admin_user(organization):
    return _member(organization, "admin")


@pytest.fixture
def operator_user(organization):
    return _member(organization, "operator")


@pytest.fixture
def viewer_user(organization):
    return _member(organization, "viewer")


@pytest.fixture
def outsider_user(db):
    """A member of another organization, who must see nothing of `organization`."""
    other = pilot_organization()
    return _member(other, "admin")


def bearer_client_for(organization, name="DMS") -> tuple[APIClient, object]:
    client, issued = client_create(actor=Actor.system(), organization=organization, name=name)
    token = access_token_issue(client=client, secret=issued.secret)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.plaintext}")
    return api, client


@pytest.fixture
def api(organization):
    """A DRF test client authenticated as an API client of `organization`."""
    api_client, _ = bearer_client_for(organization)
    return api_client


@pytest.fixture(autouse=True)
def _fresh_gateway_caches():
    """The gateway caches callers and organization state, holds budget leases and buffers usage per process;
    a test's rolled-back rows must not leak into the next one."""
    from portal.clients import usage
    from portal.gateway import cache as gateway_cache
    from portal.gateway import ratelimit

    def clear():
        gateway_cache.gateway_cache_clear()
        ratelimit.budget_local_state_clear()
        usage._buffer.clear()

    clear()
    yield
    clear()


@pytest.fixture(autouse=True)
def _fresh_token_throttle(monkeypatch):
    """/oauth/token failures are counted per client id in the shared store (Redis in CI): each test counts
    its own, so a fixed unknown id tried by many tests or runs never trips a lockout it did not cause."""
    import uuid

    from portal.gateway import oauth_throttle

    monkeypatch.setattr(oauth_throttle, "NAMESPACE", f"oauth-token-failures-test-{uuid.uuid4().hex}")
