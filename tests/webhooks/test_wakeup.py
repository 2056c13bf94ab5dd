"""Coalesced wake-ups: a burst of commits enqueues one fan-out task; no event is stranded by a lost one."""

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from portal.webhooks import tasks, wakeup
from portal.webhooks.models import WebhookDelivery, WebhookEvent
from portal.webhooks.outbox import event_emit
from portal.webhooks.wakeup import DISPATCH_WAKE_KEY, FANOUT_WAKE_KEY, WAKE_SECONDS


@pytest.fixture
def enqueued(monkeypatch):
    """Record fan-out enqueues instead of running them (a real broker runs them later, in the worker)."""
    calls: list[str] = []
    monkeypatch.setattr(tasks.event_fanout, "delay", lambda event_id: calls.append(event_id))
    monkeypatch.setattr(tasks.deliveries_dispatch, "delay", lambda: None)
    cache.delete_many([FANOUT_WAKE_KEY, DISPATCH_WAKE_KEY])
    yield calls
    cache.delete_many([FANOUT_WAKE_KEY, DISPATCH_WAKE_KEY])


def _emit(organization, partner, n):
    for i in range(n):
        with transaction.atomic():
            event_emit(
                organization=organization, partner=partner, event_type="kyc.document.uploaded", data={"version": i}
            )


def _pending():
    return WebhookEvent.objects.filter(fanned_out_at__isnull=True).count()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_commits_enqueues_one_task_that_fans_out_all_of_them(organization, partner, endpoint, enqueued):
    _emit(organization, partner, 50)
    assert len(enqueued) == 1
    assert _pending() == 50

    tasks.event_fanout(enqueued[0])

    assert _pending() == 0
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 50


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
    cache.add(FANOUT_WAKE_KEY, "1", timeout=60)  # a wake-up on its way in another process, then lost
    _emit(organization, partner, 3)
    assert enqueued == []

    tasks.deliveries_dispatch()  # too young for the tick: its own wake-up may still come
    assert _pending() == 3

    time_machine.shift(2)
    tasks.deliveries_dispatch()
    assert _pending() == 0
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.SUCCEEDED).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_publish_error_clears_the_flag(organization, partner, endpoint, enqueued, monkeypatch):
    def broker_down(event_id):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.event_fanout, "delay", broker_down)
    _emit(organization, partner, 1)  # the commit stands: the failure is logged, never raised (issue 10)
    assert cache.get(FANOUT_WAKE_KEY) is None

    monkeypatch.setattr(tasks.event_fanout, "delay", lambda event_id: enqueued.append(event_id))
    _emit(organization, partner, 1)
    assert len(enqueued) == 1  # the next commit publishes again instead of waiting on a dead flag
    tasks.event_fanout(enqueued[0])
    assert _pending() == 0  # and its task fans out the event committed while the broker was down


@pytest.mark.django_db(transaction=True)
def test_a_flag_whose_task_never_ran_expires_by_itself(organization, partner, endpoint, enqueued, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    _emit(organization, partner, 2)
    assert len(enqueued) == 1  # published on a dead connection without an error: never runs

    time_machine.shift(WAKE_SECONDS + 1)
    _emit(organization, partner, 1)
    assert len(enqueued) == 2
    tasks.event_fanout(enqueued[1])
    assert _pending() == 0


@pytest.mark.django_db(transaction=True)
def test_without_the_cache_every_commit_enqueues(organization, partner, endpoint, enqueued, monkeypatch):
    class CacheDown:
        def add(self, *args, **kwargs):
            raise ConnectionError("cache unreachable")

        delete = add

    monkeypatch.setattr(wakeup, "cache", CacheDown())
    _emit(organization, partner, 3)
    assert len(enqueued) == 3
    tasks.event_fanout(enqueued[0])
    assert _pending() == 0


@pytest.mark.django_db(transaction=True)
def test_fan_out_tasks_run_eagerly_deliver_each_event_once(organization, partner, endpoint):
    _emit(organization, partner, 5)  # tests run Celery eagerly: each commit's task runs at once
    assert _pending() == 0
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 5
    assert cache.get(FANOUT_WAKE_KEY) is None
