"""Issue 10: the secret reveal without HTMX (item 9) and the delivery filters' empty labels (item 12)."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from portal.core.models import AuditEntry
from portal.webhooks.outbox import event_emit
from portal.webhooks.services import event_fan_out

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def login(user):
    client = Client()
    client.force_login(user)
    return client


def url(name, organization, **kwargs):
    return reverse(f"webhooks:{name}", kwargs={"organization_id": organization.pk, **kwargs})


def _reveals():
    return AuditEntry.objects.filter(action="webhook_endpoint.secret_revealed").count()


def test_reveal_without_htmx_renders_the_full_page_with_the_secret(admin_user, organization, endpoint):
    with transaction.atomic():
        event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 1})
    event_fan_out(event_id=organization.webhook_events.get().pk)
    response = login(admin_user).post(url("endpoint_secret", organization, endpoint_id=endpoint.pk))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert endpoint.secret in html  # what the audit entry says was shown
    assert "<html" in html and endpoint.url in html
    assert "Only organization admins can reveal" not in html
    assert "Rotate secret" in html and "Success rate" in html  # the page's real context, not the partial's
    assert "kyc.level.upgraded" in html  # recent deliveries are listed
    assert _reveals() == 1


def test_reveal_with_htmx_renders_only_the_secret(admin_user, organization, endpoint):
    response = login(admin_user).post(url("endpoint_secret", organization, endpoint_id=endpoint.pk), **HX)
    html = response.content.decode()
    assert response.status_code == 200 and endpoint.secret in html and "<html" not in html
    assert _reveals() == 1


def test_reveal_refused_to_operators_audits_nothing(operator_user, organization, endpoint):
    assert login(operator_user).post(url("endpoint_secret", organization, endpoint_id=endpoint.pk)).status_code == 403
    assert _reveals() == 0


@pytest.mark.parametrize("hx", [False, True])
def test_delivery_filters_have_named_empty_choices(viewer_user, organization, endpoint, hx):
    response = login(viewer_user).get(url("delivery_list", organization), **(HX if hx else {}))
    html = response.content.decode()
    assert response.status_code == 200
    if not hx:
        for label in ("Any event type", "Any status", "Any response", "Any endpoint", "Any partner"):
            assert label in html
    assert "---------" not in html


def test_replay_page_filters_have_no_dashes(operator_user, organization, endpoint):
    html = login(operator_user).get(url("replay_create", organization)).content.decode()
    assert "---------" not in html
