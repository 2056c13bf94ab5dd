"""Dates in the invitation e-mail and on the upload page follow the language's own format (issue 10, item 12)."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail

from portal.core.audit import Actor
from portal.kyc import services

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/kyc/i/([A-Za-z0-9_\-]+)/")


@pytest.fixture
def december():
    with time_machine.travel(datetime(2026, 12, 1, 9, 30, tzinfo=UTC), tick=False):
        yield


def _invite(buyer, locale, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(actor=Actor.system(), buyer=buyer, locale=locale, expires_in_days=7)
    return mail.outbox[-1]


def test_german_email_writes_the_date_the_german_way(buyer, december, django_capture_on_commit_callbacks):
    message = _invite(buyer, "de", django_capture_on_commit_callbacks)
    html = message.alternatives[0].content
    for body in (message.body, html):
        assert "8. Dezember 2026" in body
        assert "8 Dezember 2026" not in body


def test_english_email_keeps_the_english_format(buyer, december, django_capture_on_commit_callbacks):
    message = _invite(buyer, "en", django_capture_on_commit_callbacks)
    assert "Dec. 8, 2026" in message.body and "Dezember" not in message.body


def test_german_upload_page_writes_the_date_the_german_way(client, buyer, december, django_capture_on_commit_callbacks):
    message = _invite(buyer, "de", django_capture_on_commit_callbacks)
    token = LINK.search(message.body).group(1)
    html = client.get(f"/kyc/i/{token}/").content.decode()
    assert "8. Dezember 2026" in html and "8 Dezember 2026" not in html
