"""The per-endpoint cap and the breaker as people and API clients see them: the endpoint page and
`maxConcurrency` / `health.breaker*` in the API; edits validated within 1-50 and audited."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.core.models import AuditEntry
from portal.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db
BASE = "/v1/webhooks"


def page(user, endpoint, name="endpoint_detail"):
    client = Client()
    client.force_login(user)
    return client, reverse(
        f"webhooks:{name}", kwargs={"organization_id": endpoint.organization_id, "endpoint_id": endpoint.pk}
    )


def test_the_page_shows_the_cap_and_an_open_breaker_with_why_and_until(viewer_user, endpoint):
    until = timezone.now() + timedelta(minutes=2)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        breaker_state="OPEN",
        breaker_until=until,
        breaker_opened_at=timezone.now(),
        breaker_reason="5 consecutive timeout failures: no answer within 15 s",
        breaker_deferred_count=37,
    )
    client, url = page(viewer_user, endpoint)
    html = client.get(url).content.decode()
    assert "Requests at once" in html and ">6<" in html
    assert 'badge-red">Open' in html and "5 consecutive timeout failures" in html
    assert until.strftime("%H:%M:%S") in html and ">37<" in html
    assert "Save cap" not in html  # only admins change the cap


def test_an_admin_changes_the_cap_on_the_page_audited(admin_user, endpoint):
    client, url = page(admin_user, endpoint, "endpoint_concurrency")
    assert "Save cap" in client.get(page(admin_user, endpoint)[1]).content.decode()
    response = client.post(url, {"max_concurrency": "12"}, follow=True)
    assert response.status_code == 200 and "At most 12 requests" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.max_concurrency == 12
    entry = AuditEntry.objects.filter(action="webhook_endpoint.updated").latest("occurred_at")
    assert entry.before["maxConcurrency"] == 6 and entry.after["maxConcurrency"] == 12


@pytest.mark.parametrize("value", ["0", "51", "many", ""])
def test_a_cap_out_of_bounds_is_refused_inline_and_nothing_changes(admin_user, endpoint, value):
    client, url = page(admin_user, endpoint, "endpoint_concurrency")
    response = client.post(url, {"max_concurrency": value}, follow=True)
    assert response.status_code == 200 and "from 1 to 50; nothing was changed" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.max_concurrency == 6
    assert not AuditEntry.objects.filter(action="webhook_endpoint.updated").exists()


def test_an_operator_cannot_change_the_cap(operator_user, endpoint):
    client, url = page(operator_user, endpoint, "endpoint_concurrency")
    assert client.post(url, {"max_concurrency": "20"}).status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.max_concurrency == 6


def test_the_api_shows_and_changes_max_concurrency_and_the_breaker(api, endpoint):
    body = api.get(f"{BASE}/endpoints/{endpoint.pk}").json()
    assert body["maxConcurrency"] == 6
    assert body["health"]["breakerState"] == "CLOSED" and body["health"]["breakerDeferredCount"] == 0
    patched = api.patch(f"{BASE}/endpoints/{endpoint.pk}", {"maxConcurrency": 20}, format="json")
    assert patched.status_code == 200 and patched.json()["maxConcurrency"] == 20
    for bad in (0, 51, "x", True):
        response = api.patch(f"{BASE}/endpoints/{endpoint.pk}", {"maxConcurrency": bad}, format="json")
        assert response.status_code in (400, 422) and response["Content-Type"].startswith("application/problem+json")
    endpoint.refresh_from_db()
    assert endpoint.max_concurrency == 20
    created = api.post(
        f"{BASE}/endpoints", {"url": endpoint.url, "subscriptions": ["kyc.*"], "maxConcurrency": 3}, format="json"
    )
    assert created.status_code == 201 and created.json()["maxConcurrency"] == 3


def test_a_new_url_or_reenabling_closes_the_breaker(api, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        breaker_state="OPEN", breaker_until=timezone.now() + timedelta(minutes=5), breaker_failures=5
    )
    patched = api.patch(f"{BASE}/endpoints/{endpoint.pk}", {"url": endpoint.url + "/v2"}, format="json")
    assert patched.json()["health"]["breakerState"] == "CLOSED"
    endpoint.refresh_from_db()
    assert endpoint.breaker_failures == 0 and endpoint.breaker_until is None
