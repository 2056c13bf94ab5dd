"""The delivery engine end to end against a real local receiver: signing, fan-out, retries, 410, Retry-After."""

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from portal.core.audit import Actor
from portal.core.models import AuditEntry
from portal.webhooks import engine, policy
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from portal.webhooks.outbox import event_emit
from portal.webhooks.services import endpoint_secret_rotate, endpoint_send_test

pytestmark = pytest.mark.django_db


def emit(organization, event_type="kyc.level.upgraded", partner=None, **data):
    return event_emit(organization=organization, event_type=event_type, data={"version": 1, **data}, partner=partner)


def emit_committed(django_capture_on_commit_callbacks, organization, **kwargs):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        return emit(organization, **kwargs)


def test_emitted_event_arrives_signed_and_verifies_with_standardwebhooks(
    organization, endpoint, receiver, django_capture_on_commit_callbacks
):
    event = emit_committed(django_capture_on_commit_callbacks, organization, buyerId="b1")

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    payload = Webhook(endpoint.secret).verify(request["body"], request["headers"])
    assert request["headers"]["webhook-id"] == event.webhook_id
    assert payload["id"] == event.webhook_id
    assert payload["type"] == "kyc.level.upgraded"
    assert payload["organizationId"] == str(organization.pk)
    assert payload["data"] == {"version": 1, "buyerId": "b1"}
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == "SUCCEEDED" and delivery.attempt_count == 1
    attempt = delivery.attempts.get()
    assert attempt.response_status == 200 and attempt.signed_with == ["current"]
    assert attempt.request_headers["webhook-signature"] == request["headers"]["webhook-signature"]
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43).verify(request["body"], request["headers"])


