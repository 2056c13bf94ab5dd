"""Fault drills: real Celery worker and beat subprocesses, PostgreSQL, a private Redis, a local receiver.

Each drill prints `DRILL <name>: sent=… delivered=… duplicated=… lost=…` and asserts lost == 0 and every
delivery SUCCEEDED. Duplicates are allowed (delivery is at-least-once; receivers dedupe on `webhook-id`).
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from portal.webhooks.models import WebhookDelivery, WebhookEvent
from tests.resilience.conftest import wait_until

pytestmark = pytest.mark.resilience

EVENTS = 120


def test_receiver_down_then_erroring_then_up_every_event_delivered(make_drill, cluster, drill_receiver):
    drill = make_drill("receiver-down")
    cluster.ensure_running()
    drill.emit(EVENTS)
    # Down (connection refused): a few refused attempts open the breaker, the rest wait without attempts …
    refused = drill.wait_down()
    # … then up but answering 500: the probe's HTTP answer closes the breaker, and every delivery fails once
    # more with HTTP 500 (the cool-down and the retries are fast-forwarded, not slept) …
    drill_receiver.failing = True
    drill_receiver.up()
    wait_until(
        lambda: WebhookDelivery.objects.filter(last_failure_class="http").count() == EVENTS,
        timeout=60,
        what="an HTTP 500 attempt of every delivery",
        tick=lambda: drill.clock(below_attempts=2),
    )
    assert drill.succeeded() == 0
    assert not WebhookDelivery.objects.filter(attempt_count__gt=2).exists()
    # … then healthy: the retries (fast-forwarded, not slept) deliver everything.
    drill_receiver.failing = False
    drill.wait_all_delivered()
    counts = drill.report()
    assert counts["duplicated"] == 0
    # Refused, 500, success for the few sent while it was down; 500 (once or twice), success for the rest.
    assert set(WebhookDelivery.objects.filter(id__in=refused).values_list("attempt_count", flat=True)) == {3}
    assert WebhookDelivery.objects.exclude(id__in=refused).aggregate(m=Min("attempt_count"))["m"] >= 2


def test_worker_sigkilled_mid_batch_nothing_lost(make_drill, cluster, drill_receiver):
    drill = make_drill("worker-sigkill")
    drill_receiver.delay = 0.01
    drill_receiver.up()
    killed = threading.Event()

    def kill_mid_batch(count):
        if count == 30 and not killed.is_set():
            cluster.kill_worker()
            killed.set()  # after the kill: requests now run concurrently, the test must not look earlier

    drill_receiver.on_request = kill_mid_batch
    cluster.ensure_running()
    drill.emit(EVENTS)
    wait_until(killed.is_set, timeout=60, what="the worker to be killed mid-batch")
    killed_at = timezone.now()
    assert cluster.worker.returncode == -9
    in_flight = WebhookDelivery.objects.filter(lease_token__isnull=False).count()
    assert drill.succeeded() < EVENTS
    print(f"\nkilled with {drill.succeeded()} deliveries recorded and {in_flight} leased to the dead worker")

    drill_receiver.on_request = None
    cluster.ensure_running()
    # The dead worker's leases run out (fast-forwarded from 60 s) and another worker claims the rows.
    drill.wait_all_delivered(tick=lambda: drill.clock(leases_taken_before=killed_at))
    drill.report()


def test_redis_restarted_mid_run_dispatch_resumes(make_drill, cluster, drill_receiver, private_redis):
    drill = make_drill("redis-restart")
    cluster.ensure_running()
    drill.emit(EVENTS)  # the receiver is down: every delivery is fanned out and held back by the breaker
    drill.wait_down()
    drill_receiver.delay = 0.25  # six at a time now: slow enough that the fault lands mid-run
    drill_receiver.up()
    wait_until(lambda: len(drill_receiver.received) >= 20, timeout=60, what="retries to flow", tick=drill.clock)
    private_redis.restart()  # SIGKILL, 1.5 s down, empty on return: queued ticks are gone
    before_restart = len(drill_receiver.received)
    print(f"Redis restarted with {before_restart} of {EVENTS} deliveries received")
    assert before_restart < EVENTS
    drill.emit(EVENTS // 2)  # published to the restarted broker
    drill.wait_all_delivered()
    drill.report()


def test_postgres_connections_terminated_workers_reconnect(make_drill, cluster, drill_receiver):
    drill = make_drill("pg-terminate")
    cluster.ensure_running()
    drill.emit(EVENTS)  # the receiver is down: every delivery is fanned out and held back by the breaker
    drill.wait_down()
    drill_receiver.delay = 0.25  # six at a time now: slow enough that the fault lands mid-run
    drill_receiver.up()
    wait_until(lambda: len(drill_receiver.received) >= 20, timeout=60, what="retries to flow", tick=drill.clock)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        terminated = cursor.fetchone()[0]
    terminated_at = timezone.now()
    print(f"terminated {terminated} worker backends with {len(drill_receiver.received)} of {EVENTS} received")
    assert terminated >= 1
    drill.emit(EVENTS // 2)  # fanned out by the next tasks of the same worker processes
    # The batch the dropped connections were sending comes back after its lease (fast-forwarded).
    drill.wait_all_delivered(tick=lambda: drill.clock(leases_taken_before=terminated_at))
    drill.report()
    # Reconnected, not rescued: each new event was fanned out by its own task, not by the safety net
    # (`events_fanout_pending` only takes events older than 30 s).
    late = [
        e
        for e in WebhookEvent.objects.filter(created_at__gt=terminated_at)
        if e.fanned_out_at - e.created_at > timedelta(seconds=30)
    ]
    assert WebhookEvent.objects.filter(created_at__gt=terminated_at).count() == EVENTS // 2
    assert late == []
