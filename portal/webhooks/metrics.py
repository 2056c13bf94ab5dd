"""Delivery metrics: what happened to each attempt, recorded where it happens (the workers), read by the web.

Workers and the web server are different processes (different containers in compose), so attempt outcomes,
latencies and the per-minute delivery counts live in Redis (`REDIS_URL`): the engine calls
`attempts_observe` once per flush, and that is one pipeline of a few HINCRBYs. `/metrics` (the collector
below) and the support console's "Webhook operations" page read them back. The gauges (due, in flight,
oldest due, breaker states) come from the database, which is the truth for them.

Without Redis (`make run`) nothing is recorded here: /metrics exposes only the database gauges, and the
console's chart counts attempts in the database (docs/decisions.md).
"""

import logging
import time
from bisect import bisect_left
from collections import Counter
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

logger = logging.getLogger(__name__)

PREFIX = "nt24:webhooks:metrics:"
ATTEMPTS_KEY = PREFIX + "attempts"  # hash: outcome:<outcome>, le:<bound> (cumulative), sum_ms, count
MINUTE_PREFIX = PREFIX + "minute:"  # hash per UTC minute: ok, failed, ok:<endpoint id>, failed:<endpoint id>
MINUTE_TTL_SECONDS = 2 * 3600
SUCCESS = "success"  # the outcome of an attempt without a failure class (2xx)
# Seconds. The top bound is the delivery timeout (WEBHOOK_TIMEOUT_SECONDS, 15 s by default).
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
ORGANIZATION_SERIES_LIMIT = 100  # per-organization series beyond this are summed into organization="other"

OUTAGE_BACKOFF_SECONDS = 5.0  # after a Redis error, skip Redis that long: a flush never waits on it twice

_clients: dict[str, redis.Redis] = {}
_warned_at = 0.0
_down_until: dict[str, float] = {}


def metrics_redis() -> redis.Redis | None:
    """The Redis that holds the metrics, or None without REDIS_URL. Short timeouts: a Redis outage must
    cost a flush milliseconds, never stall delivery."""
    url = settings.REDIS_URL
    if not url or time.monotonic() < _down_until.get(url, 0.0):
        return None
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return client


def _warn(what: str) -> None:
    """Redis failed: say so (once a minute during an outage, not once per flush) and leave it alone for a while;
    attempts flushed meanwhile are not counted (the attempts themselves are in the database)."""
    global _warned_at
    _down_until[settings.REDIS_URL] = time.monotonic() + OUTAGE_BACKOFF_SECONDS
    if time.monotonic() - _warned_at > 60:  # one line a minute during an outage, not one per flush
        _warned_at = time.monotonic()
        logger.warning("webhook metrics: Redis unavailable, %s", what, exc_info=True)


