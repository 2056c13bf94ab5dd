"""Broker down after commit (issue 10, item 7): the API answers the success it committed, stores the
idempotency record, and the periodic sweeps do the work the lost publish would have started."""

import logging
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery import current_app
from celery.app.task import Task
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import OperationalError

from portal.clients.models import IdempotencyRecord
from portal.core.audit import Actor
from portal.core.tokens import token_hash
from portal.kyc import services as kyc_services
from portal.kyc import tasks as kyc_tasks
from portal.kyc.models import Buyer, SelfServiceInvitation
from portal.webhooks import tasks as webhook_tasks
from portal.webhooks.models import WebhookDelivery, WebhookEvent, WebhookReplayJob
from portal.webhooks.wakeup import DISPATCH_WAKE_KEY, FANOUT_WAKE_KEY
from tests.kyc.conftest import valid_vat_numbers

pytestmark = pytest.mark.django_db
SECRET_IN_URL = "hunter2-broker-password"


class Broker:
    """Task publishing, switchable between refusing (down) and recording (up, nothing runs)."""

    def __init__(self):
        self.down = True
        self.refused: list[str] = []
        self.published: list[tuple[str, tuple]] = []

    def apply_async(self, task, args=None, kwargs=None, **options):
        if self.down:
            self.refused.append(task.name)
            raise OperationalError(f"Error 111 connecting to redis://:{SECRET_IN_URL}@127.0.0.1:1/0. Refused.")
        self.published.append((task.name, tuple(args or ())))


@pytest.fixture
def broker(monkeypatch):
    fake = Broker()
    monkeypatch.setattr(Task, "apply_async", lambda task, args=None, kwargs=None, **o: fake.apply_async(task, args))
    cache.delete_many([FANOUT_WAKE_KEY, DISPATCH_WAKE_KEY])
    yield fake
    cache.delete_many([FANOUT_WAKE_KEY, DISPATCH_WAKE_KEY])


@pytest.fixture
def buyers_url(partner):
    return f"/v1/partners/{partner.pk}/buyers"


def _buyer_body():
    return {"vatNumber": valid_vat_numbers(1)[0], "name": "Autohandel Nord GmbH", "email": "buyer@example.com"}


