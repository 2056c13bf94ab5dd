"""Every gateway rule and their order: 401 → 403 paused → 403 DPA → 429 → 403 partner → 403 capability."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from portal.clients.models import ApiClient, ClientSecret, ClientUsageHour
from portal.clients.services import access_token_issue, client_create, client_revoke, client_secret_revoke
from portal.clients.usage import usage_flush
from portal.core.audit import Actor
from portal.core.models import AuditEntry
from portal.gateway.ratelimit import organization_budget_reset
from tests.conftest import bearer_client_for
from tests.factories import PartnerFactory, budgeted_organization, pilot_organization

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.clients.gateway_urls")]


def problem(response, slug, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith(f"/problems/{slug}")
    assert body["status"] == status
    assert body["instance"]
    return body


def test_me_works_with_a_valid_token(api, organization, partner):
    response = api.get("/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["organization"]["id"] == str(organization.pk)
    assert body["dpa"]["status"] == "ACCEPTED"
    assert [p["id"] for p in body["partners"]] == [str(partner.pk)]
    assert body["capabilities"] == sorted(["webhooks", "kycSelfServiceInvitations", "kycLevelB"])
    assert body["rateLimit"]["limit"] == organization.rate_limit_per_minute
    assert response["Cache-Control"] == "private, max-age=300"
    assert "Authorization" in response["Vary"]
    assert response["RateLimit-Policy"] == f'"org";q={organization.rate_limit_per_minute};w=60'
    assert response["RateLimit"].startswith('"org";r=')


def test_partners_list(api, partner):
    body = api.get("/v1/partners").json()
    assert body == {
        "data": [
            {
                "id": str(partner.pk),
                "legalName": partner.legal_name,
                "countryCode": partner.country_code,
                "vatNumber": partner.vat_number,
            }
        ],
        "nextCursor": None,
    }


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Basic abc", "Bearer nt24_at_nonsense", "Bearer nt24_sk_" + "a" * 49],
)
def test_missing_or_malformed_token_is_invalid_token(client, db, header):
    response = client.get("/v1/me", HTTP_AUTHORIZATION=header) if header else client.get("/v1/me")
    problem(response, "invalid-token", 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_with_valid_checksum_is_invalid(client, db):
    from portal.clients.credentials import new_access_token

    problem(client.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {new_access_token()}"), "invalid-token", 401)


def test_token_expires_after_one_hour(organization):
    api, _ = bearer_client_for(organization)
    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        assert api.get("/v1/me").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=60, seconds=1)):
        problem(api.get("/v1/me"), "invalid-token", 401)


def test_revoked_secret_invalidates_its_tokens(organization):
    api, client = bearer_client_for(organization)
    client_secret_revoke(actor=Actor.system(), secret=client.secrets.get())
    problem(api.get("/v1/me"), "invalid-token", 401)


def test_revoked_client_invalidates_its_tokens(organization):
    api, client = bearer_client_for(organization)
    client_revoke(actor=Actor.system(), client=client)
    problem(api.get("/v1/me"), "invalid-token", 401)


def _pause(client, minutes=15):
    ApiClient.objects.filter(pk=client.pk).update(
        status=ApiClient.Status.PAUSED, paused_until=timezone.now() + timedelta(minutes=minutes), pause_reason="test"
    )


def test_paused_client_gets_client_paused_with_retry_after(organization):
    api, client = bearer_client_for(organization)
    _pause(client, minutes=10)
    response = api.get("/v1/me")
    body = problem(response, "client-paused", 403)
    assert 590 <= int(response["Retry-After"]) <= 600
    assert body["pausedUntil"]


def test_pause_ends_by_itself(organization):
    api, client = bearer_client_for(organization)
    _pause(client, minutes=15)
    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=1)):
        assert api.get("/v1/me").status_code == 200
    client.refresh_from_db()
    assert client.status == ApiClient.Status.ACTIVE
    assert AuditEntry.objects.filter(action="client.pause_ended", target_id=str(client.pk)).exists()


def test_dpa_gate():
    organization = pilot_organization(dpa=False)
    api, _ = bearer_client_for(organization)
    problem(api.get("/v1/me"), "dpa-not-accepted", 403)


def test_paused_comes_before_dpa():
    organization = pilot_organization(dpa=False)
    api, client = bearer_client_for(organization)
    _pause(client)
    problem(api.get("/v1/me"), "client-paused", 403)


def test_dpa_comes_before_the_budget_and_spends_none():
    organization = pilot_organization(dpa=False)
    organization.rate_limit_per_minute = 1
    organization.save()
    api, _ = bearer_client_for(organization)
    for _ in range(3):
        problem(api.get("/v1/me"), "dpa-not-accepted", 403)


def test_dpa_revocation_is_seen_at_once(api, organization):
    assert api.get("/v1/me").status_code == 200
    organization.dpas.update(revoked_at=timezone.now())
    dpa = organization.dpas.first()
    dpa.save()  # a save through the ORM (what the service does) invalidates the gateway cache
    problem(api.get("/v1/me"), "dpa-not-accepted", 403)


@pytest.fixture(params=["memory", "redis"])
def budget_store(request, settings):
    """The same rules on the embedded store (`make run`) and on Redis (production, CI)."""
    if request.param == "redis":
        return request.getfixturevalue("redis_budget")
    settings.RATELIMIT_STORAGE_URI = "memory://"
    return "memory://"


def test_budget_is_shared_by_every_client_of_the_organization():
    organization = budgeted_organization(3)
    api_a, _ = bearer_client_for(organization, name="A")
    api_b, _ = bearer_client_for(organization, name="B")
    assert api_a.get("/v1/me").status_code == 200
    assert api_b.get("/v1/me").status_code == 200
    assert api_a.get("/v1/me").status_code == 200
    response = api_b.get("/v1/me")
    body = problem(response, "rate-limited", 429)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["RateLimit-Policy"] == '"org";q=3;w=60'
    assert response["RateLimit"].startswith('"org";r=0;t=')
    assert body["limit"] == 3
    other = budgeted_organization(3)
    api_other, _ = bearer_client_for(other)
    assert api_other.get("/v1/me").status_code == 200


def test_ten_consecutive_429s_pause_the_client_for_15_minutes(budget_store):
    organization = budgeted_organization(1)
    api, client = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    for _ in range(9):
        problem(api.get("/v1/me"), "rate-limited", 429)
    client.refresh_from_db()
    assert client.status == ApiClient.Status.ACTIVE and client.consecutive_429s == 9
    problem(api.get("/v1/me"), "rate-limited", 429)  # the 10th
    client.refresh_from_db()
    assert client.status == ApiClient.Status.PAUSED
    assert timedelta(minutes=14, seconds=58) < client.paused_until - timezone.now() <= timedelta(minutes=15)
    entry = AuditEntry.objects.get(action="client.paused", target_id=str(client.pk))
    assert entry.after["reason"] == "10 consecutive 429 responses"
    response = api.get("/v1/me")
    problem(response, "client-paused", 403)
    assert 890 <= int(response["Retry-After"]) <= 900
    usage_flush()
    row = ClientUsageHour.objects.get(client=client)
    assert (row.requests, row.rate_limited, row.pauses) == (11, 10, 1)
    # After 15 minutes (and a fresh budget window) the client works again.
    organization_budget_reset(organization=organization)
    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=1)):
        assert api.get("/v1/me").status_code == 200
    client.refresh_from_db()
    assert client.status == ApiClient.Status.ACTIVE and client.consecutive_429s == 0


def test_a_success_resets_the_consecutive_count(budget_store):
    organization = budgeted_organization(1)
    api, client = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    for _ in range(9):
        problem(api.get("/v1/me"), "rate-limited", 429)
    organization_budget_reset(organization=organization)
    assert api.get("/v1/me").status_code == 200
    client.refresh_from_db()
    assert client.consecutive_429s == 0
    for _ in range(9):
        problem(api.get("/v1/me"), "rate-limited", 429)
    client.refresh_from_db()
    assert client.status == ApiClient.Status.ACTIVE


def test_429s_of_another_client_do_not_pause_this_one(budget_store):
    organization = budgeted_organization(1)
    api_a, client_a = bearer_client_for(organization, name="A")
    api_b, client_b = bearer_client_for(organization, name="B")
    assert api_a.get("/v1/me").status_code == 200
    for _ in range(5):
        problem(api_a.get("/v1/me"), "rate-limited", 429)
        problem(api_b.get("/v1/me"), "rate-limited", 429)
    client_a.refresh_from_db()
    client_b.refresh_from_db()
    assert (client_a.consecutive_429s, client_b.consecutive_429s) == (5, 5)
    assert client_a.status == client_b.status == ApiClient.Status.ACTIVE


def test_rate_limit_comes_before_partner_and_capability():
    organization = budgeted_organization(1)
    api, _ = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    problem(api.get(f"/v1/partners/{uuid.uuid4()}/orders"), "rate-limited", 429)


def test_partner_not_authorized(api, organization):
    stranger = PartnerFactory()
    body = problem(api.get(f"/v1/partners/{stranger.pk}/things"), "partner-not-authorized", 403)
    assert body["sellerId"] == str(stranger.pk)
    problem(api.get(f"/v1/partners/{uuid.uuid4()}/things"), "partner-not-authorized", 403)


def test_partner_of_another_organization_is_not_authorized(api):
    other = pilot_organization()
    other_partner = other.partner_authorizations.first().partner
    problem(api.get(f"/v1/partners/{other_partner.pk}/things"), "partner-not-authorized", 403)


def test_authorized_partner_and_capability_pass(api, partner):
    response = api.get(f"/v1/partners/{partner.pk}/things")
    assert response.status_code == 200
    assert response.json() == {"partner": str(partner.pk)}


def test_capability_missing_names_it(api, partner):
    body = problem(api.get(f"/v1/partners/{partner.pk}/orders"), "capability-not-granted", 403)
    assert body["capability"] == "allowMultiVinOrders"
    assert "allowMultiVinOrders" in body["detail"]


def test_partner_comes_before_capability(api):
    problem(api.get(f"/v1/partners/{uuid.uuid4()}/orders"), "partner-not-authorized", 403)


def test_last_use_is_recorded_at_most_once_a_minute(organization, settings, django_assert_num_queries):
    settings.RATELIMIT_STORAGE_URI = "memory://"  # no caller cache without Redis: the token is read each call
    api, client = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    client.refresh_from_db()
    first = client.last_used_at
    secret = ClientSecret.objects.get(client=client)
    assert first is not None and secret.last_used_at is not None
    # A second call within the minute writes nothing: only the token lookup hits the database.
    with django_assert_num_queries(1):
        assert api.get("/v1/me").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        organization_budget_reset(organization=organization)
        assert api.get("/v1/me").status_code == 200
    client.refresh_from_db()
    assert client.last_used_at > first


def test_a_cached_caller_costs_no_query(organization, redis_budget, django_assert_num_queries):
    api, client = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200  # reads the token and the organization's state once
    for _ in range(3):
        with django_assert_num_queries(0):
            assert api.get("/v1/me").status_code == 200
    usage_flush()
    assert ClientUsageHour.objects.get(client=client).requests == 4


def test_token_of_client_b_cannot_see_another_organization(organization):
    other = pilot_organization()
    client, issued = client_create(actor=Actor.system(), organization=other, name="Other")
    token = access_token_issue(client=client, secret=issued.secret)
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.plaintext}")
    assert api.get("/v1/me").json()["organization"]["id"] == str(other.pk)
