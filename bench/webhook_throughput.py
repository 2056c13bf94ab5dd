"""Webhook deliveries per second: the real Celery worker (on the configured broker, Redis here) delivering
to a fast local receiver, beside a plain loop of signed `requests.post` calls over one kept-alive
connection to the same receiver (the practical limit of one Python process on this machine).

    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://…/7 REDIS_URL=redis://…/8 \
        .venv/bin/python bench/webhook_throughput.py [--deliveries 3000] [--workers 1 2]

Rate = deliveries / (last attempt - first attempt), read from the attempts the worker recorded, so worker
start-up is not counted; the wall time from enqueueing to the last SUCCEEDED row is printed too.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
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

import requests  # noqa: E402
from _report import report  # noqa: E402
from _webhook_bench import worker_queues  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.core.audit import Actor  # noqa: E402
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent  # noqa: E402
from portal.webhooks.services import endpoint_create  # noqa: E402
from portal.webhooks.signing import payload_body, signature_headers  # noqa: E402
from tests import factories  # noqa: E402
from tests.factories import pilot_organization  # noqa: E402


def start_receiver() -> tuple[subprocess.Popen, str]:
    port_file = str(Path(tempfile.mkdtemp()) / "port")
    Path(port_file).write_text("")
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench/_receiver.py"), port_file])
    for _ in range(100):
        text = Path(port_file).read_text().strip()
        if text:
            return proc, f"http://127.0.0.1:{text}/hooks"
        time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def plain_loop(url: str, secret: str, n: int) -> float:
    """The practical limit: sign each payload and POST it over one kept-alive session."""
    session = requests.Session()
    body = payload_body(
        {"id": "msg_x", "type": "kyc.level.upgraded", "createdAt": "2026-11-30T09:00:00Z", "data": {"version": 1}}
    )
    session.post(url, data=body)
    t0 = time.perf_counter()
    for i in range(n):
        headers = {
            "content-type": "application/json",
            **signature_headers(secrets_=[secret], webhook_id=f"msg_{i}", timestamp=datetime.now(UTC), body=body),
        }
        response = session.post(url, data=body.encode(), headers=headers, timeout=15)
        assert response.status_code == 204
    return n / (time.perf_counter() - t0)


def create_deliveries(endpoint, n: int) -> None:
    now = timezone.now()
    events = WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(
                organization_id=endpoint.organization_id,
                type="kyc.level.upgraded",
                data={"buyerId": f"b{i}", "version": i},
                created_at=now,
                fanned_out_at=now,
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                organization_id=endpoint.organization_id,
                endpoint=endpoint,
                event=e,
                event_type=e.type,
                created_at=now,
                next_attempt_at=now,
            )
            for e in events
        ],
        batch_size=1000,
    )


def run_worker(endpoint, n: int, concurrency: int) -> tuple[float, float]:
    create_deliveries(endpoint, n)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.local"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-c",
            str(concurrency),
            "--pool",
            "prefork",
            "-Q",
            worker_queues(),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        from portal.webhooks.tasks import deliveries_dispatch

        time.sleep(4)  # let the worker boot before the clock starts
        t0 = time.perf_counter()
        for _ in range(concurrency):
            deliveries_dispatch.delay()
        pending = WebhookDelivery.objects.filter(endpoint=endpoint).exclude(status="SUCCEEDED")
        deadline = time.monotonic() + 300
        tick = time.monotonic()
        while pending.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pending.count()} deliveries still pending after 300 s")
            if time.monotonic() - tick >= 2:  # what celery beat does in production (webhooks-dispatch, 2 s)
                deliveries_dispatch.apply_async(expires=10)
                tick = time.monotonic()
            time.sleep(0.2)
        wall = time.perf_counter() - t0
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a warm shutdown stuck on the broker: the figures are already in
            worker.kill()
            worker.wait(timeout=10)
    span = WebhookAttempt.objects.filter(endpoint=endpoint).aggregate(
        first=Min("attempted_at"), last=Max("attempted_at")
    )
    attempts = WebhookAttempt.objects.filter(endpoint=endpoint).count()
    assert attempts == n, f"{attempts} attempts for {n} deliveries"
    rate = n / max((span["last"] - span["first"]).total_seconds(), 1e-6)
    return rate, n / wall


def fresh_factory_sequences() -> None:
    # The bench database outlives runs: start the factories' unique slugs, e-mails and VAT numbers afresh.
    start = int(time.time() * 1000) % 10**9
    for factory in (factories.OrganizationFactory, factories.PartnerFactory, factories.UserFactory):
        factory.reset_sequence(start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        print("note: CELERY_BROKER_URL is the embedded filesystem broker; set a redis:// URL for the real figure")
    call_command("migrate", verbosity=0)
    fresh_factory_sequences()
    receiver, url = start_receiver()
    organization = pilot_organization()
    try:
        endpoints = [
            endpoint_create(actor=Actor.system(), organization=organization, url=url, subscriptions=["kyc.*"])
            for _ in args.workers
        ]
        baseline = plain_loop(url, endpoints[0].secret, args.deliveries)
        print(f"plain signed requests.post loop, keep-alive: {baseline:,.0f} deliveries/s")
        report(
            "plain signed requests.post loop (keep-alive)",
            baseline,
            "deliveries/s",
            notes=f"{args.deliveries} posts to a local asyncio receiver",
        )
        for endpoint, workers in zip(endpoints, args.workers, strict=True):
            rate, wall_rate = run_worker(endpoint, args.deliveries, workers)
            ratio = rate / baseline
            print(
                f"Celery worker, {workers} process(es): {rate:,.0f} deliveries/s "
                f"({ratio:.0%} of the plain loop; {rate / workers:,.0f}/s per process; "
                f"{wall_rate:,.0f}/s wall clock incl. dispatch latency)"
            )
            report(
                f"webhook deliveries/s, real worker, {workers} process(es)",
                rate,
                "deliveries/s",
                baseline=baseline,
                baseline_label="plain signed requests.post loop",
                notes=f"{args.deliveries} deliveries; {wall_rate:,.0f}/s wall clock; broker "
                f"{settings.CELERY_BROKER_URL.split('://')[0]}",
            )
            report(
                f"worker/plain-loop ratio per process, {workers} process(es)",
                rate / workers / baseline * 100,
                "%",
                baseline=50,
                baseline_label="target",
            )
    finally:
        receiver.terminate()
        WebhookDelivery.objects.filter(organization=organization).delete()
        WebhookEvent.objects.filter(organization=organization).delete()


if __name__ == "__main__":
    main()
