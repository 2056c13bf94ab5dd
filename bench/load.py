"""`make load`: 50 concurrent API clients of 3 organizations for 60 s against gunicorn + PostgreSQL + Redis.

Each organization has its own rate-limit budget, shared by its clients. The clients offer 25 % more
than their organization's budget, spread evenly, and behave as the FAQ asks: on a 429 they wait for
`Retry-After` plus a little jitter. The run prints the requests made, every error other than the
intended 429s (must be 0), p50/p95 latency, and each organization's accepted rate beside its budget.

It needs PostgreSQL and Redis on this machine and uses its own database and Redis DB, recreated on
every run (never the development ones):

    LOAD_DATABASE_URL   default postgres://postgres@127.0.0.1:5432/nt24_load
    LOAD_REDIS_URL      default redis://127.0.0.1:6379/15
    LOAD_SECONDS        default 60
    LOAD_WORKERS        gunicorn workers, default 4

Not part of `make test` or CI. Traffic goes to 127.0.0.1 only, and the run stops by itself.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nt24_load")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/15")
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))
CLIENTS = 50
# Requests per minute. Together 36/s accepted (45/s offered): well under what gunicorn serves on 2 busy cores,
# so the figure measures the limiter, not the server running out of CPU.
BUDGETS = {"load-org-a": 480, "load-org-b": 720, "load-org-c": 960}
OFFERED = 1.25  # clients offer this multiple of their organization's budget


@dataclass
class Caller:
    organization: str
    token: str
    seller_id: str
    interval: float  # seconds between requests when not throttled
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_stores() -> None:
    import psycopg
    import redis

    url = urlparse(DATABASE_URL)
    name = url.path.lstrip("/")
    assert name and name not in {"postgres", "template0", "template1"}, name
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL).flushdb()


def server_env() -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "REQUIRE_STAFF_2FA": "0",
        "PORTAL_VAR_DIR": str(ROOT / "var" / "load"),
        "LOG_LEVEL": "WARNING",
    }


def seed() -> list[Caller]:
    """Three organizations with their budgets and 50 API clients between them, each with a token."""
    os.environ.update({k: v for k, v in server_env().items() if k != "SECRET_KEY"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.local"
    import django

    django.setup()
    from django.core.management import call_command

    from portal.clients.services import access_token_issue, client_create
    from portal.core.audit import Actor
    from tests.factories import pilot_organization

    call_command("migrate", verbosity=0)
    callers = []
    slugs = list(BUDGETS)
    for index, slug in enumerate(slugs):
        organization = pilot_organization(capabilities=("webhooks",))
        organization.slug, organization.name = slug, slug.replace("-", " ").title()
        organization.rate_limit_per_minute = BUDGETS[slug]
        organization.save()
        seller_id = str(organization.partner_authorizations.first().partner_id)
        count = CLIENTS // len(slugs) + (1 if index < CLIENTS % len(slugs) else 0)
        per_client_rate = OFFERED * BUDGETS[slug] / 60 / count
        for n in range(count):
            client, issued = client_create(actor=Actor.system(), organization=organization, name=f"load client {n}")
            token = access_token_issue(client=client, secret=issued.secret)
            callers.append(Caller(slug, token.plaintext, seller_id, 1 / per_client_rate))
    return callers


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {**server_env(), "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(WORKERS)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--access-logfile", "/dev/null"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240  # a busy 2-core machine can take a while to import Django in each worker
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=30) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("gunicorn did not become ready: " + (proc.stderr.read() if proc.stderr else ""))


def drive(caller: Caller, base_url: str, start: float, stop: float) -> None:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {caller.token}"
    paths = ["/v1/me", f"/v1/partners/{caller.seller_id}/buyers", "/v1/partners"]
    next_at = start + random.uniform(0, caller.interval)
    while True:
        now = time.monotonic()
        if now >= stop:
            return
        if next_at > now:
            time.sleep(min(next_at - now, stop - now))
            continue
        path = random.choice(paths)
        sent = time.monotonic()
        try:
            response = session.get(base_url + path, timeout=10)
        except requests.RequestException as exc:
            caller.errors.append(f"{path}: {exc.__class__.__name__}")
            next_at = time.monotonic() + caller.interval
            continue
        caller.latencies.append(time.monotonic() - sent)
        caller.statuses[response.status_code] += 1
        if response.status_code == 429:
            # As the FAQ asks: honour Retry-After plus a little jitter, never busy-loop.
            next_at = time.monotonic() + float(response.headers.get("Retry-After", "1")) + random.uniform(0, 0.5)
        elif response.status_code != 200:
            caller.errors.append(f"{path}: HTTP {response.status_code} {response.text[:120]}")
            next_at = time.monotonic() + caller.interval
        else:
            next_at += caller.interval


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    print(f"Recreating {DATABASE_URL} and {REDIS_URL} …", flush=True)
    recreate_stores()
    callers = seed()
    port = free_port()
    server = start_gunicorn(port)
    base_url = f"http://127.0.0.1:{port}"
    print(
        f"{len(callers)} clients of {len(BUDGETS)} organizations, {SECONDS:.0f} s, gunicorn {WORKERS} workers on "
        f"{base_url} (PostgreSQL + Redis); clients offer {OFFERED:.2f}x their organization's budget",
        flush=True,
    )
    start = time.monotonic() + 0.5
    stop = start + SECONDS
    threads = [threading.Thread(target=drive, args=(c, base_url, start, stop), daemon=True) for c in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 30)
    elapsed = time.monotonic() - start
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()

    statuses = sum((c.statuses for c in callers), Counter())
    latencies = [latency for c in callers for latency in c.latencies]
    errors = [error for c in callers for error in c.errors]
    requests_total = sum(statuses.values()) + len([e for e in errors if "HTTP" not in e])
    print(f"\nrequests: {requests_total} in {elapsed:.1f} s ({requests_total / elapsed:.0f}/s)")
    print(
        f"  200: {statuses.get(200, 0)}   429 (intended): {statuses.get(429, 0)}   errors other than 429: {len(errors)}"
    )
    for error, count in Counter(errors).most_common(5):
        print(f"    {count} x {error}")
    if latencies:
        print(
            f"latency: p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p95 {percentile(latencies, 0.95) * 1000:.1f} ms, "
            f"max {max(latencies) * 1000:.1f} ms (mean {statistics.fmean(latencies) * 1000:.1f} ms)"
        )
    print("\nrate per organization (accepted requests per minute vs its budget):")
    accepted: dict[str, int] = defaultdict(int)
    for caller in callers:
        accepted[caller.organization] += caller.statuses.get(200, 0)
    worst = 0.0
    for slug, budget in BUDGETS.items():
        rate = accepted[slug] / elapsed * 60
        deviation = (rate - budget) / budget * 100
        worst = max(worst, abs(deviation))
        clients = sum(1 for c in callers if c.organization == slug)
        print(f"  {slug}: {clients} clients, {rate:7.0f}/min vs budget {budget}/min ({deviation:+.1f} %)")
    print(f"load average during the run (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"\nworst deviation from budget: {worst:.1f} % (target within 5 %); errors other than 429: {len(errors)}")
    return 0 if not errors and worst <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
