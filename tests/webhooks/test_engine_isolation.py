"""Issue #11: per-endpoint caps, the circuit breaker, fair claiming, isolation and the connect-time guard
under the concurrent client. Assertions are on states, orders and counts, never on wall time."""

import asyncio
import socket
import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from portal.core.audit import Actor
from portal.core.models import AuditEntry
from portal.webhooks import engine, policy, ssrf
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal.webhooks.services import endpoint_create
from tests.factories import pilot_organization

States = WebhookEndpoint.BreakerState


def due_deliveries(endpoint, n, *, at=None):
    at = at or timezone.now()
    events = WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(
                organization_id=endpoint.organization_id,
                type="kyc.level.upgraded",
                data={"version": i},
                created_at=at,
                fanned_out_at=at,
            )
            for i in range(n)
        ]
    )
    return WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                organization_id=endpoint.organization_id,
                endpoint=endpoint,
                event=e,
                event_type=e.type,
                created_at=at,
                next_attempt_at=at,
            )
            for e in events
        ]
    )


def new_endpoint(url, organization=None, **fields):
    endpoint = endpoint_create(
        actor=Actor.system(), organization=organization or pilot_organization(), url=url, subscriptions=["kyc.*"]
    )
    if fields:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**fields)
        endpoint.refresh_from_db()
    return endpoint


def dispatch_at(now, **kwargs):
    with time_machine.travel(now, tick=False):
        return engine.deliveries_dispatch(budget_seconds=10, **kwargs)


def breaker_actions(endpoint):
    """How many of each breaker transition were audited (time is frozen, so counts, not order)."""
    actions = AuditEntry.objects.filter(target_id=str(endpoint.pk), action__startswith="webhook_endpoint.breaker_")
    return Counter(a.removeprefix("webhook_endpoint.breaker_") for a in actions.values_list("action", flat=True))


# ------------------------------------------------------------------------------------------ breaker


@pytest.mark.django_db
def test_breaker_opens_defers_without_attempts_probes_and_closes(receiver):
    endpoint = new_endpoint(receiver.url, max_concurrency=1)  # one at a time: the count is exact
    due_deliveries(endpoint, 10)
    receiver.drop = True  # every connection is closed without an answer: connection failures
    t0 = (timezone.now() + timedelta(seconds=1)).replace(microsecond=0)

    assert dispatch_at(t0) == policy.BREAKER_THRESHOLD == 5  # five fail in a row; the rest are never sent
    endpoint.refresh_from_db()
    assert endpoint.breaker_state == States.OPEN
    assert endpoint.breaker_until == t0 + policy.BREAKER_COOLDOWN
    assert "connection" in endpoint.breaker_reason
    assert WebhookDelivery.objects.filter(endpoint=endpoint, attempt_count=0, status="PENDING").count() == 5
    assert breaker_actions(endpoint) == {"opened": 1}

    # During the cool-down nothing is claimed, not even the retries that came due: no request, no attempt.
    sent_before = len(receiver.requests)
    assert dispatch_at(t0 + timedelta(seconds=59)) == 0
    assert len(receiver.requests) == sent_before
    assert WebhookAttempt.objects.filter(endpoint=endpoint).count() == 5

    # After it, one probe; it fails, so the breaker opens again for twice as long.
    assert dispatch_at(t0 + timedelta(seconds=61)) == 1
    endpoint.refresh_from_db()
    assert endpoint.breaker_state == States.OPEN
    assert endpoint.breaker_until == t0 + timedelta(seconds=61) + 2 * policy.BREAKER_COOLDOWN
    assert endpoint.breaker_deferred_count == 10  # all ten were held back when the cool-down ended
    assert breaker_actions(endpoint) == {"opened": 2, "half_opened": 1}
    assert dispatch_at(t0 + timedelta(seconds=61 + 119)) == 0

    # The receiver is back: the probe succeeds, the breaker closes and the backlog flows in the same pass.
    receiver.drop = False
    assert dispatch_at(t0 + timedelta(seconds=61 + 121)) == 10
    endpoint.refresh_from_db()
    assert endpoint.breaker_state == States.CLOSED and endpoint.breaker_failures == 0
    assert breaker_actions(endpoint) == {"opened": 2, "half_opened": 2, "closed": 1}
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {"SUCCEEDED"}
    audit = AuditEntry.objects.filter(action="webhook_endpoint.breaker_closed").get()
    assert audit.actor_label and audit.organization_id == endpoint.organization_id


