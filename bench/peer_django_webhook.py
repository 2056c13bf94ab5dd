"""Peer benchmark: the same delivery workload through django-webhook 0.0.15 (PyPI) and through ours.

    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://…/13 .venv/bin/python bench/peer_django_webhook.py \
        [--events 1000] [--workers 1]

Workload, identical on both sides: N business changes, each committed in its own transaction, each
producing one signed webhook to one endpoint on the same fast local receiver (bench/_receiver.py),
through the same broker (CELERY_BROKER_URL, a Redis database) and a Celery worker of the same
concurrency on the same PostgreSQL server. Rate = N / (first change → every delivery recorded as
succeeded), with the worker booted before the clock starts.

- ours: `event_emit` in the business transaction → `webhooks.event_fanout` → delivery row → the batched
  dispatcher (the real path, beat replaced by the same 2 s kick);
- django-webhook: a model `post_save` → `fire_webhook.delay` → one POST per task, events stored
  (`STORE_EVENTS`, its default, the counterpart of our delivery history).

django-webhook supports Django < 6, so it runs in its own virtualenv (bench/out/peer-venv, Django 5.2)
with a throwaway project generated under bench/out/peer-project, and its own database
(`<name>_peer` on the same server).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PEER_VENV = OUT / "peer-venv"
PEER_PROJECT = OUT / "peer-project"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEER_REQUIREMENTS = ["django-webhook==0.0.15", "django>=5.2,<6", "psycopg[binary]>=3.2", "celery[redis]>=5.4,<6"]

sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
os.environ["DEBUG"] = "0"
os.environ["WEBHOOK_ALLOW_HTTP"] = "1"
os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

import dj_database_url  # noqa: E402
from _report import report  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from portal.core.audit import Actor  # noqa: E402
from portal.webhooks.models import WebhookDelivery, WebhookEvent  # noqa: E402
from portal.webhooks.outbox import event_emit  # noqa: E402
from portal.webhooks.services import endpoint_create  # noqa: E402
from tests import factories  # noqa: E402
from tests.factories import pilot_organization  # noqa: E402

# ---------------------------------------------------------------------------------------------- shared


def start_receiver() -> tuple[subprocess.Popen, str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    port_file.write_text("")
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench/_receiver.py"), str(port_file)])
    for _ in range(100):
        if text := port_file.read_text().strip():
            return proc, f"http://127.0.0.1:{text}/hooks"
        time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def worker_command(celery: Path, app: str, concurrency: int) -> list[str]:
    return [
        str(celery), "-A", app, "worker", "-c", str(concurrency), "--pool", "prefork",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING",
    ]  # fmt: skip


def wait_worker_ready(worker: subprocess.Popen, app_python: Path, app: str, env: dict, cwd: Path) -> None:
    """Until the worker answers a ping over the broker (so start-up is not timed)."""
    probe = f"from {app}.celery import app; import sys; sys.exit(0 if app.control.ping(timeout=1.0) else 1)"
    deadline = time.monotonic() + 120
    while subprocess.run([str(app_python), "-c", probe], cwd=cwd, env=env, capture_output=True).returncode:
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the {app} worker did not answer a ping (exit code {worker.poll()})")
        time.sleep(0.5)


# ---------------------------------------------------------------------------------------------- ours


def run_ours(url: str, events: int, concurrency: int) -> float:
    start = int(time.time() * 1000) % 10**9  # the bench database outlives runs: fresh unique slugs
    for factory in (factories.OrganizationFactory, factories.PartnerFactory, factories.UserFactory):
        factory.reset_sequence(start)
    organization = pilot_organization()
    endpoint_create(actor=Actor.system(), organization=organization, url=url, subscriptions=["kyc.*"])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.local", "CELERY_TASK_ALWAYS_EAGER": "0"}
    worker = subprocess.Popen(
        worker_command(Path(sys.executable).with_name("celery"), "portal", concurrency), cwd=ROOT, env=env
    )
    try:
        wait_worker_ready(worker, Path(sys.executable), "portal", env, ROOT)
        from portal.webhooks.tasks import deliveries_dispatch

        done = WebhookDelivery.objects.filter(organization=organization, status=WebhookDelivery.Status.SUCCEEDED)
        t0 = time.perf_counter()
        for seq in range(events):
            with transaction.atomic():
                event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 1, "seq": seq})
        tick = time.monotonic()
        while done.count() < events:
            if time.perf_counter() - t0 > 600:
                raise RuntimeError(f"ours: {done.count()} of {events} delivered after 600 s")
            if time.monotonic() - tick >= 2:  # what celery beat does (webhooks-dispatch, every 2 s)
                deliveries_dispatch.apply_async(expires=10)
                tick = time.monotonic()
            time.sleep(0.1)
        return events / (time.perf_counter() - t0)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        WebhookDelivery.objects.filter(organization=organization).delete()
        WebhookEvent.objects.filter(organization=organization).delete()


# ---------------------------------------------------------------------------------------------- django-webhook


def peer_database() -> dict:
    """The peer's own database beside ours (same server), or a SQLite file when ours is SQLite."""
    ours = settings.DATABASES["default"]
    if ours["ENGINE"].endswith("sqlite3"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(PEER_PROJECT / "peer.sqlite3")}
    name = f"{ours['NAME']}_peer"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        **{k: ours[k] for k in ("USER", "PASSWORD", "HOST", "PORT")},
    }


def peer_install() -> None:
    if not PEER_PYTHON.exists():
        subprocess.run(
            [str(Path(sys.executable).with_name("uv")), "venv", "-q", "--python", sys.executable, str(PEER_VENV)],
            check=True,
        )
    subprocess.run(
        [
            str(Path(sys.executable).with_name("uv")),
            "pip",
            "install",
            "-q",
            "--python",
            str(PEER_PYTHON),
            *PEER_REQUIREMENTS,
        ],
        check=True,
    )


