"""Fault-drill machinery: a private Redis, a real Celery worker and beat as subprocesses, a local receiver.

The drills need PostgreSQL (SKIP LOCKED claims, `pg_terminate_backend`) and a `redis-server` binary:
every drill runs its own Redis on a free port (`--save ''`), so restarting it never touches the shared
one. The worker, the beat and the event emitter connect to the test database pytest-django created.

Time is never slept away: retries and leases are fast-forwarded in the database (`clock`), which is
what the clock would do after the real back-off.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from portal.core.audit import Actor
from portal.webhooks import ssrf
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal.webhooks.policy import BREAKER_THRESHOLD
from portal.webhooks.services import endpoint_create
from tests.factories import pilot_organization

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, tick=None, interval: float = 0.2):
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if tick is not None:
            tick()
        value = predicate()
        if value:
            print(f"[{time.monotonic() - started:5.1f} s] {what}", flush=True)
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="module")
def drill_services(django_db_setup):
    if connection.vendor != "postgresql":
        pytest.skip("fault drills need PostgreSQL (DATABASE_URL=postgres://…): SKIP LOCKED and pg_terminate_backend")
    if shutil.which("redis-server") is None:
        pytest.skip("fault drills need the redis-server binary to run a private Redis they may restart")


# ---------------------------------------------------------------------------------------------- Redis


class PrivateRedis:
    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.workdir = workdir
        self.process = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what="the private redis-server", interval=0.05)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)  # abrupt: whatever was queued in memory is gone
            self.process.wait(timeout=10)

    def restart(self, *, down_for: float = 1.5):
        self.stop()
        time.sleep(down_for)
        self.start()


@pytest.fixture(scope="module")
def private_redis(drill_services, tmp_path_factory):
    redis = PrivateRedis(tmp_path_factory.mktemp("redis"))
    yield redis
    redis.stop()


# ---------------------------------------------------------------------------------------------- receiver


class DrillReceiver:
    """127.0.0.1 receiver on a fixed port: `down` (not listening), `erroring` (HTTP 500) or `up` (204)."""

    def __init__(self, *, delay: float = 0.0):
        self.port = _free_port()
        self.delay = delay
        self.failing = False
        self.received: list[tuple[str, int]] = []  # (webhook-id, status answered)
        self.on_request = None
        self.lock = threading.Lock()
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/drill"

    def up(self):
        if self.server is not None:
            return
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = 500 if receiver.failing else 204
                with receiver.lock:
                    receiver.received.append((self.headers.get("webhook-id", ""), status))
                    count = len(receiver.received)
                if receiver.on_request is not None:
                    receiver.on_request(count)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def delivered_ids(self) -> Counter:
        with self.lock:
            return Counter(i for i, status in self.received if 200 <= status < 300)


@pytest.fixture
def drill_receiver():
    receiver = DrillReceiver()
    yield receiver
    receiver.down()
    ssrf.checked_addresses.clear()


# ---------------------------------------------------------------------------------------------- cluster


class Cluster:
    """The Celery workers of a deployment (webhooks; background), beat and the emitter as subprocesses
    against the test database. `worker` is the webhooks worker (the one the drills kill); `background`
    consumes VIES, e-mail, maintenance and ping queues, as in portal/settings/queues.py."""

    def __init__(self, *, redis: PrivateRedis, workdir: Path):
        self.redis = redis
        self.workdir = workdir
        s = connection.settings_dict
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DATABASE_URL": f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
            "CELERY_BROKER_URL": f"{redis.url}/0",
            "CELERY_RESULT_BACKEND": f"{redis.url}/1",
            "REDIS_URL": "",
            "PORTAL_VAR_DIR": str(workdir / "var"),
            "PYTHONPATH": str(ROOT),
        }
        self.worker = self.background = self.beat = None
        self.worker_starts = 0
        self.background_starts = 0

    def _spawn(self, args, log: Path):
        handle = log.open("ab")
        return subprocess.Popen(
            [str(CELERY), "-A", "portal", *args],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a SIGKILL takes the pool children too
        )

    def ensure_running(self):
        if self.worker is None or self.worker.poll() is not None:
            self.start_worker()
        if self.background is None or self.background.poll() is not None:
            self.start_background()
        if self.beat is None or self.beat.poll() is not None:
            self.start_beat()

    def _start_worker(self, *, group: str, number: int, concurrency: int) -> subprocess.Popen:
        from django.conf import settings

        log = self.workdir / f"{'worker' if group == 'webhooks' else group}-{number}.log"
        process = self._spawn(
            [
                "worker",
                "-l",
                "info",
                "-c",
                str(concurrency),
                "-Q",
                ",".join(settings.WORKER_QUEUES[group]),
                "-n",
                f"drill-{group}{number}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            log,
        )
        wait_until(lambda: b" ready." in log.read_bytes(), timeout=60, what=f"the Celery {group} worker ({log})")
        return process

    def start_worker(self):
        self.worker_starts += 1
        self.worker = self._start_worker(group="webhooks", number=self.worker_starts, concurrency=2)

    def start_background(self):
        self.background_starts += 1
        self.background = self._start_worker(group="background", number=self.background_starts, concurrency=1)

    def start_beat(self):
        self.beat = self._spawn(
            [
                "beat",
                "-l",
                "info",
                "-s",
                str(self.workdir / "beat-schedule"),
                "--pidfile",
                str(self.workdir / "beat.pid"),
            ],
            self.workdir / "beat.log",
        )

    def kill_worker(self) -> int:
        os.killpg(self.worker.pid, signal.SIGKILL)
        return self.worker.wait(timeout=30)

    def emit(self, organization, count: int, first: int = 0):
        self.child("emit", str(organization.pk), str(count), str(first))

    def child(self, *args: str):
        result = subprocess.run(
            [sys.executable, str(ROOT / "tests/resilience/drill_child.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]

    def stop(self):
        for process in (self.worker, self.background, self.beat):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (self.worker, self.background, self.beat):
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=15)

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.workdir.glob("*.log"))


@pytest.fixture(scope="module")
def cluster(private_redis, tmp_path_factory):
    """The workers and one beat for all the drills of a module (a worker start costs seconds)."""
    c = Cluster(redis=private_redis, workdir=tmp_path_factory.mktemp("cluster"))
    yield c
    c.stop()
    # The subprocesses' logs outlive pytest's temporary folders: artifacts/ is git-ignored.
    logs = ROOT / "artifacts" / "resilience"
    logs.mkdir(parents=True, exist_ok=True)
    for log in c.workdir.glob("*.log"):
        shutil.copy(log, logs / log.name)


# ---------------------------------------------------------------------------------------------- the drill


class Drill:
    def __init__(self, *, name: str, cluster: Cluster, receiver: DrillReceiver):
        self.name = name
        self.cluster = cluster
        self.receiver = receiver
        self.organization = pilot_organization()
        self.endpoint = endpoint_create(
            actor=Actor.system(), organization=self.organization, url=receiver.url, subscriptions=["kyc.*"]
        )
        self.sent = 0

    def emit(self, count: int):
        self.cluster.emit(self.organization, count, first=self.sent)
        self.sent += count

    def wait_down(self):
        """The receiver refuses connections: wait until every event is fanned out and the circuit breaker has
        opened, holding the deliveries back without using up their attempts. Returns the ids attempted."""

        def open_():
            self.endpoint.refresh_from_db()
            return (
                WebhookDelivery.objects.count() == self.sent
                and self.endpoint.breaker_state == WebhookEndpoint.BreakerState.OPEN
                and not WebhookDelivery.objects.filter(lease_until__gt=timezone.now()).exists()
            )

        wait_until(open_, timeout=60, what="the breaker to open on refused connections, every event fanned out")
        refused = set(WebhookDelivery.objects.filter(attempt_count__gte=1).values_list("id", flat=True))
        # The threshold of refused requests, plus what was already in flight to the endpoint when it opened.
        assert 0 < len(refused) <= BREAKER_THRESHOLD + self.endpoint.max_concurrency
        assert self.succeeded() == 0
        return refused

    @staticmethod
    def clock(*, leases_taken_before=None, below_attempts=None):
        """Fast-forward time in the database: retries are due now (only of deliveries with fewer than
        `below_attempts` attempts, if given), and so is the end of an open breaker's cool-down; optionally,
        leases taken before a moment have run out."""
        now = timezone.now()
        WebhookEndpoint.objects.filter(breaker_state=WebhookEndpoint.BreakerState.OPEN, breaker_until__gt=now).update(
            breaker_until=now
        )
        retrying = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RETRYING, next_attempt_at__gt=now)
        if below_attempts is not None:
            retrying = retrying.filter(attempt_count__lt=below_attempts)
        retrying.update(next_attempt_at=now)
        if leases_taken_before is not None:
            from portal.webhooks.engine import LEASE_SECONDS

            WebhookDelivery.objects.filter(
                lease_until__isnull=False, lease_until__lte=leases_taken_before + timedelta(seconds=LEASE_SECONDS)
            ).update(lease_until=now - timedelta(seconds=1))

    def succeeded(self) -> int:
        return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).count()

    def wait_all_delivered(self, *, timeout: float = 60, tick=None):
        def done():
            return (
                WebhookEvent.objects.count() == self.sent
                and WebhookDelivery.objects.count() == self.sent
                and self.succeeded() == self.sent
            )

        try:
            wait_until(done, timeout=timeout, what="every event delivered", tick=tick or self.clock)
        except AssertionError as exc:
            state = Counter(WebhookDelivery.objects.values_list("status", "attempt_count", "last_failure_class"))
            print(self.cluster.logs())
            raise AssertionError(f"{exc}; events={WebhookEvent.objects.count()} sent={self.sent} {state}") from None

    def report(self) -> dict:
        ids = self.receiver.delivered_ids()
        expected = {e.webhook_id for e in WebhookEvent.objects.all()}
        delivered = len(expected & set(ids))
        counts = {
            "sent": self.sent,
            "delivered": delivered,
            "duplicated": sum(ids.values()) - len(ids),
            "lost": self.sent - delivered,
        }
        print(
            f"\nDRILL {self.name}: sent={counts['sent']} delivered={counts['delivered']} "
            f"duplicated={counts['duplicated']} lost={counts['lost']}",
            flush=True,
        )
        assert len(expected) == self.sent
        assert set(ids) <= expected, "the receiver got an event nobody sent"
        assert counts["lost"] == 0
        statuses = Counter(WebhookDelivery.objects.values_list("status", flat=True))
        assert statuses == {WebhookDelivery.Status.SUCCEEDED: self.sent}, statuses
        return counts


@pytest.fixture
def make_drill(transactional_db, cluster, drill_receiver):
    def _make(name: str) -> Drill:
        return Drill(name=name, cluster=cluster, receiver=drill_receiver)

    return _make
