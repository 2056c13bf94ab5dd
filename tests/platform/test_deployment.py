"""What the container relies on: probes that answer any host, a worker that consumes real tasks."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery

from portal.core.broker import filesystem_transport_options

ROOT = Path(__file__).resolve().parents[2]
CELERY = (sys.executable, "-m", "celery", "-A", "portal")
QUIET = ("--without-gossip", "--without-mingle", "--loglevel=INFO")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_a_container_address_over_plain_http_under_production_security(client, settings, path):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path, HTTP_HOST="10.0.3.7:8000")
    assert response.status_code in (200, 503)
    assert response.json()["status"] in ("ok", "unavailable")
    # Every other page still refuses the unknown host.
    assert client.get("/accounts/login/", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def _worker_env(var_dir: Path, broker_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL"}}
    env.pop("DATABASE_URL", None)  # the ping only needs `SELECT 1`: an empty SQLite file is enough
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.local", PORTAL_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    return env


def _round_trip(app: Celery, env: dict, tmp_path: Path) -> dict:
    queue = f"ping-{uuid.uuid4().hex[:12]}"  # its own queue: never takes another test's tasks
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [*CELERY, "worker", "-Q", queue, "--pool=prefork", "--concurrency=1", f"--hostname={queue}@%h", *QUIET],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        nonce = uuid.uuid4().hex
        started = time.monotonic()
        result = app.send_task("portal.core.tasks.health_ping", args=[nonce], queue=queue)
        # Another test may have run a worker in this process, which makes Celery think we are inside a task.
        reply = result.get(timeout=60, disable_sync_subtasks=False)
        assert reply["nonce"] == nonce
        assert reply["database"] == "ok"
        assert time.monotonic() - started < 60
        return reply
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def test_a_worker_consumes_a_real_task_from_the_embedded_filesystem_broker(tmp_path):
    var_dir = tmp_path / "var"
    results = var_dir / "celery-results"
    results.mkdir(parents=True)
    app = Celery(
        "probe",
        broker="filesystem://localhost/",
        backend=f"file://{results}",
        broker_transport="portal.core.broker:FilesystemTransport",
        broker_transport_options=filesystem_transport_options(var_dir / "broker"),
    )
    _round_trip(app, _worker_env(var_dir, None), tmp_path)
    # The message was claimed and removed, not left behind in the queue folder.
    assert list((var_dir / "broker" / "queue").iterdir()) == []


if os.environ.get("REDIS_URL"):
    # CI (and anyone with REDIS_URL set) also proves the Redis broker and result backend the container uses.

    def test_a_worker_consumes_a_real_task_from_redis(tmp_path):
        broker = os.environ.get("CELERY_BROKER_URL") or os.environ["REDIS_URL"]
        app = Celery("probe", broker=broker, backend=os.environ["REDIS_URL"])
        env = _worker_env(tmp_path / "var", broker)
        env["CELERY_RESULT_BACKEND"] = os.environ["REDIS_URL"]
        _round_trip(app, env, tmp_path)
