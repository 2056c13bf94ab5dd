"""The delivery engine: claim due deliveries in batches, send them over kept-alive connections, record attempts.

Due deliveries live in the database (`next_attempt_at`), never as long countdowns in the broker. A
dispatcher claims a batch with `SELECT … FOR UPDATE SKIP LOCKED` and leases it (`lease_token`,
`lease_until`); a worker killed mid-batch simply lets the lease run out and the rows are claimed
again (at-least-once). Results are written in bulk, one short transaction per flush.
"""

import email.utils
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from portal.core.audit import Actor, audit_record
from portal.webhooks import metrics, ssrf
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from portal.webhooks.signing import payload_body, signature_headers

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
RETRY_WINDOW = timedelta(hours=72)
BACKOFF_BASE_SECONDS = 20
BACKOFF_FACTOR = 3
JITTER = 0.2
BATCH_SIZE = 100
LEASE_SECONDS = 60
FLUSH_SECONDS = 2.0
RESPONSE_BODY_LIMIT = 16 * 1024
USER_AGENT = "NT24-Webhooks/1.0 (+https://novatrade24.com)"

_rng = random.SystemRandom()


def retry_delay(attempt_number: int) -> timedelta:
    """Delay after failed attempt n (1..9): 20 s x 3^(n-1) ± 20 % — 20 s, 1 min, 3 min … 36 h; ≤ 66 h in total."""
    nominal = BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** (attempt_number - 1)
    return timedelta(seconds=nominal * _rng.uniform(1 - JITTER, 1 + JITTER))


def retry_after_seconds(response_headers: dict, status: int | None, *, now: datetime) -> float | None:
    """A receiver's Retry-After (seconds or HTTP date), honoured only on 429 and 503."""
    if status not in (429, 503):
        return None
    raw = next((v for k, v in response_headers.items() if k.lower() == "retry-after"), None)
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def next_attempt_time(
    *, first_attempt_at: datetime, attempt_number: int, now: datetime, retry_after: float | None = None
) -> datetime | None:
    """When to try again after failed attempt `attempt_number`, or None to give up; never past first + 72 h."""
    if attempt_number >= MAX_ATTEMPTS:
        return None
    deadline = first_attempt_at + RETRY_WINDOW
    if now >= deadline:
        return None
    delay = retry_delay(attempt_number)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return min(now + delay, deadline)


# ---------------------------------------------------------------------------------------------- claim


