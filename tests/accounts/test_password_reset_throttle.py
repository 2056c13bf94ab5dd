"""Issue #10 item 4 (part): password-reset mails are throttled per address and per client, quietly."""

import os
import time
import uuid

import pytest
from django.core import mail

from portal.core.throttle import throttle_limiter
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
DONE = "/accounts/password/reset/sent/"


def ask(client, email, **extra):
    response = client.post(RESET, {"email": email}, **extra)
    assert response.status_code == 302 and response.url == DONE  # always the same answer
    return response


def test_fourth_request_within_the_hour_sends_no_mail(client, admin_user, viewer_user, time_machine):
    for _ in range(3):
        ask(client, admin_user.email)
    assert len(mail.outbox) == 3
    ask(client, admin_user.email.upper())  # the same address, however it is written
    assert len(mail.outbox) == 3
    throttled = client.post(RESET, {"email": admin_user.email}, follow=True)
    assert throttled.status_code == 200 and "If an account exists for that address" in throttled.content.decode()
    ask(client, viewer_user.email)  # another address still gets its mail
    assert len(mail.outbox) == 4 and mail.outbox[-1].to == [viewer_user.email]
    time_machine.move_to(time.time() + 3601, tick=False)
    ask(client, admin_user.email)
    assert len(mail.outbox) == 5


def test_unknown_addresses_count_too(client, settings):
    """Unknown addresses count too, so the throttle tells nothing about which addresses have accounts."""
    settings.PASSWORD_RESET_RATE_PER_ADDRESS = "1/hour"
    ask(client, "later@example.com")
    UserFactory(email="later@example.com")
    ask(client, "later@example.com")
    assert mail.outbox == []


def test_one_client_cannot_mail_many_addresses(client, settings):
    settings.PASSWORD_RESET_RATE_PER_IP = "2/hour"
    users = [UserFactory() for _ in range(3)]
    for user in users:
        ask(client, user.email, REMOTE_ADDR="203.0.113.10")
    assert [m.to for m in mail.outbox] == [[users[0].email], [users[1].email]]
    ask(client, users[2].email, REMOTE_ADDR="198.51.100.20")
    assert len(mail.outbox) == 3


def test_reset_still_works_without_the_rate_limit_store(client, admin_user, settings):
    settings.RATELIMIT_STORAGE_URI = "redis://127.0.0.1:1/0"  # nothing listens there
    for _ in range(4):
        ask(client, admin_user.email)
    assert len(mail.outbox) == 4  # fail open: documented in docs/decisions.md


def test_addresses_are_stored_only_as_hashes(client, admin_user):
    ask(client, admin_user.email)
    keys = " ".join(str(key) for key in throttle_limiter().storage.events)
    assert admin_user.email not in keys and "password-reset-address" in keys


def test_throttle_on_a_real_redis(client, settings):
    settings.RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/6"
    assert throttle_limiter().storage.check(), "Redis must be running for this test"
    run = uuid.uuid4()  # fresh keys (address and client): Redis outlives test runs
    email, ip = f"reset-{run.hex}@example.com", f"10.{run.bytes[0]}.{run.bytes[1]}.{run.bytes[2]}"
    UserFactory(email=email)
    for _ in range(4):
        ask(client, email, REMOTE_ADDR=ip)
    assert len(mail.outbox) == 3
