"""Shared set-up of the webhook delivery benchmarks: receivers and workers as real processes, bulk rows.

Import after django.setup(). Everything here runs against the caller's DATABASE_URL / CELERY_BROKER_URL.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from portal.webhooks.models import WebhookDelivery, WebhookEvent
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fresh_factory_sequences() -> None:
    # The bench database outlives runs: start the factories' unique slugs, e-mails and VAT numbers afresh.
    start = int(time.time() * 1000) % 10**9
    for factory in (factories.OrganizationFactory, factories.PartnerFactory, factories.UserFactory):
        factory.reset_sequence(start)


def start_receiver(*args: str) -> tuple[subprocess.Popen, int, str]:
    """bench/_slow_receiver.py (`delay 100`, `never`) or bench/_receiver.py (no args) in its own process."""
    port_file = str(Path(tempfile.mkdtemp()) / "port")
    Path(port_file).write_text("")
    script = "bench/_slow_receiver.py" if args else "bench/_receiver.py"
    proc = subprocess.Popen([sys.executable, str(ROOT / script), port_file, *args])
    for _ in range(200):
        text = Path(port_file).read_text().strip()
        if text:
            return proc, int(text), port_file
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the receiver did not start")


def worker_queues() -> str:
    """Every queue the task routes name, plus the default one: the worker consumes whatever dispatch uses."""
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    queues = {"celery"}
    if isinstance(routes, dict):
        queues |= {r["queue"] for r in routes.values() if isinstance(r, dict) and r.get("queue")}
    return ",".join(sorted(queues))


def start_worker(processes: int, extra_env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.local", **(extra_env or {})}
    command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-c", str(processes), "--pool", "prefork"]
    command += ["-Q", worker_queues(), "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    time.sleep(4)  # let the worker boot before any clock starts
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # a warm shutdown stuck on the broker or a request: the figures are in
        proc.kill()
        proc.wait(timeout=10)


def bulk_deliveries(endpoint, n: int, *, event_type: str = "kyc.level.upgraded") -> None:
    """n events already fanned out, each with one delivery to `endpoint`, all due now."""
    now = timezone.now()
    for start in range(0, n, 5000):
        size = min(5000, n - start)
        events = WebhookEvent.objects.bulk_create(
            [
                WebhookEvent(
                    organization_id=endpoint.organization_id,
                    type=event_type,
                    data={"buyerId": f"b{start + i}", "version": 1},
                    created_at=now,
                    fanned_out_at=now,
                )
                for i in range(size)
            ],
            batch_size=5000,
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
            batch_size=5000,
        )


def dispatch_until(done, *, timeout: float, first_kicks: int = 1) -> float:
    """Enqueue the dispatcher and tick it every 2 s as celery beat does, until done() is true; wall seconds."""
    from portal.webhooks.tasks import deliveries_dispatch

    t0 = time.perf_counter()
    for _ in range(first_kicks):
        deliveries_dispatch.delay()
    deadline = time.monotonic() + timeout
    tick = time.monotonic()
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done after {timeout:.0f} s")
        if time.monotonic() - tick >= 2:  # what celery beat does in production (webhooks-dispatch, 2 s)
            deliveries_dispatch.apply_async(expires=10)
            tick = time.monotonic()
        time.sleep(0.2)
    return time.perf_counter() - t0


def attempt_span(attempts) -> tuple[float, int]:
    """(seconds from the first request's start to the last answer, peak requests in flight at once)."""
    rows = list(attempts.values_list("attempted_at", "duration_ms"))
    if not rows:
        return 0.0, 0
    events = []
    for at, ms in rows:
        start = at.timestamp()
        events += [(start, 1), (start + ms / 1000, -1)]
    events.sort()
    peak = level = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    first = min(s for s, d in events if d == 1)
    last = max(s for s, d in events if d == -1)
    return last - first, peak


def delivery_latencies(deliveries) -> list[float]:
    """Seconds from each event's commit (created_at) to the end of its successful attempt, sorted."""
    rows = deliveries.filter(status="SUCCEEDED").values_list("event__created_at", "last_attempt_at", "last_duration_ms")
    return sorted((done - created).total_seconds() + (ms or 0) / 1000 for created, done, ms in rows)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[index]
