"""The in-process caller cache and budget leases stay exact across processes (against a real Redis).

"Another process" is simulated by writing rows with `.update()` (no signals, no local invalidation) and
raising the gateway generation in Redis directly, which is all another worker's commit does here."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from portal.clients.models import AccessToken, ApiClient
from portal.core.generation import GENERATION_KEY
from portal.gateway import ratelimit
from portal.gateway.cache import gateway_cache_clear
from portal.gateway.ratelimit import (
    _limiter,
    organization_budget_peek,
    organization_budget_take,
)
from tests.conftest import bearer_client_for
from tests.factories import budgeted_organization

pytestmark = pytest.mark.django_db


def _redis():
    return _limiter().storage.get_connection()


def _elsewhere_commits():
    """What another process's commit does to this one: the generation moves, nothing local is cleared."""
    _redis().incr(GENERATION_KEY)


LEASE_SECONDS = 0.2


@pytest.fixture
def short_leases(settings):
    settings.GATEWAY_LEASE_SECONDS = LEASE_SECONDS


def _leased_units(organization) -> int:
    lease = ratelimit._leases.get(organization.pk)
    return lease.units if lease is not None and lease.expires > time.monotonic() else 0


def _busy(organization):
    """Make this process a busy one for the organization (leases go only to busy processes), until it
    holds a lease with a few requests left."""
    for _ in range(10 * ratelimit.LEASE_MIN_DEMAND):
        organization_budget_take(organization=organization, client_id=uuid.uuid4())
        if _leased_units(organization) >= 3:
            return
    raise AssertionError("no lease after many calls")


def test_a_token_revoked_in_another_process_is_refused_on_its_next_call(redis_budget):
    organization = budgeted_organization(60)  # small budget: every call is counted in Redis
    api, client = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    assert api.get("/v1/me").status_code == 200  # served from the cache
    AccessToken.objects.filter(client=client).update(revoked_at=timezone.now())
    _elsewhere_commits()
    response = api.get("/v1/me")
    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-token")


def test_a_busy_process_sees_a_revocation_elsewhere_once_its_lease_ends(redis_budget, short_leases):
    organization = budgeted_organization(100_000)
    api, client = bearer_client_for(organization)
    _busy(organization)
    assert api.get("/v1/me").status_code == 200
    leased = _leased_units(organization)
    assert leased > 0
    AccessToken.objects.filter(client=client).update(revoked_at=timezone.now())
    _elsewhere_commits()
    stale = 0
    while api.get("/v1/me").status_code == 200:  # served from the lease read before the change
        stale += 1
        assert stale <= leased  # the lease ends when used up (or after GATEWAY_LEASE_SECONDS)
    response = api.get("/v1/me")
    assert response.status_code == 401 and response.json()["type"].endswith("/invalid-token")


def test_a_pause_in_another_process_is_seen_and_the_request_is_given_back(redis_budget):
    organization = budgeted_organization(60)
    api, client = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    before = organization_budget_peek(organization=organization).remaining
    ApiClient.objects.filter(pk=client.pk).update(
        status=ApiClient.Status.PAUSED, paused_until=timezone.now() + timezone.timedelta(minutes=5)
    )
    _elsewhere_commits()
    response = api.get("/v1/me")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/client-paused")
    assert organization_budget_peek(organization=organization).remaining == before


def test_a_dpa_withdrawn_in_another_process_closes_the_gate(redis_budget):
    organization = budgeted_organization(60)
    api, _ = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    organization.dpas.update(revoked_at=timezone.now())
    _elsewhere_commits()
    assert api.get("/v1/me").json()["type"].endswith("/dpa-not-accepted")


def test_without_a_generation_change_the_cached_caller_is_used(redis_budget):
    """The other side of the tests above: proof that the cache is really in play."""
    organization = budgeted_organization(60)
    api, client = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(name="Renamed behind the ORM")
    assert api.get("/v1/me").json()["client"]["name"] == "DMS"
    _elsewhere_commits()
    assert api.get("/v1/me").json()["client"]["name"] == "Renamed behind the ORM"


def test_a_change_through_the_orm_is_seen_at_once_in_this_process(redis_budget):
    organization = budgeted_organization(100_000)
    api, client = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    client.name = "Renamed"
    client.save()
    assert api.get("/v1/me").json()["client"]["name"] == "Renamed"


