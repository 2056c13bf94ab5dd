"""What the container relies on: probes that answer any host, a worker that consumes real tasks."""

import json
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


def _docker_ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule, enough for our patterns: a path is out when it or a parent matches the last matching line."""
    import fnmatch

    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern.removeprefix("**/")) for c in candidates):
            ignored = not negate
    return ignored


def test_the_image_gets_what_runs_and_not_tests_bench_or_scripts():
    from portal.console.docs import DOC_PAGES

    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    kept = ["manage.py", "gunicorn.conf.py", "pyproject.toml", "uv.lock", "portal/urls.py", "templates/_base.html"]
    kept += ["static", "locale", *(f"docs/{page.slug}.md" for page in DOC_PAGES)]
    assert [path for path in kept if _docker_ignored(path, patterns)] == []
    dropped = ["tests/conftest.py", "bench/me_bench.py", "scripts/run_dev.py", ".ci/run", "control/celery.exchange"]
    dropped += ["docs/decisions.md", "Makefile", "README.md", ".hypothesis/x", "var/media"]
    assert [path for path in dropped if not _docker_ignored(path, patterns)] == []


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


def test_worker_ping_answers_only_once_every_queue_has_a_worker_as_make_run_starts_them(tmp_path):
    """`make run` (scripts/run_dev.py) starts one worker per group of portal/settings/queues.py and prints
    the URL once `worker_ping` has had an answer on every queue."""
    from django.conf import settings

    var_dir = tmp_path / "var"
    env = _worker_env(var_dir, None)
    workers = []

    def start(group: str):
        path = tmp_path / f"{group}.log"
        log = path.open("w")
        workers.append(
            subprocess.Popen(
                [
                    *CELERY,
                    "worker",
                    f"--queues={','.join(settings.WORKER_QUEUES[group])}",
                    f"--hostname={group}@%h",
                    "--pool=solo",
                    *QUIET,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        for _ in range(600):
            if b" ready." in path.read_bytes():
                return
            time.sleep(0.1)
        raise AssertionError(f"the {group} worker did not start: {path.read_text()[-2000:]}")

    def ping(timeout: int):
        return subprocess.run(
            [sys.executable, "manage.py", "worker_ping", "--timeout", str(timeout)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 60,
        )

    try:
        start("webhooks")
        alone = ping(3)  # the webhooks worker is ready: only the background queues go unanswered
        assert alone.returncode != 0
        # It names the queues nobody consumes, and only those.
        missing = alone.stderr.split("queue(s) ")[1].split(" within")[0].split(", ")
        assert sorted(missing) == sorted(settings.WORKER_QUEUES["background"]), alone.stderr
        start("background")
        both = ping(60)
        assert both.returncode == 0, both.stdout + both.stderr
        reply = json.loads(both.stdout.strip().splitlines()[-1])
        assert sorted(reply["queues"]) == sorted(q.name for q in settings.CELERY_TASK_QUEUES)
        assert reply["database"] == "ok" and reply["roundTripMs"] > 0
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
