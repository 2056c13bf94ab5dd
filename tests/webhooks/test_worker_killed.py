"""A worker SIGKILLed in the middle of a delivery loses nothing: the lease runs out and the row is sent again."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _database_url(tmp_path) -> str:
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    # SQLite tests run in memory; the worker processes share a file database instead.
    return f"sqlite:///{tmp_path / 'worker.sqlite3'}"


def _run(args, env, timeout=120):
    return subprocess.run(
        [sys.executable, str(ROOT / "tests/webhooks/worker_child.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_delivery_is_delivered_later(receiver, tmp_path):
    env = {**os.environ, "DATABASE_URL": _database_url(tmp_path), "PYTHONPATH": str(ROOT)}
    setup = _run(["setup", receiver.url], env)
    assert setup.returncode == 0, setup.stderr
    event_id = json.loads(setup.stdout.strip().splitlines()[-1])["eventId"]

    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/webhooks/worker_child.py"), "send"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def kill_worker(handler):
        if len(receiver.requests) == 1:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)

    receiver.on_request = kill_worker
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == -signal.SIGKILL, (out, err)
    assert "not killed" not in out
    assert len(receiver.requests) == 1

    recover = _run(["recover"], env)
    assert recover.returncode == 0, recover.stderr
    result = json.loads(recover.stdout.strip().splitlines()[-1])
    assert result["sent"] == 1
    assert result["deliveries"] == [{"status": "SUCCEEDED", "attempt_count": 1, "lease_token": None}]
    assert len(receiver.requests) == 2
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {event_id}
