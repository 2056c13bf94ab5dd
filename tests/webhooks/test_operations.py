"""Backpressure made visible: the support console's Webhook operations page, /metrics, the attempt observer."""

import time
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from portal.webhooks import metrics
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal.webhooks.outbox import event_emit
from portal.webhooks.selectors import webhook_operations
from tests.factories import pilot_organization

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
OPS_URL = "/operations/webhooks/"


@pytest.fixture(autouse=True)
def _no_redis_backoff(monkeypatch):
    monkeypatch.setattr(metrics, "_down_until", {})  # an outage simulated by one test never leaks into the next


@pytest.fixture
def metrics_redis(settings):
    """The Redis the workers record into, emptied of metrics before and after the test."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (CI sets it): the attempt counters live in Redis")
    client = metrics.metrics_redis()

    def clear():
        for key in client.scan_iter(match=metrics.PREFIX + "*"):
            client.delete(key)

    clear()
    yield client
    clear()


@pytest.fixture
def no_metrics_redis(settings):
    settings.REDIS_URL = ""


def _event(organization):
    return WebhookEvent.objects.create(
        organization=organization, type="kyc.level.upgraded", data={"version": 1}, created_at=NOW
    )


def _delivery(endpoint, *, status="PENDING", next_at=None, lease_until=None):
    return WebhookDelivery.objects.create(
        organization=endpoint.organization,
        endpoint=endpoint,
        event=_event(endpoint.organization),
        event_type="kyc.level.upgraded",
        status=status,
        created_at=NOW - timedelta(minutes=10),
        next_attempt_at=next_at,
        lease_token=uuid.uuid4() if lease_until else None,
        lease_until=lease_until,
    )


@pytest.fixture
def seeded(make_endpoint, organization):
    """Two organizations' endpoints: a backlog (3 due, one of them in flight; 1 retry later; 1 done) and an
    open breaker elsewhere."""
    busy = make_endpoint("http://127.0.0.1:9/busy")
    _delivery(busy, next_at=NOW - timedelta(seconds=90))  # the oldest due: 90 s
    _delivery(busy, status="RETRYING", next_at=NOW - timedelta(seconds=30))
    _delivery(busy, next_at=NOW - timedelta(seconds=5), lease_until=NOW + timedelta(seconds=50))  # in flight
    _delivery(busy, status="RETRYING", next_at=NOW + timedelta(minutes=5))  # scheduled, not due
    _delivery(busy, status="SUCCEEDED")
    other = pilot_organization()
    broken = make_endpoint("http://127.0.0.1:9/broken", organization_=other)
    WebhookEndpoint.objects.filter(pk=broken.pk).update(
        breaker_state=WebhookEndpoint.BreakerState.OPEN,
        breaker_reason="5 timeouts in a row",
        breaker_until=NOW + timedelta(seconds=60),
        breaker_deferred_count=7,
    )
    _delivery(broken, next_at=NOW - timedelta(seconds=10))
    return SimpleNamespace(busy=busy, broken=broken, other=other, organization=organization)


def _outcome(endpoint, *, failure="", duration_ms=120, at=NOW):
    attempt = WebhookAttempt(endpoint_id=endpoint.pk, attempted_at=at, duration_ms=duration_ms, failure_class=failure)
    return SimpleNamespace(endpoint_id=endpoint.pk), SimpleNamespace(attempt=attempt)


# ---------------------------------------------------------------------------------------------- observer


def test_the_observer_counts_outcomes_latency_buckets_and_minutes_in_one_pipeline(metrics_redis, seeded):
    endpoint = seeded.busy
    metrics.attempts_observe(
        [
            _outcome(endpoint, duration_ms=40),
            _outcome(endpoint, duration_ms=300),
            _outcome(endpoint, failure="timeout", duration_ms=15000),
            (SimpleNamespace(endpoint_id=endpoint.pk), None),  # failed without a request: not an attempt
        ]
    )
    metrics.attempts_observe([_outcome(endpoint, failure="http", duration_ms=80)])
    totals = metrics.attempt_totals()
    assert {k: v for k, v in totals.items() if k.startswith("outcome:")} == {
        "outcome:success": 2,
        "outcome:timeout": 1,
        "outcome:http": 1,
    }
    assert totals["count"] == 4 and totals["sum_ms"] == 40 + 300 + 15000 + 80
    assert totals["le:0.05"] == 1 and totals["le:0.1"] == 2 and totals["le:0.5"] == 3 and totals["le:15.0"] == 4
    minutes = metrics.minute_counts(now=NOW, minutes=2)
    assert minutes[-1][0] == NOW.replace(second=0)
    assert minutes[-1][1] == {"ok": 2, "failed": 2, f"ok:{endpoint.pk}": 2, f"failed:{endpoint.pk}": 2}
    assert minutes[0][1] == {}
    assert 0 < metrics_redis.ttl(f"{metrics.MINUTE_PREFIX}{int(NOW.timestamp() // 60)}") <= 2 * 3600


def test_the_engine_reports_every_flushed_attempt(
    metrics_redis, organization, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.respond(500)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 1})
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 2})
    assert WebhookAttempt.objects.count() == 2
    totals = metrics.attempt_totals()
    assert totals["outcome:http"] == 1 and totals["outcome:success"] == 1 and totals["count"] == 2


def test_a_redis_outage_never_fails_the_flush_and_is_left_alone_for_a_while(settings, seeded, caplog, monkeypatch):
    settings.REDIS_URL = f"redis://127.0.0.1:1/{uuid.uuid4().int % 16}"  # nothing listens there
    client = metrics.metrics_redis()
    metrics.attempts_observe([_outcome(seeded.busy)])  # no exception
    assert "webhook metrics: Redis unavailable" in caplog.text
    # Backed off: the next flushes and reads do not wait on the dead Redis again.
    assert metrics.metrics_redis() is None
    assert metrics.attempt_totals() is None
    assert metrics.minute_counts(now=NOW) is None
    later = time.monotonic() + metrics.OUTAGE_BACKOFF_SECONDS + 1
    monkeypatch.setattr(metrics.time, "monotonic", lambda: later)
    assert metrics.metrics_redis() is client  # tried again after the back-off


# ---------------------------------------------------------------------------------------------- /metrics


def _scrape(client, **headers) -> dict:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.mark.parametrize("token", ["", "s3cret-metrics-token"])
def test_metrics_refuse_anonymous_callers_and_members(client, settings, organization, admin_user, token):
    settings.METRICS_TOKEN = token
    unset = 404 if not token else 401
    assert client.get("/metrics").status_code == unset
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == unset
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == unset
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic czNjcmV0").status_code == unset
    client.force_login(admin_user)  # a member of an organization is not support
    assert client.get("/metrics").status_code == unset
    if token:
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")["WWW-Authenticate"].startswith("Bearer")


def test_metrics_answer_the_right_token_and_support_sessions(client, settings, support_user, no_metrics_redis):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert ("nt24_webhook_deliveries_in_flight", ()) in _scrape(
        client, HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
    )
    client.force_login(support_user)
    assert ("nt24_webhook_deliveries_in_flight", ()) in _scrape(client)


def test_a_scraper_reaches_metrics_on_the_container_address_under_production_security(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    samples = _scrape(client, HTTP_HOST="10.0.3.7:8000", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert ("nt24_webhook_deliveries_in_flight", ()) in samples
    # Without a token the request goes through the whole stack: the unknown host is refused.
    assert client.get("/metrics", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_metrics_expose_the_backlog_breakers_and_recorded_attempts(client, settings, metrics_redis, seeded):
    settings.METRICS_TOKEN = "t"
    metrics.attempts_observe([_outcome(seeded.busy, duration_ms=200), _outcome(seeded.busy, failure="connection")])
    with time_machine.travel(NOW, tick=False):
        samples = _scrape(client, HTTP_AUTHORIZATION="Bearer t")
    assert samples[("nt24_webhook_deliveries_due", (("organization", seeded.organization.slug),))] == 3
    assert samples[("nt24_webhook_deliveries_due", (("organization", seeded.other.slug),))] == 1
    assert samples[("nt24_webhook_deliveries_in_flight", ())] == 1
    assert samples[("nt24_webhook_oldest_due_age_seconds", ())] == 90
    assert samples[("nt24_webhook_endpoints_breaker", (("state", "OPEN"),))] == 1
    assert samples[("nt24_webhook_endpoints_breaker", (("state", "CLOSED"),))] == 1
    assert samples[("nt24_webhook_endpoints_breaker", (("state", "HALF_OPEN"),))] == 0
    assert samples[("nt24_webhook_attempt_metrics_available", ())] == 1
    assert samples[("nt24_webhook_attempts_total", (("outcome", "success"),))] == 1
    assert samples[("nt24_webhook_attempts_total", (("outcome", "connection"),))] == 1
    histogram = "nt24_webhook_attempt_duration_seconds"
    assert samples[(histogram + "_bucket", (("le", "0.1"),))] == 0
    assert samples[(histogram + "_bucket", (("le", "0.25"),))] == 2  # 200 ms, and the 120 ms default
    assert samples[(histogram + "_bucket", (("le", "+Inf"),))] == 2
    assert samples[(histogram + "_count", ())] == 2
    assert samples[(histogram + "_sum", ())] == pytest.approx(0.32)


def test_without_redis_metrics_expose_what_the_database_answers(client, settings, seeded, no_metrics_redis):
    settings.METRICS_TOKEN = "t"
    with time_machine.travel(NOW, tick=False):
        samples = _scrape(client, HTTP_AUTHORIZATION="Bearer t")
    assert samples[("nt24_webhook_deliveries_in_flight", ())] == 1
    assert samples[("nt24_webhook_attempt_metrics_available", ())] == 0
    assert not [name for name, _ in samples if name.startswith("nt24_webhook_attempts")]


def test_a_metrics_scrape_costs_three_queries_whatever_the_backlog(
    client, settings, seeded, make_endpoint, no_metrics_redis, django_assert_num_queries
):
    settings.METRICS_TOKEN = "t"
    for n in range(5):
        endpoint = make_endpoint(f"http://127.0.0.1:9/hooks{n}", organization_=pilot_organization())
        _delivery(endpoint, next_at=NOW)
    with django_assert_num_queries(3):  # the grouped backlog, the organizations' slugs, the breaker states
        client.get("/metrics", HTTP_AUTHORIZATION="Bearer t")


def test_readyz_stays_cheap(client, seeded, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):  # SELECT 1, nothing of the backlog
        assert client.get("/readyz").status_code == 200


# ---------------------------------------------------------------------------------------------- console


def test_the_operations_page_is_for_support_only(client, admin_user, outsider_user, seeded):
    assert client.get(OPS_URL).status_code == 302  # to the login page
    for user in (admin_user, outsider_user):
        client.force_login(user)
        assert client.get(OPS_URL).status_code == 404
        assert client.get(OPS_URL, HTTP_HX_REQUEST="true").status_code == 404


def test_support_sees_the_backlog_overall_and_per_endpoint(client, support_user, seeded, metrics_redis):
    metrics.attempts_observe([_outcome(seeded.busy) for _ in range(120)])
    client.force_login(support_user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(OPS_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("webhook-operations") == OPS_URL and 'href="/operations/webhooks/"' in html  # in the nav
    assert '<div class="stat-value" data-metric="due">4</div>' in html
    assert '<div class="stat-value" data-metric="in-flight">1</div>' in html
    assert '<div class="stat-value" data-metric="oldest-due">1 min 30 s</div>' in html
    assert '<div class="stat-value" data-metric="breakers-open">1 open</div>' in html
    assert "http://127.0.0.1:9/busy" in html and seeded.organization.name in html
    assert "http://127.0.0.1:9/broken" in html and seeded.other.name in html
    assert "5 timeouts in a row" in html and "7 deferred" in html
    assert 'hx-trigger="every 5s"' in html  # a backlog: the page polls
    assert '<strong data-metric="rate">0.03</strong>' in html  # 120 deliveries in the hour: 0.03/s
    assert "Rates as the workers recorded them." in html
    # The busiest endpoint first.
    assert html.index("127.0.0.1:9/busy") < html.index("127.0.0.1:9/broken")
    operations = webhook_operations(now=NOW)
    busy = next(r for r in operations.endpoints if r.endpoint.pk == seeded.busy.pk)
    assert (busy.due, busy.in_flight, busy.scheduled, busy.oldest_due_age) == (3, 1, 1, timedelta(seconds=90))
    assert busy.rate.delivered == 120 and sum(1 for bar in busy.rate.bars if bar["h"]) == 1
    assert "<figcaption>120 delivered · 0 failed attempts · 0.03/s</figcaption>" in html


def test_polling_stops_when_the_backlog_is_gone(client, support_user, seeded, no_metrics_redis):
    client.force_login(support_user)
    with time_machine.travel(NOW, tick=False):
        polled = client.get(OPS_URL, HTTP_HX_REQUEST="true")
        assert polled.status_code == 200
        assert polled.content.decode().lstrip().startswith('<div id="webhook-operations"')
        assert "<html" not in polled.content.decode()
        WebhookDelivery.objects.filter(status__in=WebhookDelivery.ACTIVE_STATUSES).update(
            status="SUCCEEDED", next_attempt_at=None, lease_until=None
        )
        final = client.get(OPS_URL, HTTP_HX_REQUEST="true")
    assert final.status_code == 286  # htmx stops polling and swaps the final state in
    assert 'hx-trigger="every 5s"' not in final.content.decode()
    assert '<div class="stat-value" data-metric="due">0</div>' in final.content.decode()


def test_without_redis_the_chart_counts_attempts_in_the_database(client, support_user, seeded, no_metrics_redis):
    delivery = WebhookDelivery.objects.filter(endpoint=seeded.busy).first()
    for n, failure in enumerate(["", "", "timeout"]):
        WebhookAttempt.objects.create(
            delivery=delivery,
            endpoint=seeded.busy,
            number=n + 1,
            attempted_at=NOW - timedelta(minutes=2),
            duration_ms=100,
            url=seeded.busy.url,
            failure_class=failure,
        )
    WebhookAttempt.objects.create(  # older than an hour: not in the chart
        delivery=delivery, endpoint=seeded.busy, number=9, attempted_at=NOW - timedelta(hours=2), duration_ms=1, url="x"
    )
    operations = webhook_operations(now=NOW)
    assert operations.rate_source == "database"
    assert (operations.rate.delivered, operations.rate.failed) == (2, 1)
    bar = operations.rate.bars[-3]
    assert bar["bad"] and bar["h"] == 46
    busy = next(r for r in operations.endpoints if r.endpoint.pk == seeded.busy.pk)
    assert busy.rate.delivered == 2
    client.force_login(support_user)
    assert "counted from the attempts in the database" in client.get(OPS_URL).content.decode()


def test_the_operations_page_costs_the_same_queries_for_many_endpoints(
    client, support_user, seeded, make_endpoint, no_metrics_redis, django_assert_max_num_queries
):
    client.force_login(support_user)
    client.get(OPS_URL)  # warm: session, user, permissions
    for n in range(12):
        endpoint = make_endpoint(f"http://127.0.0.1:9/hooks{n}", organization_=pilot_organization())
        _delivery(endpoint, next_at=NOW - timedelta(seconds=n))
        _delivery(endpoint, next_at=NOW + timedelta(minutes=n), status="RETRYING")
    # session + user + support permission + nav organizations, then backlog, breakers, endpoints, chart.
    with django_assert_max_num_queries(9):
        response = client.get(OPS_URL)
    assert response.content.decode().count("<tr data-endpoint=") == 14
