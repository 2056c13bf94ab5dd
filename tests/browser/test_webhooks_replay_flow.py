"""Webhooks end to end in the browser: an admin adds an endpoint, sends a test event, the receiver fails
(HTTP 500), the receiver recovers and the admin replays the delivery from the portal: it succeeds with
the same `webhook-id`, correctly signed."""

import re

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from portal.webhooks import ssrf
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.webhooks.conftest import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
    ssrf.checked_addresses.clear()


def test_admin_adds_endpoint_test_fails_then_replay_succeeds(page, login, shot, admin_user, organization, receiver):
    receiver.respond((500, {}, b"receiver is down"))  # the first request fails; afterwards it answers 200
    login(admin_user)
    page.goto(f"/organizations/{organization.pk}/webhooks/")
    shot("endpoints-empty")

    # 1. Add the endpoint.
    page.get_by_role("link", name="Add endpoint").first.click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description").fill("Dealer DMS")
    page.get_by_role("checkbox", name=re.compile(r"^kyc\.\*")).check()
    shot("endpoint-form")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_role("heading", name="Send a test event")).to_be_visible()
    endpoint = WebhookEndpoint.objects.get(organization=organization)
    assert endpoint.url == receiver.url and endpoint.subscriptions == ["kyc.*"]
    shot("endpoint-created")

    # 2. Send a test event: the receiver answers 500 and the portal says so.
    page.get_by_role("button", name="Send test").click()
    outcome = page.locator("#test-outcome")
    expect(outcome).to_contain_text("Failed: HTTP 500")
    shot("test-event-failed")
    failed = WebhookDelivery.objects.get(endpoint=endpoint)
    assert failed.status == WebhookDelivery.Status.RETRYING
    assert len(receiver.requests) == 1

    # 3. The delivery's page shows the failed attempt and the receiver's answer.
    outcome.get_by_role("link", name="See the delivery").click()
    expect(page.locator("main")).to_contain_text("HTTP 500")
    expect(page.locator("main")).to_contain_text("receiver is down")
    shot("delivery-failed")

    # 4. The receiver is back (it now answers 200); replay from the portal, confirming in the dialog.
    page.get_by_role("button", name="Replay").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("same webhook-id")
    shot("replay-confirmation")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator("#flash")).to_contain_text("Replay queued")
    expect(page.locator("main h2").first).to_contain_text("Succeeded")
    expect(page.locator("main")).to_contain_text("replay of")
    shot("replay-succeeded")

    replay = WebhookDelivery.objects.get(replay_of=failed)
    assert replay.status == WebhookDelivery.Status.SUCCEEDED
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == failed.event.webhook_id
    endpoint.refresh_from_db()
    Webhook(endpoint.secret).verify(second["body"], second["headers"])  # raises if the signature is wrong

    # 5. The original delivery links to its successful replay.
    page.get_by_role("link", name="an earlier delivery").click()
    expect(page.locator("main")).to_contain_text("Replays")
    expect(page.locator("main .badge-green").first).to_be_visible()
    shot("original-links-replay")