@pytest.mark.django_db
def test_http_errors_do_not_trip_the_breaker(receiver):
    endpoint = new_endpoint(receiver.url)
    due_deliveries(endpoint, 12)
    receiver.default = (500, {}, b"down for maintenance")
    assert dispatch_at(timezone.now()) == 12  # answered quickly: normal failures with retries, every one sent
    endpoint.refresh_from_db()
    assert endpoint.breaker_state == States.CLOSED and endpoint.breaker_failures == 0
    assert endpoint.consecutive_failures == 12
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {"RETRYING"}


@pytest.mark.django_db
def test_an_http_answer_resets_the_consecutive_count(receiver):
    endpoint = new_endpoint(receiver.url, max_concurrency=1)
    due_deliveries(endpoint, 8)
    receiver.default = (503, {}, b"")
    original = engine._post
    sent = []

    async def post(session, request):
        sent.append(request.delivery.pk)
        receiver.drop = len(sent) != 5  # the fifth request gets an HTTP answer (503), the others none
        return await original(session, request)

    engine._post = post
    try:
        assert dispatch_at(timezone.now()) == 8  # 4 failures, an answer, 3 failures: never 5 in a row
    finally:
        engine._post = original
    endpoint.refresh_from_db()
    assert endpoint.breaker_state == States.CLOSED and endpoint.breaker_failures == 3


# ------------------------------------------------------------------------------------------ caps


