"""POST /oauth/token: 10 failed authentications of one client id in 5 minutes lock it out (issue #10 item 4).

During the lockout every request for that client id is 429 `too_many_attempts` with Retry-After, even
with the right secret, so guessing stays pointless; other client ids are not affected; the lockout is
audited; the store being down degrades to no throttle, never a 500."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from portal.clients.services import client_create
from portal.core.audit import Actor
from portal.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _token(client_id, secret):
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return APIClient().generic(
        "POST", "/oauth/token", urlencode(data), content_type="application/x-www-form-urlencoded"
    )


@pytest.fixture
def memory_store(settings):
    settings.RATELIMIT_STORAGE_URI = "memory://"


def _client(organization, name="DMS"):
    client, issued = client_create(actor=Actor.system(), organization=organization, name=name)
    return client, issued.plaintext


def _fail(client_id, times):
    for _ in range(times):
        response = _token(client_id, "nt24_sk_wrong")
        assert response.status_code == 401, response.content
        assert response.json()["error"] == "invalid_client"


def test_ten_failures_lock_the_client_id_out_even_for_the_right_secret(memory_store, organization):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client, secret = _client(organization)
        other, other_secret = _client(organization, name="Accounting")
        _fail(client.client_id, 10)
        locked = _token(client.client_id, secret)
        assert locked.status_code == 429, locked.content
        assert locked.json()["error"] == "too_many_attempts"
        assert locked.json()["error_description"]
        assert locked["Cache-Control"] == "no-store"
        assert 1 <= int(locked["Retry-After"]) <= 300
        assert _token(client.client_id, "nt24_sk_wrong").status_code == 429
        # Another client of the same organization is not affected.
        assert _token(other.client_id, other_secret).status_code == 200

        entry = AuditEntry.objects.get(action="client.token_locked_out", target_id=str(client.pk))
        assert entry.organization_id == organization.pk

        clock.move_to(start + timedelta(minutes=5, seconds=1))
        assert _token(client.client_id, secret).status_code == 200


def test_nine_failures_do_not_lock_out_and_success_does_not_reset_the_count(memory_store, organization):
    client, secret = _client(organization)
    _fail(client.client_id, 9)
    assert _token(client.client_id, secret).status_code == 200
    _fail(client.client_id, 1)
    assert _token(client.client_id, secret).status_code == 429


def test_unknown_client_ids_are_throttled_too_without_an_audit_entry(memory_store):
    _fail("nt24_ci_unknown", 10)
    assert _token("nt24_ci_unknown", "x").status_code == 429
    assert not AuditEntry.objects.filter(action="client.token_locked_out").exists()


def test_lockout_holds_across_processes_on_redis(redis_budget, organization):
    client, secret = _client(organization)
    _fail(client.client_id, 10)
    response = _token(client.client_id, secret)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_store_down_degrades_to_no_throttle_not_a_500(settings, organization):
    settings.RATELIMIT_STORAGE_URI = "redis://127.0.0.1:1/0"  # nothing listens there
    client, secret = _client(organization)
    _fail(client.client_id, 11)
    assert _token(client.client_id, secret).status_code == 200