def _relaxed_commit() -> None:
    """Inside an engine transaction on PostgreSQL: don't wait for the WAL flush at commit. A database crash
    can then forget the last claims/results, which only means a delivery is sent again (at-least-once)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def deliveries_claim(*, limit: int = BATCH_SIZE, now: datetime | None = None) -> tuple[uuid.UUID, list]:
    """Lease up to `limit` due deliveries to the caller; concurrent dispatchers never get the same row."""
    now = now or timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        _relaxed_commit()
        due = (
            WebhookDelivery.objects.filter(status__in=WebhookDelivery.ACTIVE_STATUSES, next_attempt_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_attempt_at")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        # SQLite has no SKIP LOCKED; its IMMEDIATE transactions serialize the claim instead.
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            WebhookDelivery.objects.filter(id__in=ids).update(
                lease_token=token, lease_until=now + timedelta(seconds=LEASE_SECONDS)
            )
    return token, ids


def lease_renew(*, token: uuid.UUID, ids: list) -> None:
    WebhookDelivery.objects.filter(id__in=ids, lease_token=token).update(
        lease_until=timezone.now() + timedelta(seconds=LEASE_SECONDS)
    )


# ---------------------------------------------------------------------------------------------- send


@dataclass
class AttemptOutcome:
    attempt: WebhookAttempt
    succeeded: bool
    retry_after: float | None = None
    gone: bool = False


def _read_limited(response, *, started: float, timeout: float) -> tuple[bytes, bool]:
    chunks, size = [], 0
    for chunk in response.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size > RESPONSE_BODY_LIMIT:
            return b"".join(chunks)[:RESPONSE_BODY_LIMIT], True
        if time.perf_counter() - started > timeout:
            raise requests.exceptions.ReadTimeout("The response took longer than the delivery timeout.")
    return b"".join(chunks), False


def attempt_send(*, delivery: WebhookDelivery, sessions: ssrf.SessionCache | None = None) -> AttemptOutcome:
    """One signed POST of the delivery's event to its endpoint; never raises for network trouble."""
    sessions = sessions or ssrf.sessions
    event, endpoint = delivery.event, delivery.endpoint
    now = timezone.now()
    body = payload_body(event.payload())
    signers = endpoint.signing_secrets(now=now)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signature_headers(secrets_=[s for _, s in signers], webhook_id=event.webhook_id, timestamp=now, body=body),
    }
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    status, response_headers, response_body, truncated = None, {}, b"", False
    failure, detail = "", ""
    started = time.perf_counter()
    response = None
    try:
        session, _target = sessions.session_for(endpoint.url)
        response = session.post(
            endpoint.url, data=body.encode(), headers=headers, timeout=timeout, allow_redirects=False, stream=True
        )
        status = response.status_code
        response_headers = dict(response.headers)
        response_body, truncated = _read_limited(response, started=started, timeout=timeout)
        if not 200 <= status < 300:
            failure, detail = (
                "http",
                f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else ""),
            )
    except ssrf.UrlNotAllowed as exc:
        failure, detail = exc.failure_class, exc.reason
    except requests.exceptions.SSLError as exc:
        failure, detail = "tls", str(exc)
        sessions.forget(endpoint.url)
    except requests.exceptions.Timeout as exc:
        failure, detail = "timeout", str(exc) or "timed out"
        sessions.forget(endpoint.url)
    except requests.exceptions.RequestException as exc:
        failure, detail = "connection", str(exc)
        sessions.forget(endpoint.url)
    finally:
        if response is not None:
            response.close()
    duration_ms = int((time.perf_counter() - started) * 1000)
    attempt = WebhookAttempt(
        delivery=delivery,
        endpoint_id=endpoint.pk,
        number=delivery.attempt_count + 1,
        attempted_at=now,
        duration_ms=duration_ms,
        url=endpoint.url,
        request_headers=headers,
        response_status=status,
        response_headers=response_headers,
        response_body=response_body.decode("utf-8", errors="replace"),
        response_truncated=truncated,
        failure_class=failure,
        failure_detail=detail[:500],
        signed_with=[label for label, _ in signers],
    )
    return AttemptOutcome(
        attempt=attempt,
        succeeded=failure == "",
        retry_after=retry_after_seconds(response_headers, status, now=now),
        gone=status == 410,
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
    deliveries: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)  # (delivery, outcome | None)


def _flush(*, token: uuid.UUID, pending: _Pending) -> None:
    """Write a batch of results: attempts in bulk, deliveries in bulk, endpoint health once per endpoint."""
    if not pending.outcomes:
        return
    with transaction.atomic():
        _relaxed_commit()
        ids = [d.pk for d, _ in pending.outcomes]
        owned = WebhookDelivery.objects.filter(id__in=ids, lease_token=token)
        if connection.features.has_select_for_update:
            owned = owned.select_for_update()
        still_owned = set(owned.values_list("id", flat=True))
        # Attempts happened whatever the lease says; the delivery row only changes if we still own it.
        WebhookAttempt.objects.bulk_create([o.attempt for _, o in pending.outcomes if o is not None])
        rows = [d for d, _ in pending.outcomes if d.pk in still_owned]
        if rows:
            _deliveries_update(rows)
        _endpoint_health_apply([(d, o) for d, o in pending.outcomes if o is not None])
    metrics.attempts_observe(pending.outcomes)  # after commit: counters in Redis for /metrics and the console
    pending.outcomes.clear()


