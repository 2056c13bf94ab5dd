"""The delivery engine: claim due deliveries fairly per endpoint, send them concurrently, record attempts.

Due deliveries live in the database (`next_attempt_at`), never as long countdowns in the broker. A
dispatcher (`deliveries_dispatch`, the Celery task's body) keeps up to `MAX_IN_FLIGHT` requests in flight
on one asyncio event loop (`sender`, a thread of the worker process, aiohttp over the SSRF guard's
resolver) while the task thread does all database work: it claims rows with `SELECT … FOR UPDATE SKIP
LOCKED` and leases them (`lease_token`, `lease_until`), renews the leases of long requests, and writes
results in bulk (`_flush`, one short transaction), then claims again as slots free up.

Claiming is per endpoint, least recently claimed endpoint first, and never more than the endpoint's
`max_concurrency` minus its live leases (counted while holding the endpoint row, so the cap holds across
every worker process). A circuit breaker keeps an endpoint that times out or refuses connections from
being claimed at all until a cool-down ends; then one probe decides. A worker killed mid-request simply
lets the lease run out and the rows are claimed again (at-least-once).
"""

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.core.audit import Actor, audit_record
from portal.core.audit_actions import AuditAction
from portal.webhooks import metrics, ssrf
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from portal.webhooks.policy import (
    BREAKER_COOLDOWN,
    BREAKER_COOLDOWN_MAX,
    BREAKER_FAILURE_CLASSES,
    BREAKER_THRESHOLD,
    next_attempt_time,
    retry_after_seconds,
)
from portal.webhooks.signing import payload_body, signature_headers

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
LEASE_SECONDS = 60
RESPONSE_BODY_LIMIT = 16 * 1024
USER_AGENT = "NT24-Webhooks/1.0 (+https://novatrade24.com)"
MAX_IN_FLIGHT = 256  # requests one worker process has in flight at once
MAX_LEASED = 1024  # deliveries one dispatcher holds leased: in flight, or queued behind their endpoint's cap
QUEUE_FACTOR = 32  # an endpoint's queue in a dispatcher: this many times its cap
CLAIM_ENDPOINTS = 200  # endpoints with free slots looked at per claim
DISABLED_BATCH = 100  # deliveries of a disabled endpoint failed per claim, without a request
IDLE_WAIT_SECONDS = 0.2  # how long the dispatcher waits for a result before it looks for new work again


# ---------------------------------------------------------------------------------------------- claim

ACTIVE = [str(s) for s in WebhookDelivery.ACTIVE_STATUSES]


def _relaxed_commit() -> None:
    """Inside an engine transaction on PostgreSQL: don't wait for the WAL flush at commit. A database crash
    can then forget the last claims/results, which only means a delivery is sent again (at-least-once)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _claimable(now: datetime):
    """Active deliveries that are due and not held by a live lease."""
    return WebhookDelivery.objects.filter(status__in=ACTIVE, next_attempt_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def _live_leases(now: datetime):
    return WebhookDelivery.objects.filter(status__in=ACTIVE, lease_until__gte=now)


def endpoint_slots(endpoint: WebhookEndpoint) -> int:
    """How many requests to this endpoint may be in flight at once: its cap, or the one probe when the breaker
    is not closed (a disabled endpoint's deliveries fail without a request, a batch at a time)."""
    if not endpoint.enabled:
        return DISABLED_BATCH
    if endpoint.breaker_state == WebhookEndpoint.BreakerState.CLOSED:
        return endpoint.max_concurrency
    return 1


def endpoint_depth(endpoint: WebhookEndpoint) -> int:
    """How many of its deliveries one dispatcher may hold leased: a short queue behind the slots, so a fast
    endpoint never waits for a database round trip between two requests."""
    if not endpoint.enabled or endpoint.breaker_state != WebhookEndpoint.BreakerState.CLOSED:
        return endpoint_slots(endpoint)
    return endpoint.max_concurrency * QUEUE_FACTOR


def _lease_count(now: datetime, *, token: uuid.UUID, mine: bool):
    leases = _live_leases(now).filter(endpoint_id=OuterRef("pk"))
    leases = leases.filter(lease_token=token) if mine else leases.exclude(lease_token=token)
    count = leases.order_by().values("endpoint_id").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(count, output_field=IntegerField()), 0)