def test_rollback_emits_nothing(organization, endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        emit(organization)
        raise RuntimeError("the business change failed")
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_fan_out_one_delivery_per_matching_endpoint(
    organization, partner, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    kyc = make_endpoint(receiver.url, ["kyc.*"])
    exact = make_endpoint(receiver.url, ["kyc.level.upgraded", "buyer.created"])
    make_endpoint(receiver.url, ["compliance.*"])
    scoped_other = make_endpoint(receiver.url, ["kyc.*"])
    scoped_other.partners.set([])  # unscoped
    disabled = make_endpoint(receiver.url, ["kyc.*"], enabled=False)
    receiver.default = (200, {}, b"")

    event = emit_committed(django_capture_on_commit_callbacks, organization, partner=partner)

    endpoints = set(WebhookDelivery.objects.filter(event=event).values_list("endpoint_id", flat=True))
    assert endpoints == {kyc.pk, exact.pk, scoped_other.pk}
    assert disabled.pk not in endpoints
    assert len(receiver.requests) == 3
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {event.webhook_id}


def test_partner_scope_limits_deliveries(
    organization, partner, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    from tests.factories import PartnerAuthorizationFactory

    other_partner = PartnerAuthorizationFactory(organization=organization).partner
    scoped = make_endpoint(receiver.url, ["kyc.*"], partner_ids=[partner.pk])

    mine = emit_committed(django_capture_on_commit_callbacks, organization, partner=partner)
    theirs = emit_committed(django_capture_on_commit_callbacks, organization, partner=other_partner)

    assert WebhookDelivery.objects.filter(endpoint=scoped, event=mine).count() == 1
    assert not WebhookDelivery.objects.filter(endpoint=scoped, event=theirs).exists()


def _run_due(now):
    with time_machine.travel(now, tick=False):
        return engine.deliveries_dispatch(budget_seconds=5)


def test_whole_retry_schedule_ten_attempts_within_72_hours(organization, endpoint, receiver):
    receiver.default = (500, {}, b"boom")
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False), transaction.atomic():
        emit(organization)
    from portal.webhooks.services import event_fan_out

    event = WebhookEvent.objects.get()
    with time_machine.travel(start, tick=False):
        event_fan_out(event_id=event.pk)
    delivery = WebhookDelivery.objects.get()
    times = []
    now = start
    for _ in range(20):
        delivery.refresh_from_db()
        if delivery.next_attempt_at is None:
            break
        # One second early nothing is due; at the scheduled time it is sent.
        if times:
            assert _run_due(delivery.next_attempt_at - timedelta(seconds=1)) == 0
        now = delivery.next_attempt_at
        assert _run_due(now) == 1
        times.append(now)
    delivery.refresh_from_db()
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert delivery.status == "FAILED"
    assert len(attempts) == 10 == len(receiver.requests)
    assert [a.number for a in attempts] == list(range(1, 11))
    assert all(a.failure_class == "http" and a.response_status == 500 for a in attempts)
    assert attempts[-1].attempted_at - attempts[0].attempted_at <= timedelta(hours=72)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert len(gaps) == 9
    for n, gap in enumerate(gaps, start=1):
        nominal = policy.BACKOFF_BASE_SECONDS * policy.BACKOFF_FACTOR ** (n - 1)
        assert nominal * 0.8 - 1 <= gap <= nominal * 1.2 + 1, (n, gap)
    # Same webhook-id on every retry; the signature covers each attempt's own timestamp.
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {event.webhook_id}


def test_next_attempt_never_after_72_hours():
    first = timezone.now()
    now = first + timedelta(hours=71)
    nxt = policy.next_attempt_time(first_attempt_at=first, attempt_number=9, now=now, retry_after=10 * 3600)
    assert nxt == first + timedelta(hours=72)
    assert policy.next_attempt_time(first_attempt_at=first, attempt_number=9, now=first + timedelta(hours=72)) is None
    assert policy.next_attempt_time(first_attempt_at=first, attempt_number=10, now=first) is None


@pytest.mark.parametrize("status", [400, 401, 404, 422, 500, 503, 302])
def test_any_non_2xx_is_retried(organization, endpoint, receiver, status, django_capture_on_commit_callbacks):
    receiver.respond((status, {"location": "https://elsewhere.example/"} if status == 302 else {}, b"no"))
    emit_committed(django_capture_on_commit_callbacks, organization)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "RETRYING"
    assert delivery.last_status_code == status and delivery.last_failure_class == "http"
    assert delivery.next_attempt_at > timezone.now()
    assert len(receiver.requests) == 1  # a 3xx is not followed


def test_410_gone_disables_the_endpoint(organization, endpoint, receiver, django_capture_on_commit_callbacks):
    receiver.respond(410)
    emit_committed(django_capture_on_commit_callbacks, organization)
    delivery = WebhookDelivery.objects.get()
    endpoint.refresh_from_db()
    assert delivery.status == "FAILED" and delivery.next_attempt_at is None
    assert endpoint.enabled is False and endpoint.disabled_reason == "GONE"
    assert AuditEntry.objects.filter(action="webhook_endpoint.disabled", target_id=str(endpoint.pk)).exists()
    # Nothing more is fanned out to it.
    emit_committed(django_capture_on_commit_callbacks, organization)
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(organization, endpoint, receiver, status, django_capture_on_commit_callbacks):
    receiver.respond((status, {"Retry-After": "7200"}, b""))
    before = timezone.now()
    emit_committed(django_capture_on_commit_callbacks, organization)
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at >= before + timedelta(seconds=7200)
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=7201)


def test_retry_after_ignored_on_other_statuses():
    assert policy.retry_after_seconds({"Retry-After": "60"}, 500, now=timezone.now()) is None
    assert policy.retry_after_seconds({"retry-after": "60"}, 429, now=timezone.now()) == 60


def test_connection_refused_is_recorded_and_retried(organization, make_endpoint, django_capture_on_commit_callbacks):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    make_endpoint(f"http://127.0.0.1:{port}/down")
    emit_committed(django_capture_on_commit_callbacks, organization)
    delivery = WebhookDelivery.objects.get()
    attempt = delivery.attempts.get()
    assert delivery.status == "RETRYING"
    assert attempt.failure_class == "connection" and attempt.response_status is None


def test_response_body_is_capped_at_16_kib(organization, endpoint, receiver, django_capture_on_commit_callbacks):
    receiver.respond((500, {}, b"x" * 100_000))
    emit_committed(django_capture_on_commit_callbacks, organization)
    attempt = WebhookAttempt.objects.get()
    assert len(attempt.response_body) == 16 * 1024 and attempt.response_truncated


def test_rotation_overlap_sends_both_signatures(organization, endpoint, receiver, django_capture_on_commit_callbacks):
    old_secret = endpoint.secret
    endpoint = endpoint_secret_rotate(actor=Actor.system(), endpoint=endpoint, overlap=timedelta(hours=24))
    emit_committed(django_capture_on_commit_callbacks, organization)
    request = receiver.requests[-1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(request["body"], request["headers"])
    Webhook(endpoint.secret).verify(request["body"], request["headers"])
    assert WebhookAttempt.objects.get().signed_with == ["current", "previous"]

    # After the overlap only the new secret signs.
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        emit_committed(django_capture_on_commit_callbacks, organization)
        request = receiver.requests[-1]
        assert len(request["headers"]["webhook-signature"].split(" ")) == 1
        Webhook(endpoint.secret).verify(request["body"], request["headers"])
        with pytest.raises(WebhookVerificationError):
            Webhook(old_secret).verify(request["body"], request["headers"])


def test_send_test_reaches_an_endpoint_that_does_not_subscribe(
    organization, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(receiver.url, ["compliance.vies.completed"])
    with django_capture_on_commit_callbacks(execute=True):
        delivery = endpoint_send_test(actor=Actor.system(), endpoint=endpoint)
    delivery.refresh_from_db()
    assert delivery.status == "SUCCEEDED"
    payload = Webhook(endpoint.secret).verify(receiver.requests[0]["body"], receiver.requests[0]["headers"])
    assert payload["type"] == "webhook.test"


def test_lease_hides_claimed_rows_until_it_expires(organization, endpoint, receiver):
    with transaction.atomic():
        emit(organization)
    from portal.webhooks.services import event_fan_out

    event_fan_out(event_id=WebhookEvent.objects.get().pk)
    _token, ids = engine.deliveries_claim(limit=10)
    assert len(ids) == 1
    assert engine.deliveries_claim(limit=10)[1] == []
    later = timezone.now() + timedelta(seconds=engine.LEASE_SECONDS + 1)
    assert engine.deliveries_claim(limit=10, now=later)[1] == ids
