"""A burst of committed events wakes one fan-out task, which drains every pending event."""

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from portal.webhooks import tasks
from portal.webhooks.models import WebhookDelivery, WebhookEvent
from portal.webhooks.outbox import event_emit
from portal.webhooks.wakeup import FANOUT_WAKE_KEY


@pytest.fixture
def enqueued(monkeypatch):
    """Record fan-out enqueues instead of running them (as a real broker would, later)."""
    calls: list[str] = []
    monkeypatch.setattr(tasks.event_fanout, "delay", lambda event_id: calls.append(event_id))
    monkeypatch.setattr(tasks.deliveries_dispatch, "delay", lambda: None)
    cache.delete(FANOUT_WAKE_KEY)
    yield calls
    cache.delete(FANOUT_WAKE_KEY)


def _emit(organization, partner, n):
    for i in range(n):
        with transaction.atomic():
            event_emit(
                organization=organization, partner=partner, event_type="kyc.document.uploaded", data={"version": i}
            )


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_commits_enqueues_one_task_that_fans_out_all_of_them(organization, partner, endpoint, enqueued):
    _emit(organization, partner, 5)
    assert len(enqueued) == 1
    assert WebhookEvent.objects.filter(fanned_out_at__isnull=True).count() == 5

    tasks.event_fanout(enqueued[0])

    assert WebhookEvent.objects.filter(fanned_out_at__isnull=True).count() == 0
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 5


@pytest.mark.django_db(transaction=True)
def test_an_event_committed_after_the_task_woke_enqueues_a_new_task(organization, partner, endpoint, enqueued):
    _emit(organization, partner, 1)
    tasks.event_fanout(enqueued[0])
    _emit(organization, partner, 1)
    assert len(enqueued) == 2
    tasks.event_fanout(enqueued[1])
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_tick_fans_out_an_event_whose_wake_up_was_lost(
    organization, partner, endpoint, enqueued, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    cache.add(FANOUT_WAKE_KEY, "1", timeout=60)  # a wake-up pending in another process's cache
    _emit(organization, partner, 1)
    assert enqueued == []
    time_machine.shift(5)
    tasks.deliveries_dispatch()
    assert WebhookEvent.objects.filter(fanned_out_at__isnull=True).count() == 0
