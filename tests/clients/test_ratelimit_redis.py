"""The organization budget under concurrency, against a real Redis (REDIS_URL, else the local one on DB 6)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from portal.clients.models import ApiClient
from portal.clients.services import access_token_issue, client_create
from portal.core.audit import Actor
from portal.core.models import AuditEntry
from portal.gateway.ratelimit import organization_budget_hit
from tests.factories import budgeted_organization


@pytest.mark.django_db
def test_budget_is_exact_under_threads(redis_budget):
    organization = budgeted_organization(137)
    barrier = threading.Barrier(16)

    def spend(_):
        barrier.wait()
        return sum(organization_budget_hit(organization=organization).allowed for _ in range(25))

    with ThreadPoolExecutor(max_workers=16) as pool:
        allowed = sum(pool.map(spend, range(16)))
    assert allowed == 137  # 400 attempts, exactly the budget let through


@pytest.mark.django_db
def test_two_organizations_have_separate_budgets(redis_budget):
    a, b = budgeted_organization(5), budgeted_organization(5)
    assert sum(organization_budget_hit(organization=a).allowed for _ in range(8)) == 5
    assert sum(organization_budget_hit(organization=b).allowed for _ in range(8)) == 5
    state = organization_budget_hit(organization=a)
    assert (state.allowed, state.remaining, state.limit) == (False, 0, 5)
    assert 0 < state.reset_seconds <= 60


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent HTTP requests need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_api_calls_from_several_clients_share_one_exact_budget(redis_budget):
    organization = budgeted_organization(40)
    tokens = []
    for name in ("DMS", "Accounting", "CRM"):
        client, issued = client_create(actor=Actor.system(), organization=organization, name=name)
        tokens.append(access_token_issue(client=client, secret=issued.secret).plaintext)
    barrier = threading.Barrier(9)

    def call(index):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[index % 3]}")
        barrier.wait()
        try:
            return [api.get("/v1/partners").status_code for _ in range(10)]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=9) as pool:
        statuses = [s for batch in pool.map(call, range(9)) for s in batch]
    assert statuses.count(200) == 40
    assert set(statuses) <= {200, 429, 403}  # 403 only once a client is paused by its 10th 429
    # 90 calls, 40 through: 50 refused across 3 clients; each pause happened once and was audited once.
    paused = ApiClient.objects.filter(organization=organization, status=ApiClient.Status.PAUSED).count()
    assert AuditEntry.objects.filter(organization=organization, action="client.paused").count() == paused
    assert statuses.count(429) + statuses.count(403) == 50
