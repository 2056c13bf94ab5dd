"""Webhooks pages: roles, tenant isolation, inline errors, HTMX partials, query counts on the history page."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from portal.core.models import AuditEntry
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookReplayJob
from portal.webhooks.outbox import event_emit
from portal.webhooks.services import event_fan_out
from tests.factories import pilot_organization

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def login(user):
    client = Client()
    client.force_login(user)
    return client


def url(name, organization, **kwargs):
    return reverse(f"webhooks:{name}", kwargs={"organization_id": organization.pk, **kwargs})


def _emit(organization, n=1, event_type="kyc.level.upgraded"):
    events = []
    for i in range(n):
        with transaction.atomic():
            events.append(event_emit(organization=organization, event_type=event_type, data={"version": i}))
        event_fan_out(event_id=events[-1].pk)
    return events


def test_create_endpoint_from_the_page(operator_user, organization, receiver):
    client = login(operator_user)
    page = client.get(url("endpoint_create", organization))
    assert page.status_code == 200 and b"kyc.*" in page.content
    response = client.post(
        url("endpoint_create", organization), {"url": receiver.url, "subscriptions": ["kyc.*", "buyer.created"]}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == url(
        "endpoint_detail", organization, endpoint_id=endpoint.pk
    )
    assert endpoint.subscriptions == ["kyc.*", "buyer.created"]
    listing = client.get(url("endpoint_list", organization))
    assert receiver.url.encode() in listing.content


def test_inline_errors_on_the_form(operator_user, organization, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    client = login(operator_user)
    response = client.post(
        url("endpoint_create", organization), {"url": "http://127.0.0.1/x", "subscriptions": []}, **HX
    )
    assert response.status_code == 422
    assert b'id="endpoint-form"' in response.content and b"<html" not in response.content
    assert b"field-error" in response.content
    response = client.post(
        url("endpoint_create", organization), {"url": "http://127.0.0.1/x", "subscriptions": ["kyc.*"]}
    )
    assert response.status_code == 422 and b"non-public address" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_endpoint_detail_shows_health_and_coverage(viewer_user, organization, endpoint):
    _emit(organization, 2)
    response = login(viewer_user).get(url("endpoint_detail", organization, endpoint_id=endpoint.pk))
    assert response.status_code == 200
    assert b"covers today" in response.content and b"kyc.document.uploaded" in response.content
    assert b"Success rate" in response.content and b"chart-svg" in response.content
    assert b"Reveal secret" not in response.content  # viewers cannot


def test_secret_reveal_is_admin_only_and_audited(admin_user, operator_user, organization, endpoint):
    target = url("endpoint_secret", organization, endpoint_id=endpoint.pk)
    assert login(operator_user).post(target).status_code == 403
    response = login(admin_user).post(target, **HX)
    assert response.status_code == 200 and endpoint.secret.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    assert AuditEntry.objects.filter(action="webhook_endpoint.secret_revealed").count() == 1


def test_send_test_shows_the_outcome_inline(
    operator_user, organization, endpoint, receiver, django_capture_on_commit_callbacks
):
    client = login(operator_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("endpoint_test", organization, endpoint_id=endpoint.pk), **HX)
    # The eager test worker has already delivered it by the time the partial renders.
    delivery = WebhookDelivery.objects.get(event_type="webhook.test")
    poll = client.get(
        url("endpoint_test_outcome", organization, endpoint_id=endpoint.pk, delivery_id=delivery.pk), **HX
    )
    assert poll.status_code == 286 and b"Delivered: HTTP 200" in poll.content
    assert response.status_code in (200, 286)
    assert len(receiver.requests) == 1


def test_history_filters_pagination_and_query_count(viewer_user, organization, endpoint, django_assert_max_num_queries):
    events = _emit(organization, 30)
    client = login(viewer_user)
    with django_assert_max_num_queries(12):
        response = client.get(url("delivery_list", organization), {"limit": 20})
    assert response.status_code == 200
    assert response.content.count(b"webhooks/deliveries/") >= 20 and b"Older" in response.content
    with django_assert_max_num_queries(12):
        response = client.get(url("delivery_list", organization), {"eventId": events[3].webhook_id}, **HX)
    assert b"<html" not in response.content and events[3].webhook_id.encode() in response.content
    assert response.content.count(b"webhooks/deliveries/") == 1
    bad = client.get(url("delivery_list", organization), {"status": "NOPE"})
    assert bad.status_code == 200 and b"alert-error" in bad.content


def test_delivery_detail_has_the_signature_debugger(viewer_user, organization, endpoint, receiver):
    from portal.webhooks import engine

    event = _emit(organization)[0]
    engine.deliveries_dispatch(budget_seconds=5)
    delivery = WebhookDelivery.objects.get(event=event)
    response = login(viewer_user).get(url("delivery_detail", organization, delivery_id=delivery.pk))
    assert response.status_code == 200
    headers = receiver.requests[0]["headers"]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{receiver.requests[0]['body'].decode()}"
    from django.utils.html import escape

    assert escape(signed).encode() in response.content
    assert b"Attempt 1" in response.content and b"HTTP 200" in response.content


def test_replay_one_and_bulk_with_progress(operator_user, organization, endpoint, django_capture_on_commit_callbacks):
    _emit(organization, 3)
    WebhookDelivery.objects.update(status="FAILED", next_attempt_at=None)
    client = login(operator_user)
    delivery = WebhookDelivery.objects.first()
    response = client.post(url("delivery_replay", organization, delivery_id=delivery.pk))
    assert response.status_code == 302
    assert WebhookDelivery.objects.filter(replay_of=delivery).count() == 1

    dry = client.get(url("replay_create", organization), {"status": "FAILED"})
    assert dry.status_code == 200 and b"3 deliveries match" in dry.content
    response = client.post(url("replay_create", organization), {"status": "FAILED"})
    job = WebhookReplayJob.objects.get()
    assert response.status_code == 302 and response["Location"] == url("replay_detail", organization, replay_id=job.pk)
    page = client.get(response["Location"])
    assert b"<progress" in page.content and b'hx-trigger="every 1s"' in page.content
    from portal.webhooks.selectors import replay_job_queryset
    from portal.webhooks.services import replay_job_run

    replay_job_run(job_id=job.pk, queryset_for=replay_job_queryset)
    poll = client.get(response["Location"], **HX)
    assert poll.status_code == 286 and b"3 replays queued" in poll.content and b"every 1s" not in poll.content


def test_viewer_cannot_change_anything(viewer_user, organization, endpoint):
    client = login(viewer_user)
    delivery_id = "00000000-0000-0000-0000-000000000000"
    for name, kwargs in [
        ("endpoint_create", {}),
        ("endpoint_edit", {"endpoint_id": endpoint.pk}),
        ("endpoint_delete", {"endpoint_id": endpoint.pk}),
        ("endpoint_toggle", {"endpoint_id": endpoint.pk}),
        ("endpoint_reenable", {"endpoint_id": endpoint.pk}),
        ("endpoint_rotate", {"endpoint_id": endpoint.pk}),
        ("endpoint_concurrency", {"endpoint_id": endpoint.pk}),
        ("endpoint_test", {"endpoint_id": endpoint.pk}),
        ("delivery_replay", {"delivery_id": delivery_id}),
        ("replay_create", {}),
    ]:
        assert client.post(url(name, organization, **kwargs)).status_code == 403, name


def test_support_sees_every_organization(support_user, organization, endpoint):
    _emit(organization)
    client = login(support_user)
    assert client.get(url("delivery_list", organization)).status_code == 200
    assert client.get(url("endpoint_detail", organization, endpoint_id=endpoint.pk)).status_code == 200


def test_tenant_isolation_on_every_page(outsider_user, organization, endpoint, make_endpoint, receiver):
    _emit(organization)
    delivery = WebhookDelivery.objects.get()
    job = WebhookReplayJob.objects.create(organization=organization, cutoff=delivery.created_at, requested_by_label="x")
    client = login(outsider_user)
    ep = {"endpoint_id": endpoint.pk}
    for name, kwargs, method in [
        ("endpoint_list", {}, "get"),
        ("endpoint_create", {}, "get"),
        ("event_catalog", {}, "get"),
        ("endpoint_detail", ep, "get"),
        ("endpoint_edit", ep, "get"),
        ("endpoint_delete", ep, "post"),
        ("endpoint_toggle", ep, "post"),
        ("endpoint_reenable", ep, "post"),
        ("endpoint_secret", ep, "post"),
        ("endpoint_rotate", ep, "post"),
        ("endpoint_concurrency", ep, "post"),
        ("endpoint_test", ep, "post"),
        ("endpoint_test_outcome", {**ep, "delivery_id": delivery.pk}, "get"),
        ("delivery_list", {}, "get"),
        ("delivery_detail", {"delivery_id": delivery.pk}, "get"),
        ("delivery_replay", {"delivery_id": delivery.pk}, "post"),
        ("replay_create", {}, "get"),
        ("replay_detail", {"replay_id": job.pk}, "get"),
    ]:
        assert getattr(client, method)(url(name, organization, **kwargs)).status_code == 404, name
    # And an object of this organization through the outsider's own organization's URLs.
    other = outsider_user.memberships.get().organization
    assert client.get(url("endpoint_detail", other, endpoint_id=endpoint.pk)).status_code == 404
    assert client.get(url("delivery_detail", other, delivery_id=delivery.pk)).status_code == 404
    assert client.get(url("replay_detail", other, replay_id=job.pk)).status_code == 404
    other_endpoint = make_endpoint(receiver.url, organization_=pilot_organization())
    assert client.get(url("endpoint_detail", other, endpoint_id=other_endpoint.pk)).status_code == 404


def test_event_catalog_page(viewer_user, organization):
    response = login(viewer_user).get(url("event_catalog", organization))
    assert response.status_code == 200 and b"compliance.rollup.updated" in response.content
    assert b"&quot;version&quot;" in response.content


def test_capability_missing_banner(receiver):
    from portal.organizations.models import Membership
    from tests.factories import UserFactory

    org = pilot_organization(capabilities=())
    user = UserFactory()
    Membership.objects.create(organization=org, user=user, role="admin")
    response = login(user).get(url("endpoint_list", org))
    assert b"has not been granted" in response.content and b"Add endpoint" not in response.content