def _claim_candidates(now: datetime, token: uuid.UUID) -> list[WebhookEndpoint]:
    """Endpoints with claimable deliveries that no other dispatcher holds and whose queue here has room (by
    this statement's snapshot), least recently claimed first, locked FOR NO KEY UPDATE SKIP LOCKED: one
    claimer per endpoint at a time, and fan-out inserts (FOR KEY SHARE on the endpoint) are never blocked."""
    states = WebhookEndpoint.BreakerState
    candidates = (
        WebhookEndpoint.objects.filter(Exists(_claimable(now).filter(endpoint_id=OuterRef("pk"))))
        .filter(
            Q(enabled=False) | ~Q(breaker_state=states.OPEN) | Q(breaker_until__isnull=True) | Q(breaker_until__lte=now)
        )
        .annotate(
            mine=_lease_count(now, token=token, mine=True),
            others=_lease_count(now, token=token, mine=False),
            depth=Case(
                When(enabled=False, then=Value(DISABLED_BATCH)),
                When(breaker_state=states.CLOSED, then=F("max_concurrency") * QUEUE_FACTOR),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .filter(others=0, mine__lt=F("depth"))
        .order_by(F("last_claimed_at").asc(nulls_first=True), "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, no_key=True, of=("self",))
    # SQLite has no SKIP LOCKED; its IMMEDIATE transactions serialize the claim instead.
    return list(candidates[:CLAIM_ENDPOINTS])


def _claim_rows(quotas: list[tuple[WebhookEndpoint, int]], *, now: datetime, token: uuid.UUID, limit: int) -> list:
    """Lease up to n claimable deliveries of each endpoint in turn, oldest due first, at most `limit` in all;
    returns (id, endpoint id)s."""
    lease_until = now + timedelta(seconds=LEASE_SECONDS)
    if connection.vendor != "postgresql":
        rows = []
        for endpoint, n in quotas:
            due = _claimable(now).filter(endpoint_id=endpoint.pk).order_by("next_attempt_at")
            rows += [(pk, endpoint.pk) for pk in due.values_list("id", flat=True)[: min(n, limit - len(rows))]]
            if len(rows) >= limit:
                break
        WebhookDelivery.objects.filter(id__in=[pk for pk, _ in rows]).update(lease_token=token, lease_until=lease_until)
        return rows
    table = WebhookDelivery._meta.db_table
    values = ", ".join(["(%s::uuid, %s::integer, %s::integer, %s::integer)"] * len(quotas))
    statuses = ", ".join(["%s"] * len(ACTIVE))
    params: list = [token, lease_until]
    for position, (endpoint, n) in enumerate(quotas):
        params += [endpoint.pk, n, endpoint_depth(endpoint), position]
    params += [*ACTIVE, now, now, token, *ACTIVE, now, limit]
    # One statement for all endpoints: a LATERAL subquery per endpoint with its own LIMIT and SKIP LOCKED.
    # The live leases are counted here, in a statement that starts after this transaction locked the
    # endpoint rows, so every lease another claimer took for them is committed and counted: an endpoint
    # held by another dispatcher gets nothing, and this one never holds more than its depth.
    # Only model metadata and %s placeholders are interpolated; every value is a bound parameter.
    sql = (
        f'UPDATE "{table}" AS u SET lease_token = %s, lease_until = %s '  # noqa: S608
        f"FROM (SELECT x.id, v.position FROM (VALUES {values}) AS v(endpoint_id, n, depth, position) "
        f'CROSS JOIN LATERAL (SELECT d.id FROM "{table}" AS d WHERE d.endpoint_id = v.endpoint_id '
        f"AND d.status IN ({statuses}) AND d.next_attempt_at <= %s "
        "AND (d.lease_until IS NULL OR d.lease_until < %s) ORDER BY d.next_attempt_at "
        "LIMIT (SELECT CASE WHEN count(*) FILTER (WHERE l.lease_token <> %s) > 0 THEN 0 "
        "ELSE GREATEST(0, LEAST(v.n, v.depth - count(*))) END "
        f'FROM "{table}" AS l WHERE l.endpoint_id = v.endpoint_id AND l.status IN ({statuses}) '
        "AND l.lease_until >= %s) "
        # The nested loop runs the endpoints in turn and stops at the overall limit.
        "FOR UPDATE SKIP LOCKED) AS x LIMIT %s) AS c "
        "WHERE u.id = c.id RETURNING u.id, u.endpoint_id, c.position"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [(pk, endpoint_id) for pk, endpoint_id, _ in sorted(rows, key=lambda r: r[2])]


def deliveries_claim(
    *, limit: int = BATCH_SIZE, now: datetime | None = None, token: uuid.UUID | None = None
) -> tuple[uuid.UUID, list]:
    """Lease up to `limit` due deliveries to the caller, fairly across endpoints: every endpoint with room
    first gets rows for its free slots, then its queue is topped up. An endpoint is held by one dispatcher
    at a time, which sends at most `endpoint_slots` of them at once: the cap holds across all workers."""
    now = now or timezone.now()
    token = token or uuid.uuid4()
    with transaction.atomic():
        _relaxed_commit()
        endpoints = _claim_candidates(now, token)
        if not endpoints:
            return token, []
        # `mine` is this statement's snapshot: on PostgreSQL _claim_rows counts again under the lock; on
        # SQLite the IMMEDIATE transaction makes it exact. Free slots for everyone first, then the queues.
        slots = [(e, endpoint_slots(e) - e.mine) for e in endpoints if endpoint_slots(e) > e.mine]
        rows = _claim_rows(slots, now=now, token=token, limit=limit) if slots else []
        got = Counter(endpoint_id for _, endpoint_id in rows)
        asked = {e.pk for e, _ in slots}  # an endpoint that had free slots and got nothing has nothing due
        queues = [(e, endpoint_depth(e) - e.mine - got[e.pk]) for e in endpoints if got[e.pk] or e.pk not in asked]
        queues = [(e, n) for e, n in queues if n > 0]
        if queues and len(rows) < limit:
            rows += _claim_rows(queues, now=now, token=token, limit=limit - len(rows))
        if not rows:
            return token, []
        ids = [pk for pk, _ in rows]
        served = {endpoint_id for _, endpoint_id in rows}
        WebhookEndpoint.objects.filter(pk__in=served).update(last_claimed_at=now)
        for endpoint in endpoints:
            if (
                endpoint.pk in served
                and endpoint.enabled
                and endpoint.breaker_state == WebhookEndpoint.BreakerState.OPEN
            ):
                _breaker_half_open(endpoint, now=now)
    return token, ids


def lease_renew(*, token: uuid.UUID, ids: list) -> None:
    WebhookDelivery.objects.filter(id__in=ids, lease_token=token).update(
        lease_until=timezone.now() + timedelta(seconds=LEASE_SECONDS)
    )


# ---------------------------------------------------------------------------------------------- breaker


def _breaker_audit(endpoint: WebhookEndpoint, before_state: str) -> None:
    action = {
        WebhookEndpoint.BreakerState.OPEN: AuditAction.WEBHOOK_ENDPOINT_BREAKER_OPENED,
        WebhookEndpoint.BreakerState.HALF_OPEN: AuditAction.WEBHOOK_ENDPOINT_BREAKER_HALF_OPENED,
        WebhookEndpoint.BreakerState.CLOSED: AuditAction.WEBHOOK_ENDPOINT_BREAKER_CLOSED,
    }[endpoint.breaker_state]
    audit_record(
        actor=Actor.system(),
        action=action,
        target=endpoint,
        organization=endpoint.organization,
        before={"breakerState": before_state},
        after={
            "breakerState": endpoint.breaker_state,
            "until": endpoint.breaker_until.isoformat() if endpoint.breaker_until else None,
            "reason": endpoint.breaker_reason,
            "deferred": endpoint.breaker_deferred_count,
        },
    )


def _breaker_half_open(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """The cool-down is over and the probe is leased: count what the open spell held back, audit."""
    held_back = _claimable(now).filter(endpoint_id=endpoint.pk).count() + 1  # + the probe just leased
    endpoint.breaker_state = WebhookEndpoint.BreakerState.HALF_OPEN
    endpoint.breaker_deferred_count += held_back
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        breaker_state=endpoint.breaker_state, breaker_deferred_count=endpoint.breaker_deferred_count
    )
    _breaker_audit(endpoint, WebhookEndpoint.BreakerState.OPEN)


def _breaker_open(endpoint: WebhookEndpoint, *, now: datetime, cooldown: timedelta, reason: str) -> None:
    if endpoint.breaker_state == WebhookEndpoint.BreakerState.CLOSED:
        endpoint.breaker_deferred_count = 0  # a new episode
    endpoint.breaker_state = WebhookEndpoint.BreakerState.OPEN
    endpoint.breaker_opened_at = now
    endpoint.breaker_until = now + cooldown
    endpoint.breaker_reason = reason[:300]


def breaker_observe(endpoint: WebhookEndpoint, outcome: "AttemptOutcome", *, now: datetime) -> str | None:
    """Move the breaker on one attempt result (the endpoint row is locked); returns the state it left, if
    it changed. Timeouts and connection failures count; any HTTP answer (2xx or not) resets the count."""
    states = WebhookEndpoint.BreakerState
    failure = outcome.attempt.failure_class
    tripping = failure in BREAKER_FAILURE_CLASSES
    before = endpoint.breaker_state
    if before == states.CLOSED:
        if not tripping:
            endpoint.breaker_failures = 0
            return None
        endpoint.breaker_failures += 1
        if endpoint.breaker_failures < BREAKER_THRESHOLD:
            return None
        reason = f"{endpoint.breaker_failures} consecutive {failure} failures: {outcome.attempt.failure_detail}"
        _breaker_open(endpoint, now=now, cooldown=BREAKER_COOLDOWN, reason=reason)
        return before
    if before == states.HALF_OPEN:
        if tripping:
            last = (endpoint.breaker_until - endpoint.breaker_opened_at) if endpoint.breaker_opened_at else None
            cooldown = min(max((last or BREAKER_COOLDOWN) * 2, BREAKER_COOLDOWN), BREAKER_COOLDOWN_MAX)
            endpoint.breaker_failures += 1
            _breaker_open(
                endpoint,
                now=now,
                cooldown=cooldown,
                reason=f"the probe failed ({failure}): {outcome.attempt.failure_detail}",
            )
        else:
            endpoint.breaker_state = states.CLOSED
            endpoint.breaker_failures = 0
            endpoint.breaker_until = None
            endpoint.breaker_reason = f"closed: the probe was answered (HTTP {outcome.attempt.response_status})"
        return before
    return None  # OPEN: results of requests sent before it opened change nothing


# ---------------------------------------------------------------------------------------------- send


@dataclass
class AttemptRequest:
    """A signed request ready to go; built in the dispatcher thread, sent on the event loop."""

    delivery: WebhookDelivery
    url: str
    body: bytes
    headers: dict
    signed_with: list
    attempted_at: datetime  # set again when the request really starts (it may wait for a slot)
    timeout: float
    slots: int  # the endpoint's cap on requests at once
    probe: bool = False  # the breaker's probe after a cool-down: sent whatever this process saw before
    skip: bool = False  # set by the dispatcher when the endpoint's breaker opened: give the lease back unsent


@dataclass
class AttemptResponse:
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    failure: str = ""
    detail: str = ""
    duration_ms: int = 0
    skipped: bool = False


@dataclass
class AttemptOutcome:
    attempt: WebhookAttempt
    succeeded: bool
    retry_after: float | None = None
    gone: bool = False


def attempt_prepare(*, delivery: WebhookDelivery) -> AttemptRequest:
    event, endpoint = delivery.event, delivery.endpoint
    now = timezone.now()
    body = payload_body(event.payload())
    signers = endpoint.signing_secrets(now=now)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signature_headers(secrets_=[s for _, s in signers], webhook_id=event.webhook_id, timestamp=now, body=body),
    }
    return AttemptRequest(
        delivery=delivery,
        url=endpoint.url,
        body=body.encode(),
        headers=headers,
        signed_with=[label for label, _ in signers],
        attempted_at=now,
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        slots=endpoint_slots(endpoint),
        probe=endpoint.breaker_state != WebhookEndpoint.BreakerState.CLOSED,
    )


async def _post(session: aiohttp.ClientSession, request: AttemptRequest) -> AttemptResponse:
    """One POST; never raises. Redirects are not followed, the body read is capped, the timeout is total."""
    result = AttemptResponse()
    started = time.perf_counter()
    host = port = None
    try:
        _scheme, host, port = ssrf.url_parse(request.url)
        ssrf.literal_check(host)  # literals skip the resolver; hostnames are checked there, at connect time
        async with session.post(
            request.url,
            data=request.body,
            headers=request.headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=request.timeout),
        ) as response:
            result.status = response.status
            result.headers = dict(response.headers)
            body = await response.content.read(RESPONSE_BODY_LIMIT + 1)
            result.body, result.truncated = body[:RESPONSE_BODY_LIMIT], len(body) > RESPONSE_BODY_LIMIT
        if not 200 <= result.status < 300:
            redirect = " (redirects are not followed)" if 300 <= result.status < 400 else ""
            result.failure, result.detail = "http", f"HTTP {result.status}{redirect}"
    except ssrf.UrlNotAllowed as exc:
        result.failure, result.detail = exc.failure_class, exc.reason
    except TimeoutError:
        result.failure, result.detail = "timeout", f"no answer within {request.timeout:g} s"
    except aiohttp.ClientConnectorDNSError as exc:
        result.failure, result.detail = "dns", str(exc)
    except (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError) as exc:
        result.failure, result.detail = "tls", str(exc)
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        result.failure, result.detail = "connection", str(exc) or type(exc).__name__
    except Exception as exc:  # never let one request take the dispatcher down
        logger.exception("webhook request failed unexpectedly")
        result.failure, result.detail = "connection", f"{type(exc).__name__}: {exc}"
    if result.failure in ("timeout", "connection", "tls", "dns") and host is not None:
        ssrf.checked_addresses.forget(host, port)  # look the host up afresh next time
    result.duration_ms = int((time.perf_counter() - started) * 1000)
    return result


class Sender:
    """One asyncio event loop per worker process, in a thread, with one aiohttp session: the requests in
    flight. Only HTTP happens there; the database stays in the dispatcher's thread. Rebuilt after a fork."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None

    def _ensure(self) -> None:
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="webhook-sender", daemon=True)
            thread.start()

            async def session() -> aiohttp.ClientSession:
                connector = aiohttp.TCPConnector(
                    resolver=ssrf.GuardedResolver(), use_dns_cache=False, limit=0, keepalive_timeout=30
                )
                # No cookies and no proxy from the environment: nothing may route around the guard.
                return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)

            self._session = asyncio.run_coroutine_threadsafe(session(), loop).result()
            self._gates: dict = {}  # (endpoint id, cap) -> [semaphore, users]; only touched on the loop
            self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
            self._trips: dict = {}  # endpoint id -> (timeouts/connection failures in a row, since)
            first = self._pid is None
            self._loop, self._thread, self._pid = loop, thread, os.getpid()
        if first:
            atexit.register(self.close)

    def submit(self, request: AttemptRequest, done: queue.SimpleQueue) -> concurrent.futures.Future:
        """Queue the request behind its endpoint's cap (and the process's MAX_IN_FLIGHT); (request, response)
        is put on `done` when it ends, or at once, unsent, if `request.skip` was set while it waited."""
        self._ensure()
        return asyncio.run_coroutine_threadsafe(self._run(request, done), self._loop)

    async def _run(self, request: AttemptRequest, done: queue.SimpleQueue) -> None:
        key = (request.delivery.endpoint_id, request.slots)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = [asyncio.Semaphore(request.slots), 0]
        gate[1] += 1
        response = AttemptResponse(skipped=True)  # if it never gets to be sent (cancelled), the lease goes back
        try:
            async with gate[0]:
                if not request.skip and (request.probe or not self._tripped_recently(key[0])):
                    async with self._in_flight:
                        request.attempted_at = timezone.now()
                        response = await _post(self._session, request)
                    self._observe(key[0], response)
        finally:
            gate[1] -= 1
            if gate[1] == 0:
                del self._gates[key]
            done.put((request, response))

    def _tripped_recently(self, endpoint_id) -> bool:
        """This process saw BREAKER_THRESHOLD timeouts/connection failures in a row from the endpoint: the
        requests queued behind them stay unsent until the dispatcher has opened the breaker (or a cool-down
        has passed), so a fast-failing endpoint cannot burn through its queue before the next flush."""
        count, since = self._trips.get(endpoint_id, (0, 0.0))
        return count >= BREAKER_THRESHOLD and time.monotonic() - since < BREAKER_COOLDOWN.total_seconds()

    def _observe(self, endpoint_id, response: AttemptResponse) -> None:
        if response.failure in BREAKER_FAILURE_CLASSES:
            count, _ = self._trips.get(endpoint_id, (0, 0.0))
            self._trips[endpoint_id] = (count + 1, time.monotonic())
        else:
            self._trips.pop(endpoint_id, None)

    def close(self) -> None:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                return
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            self._loop = self._thread = self._session = self._pid = None


sender = Sender()


def attempt_outcome(request: AttemptRequest, response: AttemptResponse) -> AttemptOutcome:
    delivery = request.delivery
    attempt = WebhookAttempt(
        delivery=delivery,
        endpoint_id=delivery.endpoint_id,
        number=delivery.attempt_count + 1,
        attempted_at=request.attempted_at,
        duration_ms=response.duration_ms,
        url=request.url,
        request_headers=request.headers,
        response_status=response.status,
        response_headers=response.headers,
        response_body=response.body.decode("utf-8", errors="replace"),
        response_truncated=response.truncated,
        failure_class=response.failure,
        failure_detail=response.detail[:500],
        signed_with=request.signed_with,
    )
    return AttemptOutcome(
        attempt=attempt,
        succeeded=response.failure == "",
        retry_after=retry_after_seconds(response.headers, response.status, now=request.attempted_at),
        gone=response.status == 410,
    )


def _apply_outcome(delivery: WebhookDelivery, outcome: AttemptOutcome) -> None:
    attempt = outcome.attempt
    delivery.attempt_count = attempt.number
    delivery.first_attempt_at = delivery.first_attempt_at or attempt.attempted_at
    delivery.last_attempt_at = attempt.attempted_at
    delivery.last_status_code = attempt.response_status
    delivery.last_failure_class = attempt.failure_class
    delivery.last_duration_ms = attempt.duration_ms
    delivery.lease_token = None
    delivery.lease_until = None
    if outcome.succeeded:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.SUCCEEDED, None
        return
    after = timezone.now()
    nxt = None
    if not outcome.gone:
        nxt = next_attempt_time(
            first_attempt_at=delivery.first_attempt_at,
            attempt_number=attempt.number,
            now=after,
            retry_after=outcome.retry_after,
        )
    if nxt is None:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
    else:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.RETRYING, nxt


def _fail_disabled(delivery: WebhookDelivery) -> None:
    # Disabled while the delivery waited: it fails without a request; "replay missed" picks it up.
    delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
    delivery.last_failure_class = "disabled"
    delivery.lease_token = delivery.lease_until = None


DELIVERY_RESULT_FIELDS = [
    "status",
    "attempt_count",
    "first_attempt_at",
    "last_attempt_at",
    "next_attempt_at",
    "last_status_code",
    "last_failure_class",
    "last_duration_ms",
    "lease_token",
    "lease_until",
]


@dataclass
class _Pending:
    outcomes: list = field(default_factory=list)  # (delivery, outcome | None)


def _flush(*, token: uuid.UUID, pending: _Pending) -> set:
    """Write a batch of results: attempts in bulk, deliveries in bulk, endpoint health and breaker once per
    endpoint. The one place results are written (and leases given back). Returns the endpoints that must
    get nothing more now (breaker opened, or disabled by a 410)."""
    if not pending.outcomes:
        return set()
    with transaction.atomic():
        _relaxed_commit()
        ids = [d.pk for d, _ in pending.outcomes]
        owned = WebhookDelivery.objects.filter(id__in=ids, lease_token=token)
        if connection.features.has_select_for_update:
            owned = owned.select_for_update(no_key=True)
        still_owned = set(owned.values_list("id", flat=True))
        # Attempts happened whatever the lease says; the delivery row only changes if we still own it.
        WebhookAttempt.objects.bulk_create([o.attempt for _, o in pending.outcomes if o is not None])
        rows = [d for d, _ in pending.outcomes if d.pk in still_owned]
        if rows:
            _deliveries_update(rows)
        stopped = _endpoint_health_apply([(d, o) for d, o in pending.outcomes if o is not None])
    metrics.attempts_observe(pending.outcomes)  # after commit: counters in Redis for /metrics and the console
    pending.outcomes.clear()
    return stopped


def _values_update(model, rows: list, fields: list[str]) -> None:
    """One UPDATE for many rows. On PostgreSQL an `UPDATE … FROM (VALUES …)`: Django's bulk_update builds a
    CASE per field and row, which costs more CPU than the HTTP requests themselves."""
    if connection.vendor != "postgresql":
        model.objects.bulk_update(rows, fields)
        return
    meta = model._meta
    model_fields = [meta.get_field(f) for f in fields]
    columns = [f.column for f in model_fields]
    casts = [f.db_type(connection) for f in model_fields]
    placeholder = f"(%s::{meta.pk.db_type(connection)}, " + ", ".join(f"%s::{c}" for c in casts) + ")"
    params: list = []
    for row in rows:
        params.append(row.pk)
        # The engine's columns are plain values (UUID, datetime, int, str, bool, None) psycopg adapts itself.
        params.extend(getattr(row, f.attname) for f in model_fields)
    assignments = ", ".join(f'"{c}" = v."{c}"' for c in columns)
    names = ", ".join(f'"{c}"' for c in [meta.pk.column, *columns])
    # Only model metadata and %s placeholders are interpolated; every value is a bound parameter.
    sql = (
        f'UPDATE "{meta.db_table}" AS d SET {assignments} '  # noqa: S608
        f'FROM (VALUES {", ".join([placeholder] * len(rows))}) AS v({names}) WHERE d."{meta.pk.column}" = v."{meta.pk.column}"'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _deliveries_update(rows: list[WebhookDelivery]) -> None:
    _values_update(WebhookDelivery, rows, DELIVERY_RESULT_FIELDS)


HEALTH_FIELDS = [
    "consecutive_failures",
    "failing_since",
    "disable_warning_sent_at",
    "last_success_at",
    "last_failure_at",
    "enabled",
    "disabled_reason",
    "disabled_at",
    "breaker_state",
    "breaker_failures",
    "breaker_opened_at",
    "breaker_until",
    "breaker_reason",
    "breaker_deferred_count",
    "updated_at",
]


def _endpoint_health_apply(results: list[tuple[WebhookDelivery, AttemptOutcome]]) -> set:
    """Health and breaker of every endpoint in the batch: one locking read, one UPDATE, audits on changes.
    Returns the endpoints that are now disabled or whose breaker is not closed."""
    by_endpoint: dict = {}
    for delivery, outcome in results:
        by_endpoint.setdefault(delivery.endpoint_id, []).append(outcome)
    if not by_endpoint:
        return set()
    endpoints = list(
        WebhookEndpoint.objects.select_for_update(no_key=True, of=("self",))
        .select_related("organization")
        .filter(pk__in=list(by_endpoint))
        .order_by("pk")  # a fixed lock order: no deadlock between workers
    )
    now = timezone.now()
    audits = []
    for endpoint in endpoints:
        before_enabled = endpoint.enabled
        for outcome in sorted(by_endpoint[endpoint.pk], key=lambda o: o.attempt.attempted_at):
            at = outcome.attempt.attempted_at
            if outcome.succeeded:
                endpoint.consecutive_failures = 0
                endpoint.failing_since = None
                endpoint.disable_warning_sent_at = None
                endpoint.last_success_at = at
            else:
                endpoint.consecutive_failures += 1
                endpoint.failing_since = endpoint.failing_since or at
                endpoint.last_failure_at = at
            if outcome.gone and endpoint.enabled:
                endpoint.enabled = False
                endpoint.disabled_reason = WebhookEndpoint.DisabledReason.GONE
                endpoint.disabled_at = now
            left = breaker_observe(endpoint, outcome, now=now)
            if left is not None:
                audits.append((endpoint, left, endpoint.breaker_state, endpoint.breaker_until, endpoint.breaker_reason))
        endpoint.updated_at = now
        if before_enabled and not endpoint.enabled:
            audits.append((endpoint, None, None, None, None))
    _values_update(WebhookEndpoint, endpoints, HEALTH_FIELDS)
    for endpoint, left, state, until, reason in audits:
        if left is None:
            audit_record(
                actor=Actor.system(),
                action=AuditAction.WEBHOOK_ENDPOINT_DISABLED,
                target=endpoint,
                organization=endpoint.organization,
                before={"enabled": True},
                after={"enabled": False, "reason": endpoint.disabled_reason},
            )
            continue
        current = (endpoint.breaker_state, endpoint.breaker_until, endpoint.breaker_reason)
        endpoint.breaker_state, endpoint.breaker_until, endpoint.breaker_reason = state, until, reason
        _breaker_audit(endpoint, left)
        endpoint.breaker_state, endpoint.breaker_until, endpoint.breaker_reason = current
    return {e.pk for e in endpoints if not e.enabled or e.breaker_state != WebhookEndpoint.BreakerState.CLOSED}


# ---------------------------------------------------------------------------------------------- dispatch


def _claimed(token: uuid.UUID, ids: list) -> list[WebhookDelivery]:
    if not ids:
        return []
    order = {pk: i for i, pk in enumerate(ids)}
    rows = list(WebhookDelivery.objects.filter(id__in=ids, lease_token=token).select_related("event"))
    endpoints = WebhookEndpoint.objects.in_bulk({d.endpoint_id for d in rows})  # once each, not once per row
    for delivery in rows:
        delivery.endpoint = endpoints[delivery.endpoint_id]
    return sorted(rows, key=lambda d: order[d.pk])


def deliveries_dispatch(
    *,
    budget_seconds: float = 30.0,
    max_leased: int = MAX_LEASED,
    tick: Callable[[], object] | None = None,
    tick_seconds: float = 1.0,
) -> int:
    """Claim and send due deliveries, keeping up to `max_leased` of them in flight or queued behind their
    endpoint's cap, and claiming more as they finish, until nothing is due and nothing is in flight, or the
    time budget is spent (then what is in flight is finished). `tick` runs about every `tick_seconds` in
    between. Returns the number of requests made."""
    token = uuid.uuid4()
    started = renewed_at = ticked_at = progress_at = time.monotonic()
    done: queue.SimpleQueue = queue.SimpleQueue()
    leased: dict = {}  # delivery id -> AttemptRequest, in flight or waiting for a slot
    pending = _Pending()
    attempts = 0
    while True:
        claiming = time.monotonic() - started < budget_seconds
        claimed = 0
        if claiming and len(leased) < max_leased:
            _token, ids = deliveries_claim(limit=max_leased - len(leased), token=token)
            claimed = len(ids)
            for delivery in _claimed(token, ids):
                if not delivery.endpoint.enabled:
                    _fail_disabled(delivery)
                    pending.outcomes.append((delivery, None))
                    continue
                request = attempt_prepare(delivery=delivery)
                leased[delivery.pk] = request
                sender.submit(request, done)
        if not leased and not pending.outcomes and not claimed:
            break
        finished = []
        if leased and not pending.outcomes:
            # Block for the first result (or a moment, to look for new work); then take all that are ready.
            with contextlib.suppress(queue.Empty):
                finished.append(done.get(timeout=IDLE_WAIT_SECONDS))
        while True:
            try:
                finished.append(done.get_nowait())
            except queue.Empty:
                break
        if finished:
            progress_at = time.monotonic()
        elif leased and time.monotonic() - progress_at > settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_SECONDS:
            # Nothing came back for longer than any request can take: the sender is gone. Stop; the leases
            # run out and the rows are claimed again (at-least-once).
            logger.error("webhook sender returned nothing for %s leased deliveries; giving them up", len(leased))
            break
        for request, response in finished:
            delivery = request.delivery
            leased.pop(delivery.pk, None)
            if response.skipped:  # never sent: the lease goes back, no attempt is used
                delivery.lease_token = delivery.lease_until = None
                pending.outcomes.append((delivery, None))
                continue
            attempts += 1
            outcome = attempt_outcome(request, response)
            _apply_outcome(delivery, outcome)
            pending.outcomes.append((delivery, outcome))
        stopped = _flush(token=token, pending=pending)
        if stopped:
            for request in leased.values():
                if request.delivery.endpoint_id in stopped:
                    request.skip = True
        if leased and time.monotonic() - renewed_at > LEASE_SECONDS / 3:
            lease_renew(token=token, ids=list(leased))
            renewed_at = time.monotonic()
        if tick is not None and claiming and time.monotonic() - ticked_at > tick_seconds:
            tick()
            ticked_at = time.monotonic()
    return attempts
