"""Secret rotation: windows, at most two valid secrets, end overlap, revoke, periodic expiry; all audited."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.clients.models import ClientSecret
from portal.clients.selectors import client_credentials_verify
from portal.clients.services import (
    RotationNeedsConfirmation,
    access_token_issue,
    client_create,
    client_secret_overlap_end,
    client_secret_rotate,
    client_secrets_mark_expired,
)
from portal.core.audit import Actor
from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry
from tests.clients.test_oauth_token import token_request

pytestmark = pytest.mark.django_db

T0 = timezone.datetime(2026, 11, 2, 9, 0, tzinfo=timezone.UTC)


@pytest.fixture
def created(organization):
    with time_machine.travel(T0, tick=False):
        client, issued = client_create(actor=Actor.system(), organization=organization, name="DMS")
    return client, issued.plaintext


def ok(client, secret) -> bool:
    return client_credentials_verify(client_id=client.client_id, client_secret=secret) is not None


@pytest.mark.parametrize("hours", [24, 48, 72])
def test_old_secret_works_for_exactly_its_window(created, hours):
    client, old = created
    rotated_at = T0 + timedelta(hours=1)
    with time_machine.travel(rotated_at, tick=False):
        new = client_secret_rotate(actor=Actor.system(), client=client, window=timedelta(hours=hours)).plaintext
    with time_machine.travel(rotated_at + timedelta(hours=hours) - timedelta(seconds=1), tick=False):
        assert ok(client, old) and ok(client, new)
        # end to end: the token endpoint accepts it too
        data = {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": old}
        assert token_request(data).status_code == 200
    with time_machine.travel(rotated_at + timedelta(hours=hours) + timedelta(seconds=1), tick=False):
        assert not ok(client, old)
        assert ok(client, new)
        assert token_request(data).status_code == 401


def test_tokens_minted_with_the_old_secret_stop_with_its_window(created):
    from rest_framework.test import APIClient

    client, _ = created
    rotated_at = T0 + timedelta(hours=1)
    with time_machine.travel(rotated_at, tick=False):
        old_secret = client.secrets.get()
        client_secret_rotate(actor=Actor.system(), client=client)
    with time_machine.travel(rotated_at + timedelta(hours=23, minutes=30), tick=False):
        token = access_token_issue(client=client, secret=old_secret).plaintext
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert api.get("/v1/me").status_code == 200
    with time_machine.travel(rotated_at + timedelta(hours=24, seconds=1), tick=False):
        assert api.get("/v1/me").status_code == 401


def test_default_window_is_24_hours_and_odd_windows_are_refused(created):
    client, _ = created
    with pytest.raises(ValidationError):
        client_secret_rotate(actor=Actor.system(), client=client, window=timedelta(hours=12))
    with time_machine.travel(T0, tick=False):
        client_secret_rotate(actor=Actor.system(), client=client)
    old = client.secrets.exclude(expires_at=None).get()
    assert old.expires_at == T0 + timedelta(hours=24)


def test_rotating_during_an_overlap_needs_confirmation_and_ends_the_older_secret(created):
    client, first = created
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        second = client_secret_rotate(actor=Actor.system(), client=client).plaintext
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        with pytest.raises(RotationNeedsConfirmation):
            client_secret_rotate(actor=Actor.system(), client=client)
        assert client.secrets.count() == 2  # nothing changed
        third = client_secret_rotate(actor=Actor.system(), client=client, confirm_end_overlap=True).plaintext
        assert not ok(client, first)
        assert ok(client, second) and ok(client, third)
        valid = [
            s
            for s in ClientSecret.objects.filter(client=client)
            if s.expires_at is None or s.expires_at > T0 + timedelta(hours=2)
        ]
        assert len(valid) == 2


def test_end_overlap_early(created):
    client, old = created
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        new = client_secret_rotate(actor=Actor.system(), client=client).plaintext
        client_secret_overlap_end(actor=Actor.system(), client=client)
        assert not ok(client, old)
        assert ok(client, new)
        with pytest.raises(ValidationError):
            client_secret_overlap_end(actor=Actor.system(), client=client)


def test_periodic_task_marks_expired_secrets_once(created):
    client, _ = created
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        client_secret_rotate(actor=Actor.system(), client=client)
    with time_machine.travel(T0 + timedelta(hours=25, seconds=1), tick=False):
        from portal.clients.tasks import secrets_mark_expired

        assert secrets_mark_expired() == 1
        assert client_secrets_mark_expired() == 0
    assert client.secrets.exclude(expired_marked_at=None).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.CLIENT_SECRET_EXPIRED).count() == 1


def test_every_step_is_audited(created, support_user):
    client, _ = created
    actor = Actor(user=support_user, ip="10.0.0.1")
    client_secret_rotate(actor=actor, client=client, window=timedelta(hours=48))
    client_secret_rotate(actor=actor, client=client, confirm_end_overlap=True)
    client_secret_overlap_end(actor=actor, client=client)
    actions = list(AuditEntry.objects.filter(organization=client.organization).values_list("action", flat=True))
    assert actions.count(AuditAction.CLIENT_SECRET_ROTATED) == 2
    assert actions.count(AuditAction.CLIENT_SECRET_OVERLAP_ENDED) == 2
    assert "client.created" in actions
    rotated = AuditEntry.objects.filter(action=AuditAction.CLIENT_SECRET_ROTATED).order_by("occurred_at").first()
    assert rotated.actor_user == support_user and rotated.ip_address == "10.0.0.1"
    assert rotated.after["windowHours"] == 48
