"""Isolation and fairness drills for the delivery engine, on the real Celery worker (2 processes, as
`make run` starts it), the configured broker and database, and receivers that are separate processes.

    .venv/bin/python bench/webhook_isolation.py [--dead-backlog 1000] [--events 1000] [--healthy 20]
                                                [--fair-backlog 100000] [--fair-probes 5]

1. Isolation: one endpoint that accepts connections and never answers, with a backlog of due deliveries,
   plus events to healthy endpoints (100 ms receivers) of other organizations, committed one by one:
   p50/p99 commit → delivery at the healthy ones; then the same without the dead endpoint (control).
2. Fairness: a backlog of due deliveries of one organization (10 endpoints, 100 ms receivers), then single
   events of another organization, one every 2 s: commit → delivery of each.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
os.environ["DEBUG"] = "0"
os.environ["WEBHOOK_ALLOW_HTTP"] = "1"
os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from _report import report  # noqa: E402
from _webhook_bench import (  # noqa: E402
    bulk_deliveries,
    delivery_latencies,
    fresh_factory_sequences,
    load_average,
    percentile,
    start_receiver,
    start_worker,
    stop,
)
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from portal.core.audit import Actor  # noqa: E402
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent  # noqa: E402
from portal.webhooks.outbox import event_emit  # noqa: E402
from portal.webhooks.services import endpoint_create  # noqa: E402
from portal.webhooks.tasks import deliveries_dispatch  # noqa: E402
from tests.factories import pilot_organization  # noqa: E402

WORKER_PROCESSES = 2


def endpoint_for(organization, url):
    return endpoint_create(actor=Actor.system(), organization=organization, url=url, subscriptions=["kyc.*"])


class Beat:
    """What celery beat does in production: the dispatcher every 2 s (webhooks-dispatch)."""

    def __init__(self):
        self.last = 0.0

    def __call__(self):
        if time.monotonic() - self.last >= 2:
            deliveries_dispatch.apply_async(expires=10)
            self.last = time.monotonic()


def wait_for(done, beat: Beat, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done after {timeout:.0f} s")
        beat()
        time.sleep(0.2)


def emit_events(organizations: list, n: int, beat: Beat) -> list:
    """n `kyc.level.upgraded` events, round robin over the organizations, each committed on its own."""
    ids = []
    for i in range(n):
        with transaction.atomic():
            ids.append(
                event_emit(
                    organization=organizations[i % len(organizations)],
                    event_type="kyc.level.upgraded",
                    data={"buyerId": f"b{i}", "version": 1},
                ).pk
            )
        beat()
    return ids


def isolation(args, delay_port: int, never_port: int, *, with_dead: bool) -> tuple[float, float, str]:
    cleanup = []
    worker = start_worker(WORKER_PROCESSES)
    beat = Beat()
    try:
        if with_dead:
            dead_org = pilot_organization()
            cleanup.append(dead_org)
            dead = endpoint_for(dead_org, f"http://127.0.0.1:{never_port}/dead")
            bulk_deliveries(dead, args.dead_backlog)
            deliveries_dispatch.delay()
            # Let the dead endpoint's requests hang in the worker before the healthy traffic starts.
            time.sleep(3)
        healthy_orgs = [pilot_organization() for _ in range(args.healthy)]
        cleanup += healthy_orgs
        for i, organization in enumerate(healthy_orgs):
            endpoint_for(organization, f"http://127.0.0.1:{delay_port}/healthy{i}")
        load = load_average()
        ids = emit_events(healthy_orgs, args.events, beat)
        healthy = WebhookDelivery.objects.filter(event_id__in=ids)
        wait_for(lambda: healthy.filter(status="SUCCEEDED").count() >= len(ids), beat, timeout=600)
        latencies = delivery_latencies(healthy)
        note = ""
        if with_dead:
            dead.refresh_from_db()
            timed_out = dead.deliveries.filter(attempt_count__gt=0).count()
            in_flight = dead.deliveries.filter(attempt_count=0, lease_until__isnull=False).count()
            note = (
                f"dead endpoint at the end: breaker {dead.breaker_state}, {timed_out} of {args.dead_backlog} "
                f"timed out, {in_flight} in flight, the rest waiting"
            )
        return percentile(latencies, 50), percentile(latencies, 99), f"{note}; load average {load}".strip("; ")
    finally:
        stop(worker)
        for organization in cleanup:
            WebhookDelivery.objects.filter(organization=organization).delete()
            WebhookEvent.objects.filter(organization=organization).delete()
            WebhookEndpoint.objects.filter(organization=organization).delete()


def fairness(args, delay_port: int) -> tuple[list[float], str]:
    backlog_org, other_org = pilot_organization(), pilot_organization()
    worker = None
    try:
        endpoints = [endpoint_for(backlog_org, f"http://127.0.0.1:{delay_port}/backlog{i}") for i in range(10)]
        for endpoint in endpoints:
            bulk_deliveries(endpoint, args.fair_backlog // len(endpoints))
        endpoint_for(other_org, f"http://127.0.0.1:{delay_port}/other")
        worker = start_worker(WORKER_PROCESSES)
        beat = Beat()
        deliveries_dispatch.delay()
        start = time.monotonic()
        while time.monotonic() - start < 5:  # the backlog is flowing
            beat()
            time.sleep(0.2)
        load = load_average()
        latencies = []
        for _ in range(args.fair_probes):
            (event_id,) = emit_events([other_org], 1, beat)
            delivery = WebhookDelivery.objects.filter(event_id=event_id)
            wait_for(lambda delivery=delivery: delivery.filter(status="SUCCEEDED").exists(), beat, timeout=300)
            latencies += delivery_latencies(delivery)
            pause = time.monotonic()
            while time.monotonic() - pause < 2:
                beat()
                time.sleep(0.2)
        left = WebhookDelivery.objects.filter(organization=backlog_org).exclude(status="SUCCEEDED").count()
        return latencies, f"{left:,} of the backlog still due when the last probe arrived; load average {load}"
    finally:
        if worker is not None:
            stop(worker)
        for organization in (backlog_org, other_org):
            WebhookDelivery.objects.filter(organization=organization).delete()
            WebhookEvent.objects.filter(organization=organization).delete()
            WebhookEndpoint.objects.filter(organization=organization).delete()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dead-backlog", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--healthy", type=int, default=20)
    parser.add_argument("--fair-backlog", type=int, default=100_000)
    parser.add_argument("--fair-probes", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], choices=["isolation", "fairness"])
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    fresh_factory_sequences()
    delay_receiver, delay_port, _ = start_receiver("delay", "100")
    never_receiver, never_port, _ = start_receiver("never")
    try:
        if "isolation" not in args.skip:
            p50, p99, notes = isolation(args, delay_port, never_port, with_dead=True)
            c50, c99, control_notes = isolation(args, delay_port, never_port, with_dead=False)
            print(
                f"isolation drill: healthy p50 {p50:.2f} s, p99 {p99:.2f} s with a dead endpoint "
                f"({notes}); control without it: p50 {c50:.2f} s, p99 {c99:.2f} s ({control_notes})"
            )
            workload = (
                f"{args.events} events committed one by one to {args.healthy} healthy endpoints (100 ms receivers) "
                f"of {args.healthy} organizations; worker with {WORKER_PROCESSES} processes"
            )
            dead_workload = f"; plus a never-answering endpoint with {args.dead_backlog} due deliveries"
            report(
                "isolation drill: healthy p99 commit→delivery, with a dead endpoint",
                p99,
                "s",
                baseline=5,
                baseline_label="target",
                higher_is_better=False,
                notes=workload + dead_workload + f"; p50 {p50:.2f} s; {notes}",
            )
            report(
                "isolation drill: healthy p99 commit→delivery, control without the dead endpoint",
                c99,
                "s",
                baseline=5,
                baseline_label="target",
                higher_is_better=False,
                notes=workload + f"; p50 {c50:.2f} s; {control_notes}",
            )
            report("isolation drill: healthy p50, with the dead endpoint", p50, "s", higher_is_better=False)
            report("isolation drill: healthy p50, control", c50, "s", higher_is_better=False)
        if "fairness" not in args.skip:
            latencies, notes = fairness(args, delay_port)
            latencies.sort()
            print(
                f"fairness drill: another organization's event delivered in "
                f"{', '.join(f'{x:.2f}' for x in latencies)} s behind a backlog of {args.fair_backlog:,} ({notes})"
            )
            report(
                "fairness drill: another organization's event, worst commit→delivery",
                latencies[-1],
                "s",
                baseline=5,
                baseline_label="target",
                higher_is_better=False,
                notes=f"{len(latencies)} single events, one every 2 s, behind {args.fair_backlog:,} due deliveries "
                f"of one organization over 10 endpoints (100 ms receivers); median "
                f"{percentile(latencies, 50):.2f} s; {notes}",
            )
    finally:
        delay_receiver.terminate()
        never_receiver.terminate()


if __name__ == "__main__":
    main()