def _minute(at: datetime) -> int:
    return int(at.timestamp() // 60)


def attempts_observe(results) -> None:
    """Count a flushed batch of `(delivery, outcome)` pairs (outcome None: no request was made, nothing to
    count): outcomes, latency buckets and per-minute deliveries, in one pipeline. Never raises."""
    client = metrics_redis()
    if client is None:
        return
    totals: Counter = Counter()
    smallest_bucket: Counter = Counter()  # index of the first bound at or above each duration
    minutes: dict[int, Counter] = {}
    duration_ms = 0
    for delivery, outcome in results:
        if outcome is None:
            continue
        attempt = outcome.attempt
        totals[f"outcome:{attempt.failure_class or SUCCESS}"] += 1
        smallest_bucket[bisect_left(LATENCY_BUCKETS, attempt.duration_ms / 1000)] += 1
        totals["count"] += 1
        duration_ms += attempt.duration_ms
        result = "ok" if not attempt.failure_class else "failed"
        minute = minutes.setdefault(_minute(attempt.attempted_at), Counter())
        minute[result] += 1
        minute[f"{result}:{delivery.endpoint_id}"] += 1
    if not totals:
        return
    cumulative = 0
    for index, bound in enumerate(LATENCY_BUCKETS):  # Prometheus buckets count everything at or below the bound
        cumulative += smallest_bucket[index]
        if cumulative:
            totals[f"le:{bound}"] = cumulative
    pipe = client.pipeline(transaction=False)
    for name, value in totals.items():
        pipe.hincrby(ATTEMPTS_KEY, name, value)
    pipe.hincrby(ATTEMPTS_KEY, "sum_ms", duration_ms)
    for minute, counts in minutes.items():
        key = f"{MINUTE_PREFIX}{minute}"
        for name, value in counts.items():
            pipe.hincrby(key, name, value)
        pipe.expire(key, MINUTE_TTL_SECONDS)
    try:
        pipe.execute()
    except redis.RedisError:
        _warn("attempts not counted")


def attempt_totals() -> dict[str, int] | None:
    """The recorded counters (outcome:…, le:…, sum_ms, count), or None when there is no Redis to ask."""
    client = metrics_redis()
    if client is None:
        return None
    try:
        raw = client.hgetall(ATTEMPTS_KEY)
    except redis.RedisError:
        _warn("counters not read")
        return None
    return {key.decode(): int(value) for key, value in raw.items()}


def minute_counts(*, now: datetime, minutes: int = 60) -> list[tuple[datetime, dict[str, int]]] | None:
    """The last `minutes` UTC minutes (oldest first, the current one last) with their recorded counts, in one
    round trip; None when there is no Redis to ask."""
    client = metrics_redis()
    if client is None:
        return None
    last = _minute(now)
    numbers = list(range(last - minutes + 1, last + 1))
    pipe = client.pipeline(transaction=False)
    for number in numbers:
        pipe.hgetall(f"{MINUTE_PREFIX}{number}")
    try:
        hashes = pipe.execute()
    except redis.RedisError:
        _warn("delivery rates not read")
        return None
    return [
        (datetime.fromtimestamp(number * 60, tz=UTC), {key.decode(): int(value) for key, value in raw.items()})
        for number, raw in zip(numbers, hashes, strict=True)
    ]


class WebhookCollector:
    """The webhook metrics of /metrics, computed at scrape time: gauges from the database (one grouped query
    over active deliveries, one over endpoints, one for the slugs of organizations with due deliveries),
    counters and the latency histogram from Redis."""

    def describe(self):
        return []  # computed at scrape time only: registering must not query the database

    def collect(self):
        from portal.organizations.models import IntegrationOrganization
        from portal.webhooks.selectors import breaker_state_counts, delivery_backlog

        now = timezone.now()
        backlog = delivery_backlog(now=now)
        due_by_organization: Counter = Counter()
        for row in backlog.rows:
            if row.due:
                due_by_organization[row.organization_id] += row.due
        ranked = due_by_organization.most_common()
        shown = [organization_id for organization_id, _ in ranked[:ORGANIZATION_SERIES_LIMIT]]
        slugs = dict(IntegrationOrganization.objects.filter(pk__in=shown).values_list("id", "slug")) if shown else {}
        oldest = backlog.oldest_due_at
        due = GaugeMetricFamily(
            "nt24_webhook_deliveries_due",
            "Deliveries due now (PENDING/RETRYING, next attempt at or before now), per organization.",
            labels=["organization"],
        )
        for organization_id, count in ranked[:ORGANIZATION_SERIES_LIMIT]:
            due.add_metric([slugs.get(organization_id, str(organization_id))], count)
        if len(ranked) > ORGANIZATION_SERIES_LIMIT:
            due.add_metric(["other"], sum(count for _, count in ranked[ORGANIZATION_SERIES_LIMIT:]))
        yield due
        yield GaugeMetricFamily(
            "nt24_webhook_deliveries_in_flight", "Deliveries leased to a worker right now.", value=backlog.in_flight
        )
        yield GaugeMetricFamily(
            "nt24_webhook_oldest_due_age_seconds",
            "How long the oldest due delivery has been due (0 when none is).",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )
        breakers = GaugeMetricFamily(
            "nt24_webhook_endpoints_breaker", "Webhook endpoints per circuit-breaker state.", labels=["state"]
        )
        for state, count in breaker_state_counts().items():
            breakers.add_metric([state], count)
        yield breakers

        totals = attempt_totals()
        yield GaugeMetricFamily(
            "nt24_webhook_attempt_metrics_available",
            "1 when attempt counters are recorded (Redis); 0 without Redis: the counters below are absent.",
            value=0 if totals is None else 1,
        )
        if totals is None:
            return
        attempts = CounterMetricFamily(
            "nt24_webhook_attempts", "Delivery attempts by outcome (success or the failure class).", labels=["outcome"]
        )
        for name, value in sorted(totals.items()):
            if name.startswith("outcome:"):
                attempts.add_metric([name.removeprefix("outcome:")], value)
        yield attempts
        count = totals.get("count", 0)
        buckets = [(str(bound), totals.get(f"le:{bound}", 0)) for bound in LATENCY_BUCKETS]
        yield HistogramMetricFamily(
            "nt24_webhook_attempt_duration_seconds",
            "Duration of delivery attempts, request sent to response read (or failure).",
            buckets=[*buckets, ("+Inf", count)],
            sum_value=totals.get("sum_ms", 0) / 1000,
        )
