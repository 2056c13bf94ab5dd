"""Deliveries per second to receivers that answer after 100 ms: the real Celery worker (1 process) beside a
plain asyncio client (aiohttp) sending the same signed posts with the same concurrency.

    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… REDIS_URL=redis://… \
        .venv/bin/python bench/webhook_slow_receivers.py [--deliveries 3000] [--endpoints 30] [--caps 6 10]

The receiver is an aiohttp.web process that holds any number of requests. Rate = deliveries / (first
request's start → last answer), read from the attempts the worker recorded (worker start-up excluded).
"""

import argparse
import asyncio
import os
import sys
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

import aiohttp  # noqa: E402
from _report import report  # noqa: E402
from _webhook_bench import (  # noqa: E402
    attempt_span,
    bulk_deliveries,
    dispatch_until,
    fresh_factory_sequences,
    load_average,
    start_receiver,
    start_worker,
    stop,
)
from django.core.management import call_command  # noqa: E402

from portal.core.audit import Actor  # noqa: E402
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent  # noqa: E402
from portal.webhooks.services import endpoint_create  # noqa: E402
from portal.webhooks.signing import payload_body, signature_headers  # noqa: E402
from tests.factories import pilot_organization  # noqa: E402


async def plain_client(urls: list[str], secret: str, n: int, concurrency: int) -> float:
    """The reference: sign each payload and POST it from one asyncio loop, `concurrency` at a time."""
    body = payload_body(
        {"id": "msg_x", "type": "kyc.level.upgraded", "createdAt": "2026-11-30T09:00:00Z", "data": {"version": 1}}
    )
    semaphore = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            async with semaphore:
                headers = {
                    "content-type": "application/json",
                    **signature_headers(
                        secrets_=[secret], webhook_id=f"msg_{i}", timestamp=datetime.now(UTC), body=body
                    ),
                }
                async with session.post(urls[i % len(urls)], data=body.encode(), headers=headers) as response:
                    await response.read()
                    assert response.status == 204

        await asyncio.gather(*(one(i) for i in range(min(concurrency, n))))  # warm the connections
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - t0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--endpoints", type=int, default=30)
    parser.add_argument("--delay-ms", type=float, default=100)
    parser.add_argument("--caps", type=int, nargs="+", default=[6, 10])
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    fresh_factory_sequences()
    receiver, port, _ = start_receiver("delay", str(args.delay_ms))
    organization = pilot_organization()
    worker = None
    try:
        worker = start_worker(1)
        for cap in args.caps:
            endpoints = [
                endpoint_create(
                    actor=Actor.system(),
                    organization=organization,
                    url=f"http://127.0.0.1:{port}/cap{cap}/e{i}",
                    subscriptions=["kyc.*"],
                )
                for i in range(args.endpoints)
            ]
            for endpoint in endpoints:
                endpoint.max_concurrency = cap
                endpoint.save(update_fields=["max_concurrency"])
            concurrency = min(cap * args.endpoints, 256)  # the engine's MAX_IN_FLIGHT per process
            load = load_average()
            baseline = asyncio.run(
                plain_client([e.url for e in endpoints], endpoints[0].secret, args.deliveries, concurrency)
            )
            per_endpoint = args.deliveries // args.endpoints
            for endpoint in endpoints:
                bulk_deliveries(endpoint, per_endpoint)
            n = per_endpoint * args.endpoints
            pending = WebhookDelivery.objects.filter(endpoint__in=endpoints).exclude(status="SUCCEEDED")
            wall = dispatch_until(lambda pending=pending: not pending.exists(), timeout=600)
            attempts = WebhookAttempt.objects.filter(endpoint__in=endpoints)
            assert attempts.count() == n, f"{attempts.count()} attempts for {n} deliveries"
            span, peak = attempt_span(attempts)
            rate = n / max(span, 1e-6)
            print(
                f"cap {cap} x {args.endpoints} endpoints, {args.delay_ms:g} ms receivers: worker (1 process) "
                f"{rate:,.0f} deliveries/s, peak {peak} in flight; plain asyncio client with concurrency "
                f"{concurrency}: {baseline:,.0f}/s; ratio {rate / baseline:.0%}; wall {n / wall:,.0f}/s; load {load}"
            )
            notes = (
                f"{n} deliveries over {args.endpoints} endpoints, max_concurrency {cap}, receivers answer after "
                f"{args.delay_ms:g} ms; peak {peak} requests in flight; load average {load}"
            )
            report(
                f"plain asyncio client, concurrency {concurrency}, {args.delay_ms:g} ms receivers",
                baseline,
                "deliveries/s",
                notes=notes,
            )
            report(
                f"webhook deliveries/s, 1 worker process, {args.delay_ms:g} ms receivers, cap {cap}",
                rate,
                "deliveries/s",
                baseline=500,
                baseline_label="target",
                notes=notes + f"; {n / wall:,.0f}/s wall clock incl. dispatch latency",
            )
            report(
                f"worker / plain asyncio client, cap {cap}",
                rate / baseline * 100,
                "%",
                baseline=50,
                baseline_label="target",
            )
            report(
                f"peak requests in flight, 1 worker process, cap {cap}",
                peak,
                "requests",
                baseline=200,
                baseline_label="target",
            )
    finally:
        if worker is not None:
            stop(worker)
        receiver.terminate()
        WebhookDelivery.objects.filter(organization=organization).delete()
        WebhookEvent.objects.filter(organization=organization).delete()


if __name__ == "__main__":
    main()