def peer_project(database: dict, broker: str) -> None:
    """A throwaway Django 5.2 project: one model whose creation django-webhook turns into a webhook."""
    shutil.rmtree(PEER_PROJECT, ignore_errors=True)
    (PEER_PROJECT / "peerproj").mkdir(parents=True)
    (PEER_PROJECT / "orders" / "migrations").mkdir(parents=True)
    files = {
        "peerproj/__init__.py": "",
        "peerproj/settings.py": f"""
            SECRET_KEY = "peer-bench-only"
            DEBUG = False
            USE_TZ = True
            INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_webhook", "orders"]
            DATABASES = {{"default": {{**{database!r}, "CONN_MAX_AGE": 60}}}}
            DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
            CELERY_BROKER_URL = {broker!r}
            CELERY_TASK_IGNORE_RESULT = True
            CELERY_TASK_ACKS_LATE = True
            CELERY_WORKER_PREFETCH_MULTIPLIER = 1
            DJANGO_WEBHOOK = {{"MODELS": ["orders.Order"], "USE_CACHE": True, "STORE_EVENTS": True}}
        """,
        "peerproj/celery.py": """
            import os
            from celery import Celery
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproj.settings")
            app = Celery("peerproj")
            app.config_from_object("django.conf:settings", namespace="CELERY")
            app.autodiscover_tasks()
        """,
        "orders/__init__.py": "",
        "orders/migrations/__init__.py": "",
        "orders/models.py": """
            from django.db import models
            class Order(models.Model):
                seq = models.IntegerField()
                version = models.IntegerField(default=1)
        """,
        "bench_peer.py": """
            import os, sys, time
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproj.settings")
            import django
            django.setup()
            from peerproj.celery import app  # noqa: F401  (binds the shared tasks to this app)
            from django.core.management import call_command
            from django.db import transaction
            from django_webhook.models import Webhook, WebhookEvent, WebhookSecret, WebhookTopic
            from django_webhook.models import populate_topics_from_settings
            from orders.models import Order
            command = sys.argv[1]
            if command == "setup":
                call_command("makemigrations", "orders", verbosity=0)
                call_command("migrate", verbosity=0)
                WebhookEvent.objects.all().delete(); Order.objects.all().delete(); Webhook.objects.all().delete()
                populate_topics_from_settings()
                webhook = Webhook.objects.create(url=sys.argv[2])
                webhook.topics.set(WebhookTopic.objects.filter(name="orders.Order/create"))
                WebhookSecret.objects.create(webhook=webhook, token="peer-bench-secret-0123456789")
            elif command == "run":
                events = int(sys.argv[2])
                done = WebhookEvent.objects.filter(status="SUCCESS")
                t0 = time.perf_counter()
                for seq in range(events):
                    with transaction.atomic():
                        Order.objects.create(seq=seq)
                while done.count() < events:
                    if time.perf_counter() - t0 > 600:
                        sys.exit(f"django-webhook: {done.count()} of {events} delivered after 600 s")
                    time.sleep(0.1)
                print(events / (time.perf_counter() - t0))
        """,
    }
    for name, text in files.items():
        (PEER_PROJECT / name).write_text(textwrap.dedent(text).lstrip())


def run_peer(url: str, events: int, concurrency: int) -> float:
    broker = settings.CELERY_BROKER_URL
    peer_project(peer_database(), broker)
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "peerproj.settings", "PYTHONPATH": str(PEER_PROJECT)}
    script = str(PEER_PROJECT / "bench_peer.py")
    subprocess.run([str(PEER_PYTHON), script, "setup", url], cwd=PEER_PROJECT, env=env, check=True)
    worker = subprocess.Popen(
        worker_command(PEER_VENV / "bin" / "celery", "peerproj", concurrency), cwd=PEER_PROJECT, env=env
    )
    try:
        wait_worker_ready(worker, PEER_PYTHON, "peerproj", env, PEER_PROJECT)
        result = subprocess.run(
            [str(PEER_PYTHON), script, "run", str(events)],
            cwd=PEER_PROJECT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return float(result.stdout.strip().splitlines()[-1])
    finally:
        worker.terminate()
        worker.wait(timeout=60)


# ---------------------------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        sys.exit("set CELERY_BROKER_URL to a redis:// URL: django-webhook needs a real broker to share")
    call_command("migrate", verbosity=0)
    peer_install()
    receiver, url = start_receiver()
    try:
        peer = run_peer(url, args.events, args.workers)
        print(f"django-webhook 0.0.15 (Django 5.2): {peer:,.1f} deliveries/s")
        ours = run_ours(url, args.events, args.workers)
        print(f"NT24 portal: {ours:,.1f} deliveries/s ({ours / peer:.2f}x django-webhook)")
    finally:
        receiver.terminate()
    broker = settings.CELERY_BROKER_URL.split("://")[0]
    database = dj_database_url.parse(os.environ.get("DATABASE_URL", "sqlite://"))["ENGINE"].rsplit(".", 1)[-1]
    notes = (
        f"{args.events} events, 1 endpoint, {args.workers} worker process(es), {broker} broker, {database}; "
        "end to end: commit of each change → delivery recorded as succeeded"
    )
    report("django-webhook 0.0.15 deliveries/s (peer)", peer, "deliveries/s", notes=notes)
    report(
        "NT24 deliveries/s vs django-webhook",
        ours,
        "deliveries/s",
        baseline=peer,
        baseline_label="django-webhook 0.0.15, same workload, same run",
        notes=notes,
    )


if __name__ == "__main__":
    main()