@pytest.mark.django_db
def test_an_endpoint_is_held_by_one_dispatcher_with_a_queue_of_its_cap_times_the_factor(receiver):
    endpoint = new_endpoint(receiver.url, max_concurrency=3)
    depth = 3 * engine.QUEUE_FACTOR
    due_deliveries(endpoint, depth + 10)
    now = timezone.now()
    token, ids = engine.deliveries_claim(limit=1000, now=now)
    assert len(ids) == depth
    assert engine.deliveries_claim(limit=1000, now=now, token=token)[1] == []  # its queue here is full
    assert engine.deliveries_claim(limit=1000, now=now)[1] == []  # another dispatcher gets nothing of it
    later = now + timedelta(seconds=engine.LEASE_SECONDS + 1)  # a killed worker's leases ran out
    assert len(engine.deliveries_claim(limit=1000, now=later)[1]) == depth


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED claimers need PostgreSQL")
def test_concurrent_claimers_never_share_an_endpoint(receiver):
    organization = pilot_organization()
    capped = [new_endpoint(receiver.url, organization, max_concurrency=cap) for cap in (1, 2, 3)]
    for endpoint in capped:
        due_deliveries(endpoint, 40)
    threads, claimed, errors = 8, [], []
    barrier = threading.Barrier(threads)
    lock = threading.Lock()

    def claimer():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            token = uuid.uuid4()
            for _ in range(5):
                ids = engine.deliveries_claim(limit=5, token=token)[1]
                with lock:
                    claimed.extend(ids)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    workers = [threading.Thread(target=claimer) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert len(claimed) == len(set(claimed))  # no row went to two claimers
    for endpoint in capped:
        leases = WebhookDelivery.objects.filter(endpoint=endpoint, lease_until__gte=timezone.now())
        # One holder per endpoint (which sends at most its cap at once), never more than its queue.
        assert leases.values("lease_token").distinct().count() == 1
        assert 0 < leases.count() <= endpoint.max_concurrency * engine.QUEUE_FACTOR


@pytest.mark.django_db
def test_requests_in_flight_to_one_endpoint_never_exceed_its_cap(receiver):
    endpoint = new_endpoint(receiver.url, max_concurrency=2)
    other = new_endpoint(receiver.url, max_concurrency=3)
    due_deliveries(endpoint, 20)
    due_deliveries(other, 20)
    active: Counter = Counter()
    peak: Counter = Counter()
    original = engine._post
    release = threading.Event()

    async def post(session, request):
        key = request.delivery.endpoint_id
        active[key] += 1
        peak[key] = max(peak[key], active[key])
        try:
            if sum(peak.values()) >= 5:
                release.set()
            # Hold the first requests until both endpoints have filled their slots, so caps are really hit.
            while not release.is_set():
                await asyncio.sleep(0.01)
            return await original(session, request)
        finally:
            active[key] -= 1

    engine._post = post
    try:
        assert engine.deliveries_dispatch(budget_seconds=30) == 40
    finally:
        engine._post = original
    assert peak == {endpoint.pk: 2, other.pk: 3}
    assert WebhookDelivery.objects.filter(status="SUCCEEDED").count() == 40


# ------------------------------------------------------------------------------------------ isolation


@pytest.mark.django_db
def test_a_dead_endpoint_does_not_delay_a_healthy_one(silent_server, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    dead = new_endpoint(silent_server.url)
    healthy = new_endpoint(receiver.url)  # another organization
    at = timezone.now()
    due_deliveries(dead, 30, at=at - timedelta(minutes=5))  # older: oldest-first claiming would take these
    due_deliveries(healthy, 30, at=at)
    healthy_done_while_dead_pending = []

    def check(request, response):
        if request.delivery.endpoint_id == dead.pk and not healthy_done_while_dead_pending:
            # The first dead request ends (a timeout): by then every healthy delivery has been answered.
            healthy_done_while_dead_pending.append(len(receiver.requests))

    original = engine.attempt_outcome

    def outcome(request, response):
        check(request, response)
        return original(request, response)

    engine.attempt_outcome = outcome
    try:
        engine.deliveries_dispatch(budget_seconds=30)
    finally:
        engine.attempt_outcome = original
    assert healthy_done_while_dead_pending == [30]
    assert WebhookDelivery.objects.filter(endpoint=healthy, status="SUCCEEDED").count() == 30
    # The dead one took its cap of slots, timed out, and its breaker holds back the rest.
    # Slots freed by the first timeouts may be refilled until the fifth in a row opens the breaker.
    timeouts = WebhookAttempt.objects.filter(endpoint=dead, failure_class="timeout").count()
    assert dead.max_concurrency <= timeouts <= dead.max_concurrency + policy.BREAKER_THRESHOLD - 1
    assert WebhookDelivery.objects.filter(endpoint=dead, attempt_count=0, status="PENDING").count() == 30 - timeouts
    dead.refresh_from_db()
    assert dead.breaker_state == States.OPEN


# ------------------------------------------------------------------------------------------ fairness


@pytest.mark.django_db
def test_a_backlog_of_one_organization_does_not_hold_back_another(receiver):
    backlog = new_endpoint(receiver.url)
    fresh = new_endpoint(receiver.url)  # another organization
    now = timezone.now()
    due_deliveries(backlog, 400, at=now - timedelta(hours=1))
    WebhookEndpoint.objects.filter(pk=backlog.pk).update(last_claimed_at=now - timedelta(seconds=1))
    (late,) = due_deliveries(fresh, 1, at=now)
    ids = engine.deliveries_claim(limit=engine.BATCH_SIZE, now=now)[1]
    # Oldest-first would have handed out 100 backlog rows; now the fresh one goes first (and the backlog
    # fills the rest of the claim).
    assert ids[0] == late.pk  # the endpoint served least recently comes first
    assert len(ids) == engine.BATCH_SIZE
    # And the backlog never gets more than its queue (its cap times the factor), however large the claim.
    more = engine.deliveries_claim(limit=1000, now=now)[1]  # another dispatcher: the backlog is held
    assert more == []
    token = uuid.uuid4()
    later = now + timedelta(seconds=engine.LEASE_SECONDS + 1)
    assert len(engine.deliveries_claim(limit=1000, now=later, token=token)[1]) == (
        backlog.max_concurrency * engine.QUEUE_FACTOR + 1
    )


@pytest.mark.django_db
def test_claiming_rotates_across_endpoints_least_recently_served_first(receiver):
    organization = pilot_organization()
    endpoints = [new_endpoint(receiver.url, organization, max_concurrency=2) for _ in range(3)]
    for endpoint in endpoints:
        due_deliveries(endpoint, 10)
    now = timezone.now()
    token = uuid.uuid4()
    served = []
    for i in range(9):
        ids = engine.deliveries_claim(limit=1, now=now + timedelta(milliseconds=i), token=token)[1]
        served.append(WebhookDelivery.objects.get(pk=ids[0]).endpoint_id)
    assert set(served[:3]) == set(served[3:6]) == set(served[6:]) == {e.pk for e in endpoints}
    assert served[:3] == served[3:6] == served[6:]  # the same rotation, round after round


@pytest.mark.django_db
def test_deliveries_of_a_disabled_endpoint_fail_without_a_request(receiver):
    endpoint = new_endpoint(receiver.url)
    due_deliveries(endpoint, 8)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    assert engine.deliveries_dispatch(budget_seconds=5) == 0
    assert receiver.requests == []
    assert set(WebhookDelivery.objects.values_list("status", "last_failure_class")) == {("FAILED", "disabled")}


# ------------------------------------------------------------------------------------------ SSRF


@pytest.mark.django_db
def test_a_host_that_resolves_to_a_blocked_address_after_validation_is_refused(receiver, monkeypatch):
    """The address is checked where the connection is made: a DNS answer that turns private later is refused."""
    real = socket.getaddrinfo
    answers = {"n": 0}

    def rebinding(host, port, *args, **kwargs):
        if host == "later-private.example.test":
            answers["n"] += 1
            ip = "127.0.0.1" if answers["n"] == 1 else "10.1.2.3"  # valid when saved, private at send time
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    ssrf.checked_addresses.clear()
    port = receiver.server.server_address[1]
    endpoint = new_endpoint(f"http://later-private.example.test:{port}/h")
    due_deliveries(endpoint, 1)
    assert engine.deliveries_dispatch(budget_seconds=5) == 1
    attempt = WebhookAttempt.objects.get()
    assert attempt.failure_class == "blocked" and "10.1.2.3" in attempt.failure_detail
    assert receiver.requests == [] and answers["n"] == 2


@pytest.mark.django_db
def test_an_ip_literal_is_checked_before_each_request(receiver, settings):
    endpoint = new_endpoint(receiver.url)  # 127.0.0.1 is allowed while the endpoint is saved
    due_deliveries(endpoint, 1)
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert engine.deliveries_dispatch(budget_seconds=5) == 1
    assert WebhookAttempt.objects.get().failure_class == "blocked"
    assert receiver.requests == []


@pytest.mark.django_db
def test_redirects_are_not_followed_and_bodies_are_capped(receiver):
    endpoint = new_endpoint(receiver.url)
    due_deliveries(endpoint, 2)
    receiver.respond((302, {"location": "http://10.0.0.1/"}, b""), (200, {}, b"x" * (engine.RESPONSE_BODY_LIMIT * 3)))
    assert engine.deliveries_dispatch(budget_seconds=5) == 2
    by_status = {a.response_status: a for a in WebhookAttempt.objects.all()}
    assert "redirects are not followed" in by_status[302].failure_detail
    assert by_status[200].response_truncated and len(by_status[200].response_body) == engine.RESPONSE_BODY_LIMIT
    assert len(receiver.requests) == 2
