"""Every instant the API writes is RFC 3339 in UTC with `Z` (issue #10 item 10).

Walks the main responses (me, partners, buyers, compliance, documents, invitations, endpoints, secrets
during a rotation overlap, deliveries, replay jobs and the client-paused problem) and checks every string
that looks like a date and time, including inside the signed payload a delivery shows."""

import json
import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as timezone_offset

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from portal.clients.models import ApiClient
from portal.clients.services import client_pause_for_rate_limit
from portal.core.times import rfc3339
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.outbox import event_emit
from portal.webhooks.services import event_fan_out
from tests.conftest import bearer_client_for
from tests.kyc.conftest import PDF_BYTES, valid_vat_numbers
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db

LOOKS_LIKE_A_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def _times(value, where="$"):
    """(json path, string) for every string that looks like a date and time, also in embedded JSON."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _times(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _times(item, f"{where}[{index}]")
    elif isinstance(value, str):
        if LOOKS_LIKE_A_TIME.match(value):
            yield where, value
        elif value.startswith("{"):
            yield from _times(_json_or_none(value), f"{where}<json>")


def _json_or_none(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return None


def _assert_utc_z(body, what) -> int:
    found = list(_times(body))
    for where, value in found:
        assert RFC3339_UTC.match(value), f"{what} {where} = {value!r} is not RFC 3339 UTC with Z"
        parsed = datetime.fromisoformat(value)
        assert parsed.utcoffset() == timedelta(0), f"{what} {where} = {value!r}"
    return len(found)


def test_rfc3339_helper_converts_to_utc():
    from zoneinfo import ZoneInfo

    berlin = datetime(2026, 12, 8, 10, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert rfc3339(berlin) == "2026-12-08T09:30:00Z"
    assert rfc3339(datetime(2026, 12, 8, 9, 30, 0, 120000, tzinfo=UTC)) == "2026-12-08T09:30:00.120000Z"
    assert rfc3339(None) is None


def test_every_timestamp_in_the_main_responses_is_utc_with_z(api, organization, partner):
    receiver = Receiver()
    try:
        _walk(api, organization, partner, receiver)
    finally:
        receiver.close()


def _walk(api, organization, partner, receiver):
    checked = 0

    def get(url, status=200):
        nonlocal checked
        response = api.get(url)
        assert response.status_code == status, (url, response.content)
        checked += _assert_utc_z(response.json(), f"GET {url}")
        return response.json()

    def post(url, data, status, fmt="json"):
        nonlocal checked
        response = api.post(url, data, format=fmt)
        assert response.status_code == status, (url, response.content)
        checked += _assert_utc_z(response.json(), f"POST {url}")
        return response.json()

    get("/v1/me")
    get("/v1/partners")

    buyers = f"/v1/partners/{partner.pk}/buyers"
    buyer = post(
        buyers, {"vatNumber": valid_vat_numbers(1)[0], "name": "Autohandel Nord", "email": "b@example.com"}, 201
    )
    buyer_url = f"{buyers}/{buyer['id']}"
    get(buyers)
    get(buyer_url)
    document = post(
        f"{buyer_url}/kyc/documents",
        {"type": "TRADE_REGISTER_EXTRACT", "file": SimpleUploadedFile("x.pdf", PDF_BYTES)},
        201,
        fmt="multipart",
    )
    assert document["createdAt"]
    get(f"{buyer_url}/kyc/documents")
    compliance = get(f"{buyer_url}/compliance")
    assert compliance["presentDocuments"] and compliance["updatedAt"]
    post(f"{buyer_url}/kyc/self-service-invitations", {}, 201)
    invitations = get(f"{buyer_url}/kyc/self-service-invitations")
    assert invitations["data"][0]["expiresAt"]

    endpoint = post("/v1/webhooks/endpoints", {"url": receiver.url, "subscriptions": ["kyc.*"]}, 201)
    endpoint_url = f"/v1/webhooks/endpoints/{endpoint['id']}"
    get("/v1/webhooks/endpoints")
    get(endpoint_url)
    rotated = post(f"{endpoint_url}/rotate-secret", {"overlapHours": 24}, 200)
    assert len(rotated["data"]) == 2
    secrets = get(f"{endpoint_url}/secret")["data"]
    assert [s["createdAt"] is not None for s in secrets] == [True, True], secrets
    assert secrets[1]["expiresAt"]

    with transaction.atomic():
        event = event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 2})
    event_fan_out(event_id=event.pk)
    now = timezone.now()
    WebhookDelivery.objects.filter(event=event).update(
        status="FAILED", last_attempt_at=now, next_attempt_at=None, last_status_code=500
    )
    deliveries = get("/v1/webhooks/deliveries")
    delivery_id = deliveries["data"][0]["id"]
    detail = get(f"/v1/webhooks/deliveries/{delivery_id}")
    assert json.loads(detail["payload"])["createdAt"].endswith("Z")
    post(f"/v1/webhooks/deliveries/{delivery_id}/replay", None, 202)

    after = (now - timedelta(hours=1)).astimezone(timezone_offset(timedelta(hours=2))).isoformat()  # an offset, not Z
    dry = post("/v1/webhooks/replays", {"dryRun": True, "createdAfter": after}, 200)
    assert dry["filters"]["createdAfter"].endswith("Z")
    job = post("/v1/webhooks/replays", {"createdAfter": after, "status": "FAILED"}, 202)
    assert job["filters"]["createdAfter"] == rfc3339(datetime.fromisoformat(after))
    get(f"/v1/webhooks/replays/{job['id']}")

    WebhookDelivery.objects.filter(pk=delivery_id).update(created_at=now - timedelta(days=31))
    event.created_at = now - timedelta(days=31)
    event.save(update_fields=["created_at"])
    expired = api.post(f"/v1/webhooks/deliveries/{delivery_id}/replay")
    assert expired.status_code == 409 and expired.json()["eventCreatedAt"]
    checked += _assert_utc_z(expired.json(), "replay-window-expired problem")

    paused_api, client = bearer_client_for(organization, name="Paused")
    ApiClient.objects.filter(pk=client.pk).update(consecutive_429s=10)
    assert client_pause_for_rate_limit(client=client)
    response = paused_api.get("/v1/me")
    assert response.status_code == 403 and response.json()["pausedUntil"]
    checked += _assert_utc_z(response.json(), "client-paused problem")
    assert checked >= 40, checked
