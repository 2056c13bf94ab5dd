"""API client lifecycle in the browser: an admin creates a client and sees its secret once, rotates it
with an overlap window, ends the overlap, and only the newest secret still gets a token."""

import re

from playwright.sync_api import expect

from portal.clients.models import ApiClient
from tests.factories import CapabilityGrantFactory


def _token_status(client, client_id: str, secret: str) -> int:
    return client.post(
        "/oauth/token", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    ).status_code


def test_admin_creates_client_sees_secret_once_rotates_and_ends_overlap(
    page, login, shot, admin_user, organization, client
):
    CapabilityGrantFactory(organization=organization, capability="selfServiceSecretRotation")
    login(admin_user)
    page.goto(f"/organizations/{organization.pk}/clients/")
    shot("clients-empty")

    # 1. Create the client: the secret is shown once, with a warning.
    page.get_by_label("Name").fill("Dealer DMS")
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_role("heading", name="Client “Dealer DMS” created")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("shown only this once")
    first_secret = page.locator("#client-secret-value").inner_text().strip()
    client_id = page.locator("#client-id-value").inner_text().strip()
    assert first_secret.startswith("nt24_sk_")
    shot("secret-shown-once")
    api_client = ApiClient.objects.get(organization=organization, name="Dealer DMS")
    assert api_client.client_id == client_id
    assert first_secret not in str(list(api_client.secrets.values()))  # only a hash is stored

    # 2. The client's page never shows the secret again, only its last four characters.
    page.get_by_role("link", name="I have copied it").click()
    expect(page.get_by_role("heading", name="Secrets")).to_be_visible()
    assert first_secret not in page.content()
    expect(page.locator("#secrets")).to_contain_text(first_secret[-4:])
    shot("client-detail")
    assert _token_status(client, client_id, first_secret) == 200

    # 3. Rotate with a 24 h overlap: the new secret is shown once; both secrets work.
    page.get_by_role("button", name="Rotate secret").click()
    dialog = page.locator("#rotate-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("24 hours").check()
    shot("rotate-dialog")
    dialog.get_by_role("button", name="Rotate now").click()
    expect(page.get_by_role("heading", name="New secret for “Dealer DMS”")).to_be_visible()
    second_secret = page.locator("#client-secret-value").inner_text().strip()
    assert second_secret.startswith("nt24_sk_") and second_secret != first_secret
    expect(page.locator(".secret-timeline")).to_contain_text("24 h")
    shot("new-secret-shown-once")
    assert _token_status(client, client_id, first_secret) == 200
    assert _token_status(client, client_id, second_secret) == 200

    # 4. Back on the client: the overlap timeline; end it (confirmed in the dialog).
    page.get_by_role("link", name="I have copied it").click()
    overlap = page.locator("#secrets .overlap")
    expect(overlap).to_contain_text(first_secret[-4:])
    shot("overlap-timeline")
    overlap.get_by_role("button", name="End overlap now").click()
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_contain_text(re.compile(r"stops working immediately"))
    shot("end-overlap-confirmation")
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.locator("#secrets .overlap")).to_have_count(0)
    shot("overlap-ended")

    # Only the new secret still gets a token.
    assert _token_status(client, client_id, first_secret) == 401
    assert _token_status(client, client_id, second_secret) == 200