def test_buyer_post_answers_201_stores_the_key_and_replays_without_doing_it_twice(
    api, buyers_url, broker, make_endpoint, receiver, caplog, time_machine, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(receiver.url, subscriptions=["buyer.*"])
    caplog.set_level(logging.WARNING, logger="portal.core.tasks")
    body = _buyer_body()
    key = f"retry-{uuid.uuid4()}"
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(buyers_url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    assert {"webhooks.event_fanout", "kyc.vies_check"} <= set(broker.refused)  # both publishes really failed
    record = IdempotencyRecord.objects.get(key=key)
    assert record.state == IdempotencyRecord.State.COMPLETED and record.response_status == 201

    with django_capture_on_commit_callbacks(execute=True):
        retry = api.post(buyers_url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Buyer.objects.count() == 1
    assert WebhookEvent.objects.filter(type="buyer.created").count() == 1

    assert "could not publish task webhooks.event_fanout" in caplog.text
    assert SECRET_IN_URL not in caplog.text and body["vatNumber"] not in caplog.text

    # The broker is back: beat's sweeps find the work from the database alone.
    broker.down = False
    assert WebhookEvent.objects.filter(fanned_out_at__isnull=True).exists()
    time_machine.move_to(timezone.now() + timedelta(seconds=5), tick=False)  # old enough for the tick
    webhook_tasks.deliveries_dispatch()
    assert not WebhookEvent.objects.filter(fanned_out_at__isnull=True).exists()
    statuses = list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_type", "status"))
    assert statuses == [("buyer.created", WebhookDelivery.Status.SUCCEEDED)]
    assert len(receiver.requests) == 1

    buyer_id = str(Buyer.objects.get().pk)
    kyc_tasks.vies_check_due()
    assert ("kyc.vies_check", (buyer_id,)) in broker.published


def test_endpoint_test_answers_202_with_the_broker_down(api, broker, endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/v1/webhooks/endpoints/{endpoint.pk}/test", {}, format="json")
    assert response.status_code == 202, response.content
    assert "webhooks.deliveries_dispatch" in broker.refused
    delivery = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert delivery.status == WebhookDelivery.Status.PENDING  # the dispatcher tick sends it

    broker.down = False
    webhook_tasks.deliveries_dispatch()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


def test_an_invitation_whose_email_was_never_published_is_sent_by_the_sweep(
    organization, partner, broker, time_machine, django_capture_on_commit_callbacks
):
    buyer, _ = kyc_services.buyer_upsert(
        actor=Actor.system(),
        organization=organization,
        partner=partner,
        **{"vat_number": valid_vat_numbers(1)[0], "name": "Nord GmbH", "email": "buyer@example.com"},
    )
    time_machine.move_to("2030-01-01T10:00:00Z", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _token = kyc_services.invitation_create(actor=Actor.system(), buyer=buyer)
    assert "kyc.invitation_send_email" in broker.refused and mail.outbox == []
    broker.down = False
    assert kyc_tasks.invitation_send_unsent() == 0  # not yet: a slow worker may still send it
    time_machine.shift(kyc_services.UNSENT_INVITATION_AFTER.total_seconds() + 1)
    assert kyc_tasks.invitation_send_unsent() == 1
    invitation.refresh_from_db()
    assert invitation.status == SelfServiceInvitation.Status.SENT and len(mail.outbox) == 1
    # The link is rebuilt from the invitation, so the buyer gets the link the invitation was created with.
    assert invitation.token_hash == token_hash(_token)
    assert mail.outbox[0].body.split("/kyc/i/")[1].split("/")[0] == _token
    assert kyc_tasks.invitation_send_unsent() == 0 and len(mail.outbox) == 1


def test_a_bulk_replay_whose_start_was_lost_is_started_by_the_sweep(
    api, broker, endpoint, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(timezone.now(), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/v1/webhooks/replays", {"status": "FAILED"}, format="json")
    assert response.status_code in (201, 202), response.content
    assert "webhooks.replay_job_run" in broker.refused
    job = WebhookReplayJob.objects.get()
    broker.down = False
    assert webhook_tasks.replay_jobs_resume() == 0
    time_machine.shift(181)
    assert webhook_tasks.replay_jobs_resume() == 1
    assert ("webhooks.replay_job_run", (str(job.pk),)) in broker.published


@contextmanager
def _real_broker(url):
    """Celery as in production (not eager), publishing to `url`."""
    conf = current_app.conf
    saved = conf.task_always_eager, conf.broker_write_url
    conf.task_always_eager, conf.broker_write_url = False, url
    current_app._pool = None
    current_app.amqp._producer_pool = None
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_write_url = saved
        current_app._pool = None
        current_app.amqp._producer_pool = None


def test_a_broker_at_a_closed_port_does_not_turn_a_commit_into_a_500(
    api, buyers_url, django_capture_on_commit_callbacks
):
    cache.delete_many([FANOUT_WAKE_KEY, DISPATCH_WAKE_KEY])
    body, key = _buyer_body(), f"closed-{uuid.uuid4()}"
    with _real_broker("redis://127.0.0.1:1/0"):
        with django_capture_on_commit_callbacks(execute=True):
            first = api.post(buyers_url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        with django_capture_on_commit_callbacks(execute=True):
            retry = api.post(buyers_url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert Buyer.objects.count() == 1 and IdempotencyRecord.objects.filter(key=key).count() == 1
    assert WebhookEvent.objects.filter(type="buyer.created", fanned_out_at__isnull=True).count() == 1


def test_an_eager_tasks_own_error_is_not_mistaken_for_a_broker_outage(monkeypatch):
    from portal.core.tasks import task_publish

    def bug(*args, **kwargs):
        raise ValueError("a bug in the task")

    monkeypatch.setattr(Task, "apply_async", bug)
    with pytest.raises(ValueError):
        task_publish(webhook_tasks.deliveries_dispatch)


def test_a_broker_error_is_caught_and_reported(monkeypatch):
    from portal.core.tasks import task_publish

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(Task, "apply_async", down)
    assert task_publish(webhook_tasks.deliveries_dispatch) is False
