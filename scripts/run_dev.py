"""`make run`: the web server, a Celery worker and Celery beat, side by side, until Ctrl-C."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    args = parser.parse_args()
    os.chdir(ROOT)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings.local")}
    env.setdefault("PORTAL_BASE_URL", f"http://{args.host}:{args.port}")

    demo = json.loads(
        subprocess.run(
            [sys.executable, "manage.py", "seed_demo", "--json"], check=True, capture_output=True, text=True, env=env
        ).stdout
    )
    processes = [
        subprocess.Popen([sys.executable, "manage.py", "runserver", f"{args.host}:{args.port}", "--noreload"], env=env),
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "portal", "worker", "--loglevel=INFO", "--concurrency=2", "--pool=prefork"],
            env=env,
        ),
        subprocess.Popen([str(BIN / "celery"), "-A", "portal", "beat", "--loglevel=INFO"], env=env),
    ]
    time.sleep(2)
    url = f"http://{args.host}:{args.port}/"
    print("\n" + "=" * 72)
    print(f"NT24 Integration Portal is running at {url}")
    print(f"  NT24 support:  {demo['support']['email']} / {demo['support']['password']}")
    for user in demo["users"]:
        print(f"  {user['role']:<13} {user['email']} / {user['password']}")
    print(f"  API client:    {demo['client']['clientId']} / {demo['client']['clientSecret']}")
    print(
        f"  Database: {'PostgreSQL' if 'DATABASE_URL' in os.environ else 'SQLite (var/portal.sqlite3)'}; "
        f"broker: {os.environ.get('CELERY_BROKER_URL', 'embedded filesystem broker (var/broker)')}"
    )
    print("  Press Ctrl-C to stop the server, the worker and beat.")
    print("=" * 72 + "\n", flush=True)

    def stop(*_):
        for proc in processes:
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(proc.poll() is None for proc in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
