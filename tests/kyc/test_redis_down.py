"""Redis down: the buyer's link keeps answering and guessing stays bounded in-process (#10, item 6)."""

import logging

import pytest

from portal.core.audit import Actor
from portal.kyc import ratelimit, services

pytestmark = pytest.mark.django_db

CLOSED_PORT = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    settings.RATELIMIT_STORAGE_URI = CLOSED_PORT
    ratelimit.public_link_limits_reset()
    yield
    ratelimit.public_link_limits_reset()


@pytest.fixture
def invitation_and_token(buyer):
    return services.invitation_create(actor=Actor.system(), buyer=buyer, locale="")


def test_the_public_page_answers_normally_with_redis_down(client, redis_down, invitation_and_token, caplog):
    _invitation, token = invitation_and_token
    with caplog.at_level(logging.INFO):
        assert client.get(f"/kyc/i/{token}/").status_code == 200
        assert client.get("/kyc/i/not-a-token/").status_code == 404
    warnings = [r for r in caplog.records if r.name == "portal.kyc.ratelimit"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING  # once, not per request
    assert "unavailable" in warnings[0].getMessage()
    assert token not in caplog.text and "not-a-token" not in caplog.text


def test_misses_stay_bounded_in_process_with_redis_down(client, redis_down, invitation_and_token, settings):
    settings.KYC_PUBLIC_MISS_RATE = "3/minute"
    _invitation, token = invitation_and_token
    for i in range(3):
        assert client.get(f"/kyc/i/guess{i}/").status_code == 404
    assert client.get("/kyc/i/guess4/").status_code == 429
    assert client.get(f"/kyc/i/{token}/").status_code == 429  # the guessing IP is blocked, as with Redis
    assert client.get(f"/kyc/i/{token}/", REMOTE_ADDR="10.9.8.7").status_code == 200


def test_the_shared_store_is_used_again_once_it_answers(settings, redis_down, monkeypatch):
    assert ratelimit.public_link_allowed("10.0.0.1")  # store down: counted in-process
    assert ratelimit._store_down_until[0] > 0
    settings.RATELIMIT_STORAGE_URI = "memory://"
    monkeypatch.setattr(ratelimit, "STORE_RETRY_SECONDS", 0)
    ratelimit._store_down_until[0] = 0.0
    ratelimit.limiter().storage.reset()
    assert ratelimit.public_link_allowed("10.0.0.2")
    rate = ratelimit._rates()[0]
    assert ratelimit.limiter().get_window_stats(rate, "kyc-public", "10.0.0.2").remaining == rate.amount - 1
