"""A suspended organization gets no token and every /v1 call answers 403 organization-suspended (issue 10, item 8)."""

from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portal.clients.models import ApiClient
from portal.clients.services import client_create
from portal.core.audit import Actor
from portal.core.generation import GENERATION_KEY
from portal.gateway.ratelimit import _limiter
from portal.organizations import services
from portal.organizations.models import IntegrationOrganization
from tests.conftest import bearer_client_for
from tests.factories import SupportUserFactory, budgeted_organization

pytestmark = pytest.mark.django_db


def _support():
    return Actor(user=SupportUserFactory())


def _token(client_id, secret):
    body = urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    return APIClient().generic("POST", "/oauth/token", body, content_type="application/x-www-form-urlencoded")


def _assert_suspended(response):
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/problems/organization-suspended") and body["status"] == 403
    assert "suspended" in body["detail"]


def test_a_suspended_organization_gets_no_token_and_reactivation_restores_it(organization):
    client, issued = client_create(actor=Actor.system(), organization=organization, name="DMS")
    assert _token(client.client_id, issued.plaintext).status_code == 200
    services.organization_suspend(actor=_support(), organization=organization, reason="unpaid invoices")
    refused = _token(client.client_id, issued.plaintext)
    assert refused.status_code == 401 and refused["Cache-Control"] == "no-store"
    body = refused.json()
    assert body["error"] == "invalid_client" and "suspended" in body["error_description"]
    services.organization_reactivate(actor=_support(), organization=organization, reason="paid")
    assert _token(client.client_id, issued.plaintext).status_code == 200


def test_every_v1_call_answers_organization_suspended(organization, partner):
    api, _ = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    services.organization_suspend(actor=_support(), organization=organization, reason="contract ended")
    _assert_suspended(api.get("/v1/me"))
    _assert_suspended(api.get(f"/v1/partners/{partner.pk}/buyers"))
    _assert_suspended(api.post(f"/v1/partners/{partner.pk}/buyers", {"vatNumber": "x"}, format="json"))
    services.organization_reactivate(actor=_support(), organization=organization, reason="renewed")
    assert api.get("/v1/me").status_code == 200


def test_suspension_comes_before_the_client_pause_and_the_dpa_gate(organization):
    api, client = bearer_client_for(organization)
    organization.dpas.update(revoked_at=timezone.now())
    ApiClient.objects.filter(pk=client.pk).update(
        status=ApiClient.Status.PAUSED, paused_until=timezone.now() + timezone.timedelta(minutes=5)
    )
    services.organization_suspend(actor=_support(), organization=organization, reason="audit")
    _assert_suspended(api.get("/v1/me"))


def test_a_cached_caller_is_refused_after_a_suspension_in_another_process(redis_budget):
    organization = budgeted_organization(60)
    api, _ = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    assert api.get("/v1/me").status_code == 200  # served from the caller cache
    # Another process suspends: the row changes behind this process's back and the generation moves.
    IntegrationOrganization.objects.filter(pk=organization.pk).update(status=IntegrationOrganization.Status.SUSPENDED)
    assert api.get("/v1/me").status_code == 200  # proof the cache is in play until the generation moves
    _limiter().storage.get_connection().incr(GENERATION_KEY)
    _assert_suspended(api.get("/v1/me"))


def test_the_suspend_service_raises_the_gateway_generation(redis_budget, django_capture_on_commit_callbacks):
    organization = budgeted_organization(60)
    api, _ = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    redis = _limiter().storage.get_connection()
    before = int(redis.get(GENERATION_KEY) or 0)
    with django_capture_on_commit_callbacks(execute=True):
        services.organization_suspend(actor=_support(), organization=organization, reason="fraud check")
    assert int(redis.get(GENERATION_KEY) or 0) > before
    _assert_suspended(api.get("/v1/me"))
    with django_capture_on_commit_callbacks(execute=True):
        services.organization_reactivate(actor=_support(), organization=organization, reason="cleared")
    assert api.get("/v1/me").status_code == 200


def test_the_problem_has_its_reference_page(client):
    response = client.get("/problems/organization-suspended")
    assert response.status_code == 200 and "Organization suspended" in response.content.decode()
