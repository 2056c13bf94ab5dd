"""/v1/webhooks: endpoints, secrets, test events, delivery history, replays; gateway rules and tenant isolation."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from portal.core.models import AuditEntry
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookReplayJob
from portal.webhooks.outbox import event_emit
from portal.webhooks.services import event_fan_out
from tests.conftest import bearer_client_for
from tests.factories import pilot_organization

pytestmark = pytest.mark.django_db
BASE = "/v1/webhooks"


def _problem(response, status, slug):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"].endswith(f"/problems/{slug}")
    return response.json()


def _create(api, url, subscriptions=("kyc.*",), **extra):
    return api.post(f"{BASE}/endpoints", {"url": url, "subscriptions": list(subscriptions), **extra}, format="json")


def test_event_types_catalog(api):
    response = api.get(f"{BASE}/event-types")
    assert response.status_code == 200
    types = {t["type"]: t for t in response.json()["data"]}
    assert "webhook.test" in types and "compliance.rollup.updated" in types
    example = types["kyc.level.upgraded"]["examplePayload"]
    assert {"id", "type", "createdAt", "organizationId", "partnerId", "data"} <= set(example)
    assert "version" in example["data"]


def test_create_list_get_update_delete_endpoint(api, organization, partner, receiver):
    response = _create(
        api, receiver.url, ["kyc.*", "compliance.vies.completed"], description="DMS", partnerIds=[str(partner.pk)]
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["subscriptions"] == ["kyc.*", "compliance.vies.completed"]
    assert body["partnerIds"] == [str(partner.pk)] and body["enabled"] is True
    assert "secret" not in body
    endpoint_id = body["id"]

    listing = api.get(f"{BASE}/endpoints").json()
    assert [e["id"] for e in listing["data"]] == [endpoint_id] and listing["nextCursor"] is None

    patched = api.patch(f"{BASE}/endpoints/{endpoint_id}", {"enabled": False, "description": "off"}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["disabledReason"] == "MANUAL"
    assert api.get(f"{BASE}/endpoints/{endpoint_id}").json()["description"] == "off"

    assert api.delete(f"{BASE}/endpoints/{endpoint_id}").status_code == 204
    _problem(api.get(f"{BASE}/endpoints/{endpoint_id}"), 404, "not-found")
    actions = set(AuditEntry.objects.filter(target_id=endpoint_id).values_list("action", flat=True))
    assert actions == {"webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.deleted"}


@pytest.mark.parametrize(
    ("subscriptions", "status", "slug"),
    [
        (["*"], 422, "wildcard-subscription-not-allowed"),
        (["kyc.*", "*"], 422, "wildcard-subscription-not-allowed"),
        ([], 422, "validation-error"),
        (["kyc.nope"], 422, "validation-error"),
        (["orders.*"], 422, "validation-error"),
    ],
)
def test_subscriptions_are_validated(api, receiver, subscriptions, status, slug):
    _problem(_create(api, receiver.url, subscriptions), status, slug)
    assert not WebhookEndpoint.objects.exists()


def test_url_guard_problem(api, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    body = _problem(_create(api, "http://127.0.0.1:9/x"), 422, "webhook-url-not-allowed")
    assert "address" in body["detail"] or "https" in body["detail"]


def test_capability_required(receiver):
    org = pilot_organization(capabilities=("kycLevelB",))
    api, _ = bearer_client_for(org)
    body = _problem(api.get(f"{BASE}/endpoints"), 403, "capability-not-granted")
    assert body["capability"] == "webhooks"


def test_secret_is_revealed_and_audited_and_rotated(api, receiver):
    endpoint_id = _create(api, receiver.url).json()["id"]
    response = api.get(f"{BASE}/endpoints/{endpoint_id}/secret")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secrets = response.json()["data"]
    assert len(secrets) == 1 and secrets[0]["secret"].startswith("whsec_")
    assert AuditEntry.objects.filter(action="webhook_endpoint.secret_revealed", target_id=endpoint_id).count() == 1

    rotated = api.post(f"{BASE}/endpoints/{endpoint_id}/rotate-secret", {"overlapHours": 48}, format="json")
    assert rotated.status_code == 200
    data = rotated.json()["data"]
    assert len(data) == 2 and data[1]["secret"] == secrets[0]["secret"] and data[1]["expiresAt"]
    _problem(
        api.post(f"{BASE}/endpoints/{endpoint_id}/rotate-secret", {"overlapHours": 200}, format="json"),
        422,
        "validation-error",
    )
    zero = api.post(f"{BASE}/endpoints/{endpoint_id}/rotate-secret", {"overlapHours": 0}, format="json")
    assert len(zero.json()["data"]) == 1


def test_send_test_via_api(api, receiver, django_capture_on_commit_callbacks):
    endpoint_id = _create(api, receiver.url, ["compliance.*"]).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}/endpoints/{endpoint_id}/test")
    assert response.status_code == 202
    delivery_id = response.json()["id"]
    detail = api.get(f"{BASE}/deliveries/{delivery_id}").json()
    assert detail["eventType"] == "webhook.test" and detail["status"] == "SUCCEEDED"
    assert detail["attempts"][0]["responseStatus"] == 200
    assert detail["attempts"][0]["requestHeaders"]["webhook-id"] == detail["eventId"]


def _deliveries(organization, endpoint, n, event_type="kyc.level.upgraded", partner=None):
    ids = []
    for i in range(n):
        with transaction.atomic():
            event = event_emit(organization=organization, event_type=event_type, data={"version": i}, partner=partner)
        event_fan_out(event_id=event.pk)
        ids.append(event)
    return ids


@pytest.fixture
def api_endpoint(api, receiver):
    return WebhookEndpoint.objects.get(pk=_create(api, receiver.url, ["kyc.*", "compliance.*"]).json()["id"])


def test_delivery_history_filters_and_keyset_pagination(api, organization, partner, api_endpoint):
    events = _deliveries(organization, api_endpoint, 5)
    _deliveries(organization, api_endpoint, 2, event_type="compliance.vies.completed", partner=partner)
    WebhookDelivery.objects.filter(event=events[0]).update(status="FAILED", last_status_code=500)
    WebhookDelivery.objects.filter(event=events[1]).update(status="SUCCEEDED", last_status_code=204)

    seen, cursor = [], None
    while True:
        page = api.get(f"{BASE}/deliveries", {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [d["id"] for d in page["data"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7

    def ids(**params):
        return [d["eventId"] for d in api.get(f"{BASE}/deliveries", params).json()["data"]]

    assert len(ids(eventType="compliance.vies.completed")) == 2
    assert len(ids(partnerId=str(partner.pk))) == 2
    assert ids(status="FAILED") == [events[0].webhook_id]
    assert ids(statusClass="5xx") == [events[0].webhook_id]
    assert ids(statusClass="2xx") == [events[1].webhook_id]
    assert ids(eventId=events[2].webhook_id) == [events[2].webhook_id]
    assert ids(eventId=str(events[2].pk)) == [events[2].webhook_id]
    assert ids(endpointId=str(api_endpoint.pk)) and len(ids(endpointId=str(api_endpoint.pk))) == 7
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert ids(createdAfter=future) == []
    _problem(api.get(f"{BASE}/deliveries", {"status": "NOPE"}), 422, "validation-error")
    _problem(api.get(f"{BASE}/deliveries", {"cursor": "garbage!"}), 422, "validation-error")


def test_delivery_history_takes_any_utc_offset_python_parses(api, api_endpoint):
    # PostgreSQL refuses offsets beyond ±15:59; the filter compares in UTC instead (was a 500).
    response = api.get(f"{BASE}/deliveries", {"createdAfter": "9065-12-28T02:17:09+20:58"})
    assert response.status_code == 200, response.content
    assert response.json()["data"] == []
    assert api.get(f"{BASE}/deliveries", {"createdBefore": "2000-01-01T00:00:00-23:59"}).json()["data"] == []
    # An instant that leaves the years 1-9999 once in UTC is a validation error, not an OverflowError.
    _problem(api.get(f"{BASE}/deliveries", {"createdAfter": "9999-12-31T23:00:00-05:00"}), 422, "validation-error")
    _problem(api.get(f"{BASE}/deliveries", {"createdBefore": "0001-01-01T01:00:00+05:00"}), 422, "validation-error")


def test_replay_one_and_window(api, organization, api_endpoint):
    event = _deliveries(organization, api_endpoint, 1)[0]
    delivery = WebhookDelivery.objects.get(event=event)
    response = api.post(f"{BASE}/deliveries/{delivery.pk}/replay")
    assert response.status_code == 202
    replay = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert replay.event_id == event.pk and replay.replay_of_id == delivery.pk and replay.status == "PENDING"
    assert AuditEntry.objects.filter(action="webhook_delivery.replayed", target_id=str(delivery.pk)).exists()

    event.created_at = timezone.now() - timedelta(days=31)
    event.save()
    _problem(api.post(f"{BASE}/deliveries/{delivery.pk}/replay"), 409, "replay-window-expired")


def test_bulk_replay_dry_run_then_job(api, organization, api_endpoint, django_capture_on_commit_callbacks, receiver):
    events = _deliveries(organization, api_endpoint, 4)
    WebhookDelivery.objects.filter(event__in=events[:3]).update(status="FAILED", next_attempt_at=None)
    WebhookDelivery.objects.filter(event=events[3]).update(status="SUCCEEDED", next_attempt_at=None)

    dry = api.post(f"{BASE}/replays", {"dryRun": True, "status": "FAILED"}, format="json")
    assert dry.status_code == 200 and dry.json()["count"] == 3
    assert not WebhookReplayJob.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"{BASE}/replays", {"status": "FAILED"}, format="json")
    assert started.status_code == 202
    job = api.get(f"{BASE}/replays/{started.json()['id']}").json()
    assert job["status"] == "COMPLETED" and job["total"] == 3 and job["created"] == 3 and job["percent"] == 100
    assert WebhookDelivery.objects.filter(replay_job_id=job["id"]).count() == 3
    assert len(receiver.requests) == 3
    assert AuditEntry.objects.filter(action="webhook_replay.created").exists()

    old = (timezone.now() - timedelta(days=31)).isoformat()
    _problem(api.post(f"{BASE}/replays", {"createdAfter": old}, format="json"), 409, "replay-window-expired")


def test_tenant_isolation_on_every_url(api, organization, receiver):
    other = pilot_organization()
    other_api, _ = bearer_client_for(other)
    endpoint_id = _create(other_api, receiver.url).json()["id"]
    with transaction.atomic():
        event = event_emit(organization=other, event_type="kyc.level.upgraded", data={"version": 1})
    event_fan_out(event_id=event.pk)
    delivery = WebhookDelivery.objects.get(event=event)
    job = WebhookReplayJob.objects.create(organization=other, cutoff=timezone.now(), requested_by_label="x")

    for method, url in [
        ("get", f"{BASE}/endpoints/{endpoint_id}"),
        ("patch", f"{BASE}/endpoints/{endpoint_id}"),
        ("delete", f"{BASE}/endpoints/{endpoint_id}"),
        ("get", f"{BASE}/endpoints/{endpoint_id}/secret"),
        ("post", f"{BASE}/endpoints/{endpoint_id}/rotate-secret"),
        ("post", f"{BASE}/endpoints/{endpoint_id}/test"),
        ("get", f"{BASE}/deliveries/{delivery.pk}"),
        ("post", f"{BASE}/deliveries/{delivery.pk}/replay"),
        ("get", f"{BASE}/replays/{job.pk}"),
    ]:
        _problem(getattr(api, method)(url, {}, format="json"), 404, "not-found")
    assert api.get(f"{BASE}/endpoints").json()["data"] == []
    assert api.get(f"{BASE}/deliveries").json()["data"] == []
    assert api.get(f"{BASE}/deliveries", {"endpointId": endpoint_id}).json()["data"] == []
    assert api.post(f"{BASE}/replays", {"dryRun": True}, format="json").json()["count"] == 0
