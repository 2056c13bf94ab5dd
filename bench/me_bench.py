"""GET /v1/me under gunicorn (2 sync workers) beside a bare Django JSON view served the same way.

Both URLs go through the same middleware; /v1/me adds DRF, bearer-token authentication (one SHA-256,
then the caller from the in-process cache, or one indexed query on a miss), the gateway (paused / DPA /
budget / partner / capability; the budget is spent in Redis, or from a lease of requests this process
already counted there) and the JSON body. The organization's budget is large, so it is spent but never
used up: this measures the steady state of a pilot within its budget. Load comes from 4 processes
opening one connection per request (gunicorn's sync workers close connections anyway), for
DURATION seconds per round, alternating the URLs for ROUNDS rounds; the best round counts. /v1/me is
measured twice: as configured, and on a second server with GATEWAY_LEASE_MAX=0 (every call counted in
Redis, one round trip each) so the cost of the round trip is visible too.
Also measured in process: the cost of authentication alone per request.

Run: .venv/bin/python bench/me_bench.py   (uses DATABASE_URL / REDIS_URL like the app; SQLite if unset)
"""

import contextlib
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]
os.environ["DJANGO_SETTINGS_MODULE"] = "_me_site"

DURATION = float(os.environ.get("ME_BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("ME_BENCH_ROUNDS", "3"))
LOADERS = int(os.environ.get("ME_BENCH_LOADERS", "4"))
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _loader(port: int, request: bytes, deadline: float, counts, errors, index: int) -> None:
    done = bad = 0
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(request)
            chunks = []
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        response = b"".join(chunks)
        if response.startswith(b"HTTP/1.1 200") or response.startswith(b"HTTP/1.0 200"):
            done += 1
        else:
            bad += 1
    counts[index] = done
    errors[index] = bad


def measure(port: int, path: str, headers: dict[str, str]) -> tuple[float, int]:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    counts, errors = mp.Array("i", LOADERS), mp.Array("i", LOADERS)
    start = time.monotonic()
    deadline = start + DURATION
    procs = [mp.Process(target=_loader, args=(port, request, deadline, counts, errors, i)) for i in range(LOADERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.monotonic() - start
    return sum(counts) / elapsed, sum(errors)


def setup_data():
    """A pilot organization of its own (DPA, one partner, capabilities) and a client with a token."""
    import uuid

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)
    from portal.accounts.models import User
    from portal.clients.services import access_token_issue, client_create
    from portal.core.audit import Actor
    from portal.organizations.models import (
        CapabilityGrant,
        DataProcessingAgreement,
        IntegrationOrganization,
        Partner,
        PartnerAuthorization,
    )

    tag = uuid.uuid4().hex[:10]
    now = timezone.now()
    support = User.objects.create_user(email=f"bench-{tag}@nt24.example", password=None)
    # The budget is checked on every call but never exhausted.
    organization = IntegrationOrganization.objects.create(
        name=f"Bench {tag}", slug=f"bench-{tag}", status="ACTIVE", rate_limit_per_minute=10_000_000
    )
    DataProcessingAgreement.objects.create(
        organization=organization,
        version="bench",
        signer_name="Bench",
        signer_email="bench@example.com",
        signed_at=now,
        registered_by=support,
        registered_at=now,
    )
    partner = Partner.objects.create(legal_name=f"Bench Partner {tag}", country_code="DE", vat_number=f"BENCH{tag}")
    PartnerAuthorization.objects.create(
        organization=organization, partner=partner, authorized_by=support, authorized_at=now
    )
    for capability in ("webhooks", "kycLevelB"):
        CapabilityGrant.objects.create(
            organization=organization, capability=capability, granted_by=support, granted_at=now
        )
    client, issued = client_create(actor=Actor.system(), organization=organization, name="Bench DMS")
    token = access_token_issue(client=client, secret=issued.secret)
    return token.plaintext, (organization, partner, support)


@contextlib.contextmanager
def serve(extra_env: dict | None = None):
    """gunicorn with WORKERS sync workers on a free port, serving the portal plus /bench/bare."""
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    env = {**os.environ, **(extra_env or {}), "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH)])}
    bind = ["--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [gunicorn, "--config", str(BENCH / "_me_gunicorn.py"), "--workers", str(WORKERS), *bind, "portal.wsgi"],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def auth_cost(token: str, iterations: int = 3000) -> tuple[float, float, float]:
    """Microseconds per call: authentication of a cached caller, of a caller not cached yet (one query),
    and the whole gateway (authentication + rules 2-4, the budget from the lease or Redis)."""
    from django.test import RequestFactory
    from django.utils import timezone
    from rest_framework.request import Request

    from portal.gateway.authentication import ApiTokenAuthentication
    from portal.gateway.cache import gateway_cache_clear
    from portal.gateway.views import gateway_admit, gateway_record_use

    factory = RequestFactory()
    auth = ApiTokenAuthentication()
    django_request = factory.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")

    def gateway_once():
        _, caller = auth.authenticate(Request(django_request))
        now = timezone.now()
        caller, _, _ = gateway_admit(caller, now)
        gateway_record_use(caller, now)

    for _ in range(200):
        gateway_once()
    start = time.perf_counter()
    for _ in range(iterations):
        gateway_once()
    gateway_us = (time.perf_counter() - start) / iterations * 1e6
    start = time.perf_counter()
    for _ in range(iterations):
        auth.authenticate(Request(django_request))
    auth_us = (time.perf_counter() - start) / iterations * 1e6
    cold = 0.0
    for _ in range(iterations // 3):
        gateway_cache_clear()
        start = time.perf_counter()
        auth.authenticate(Request(django_request))
        cold += time.perf_counter() - start
    cold_us = cold / (iterations // 3) * 1e6
    return auth_us, cold_us, gateway_us


def cleanup(created) -> None:
    from portal.core.models import AuditEntry

    organization, partner, support = created
    AuditEntry.objects.filter(organization=organization).delete()
    organization.delete()
    partner.delete()
    support.delete()


def main() -> int:
    from _report import report

    token, created = setup_data()
    from django.conf import settings

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    store = settings.RATELIMIT_STORAGE_URI.split("://")[0]
    auth_header = {"Authorization": f"Bearer {token}"}
    bare_runs, me_runs, unleased_runs, me_errors = [], [], [], 0
    # The same server twice: as configured (leases on), then with every request counted in Redis.
    with serve() as port, serve({"GATEWAY_LEASE_MAX": "0"}) as unleased_port:
        # Warm up the workers (imports, connections, caches).
        measure(port, "/bench/bare", {})
        measure(port, "/v1/me", auth_header)
        measure(unleased_port, "/v1/me", auth_header)
        for _ in range(ROUNDS):
            bare_rps, _ = measure(port, "/bench/bare", {})
            me_rps, errors = measure(port, "/v1/me", auth_header)
            unleased_rps, unleased_errors = measure(unleased_port, "/v1/me", auth_header)
            bare_runs.append(bare_rps)
            me_runs.append(me_rps)
            unleased_runs.append(unleased_rps)
            me_errors += errors + unleased_errors
            print(
                f"round: bare {bare_rps:,.0f} req/s · /v1/me {me_rps:,.0f} req/s · "
                f"/v1/me without leases {unleased_rps:,.0f} req/s ({errors + unleased_errors} non-200)"
            )
    auth_us, cold_us, gateway_us = auth_cost(token)
    bare, me, unleased = max(bare_runs), max(me_runs), max(unleased_runs)
    notes = f"gunicorn {WORKERS} sync workers, {LOADERS} load processes, {DURATION:.0f}s x {ROUNDS} rounds, best; db={db}, budget store={store}"
    print(f"\nbare Django JSON view: {bare:,.0f} req/s")
    print(f"GET /v1/me:           {me:,.0f} req/s  ({me / bare:.0%} of bare; target >= 60%)")
    print(
        f"  without leases:     {unleased:,.0f} req/s  ({unleased / bare:.0%} of bare; one Redis round trip per call)"
    )
    print(
        f"authentication alone: {auth_us:,.0f} µs/request (cached caller), {cold_us:,.0f} µs on a cache miss "
        f"(one query); whole gateway (auth + rules + budget): {gateway_us:,.0f} µs/request"
    )
    if me_errors:
        print(f"WARNING: {me_errors} /v1/me responses were not 200")
    report("bare Django JSON view", round(bare, 1), "req/s", notes=notes)
    report(
        "GET /v1/me",
        round(me, 1),
        "req/s",
        baseline=round(0.6 * bare, 1),
        baseline_label="60% of the bare view (target)",
        notes=f"{me / bare:.1%} of the bare view; {notes}",
    )
    report("/v1/me share of bare view", round(100 * me / bare, 1), "%", baseline=60, baseline_label="target")
    report(
        "GET /v1/me, every request counted in Redis (GATEWAY_LEASE_MAX=0)",
        round(unleased, 1),
        "req/s",
        baseline=round(0.6 * bare, 1),
        baseline_label="60% of the bare view (target)",
        notes=f"{unleased / bare:.1%} of the bare view; one Redis round trip per call; {notes}",
    )
    report(
        "authentication per request",
        round(auth_us, 1),
        "µs",
        higher_is_better=False,
        notes="in process, caller cached (SHA-256 + dictionary lookup)",
    )
    report(
        "authentication on a cache miss",
        round(cold_us, 1),
        "µs",
        higher_is_better=False,
        notes="in process, first call of a token in a process or after a change: one indexed query",
    )
    report(
        "gateway per request",
        round(gateway_us, 1),
        "µs",
        higher_is_better=False,
        notes=f"auth + rules + budget ({store}; leased requests need no round trip)",
    )
    cleanup(created)
    return 0


if __name__ == "__main__":
    sys.exit(main())