def _deliveries_update(rows: list[WebhookDelivery]) -> None:
    """One UPDATE for the whole batch. On PostgreSQL an `UPDATE … FROM (VALUES …)`: Django's bulk_update
    builds a CASE per field and row, which costs more CPU than the HTTP requests themselves."""
    if connection.vendor != "postgresql":
        WebhookDelivery.objects.bulk_update(rows, DELIVERY_RESULT_FIELDS)
        return
    table = WebhookDelivery._meta.db_table
    columns = [WebhookDelivery._meta.get_field(f).column for f in DELIVERY_RESULT_FIELDS]
    casts = [
        "text",
        "smallint",
        "timestamptz",
        "timestamptz",
        "timestamptz",
        "smallint",
        "text",
        "integer",
        "uuid",
        "timestamptz",
    ]
    placeholder = "(%s::uuid, " + ", ".join(f"%s::{c}" for c in casts) + ")"
    params: list = []
    for row in rows:
        params.append(row.pk)
        params.extend(getattr(row, f) for f in DELIVERY_RESULT_FIELDS)
    assignments = ", ".join(f'"{c}" = v."{c}"' for c in columns)
    names = ", ".join(f'"{c}"' for c in ["id", *columns])
    # Only model metadata and %s placeholders are interpolated; every value is a bound parameter.
    sql = (
        f'UPDATE "{table}" AS d SET {assignments} '  # noqa: S608
        f"FROM (VALUES {', '.join([placeholder] * len(rows))}) AS v({names}) WHERE d.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _endpoint_health_apply(results: list[tuple[WebhookDelivery, AttemptOutcome]]) -> None:
    by_endpoint: dict = {}
    for delivery, outcome in results:
        by_endpoint.setdefault(delivery.endpoint_id, []).append(outcome)
    for endpoint_id in sorted(by_endpoint, key=str):  # a fixed lock order: no deadlock between workers
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            continue
        before_enabled = endpoint.enabled
        for outcome in by_endpoint[endpoint_id]:
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
                endpoint.disabled_at = timezone.now()
        endpoint.save(
            update_fields=[
                "consecutive_failures",
                "failing_since",
                "disable_warning_sent_at",
                "last_success_at",
                "last_failure_at",
                "enabled",
                "disabled_reason",
                "disabled_at",
                "updated_at",
            ]
        )
        if before_enabled and not endpoint.enabled:
            audit_record(
                actor=Actor.system(),
                action="webhook_endpoint.disabled",
                target=endpoint,
                organization=endpoint.organization,
                before={"enabled": True},
                after={"enabled": False, "reason": endpoint.disabled_reason},
            )


def deliveries_send(*, token: uuid.UUID, ids: list, sessions: ssrf.SessionCache | None = None) -> int:
    """Send the leased deliveries; returns how many attempts were made."""
    deliveries = list(
        WebhookDelivery.objects.filter(id__in=ids, lease_token=token)
        .select_related("event", "endpoint")
        .order_by("next_attempt_at")
    )
    pending = _Pending()
    last_flush = lease_at = time.monotonic()
    attempts = 0
    gone_endpoints: set = set()
    for index, delivery in enumerate(deliveries):
        if time.monotonic() - lease_at > LEASE_SECONDS / 3:
            lease_renew(token=token, ids=[d.pk for d in deliveries[index:]])
            lease_at = time.monotonic()
        if not delivery.endpoint.enabled or delivery.endpoint_id in gone_endpoints:
            # Disabled while the delivery waited: it fails without a request; "replay missed" picks it up.
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
            delivery.last_failure_class = "disabled"
            delivery.lease_token = delivery.lease_until = None
            pending.outcomes.append((delivery, None))
            continue
        outcome = attempt_send(delivery=delivery, sessions=sessions)
        attempts += 1
        if outcome.gone:
            gone_endpoints.add(delivery.endpoint_id)
        _apply_outcome(delivery, outcome)
        pending.outcomes.append((delivery, outcome))
        if time.monotonic() - last_flush > FLUSH_SECONDS:
            _flush(token=token, pending=pending)
            last_flush = time.monotonic()
    _flush(token=token, pending=pending)
    return attempts


def deliveries_dispatch(*, budget_seconds: float = 30.0, batch_size: int = BATCH_SIZE) -> int:
    """Claim and send due deliveries until none are due or the time budget is spent."""
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < budget_seconds:
        token, ids = deliveries_claim(limit=batch_size)
        if not ids:
            break
        total += deliveries_send(token=token, ids=ids)
    return total
