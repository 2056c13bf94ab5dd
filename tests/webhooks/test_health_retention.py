"""Endpoint health (auto-disable after 5 days of failures, warning first), re-enable + replay missed, retention."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from portal.core.audit import Actor
from portal.core.models import AuditEntry
from portal.webhooks import engine
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookReplayJob
from portal.webhooks.outbox import event_emit
from portal.webhooks.selectors import endpoint_health
from portal.webhooks.services import (
    endpoint_reenable_and_replay_missed,
    endpoints_health_check,
    event_fan_out,
    webhooks_purge,
)

pytestmark = pytest.mark.django_db


def _emit(organization, event_type="kyc.level.upgraded"):
    with transaction.atomic():
        event = event_emit(organization=organization, event_type=event_type, data={"version": 1})
    event_fan_out(event_id=event.pk)
    return event


def test_failures_then_warning_then_auto_disable(organization, endpoint, receiver, admin_user):
    receiver.default = (500, {}, b"down")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _emit(organization)
        engine.deliveries_dispatch(budget_seconds=5)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1 and endpoint.failing_since == start

    with time_machine.travel(start + timedelta(days=3), tick=False):
        assert endpoints_health_check() == {"warned": 0, "disabled": 0}
    with time_machine.travel(start + timedelta(days=4, hours=1), tick=False):
        assert endpoints_health_check() == {"warned": 1, "disabled": 0}
        assert endpoints_health_check() == {"warned": 0, "disabled": 0}  # warned once
    assert mail.outbox and admin_user.email in mail.outbox[0].to
    assert "will be disabled" in mail.outbox[0].body
    with time_machine.travel(start + timedelta(days=5, minutes=1), tick=False):
        assert endpoints_health_check() == {"warned": 0, "disabled": 1}
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "FAILING"
    assert AuditEntry.objects.filter(action="webhook_endpoint.disabled", target_id=str(endpoint.pk)).exists()


def test_success_resets_the_failure_streak(organization, endpoint, receiver):
    receiver.respond(500)
    _emit(organization)
    engine.deliveries_dispatch(budget_seconds=5)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    _emit(organization)
    engine.deliveries_dispatch(budget_seconds=5)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.failing_since is None


def test_health_numbers(organization, endpoint, receiver):
    receiver.respond(200, 500, 200, 200)
    for _ in range(4):
        _emit(organization)
    engine.deliveries_dispatch(budget_seconds=5)
    health = endpoint_health(endpoint=endpoint)
    assert health.attempts == 4 and health.succeeded == 3 and health.success_rate == 75.0
    assert health.p95_ms is not None and len(health.chart) == 24
    assert health.next_retry_at is not None  # the failed one is retrying


def test_reenable_and_replay_everything_missed(organization, endpoint, receiver, django_capture_on_commit_callbacks):
    from portal.webhooks.services import endpoint_update

    delivered = _emit(organization)
    engine.deliveries_dispatch(budget_seconds=5)
    endpoint_update(actor=Actor.system(), endpoint=endpoint, enabled=False)
    missed = [_emit(organization), _emit(organization, "compliance.vies.completed")]
    _emit(organization, "buyer.created")  # not subscribed
    assert WebhookDelivery.objects.count() == 1  # nothing fanned out while disabled

    with django_capture_on_commit_callbacks(execute=True):
        count = endpoint_reenable_and_replay_missed(actor=Actor.system(), endpoint=endpoint)
    assert count == 2
    endpoint.refresh_from_db()
    assert endpoint.enabled
    ids = {r["headers"]["webhook-id"] for r in receiver.requests[1:]}
    assert ids == {e.webhook_id for e in missed}
    assert delivered.webhook_id not in ids
    assert AuditEntry.objects.filter(action="webhook_endpoint.reenabled").exists()


def test_retention_purges_old_rows_in_batches(organization, endpoint, receiver):
    old = timezone.now() - timedelta(days=31)
    with time_machine.travel(old, tick=False):
        for _ in range(3):
            _emit(organization)
        engine.deliveries_dispatch(budget_seconds=5)
        old_job = WebhookReplayJob.objects.create(organization=organization, cutoff=old, requested_by_label="x")
    recent = _emit(organization)
    assert webhooks_purge(batch_size=2) == 3
    assert not WebhookReplayJob.objects.filter(pk=old_job.pk).exists()
    assert list(WebhookEvent.objects.values_list("id", flat=True)) == [recent.pk]
    assert WebhookDelivery.objects.count() == 1
    assert not WebhookAttempt.objects.filter(attempted_at__lt=timezone.now() - timedelta(days=30)).exists()