def test_leases_never_let_more_through_than_the_budget(redis_budget):
    """Leased requests are counted in Redis before they are handed out: a process that dies (its lease
    dropped) can only leave requests unused, never admit extra ones."""
    organization = budgeted_organization(1000)
    client_id = uuid.uuid4()
    admitted = 0
    for attempt in range(1500):
        if attempt % 97 == 0:
            ratelimit._leases.clear()  # a worker restarts and forgets what it held
        admitted += organization_budget_take(organization=organization, client_id=client_id).allowed
    assert organization_budget_peek(organization=organization).remaining == 0  # all 1000 counted in Redis
    assert 1000 - 16 * django_settings.GATEWAY_LEASE_MAX <= admitted <= 1000


def test_threads_of_one_process_share_its_leases_exactly(redis_budget, settings):
    """Threads of one worker share its leases: the budget is let through to the request."""
    settings.GATEWAY_LEASE_SECONDS = 30
    organization = budgeted_organization(500)
    barrier = threading.Barrier(8)

    def spend(_):
        client_id = uuid.uuid4()
        barrier.wait()
        return sum(organization_budget_take(organization=organization, client_id=client_id).allowed for _ in range(100))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(spend, range(8))) == 500


def test_the_last_requests_of_a_window_are_counted_one_by_one(redis_budget):
    organization = budgeted_organization(1000)
    client_id = uuid.uuid4()
    states = [organization_budget_take(organization=organization, client_id=client_id) for _ in range(1000)]
    assert all(state.allowed for state in states)
    assert not organization_budget_take(organization=organization, client_id=client_id).allowed
    remaining = [state.remaining for state in states]
    assert remaining == sorted(remaining, reverse=True) and remaining[-1] == 0
    # The first call leased GATEWAY_LEASE_MAX more; near the end, nothing was leased.
    lease = ratelimit._leases.get(organization.pk)
    assert lease is None or lease.units == 0
    assert ratelimit.organization_budget_hit(organization=organization).allowed is False


def test_a_client_on_a_run_of_429s_is_counted_in_redis_even_under_a_lease(redis_budget, short_leases):
    organization = budgeted_organization(100_000)
    api_a, _ = bearer_client_for(organization, name="A")
    api_b, client_b = bearer_client_for(organization, name="B")
    assert api_a.get("/v1/me").status_code == 200
    # Client B had 5 refusals in another process; the next lease claim learns it, so B's next admitted
    # request goes to Redis and ends the run there (and in the database's mirror).
    _redis().hset(f"nt24:gateway:429s:{organization.pk}", str(client_b.pk), 5)
    ApiClient.objects.filter(pk=client_b.pk).update(consecutive_429s=5)
    time.sleep(LEASE_SECONDS + 0.01)
    _busy(organization)
    assert api_a.get("/v1/me").status_code == 200
    assert _leased_units(organization) > 0
    assert api_b.get("/v1/me").status_code == 200
    assert _redis().hget(f"nt24:gateway:429s:{organization.pk}", str(client_b.pk)) is None
    client_b.refresh_from_db()
    assert client_b.consecutive_429s == 0


def test_a_quiet_process_takes_no_lease(redis_budget):
    """Leases go to busy processes only: one that serves a call now and then leaves nothing unused."""
    organization = budgeted_organization(100_000)
    for used in range(1, ratelimit.LEASE_MIN_DEMAND):
        state = organization_budget_take(organization=organization, client_id=uuid.uuid4())
        assert state.remaining == 100_000 - used
    assert _leased_units(organization) == 0
    assert organization_budget_peek(organization=organization).remaining == 100_000 - (ratelimit.LEASE_MIN_DEMAND - 1)


def test_redis_down_means_no_cache_and_no_lease(settings, django_assert_num_queries):
    organization = budgeted_organization(60)
    settings.RATELIMIT_STORAGE_URI = "redis://127.0.0.1:1/0"  # nothing listens there
    api, _ = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200  # fail open
    for _ in range(2):
        with django_assert_num_queries(1):  # the token is read from the database on every call
            assert api.get("/v1/me").status_code == 200
    assert organization.pk not in ratelimit._leases
    gateway_cache_clear()


def test_leases_can_be_switched_off(redis_budget, settings):
    settings.GATEWAY_LEASE_MAX = 0
    organization = budgeted_organization(100_000)
    for used in range(1, 6):
        state = organization_budget_take(organization=organization, client_id=uuid.uuid4())
        assert state.allowed and state.remaining == 100_000 - used
    assert organization.pk not in ratelimit._leases
    assert organization_budget_peek(organization=organization).remaining == 100_000 - 5
