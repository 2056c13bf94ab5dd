"""Client pages: who sees and manages what, the secret shown once, rotation dialog, revoke, unpause."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.clients.models import ApiClient, ClientSecret, ClientUsageHour
from portal.clients.services import client_create, client_secret_rotate
from portal.clients.usage import usage_count, usage_flush
from portal.core.audit import Actor
from portal.core.models import AuditEntry
from tests.factories import CapabilityGrantFactory

pytestmark = pytest.mark.django_db


def url(organization, name="list", **kwargs):
    from django.urls import reverse

    return reverse(f"clients:{name}", kwargs={"organization_id": organization.pk, **kwargs})


@pytest.fixture
def dms(organization):
    client, _ = client_create(actor=Actor.system(), organization=organization, name="DMS")
    return client


def test_viewer_sees_clients_without_management(client, viewer_user, organization, dms):
    client.force_login(viewer_user)
    response = client.get(url(organization))
    html = response.content.decode()
    assert response.status_code == 200
    assert "DMS" in html and dms.client_id in html
    assert "New API client" not in html
    detail = client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    assert "Rotate secret" not in detail and "Revoke client" not in detail
    assert client.post(url(organization, "create"), {"name": "X"}).status_code == 403
    assert client.post(url(organization, "revoke", client_pk=dms.pk)).status_code == 403


def test_outsider_gets_404(client, outsider_user, organization, dms):
    client.force_login(outsider_user)
    assert client.get(url(organization)).status_code == 404
    assert client.get(url(organization, "detail", client_pk=dms.pk)).status_code == 404
    assert client.post(url(organization, "rotate", client_pk=dms.pk), {"window": 24}).status_code == 404


def test_client_of_another_org_is_404_even_for_its_url_shape(client, admin_user, organization):
    from tests.factories import pilot_organization

    other_client, _ = client_create(actor=Actor.system(), organization=pilot_organization(), name="Theirs")
    client.force_login(admin_user)
    assert client.get(url(organization, "detail", client_pk=other_client.pk)).status_code == 404


def test_admin_creates_a_client_and_sees_the_secret_once(client, admin_user, organization):
    client.force_login(admin_user)
    response = client.post(url(organization, "create"), {"name": "Accounting", "description": "books"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    created = ApiClient.objects.get(organization=organization, name="Accounting")
    secret = html.split('id="client-secret-value">')[1].split("<")[0]
    assert secret.startswith("nt24_sk_")
    assert ClientSecret.objects.get(client=created).last_four == secret[-4:]
    assert 'data-copy="#client-secret-value"' in html
    assert "shown only this once" in html
    # Never again: not on the list, not on the detail page, not in a message.
    for page in (url(organization), url(organization, "detail", client_pk=created.pk)):
        assert secret not in client.get(page).content.decode()
    audit = AuditEntry.objects.get(action="client.created", target_id=str(created.pk))
    assert audit.actor_user == admin_user and secret not in str(audit.after)


def test_create_with_htmx_returns_the_partial(client, admin_user, organization):
    client.force_login(admin_user)
    response = client.post(url(organization, "create"), {"name": "HX"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "client-secret-value" in html
    assert "no-store" in response["Cache-Control"]


def test_create_duplicate_name_shows_an_inline_error(client, admin_user, organization, dms):
    client.force_login(admin_user)
    response = client.post(url(organization, "create"), {"name": "dms"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "already has a client with that name" in html
    assert "client-secret-value" not in html
    assert ApiClient.objects.filter(organization=organization).count() == 1


def test_admin_without_capability_cannot_rotate(client, admin_user, organization, dms):
    client.force_login(admin_user)
    assert "Rotate secret" not in client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    assert client.post(url(organization, "rotate", client_pk=dms.pk), {"window": 24}).status_code == 403


def test_admin_with_capability_rotates_with_a_window(client, admin_user, organization, dms):
    CapabilityGrantFactory(organization=organization, capability="selfServiceSecretRotation")
    client.force_login(admin_user)
    detail = client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    assert "Rotate secret" in detail and 'id="rotate-dialog"' in detail
    response = client.post(url(organization, "rotate", client_pk=dms.pk), {"window": 48}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "client-secret-value" in html and "(48 h)" in html
    old = dms.secrets.exclude(expires_at=None).get()
    assert timedelta(hours=47, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=48)


def test_rotating_during_overlap_asks_for_confirmation(client, support_user, organization, dms):
    client_secret_rotate(actor=Actor.system(), client=dms)
    client.force_login(support_user)
    detail = client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    assert "End overlap now" in detail and "End the current overlap now" in detail
    refused = client.post(url(organization, "rotate", client_pk=dms.pk), {"window": 24}, HTTP_HX_REQUEST="true")
    assert "Confirm to continue" in refused.content.decode()
    assert dms.secrets.count() == 2
    done = client.post(
        url(organization, "rotate", client_pk=dms.pk),
        {"window": 24, "confirm_end_overlap": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert "client-secret-value" in done.content.decode()
    assert dms.secrets.count() == 3


def test_end_overlap_and_revoke_secret_and_client(client, support_user, organization, dms):
    client_secret_rotate(actor=Actor.system(), client=dms)
    client.force_login(support_user)
    response = client.post(url(organization, "overlap_end", client_pk=dms.pk), follow=True)
    assert "only the new secret works" in response.content.decode()
    current = dms.secrets.get(expires_at=None)
    client.post(url(organization, "secret_revoke", client_pk=dms.pk, secret_pk=current.pk))
    current.refresh_from_db()
    assert current.revoked_at is not None
    client.post(url(organization, "revoke", client_pk=dms.pk))
    dms.refresh_from_db()
    assert dms.status == ApiClient.Status.REVOKED


def test_paused_client_shows_and_support_unpauses(client, support_user, admin_user, organization, dms):
    ApiClient.objects.filter(pk=dms.pk).update(
        status="PAUSED",
        paused_until=timezone.now() + timedelta(minutes=10),
        pause_reason="10 consecutive 429 responses",
    )
    client.force_login(admin_user)
    html = client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    assert "Paused until" in html and "10 consecutive 429 responses" in html and "Unpause now" not in html
    assert client.post(url(organization, "unpause", client_pk=dms.pk)).status_code == 403
    client.force_login(support_user)
    assert "Unpause now" in client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    client.post(url(organization, "unpause", client_pk=dms.pk))
    dms.refresh_from_db()
    assert dms.status == ApiClient.Status.ACTIVE
    assert AuditEntry.objects.filter(action="client.unpaused", actor_user=support_user).exists()


def test_usage_chart_shows_requests_and_429s(client, viewer_user, organization, dms):
    usage_count(client_id=dms.pk, requests=120, rate_limited=7, pauses=1)
    usage_flush()
    client.force_login(viewer_user)
    html = client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    assert "120 requests, 7 rate-limited (429)" in html
    assert "chart-bar-bad" in html


def test_list_query_count_is_pinned(client, support_user, organization, django_assert_max_num_queries):
    for i in range(6):
        c, _ = client_create(actor=Actor.system(), organization=organization, name=f"C{i}")
        client_secret_rotate(actor=Actor.system(), client=c)
    client.force_login(support_user)
    with django_assert_max_num_queries(14):
        response = client.get(url(organization))
    assert response.status_code == 200
    assert response.content.decode().count("in rotation window") == 6


def test_list_htmx_partial(client, viewer_user, organization, dms):
    client.force_login(viewer_user)
    html = client.get(url(organization), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="client-table"' in html and "<html" not in html


def test_support_pauses_a_client_now_and_its_calls_are_refused(
    client, support_user, admin_user, organization, django_capture_on_commit_callbacks
):
    from tests.conftest import bearer_client_for

    api, dms = bearer_client_for(organization)
    assert api.get("/v1/me").status_code == 200
    client.force_login(admin_user)
    assert "Pause client" not in client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    assert client.post(url(organization, "pause", client_pk=dms.pk), {"minutes": 60, "reason": "x"}).status_code == 403
    client.force_login(support_user)
    assert "Pause client" in client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(organization, "pause", client_pk=dms.pk),
            {"minutes": 60, "reason": "Runaway retry loop."},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200 and response["HX-Redirect"] == url(organization, "detail", client_pk=dms.pk)
    dms.refresh_from_db()
    assert dms.status == ApiClient.Status.PAUSED and dms.pause_reason == "Runaway retry loop"
    assert timedelta(minutes=59) < dms.paused_until - timezone.now() <= timedelta(minutes=60)
    entry = AuditEntry.objects.get(action="client.paused", actor_user=support_user)
    assert entry.after["reason"] == "Runaway retry loop"
    refused = api.get("/v1/me")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/client-paused")
    assert "Runaway retry loop" in refused.json()["detail"]
    assert 3590 <= int(refused["Retry-After"]) <= 3600
    html = client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    assert "Reason: Runaway retry loop." in html and "Unpause now" in html and "Pause client" not in html
    assert ClientUsageHour.objects.get(client=dms).pauses == 1


def test_pause_until_unpaused_has_no_end(client, support_user, organization, dms):
    client.force_login(support_user)
    client.post(url(organization, "pause", client_pk=dms.pk), {"minutes": 0, "reason": "Suspected leak"})
    dms.refresh_from_db()
    assert dms.status == ApiClient.Status.PAUSED and dms.paused_until is None
    assert (
        "until NT24 support unpauses it" in client.get(url(organization, "detail", client_pk=dms.pk)).content.decode()
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"minutes": 60, "reason": ""}, "This field is required."),
        ({"minutes": 7, "reason": "x"}, "Select a valid choice."),
    ],
)
def test_pause_with_bad_input_shows_the_error_inline_and_changes_nothing(
    client, support_user, organization, dms, data, message
):
    client.force_login(support_user)
    response = client.post(url(organization, "pause", client_pk=dms.pk), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html and 'id="pause-title"' in html and "<html" not in html
    dms.refresh_from_db()
    assert dms.status == ApiClient.Status.ACTIVE
    assert not AuditEntry.objects.filter(action="client.paused").exists()


def test_a_paused_client_cannot_be_paused_again(client, support_user, organization, dms):
    client.force_login(support_user)
    client.post(url(organization, "pause", client_pk=dms.pk), {"minutes": 15, "reason": "First"})
    response = client.post(
        url(organization, "pause", client_pk=dms.pk), {"minutes": 60, "reason": "Second"}, follow=True
    )
    assert "Only an active client can be paused." in response.content.decode()
    response = client.post(
        url(organization, "pause", client_pk=dms.pk), {"minutes": 60, "reason": "Second"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert "Only an active client can be paused." in response.content.decode()
    dms.refresh_from_db()
    assert dms.pause_reason == "First"
