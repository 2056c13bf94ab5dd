"""`make run`: the web server, two Celery workers and Celery beat, side by side, until Ctrl-C.

Embedded defaults (SQLite in WAL mode and the filesystem broker under var/) unless DATABASE_URL and
CELERY_BROKER_URL say otherwise. The workers are the ones a deployment runs (portal/settings/queues.py):
one for webhooks, one for everything else (VIES, e-mail, maintenance), so a slow VIES never holds back a
webhook. Before printing the URL it waits until the server answers /healthz and a worker has answered a
ping on every queue, sent through the broker, so "running" means running.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Workers on a developer machine: nothing to synchronise with at start-up or to gossip about.
QUIET_WORKER = ("--without-gossip", "--without-mingle")
# The processes of each worker: webhooks send with two, the background work needs one.
WORKER_CONCURRENCY = {"webhooks": 2, "background": 1}


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_http(url: str, processes: list, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in processes):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    os.chdir(ROOT)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings.local")}
    base_url = f"http://{args.host}:{args.port}"
    env.setdefault("PORTAL_BASE_URL", base_url)
    env.setdefault("PYTHONUNBUFFERED", "1")

    if not port_is_free(args.host, args.port):
        print(f"Port {args.port} on {args.host} is taken: stop what runs there or use `make run PORT=8001`.")
        return 1

    seeded = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--json"], capture_output=True, text=True, env=env, check=False
    )
    if seeded.returncode != 0:
        sys.stderr.write(seeded.stdout + seeded.stderr)
        print("seed_demo failed; see above.")
        return 1
    demo = json.loads(seeded.stdout[seeded.stdout.index("{") :])

    sys.path.insert(0, str(ROOT))
    from portal.settings.queues import WORKER_QUEUES

    celery = [str(BIN / "celery"), "-A", "portal"]
    processes = [
        subprocess.Popen([sys.executable, "manage.py", "runserver", f"{args.host}:{args.port}", "--noreload"], env=env),
        *(
            subprocess.Popen(
                [
                    *celery,
                    "worker",
                    "--loglevel=INFO",
                    f"--queues={','.join(queues)}",
                    f"--hostname={name}@%h",
                    f"--concurrency={WORKER_CONCURRENCY.get(name, 1)}",
                    "--pool=prefork",
                    *QUIET_WORKER,
                ],
                env=env,
            )
            for name, queues in WORKER_QUEUES.items()
        ),
        subprocess.Popen([*celery, "beat", "--loglevel=INFO"], env=env),
    ]

    stopping = []

    def stop(*_):
        stopping.append(True)
        for proc in processes:
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        if not wait_for_http(f"{base_url}/healthz", processes):
            print("The web server did not come up; see the log above.")
            return 1
        ping = subprocess.run(
            [sys.executable, "manage.py", "worker_ping", "--timeout", "60"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if ping.returncode != 0:
            sys.stderr.write(ping.stdout + ping.stderr)
            print("A Celery worker did not answer a ping through the broker; see the log above.")
            return 1
        round_trip = json.loads(ping.stdout.strip().splitlines()[-1])["roundTripMs"]

        print("\n" + "=" * 76)
        print(f"NT24 Integration Portal is running at {base_url}/")
        print(f"  NT24 support:  {demo['support']['email']} / {demo['support']['password']}")
        for user in demo["users"]:
            print(f"  {user['role']:<13}  {user['email']} / {user['password']}")
        if demo.get("client"):
            print(f"  API client:    {demo['client']['clientId']} / {demo['client']['clientSecret']}")
        print(
            f"  Database: {'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite (var/portal.sqlite3)'}; "
            f"broker: {os.environ.get('CELERY_BROKER_URL') or 'embedded filesystem broker (var/broker)'}; "
            f"workers ({', '.join(WORKER_QUEUES)}) answered a ping on every queue in {round_trip:.0f} ms"
        )
        print(f"  Mail: {'SMTP ' + os.environ['EMAIL_HOST'] if os.environ.get('EMAIL_HOST') else 'files in var/mail'}")
        print(f"  Docs: {base_url}/docs/ · API reference: {base_url}/docs/api/")
        print("  Press Ctrl-C to stop the server, the workers and beat.")
        print("=" * 76 + "\n", flush=True)

        while all(proc.poll() is None for proc in processes):
            time.sleep(1)
        return 0 if stopping else 1  # SIGTERM is a clean stop; a process that died by itself is not
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
        for proc in processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
