"""Tokens of the buyer's link and of member invitations stay out of logs, task arguments and caches (#10, items 4, 5)."""

import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.core.audit import Actor
from portal.core.token_links import is_token_link, redact_token_links
from portal.kyc import public_views, services
from portal.kyc.models import SelfServiceInvitation
from portal.organizations import services as org_services

pytestmark = pytest.mark.django_db

TOKEN_HEAVY = "Zq9" * 15  # shaped like a real token


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    settings.RATELIMIT_STORAGE_URI = "memory://"
    from portal.kyc.ratelimit import limiter

    limiter().storage.reset()


@pytest.fixture
def invitation_and_token(buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.invitation_create(actor=Actor.system(), buyer=buyer, locale="")


def _logged(caplog) -> str:
    """Everything the records carry: formatted lines (with tracebacks) and each message."""
    return caplog.text + "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)


# Logs ------------------------------------------------------------------------------------------------------


def test_no_token_in_the_request_log_for_an_invalid_link(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get(f"/kyc/i/{TOKEN_HEAVY}/")
    assert response.status_code == 404
    logged = _logged(caplog)
    assert TOKEN_HEAVY not in logged
    assert "Not Found: /kyc/i/[redacted]/" in logged


def test_no_token_in_the_request_log_for_a_valid_link(client, invitation_and_token, caplog):
    invitation, token = invitation_and_token
    services.invitation_revoke(actor=Actor.system(), invitation=invitation)
    with caplog.at_level(logging.INFO):
        response = client.get(f"/kyc/i/{token}/")
    assert response.status_code == 410  # a logged status (django.request warns on 4xx)
    logged = _logged(caplog)
    assert token not in logged and "/kyc/i/[redacted]/" in logged


def test_no_token_in_the_error_log_of_a_500(invitation_and_token, caplog, monkeypatch):
    _invitation, token = invitation_and_token

    def fail(**kwargs):
        raise RuntimeError(f"cannot open the invitation of {token}")

    monkeypatch.setattr(public_views.services, "invitation_open", fail)
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO):
        response = client.get(f"/kyc/i/{token}/")
    assert response.status_code == 500
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records and records[0].exc_info  # the traceback is still logged ...
    logged = _logged(caplog)
    assert "RuntimeError: cannot open the invitation of [redacted]" in logged  # ... without the token
    assert token not in logged


def test_no_token_of_a_member_invitation_in_the_request_log(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get(f"/accounts/invitations/{TOKEN_HEAVY}/")
    assert response.status_code == 404
    logged = _logged(caplog)
    assert TOKEN_HEAVY not in logged and "/accounts/invitations/[redacted]/" in logged


def test_no_token_in_the_csrf_rejection_log(invitation_and_token, caplog):
    _invitation, token = invitation_and_token
    with caplog.at_level(logging.INFO):
        response = Client(enforce_csrf_checks=True).post(f"/kyc/i/{token}/", {"type": "OTHER"})
    assert response.status_code == 403
    logged = _logged(caplog)
    assert token not in logged and "Forbidden (CSRF" in logged and "/kyc/i/[redacted]/" in logged


def test_our_console_handler_redacts_whatever_logger_emits(invitation_and_token):
    from portal.core.token_links import RedactTokenLinksFilter

    _invitation, token = invitation_and_token
    handlers = [
        h for h in logging.getLogger().handlers if any(isinstance(f, RedactTokenLinksFilter) for f in h.filters)
    ]
    assert handlers  # the console handler of settings.LOGGING
    record = logging.LogRecord("celery.worker", logging.INFO, __file__, 1, "fetched %s", (f"/kyc/i/{token}/",), None)
    assert handlers[0].filter(record)
    assert record.getMessage() == "fetched /kyc/i/[redacted]/"


def test_runserver_request_lines_are_redacted(caplog):
    server = logging.getLogger("django.server")  # does not propagate: capture on it directly
    server.addHandler(caplog.handler)
    try:
        server.info('"%s" %s %s', f"GET /kyc/i/{TOKEN_HEAVY}/?lang=de HTTP/1.1", "200", "512")
    finally:
        server.removeHandler(caplog.handler)
    assert caplog.records[-1].getMessage() == '"GET /kyc/i/[redacted]/?lang=de HTTP/1.1" 200 512'


def test_gunicorn_access_log_has_no_token():
    from gunicorn.config import Config

    from portal.core.gunicorn_logging import RedactingLogger

    conf = runpy.run_path(str(Path(django_settings.BASE_DIR) / "gunicorn.conf.py"))
    assert conf["logger_class"] == "portal.core.gunicorn_logging.RedactingLogger"
    cfg = Config()
    cfg.set("accesslog", None)
    logger = RedactingLogger(cfg)
    path = f"/kyc/i/{TOKEN_HEAVY}/"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path + "?lang=de",
        "PATH_INFO": path,
        "QUERY_STRING": "lang=de",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": f"https://portal.example/accounts/invitations/{TOKEN_HEAVY}/",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("Content-Type", "text/html")])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    line = cfg.access_log_format % logger.atoms_wrapper_class(atoms)
    assert TOKEN_HEAVY not in line and TOKEN_HEAVY not in repr(atoms)
    assert '"GET /kyc/i/[redacted]/?lang=de HTTP/1.1" 200' in line
    # Other routes are logged as they are.
    plain = logger.atoms(response, request, {**environ, "RAW_URI": "/v1/me", "HTTP_REFERER": "-"}, timedelta(0))
    assert plain["r"] == "GET /v1/me HTTP/1.1"


def test_the_token_routes_are_the_redacted_ones():
    assert is_token_link(reverse("kyc-public:upload", kwargs={"token": "abc"}))
    assert is_token_link(reverse("accounts:invitation_accept", kwargs={"token": "abc"}))
    assert redact_token_links("see /kyc/i/abc-_9/ and /kyc/buyers/x/") == "see /kyc/i/[redacted]/ and /kyc/buyers/x/"


# Celery task arguments ------------------------------------------------------------------------------------


def test_the_email_task_gets_the_invitation_id_only(buyer, django_capture_on_commit_callbacks):
    with (
        mock.patch("portal.kyc.tasks.invitation_send_email.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        invitation, token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    delay.assert_called_once_with(str(invitation.pk))
    with (
        mock.patch("portal.kyc.tasks.invitation_send_email.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        _again, new_token = services.invitation_resend(actor=Actor.system(), invitation=invitation)
    delay.assert_called_once_with(str(invitation.pk))
    assert token not in repr(delay.call_args) and new_token not in repr(delay.call_args)


def test_the_task_rebuilds_the_link_and_mails_it(buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    assert f"/kyc/i/{token}/" in mail.outbox[-1].body
    stored = str(SelfServiceInvitation.objects.filter(pk=invitation.pk).values().get())
    assert token not in stored


def test_the_link_survives_a_secret_key_rotation(buyer, settings, django_capture_on_commit_callbacks):
    with mock.patch("portal.kyc.tasks.invitation_send_email.delay"), django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    from portal.kyc import tasks

    tasks.invitation_send_email(str(invitation.pk))
    assert f"/kyc/i/{token}/" in mail.outbox[-1].body
    settings.SECRET_KEY_FALLBACKS = []
    count = len(mail.outbox)
    assert services.invitation_send_email(invitation_id=invitation.pk) is False  # cannot rebuild it: not sent
    assert len(mail.outbox) == count


def test_a_task_queued_before_the_upgrade_still_sends(buyer, django_capture_on_commit_callbacks):
    from portal.kyc import tasks

    with mock.patch("portal.kyc.tasks.invitation_send_email.delay"), django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    tasks.invitation_send_email(str(invitation.pk), "the-old-argument")
    assert f"/kyc/i/{token}/" in mail.outbox[-1].body


# Response headers -----------------------------------------------------------------------------------------


def _assert_private(response):
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_every_public_upload_response_is_no_store_no_referrer(client, invitation_and_token, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.kyc.conftest import PDF_BYTES

    invitation, token = invitation_and_token
    _assert_private(client.get(f"/kyc/i/{token}/"))
    _assert_private(client.get(f"/kyc/i/{token}/", HTTP_HX_REQUEST="true"))
    _assert_private(client.post(f"/kyc/i/{token}/", {"type": "OTHER", "file": SimpleUploadedFile("a.pdf", PDF_BYTES)}))
    _assert_private(client.post(f"/kyc/i/{token}/", {"type": "OTHER"}))  # 422
    _assert_private(client.get(f"/kyc/i/{TOKEN_HEAVY}/"))  # 404
    _assert_private(client.get(f"/kyc/i/{token}"))  # the slash redirect
    settings.KYC_PUBLIC_MISS_RATE = "1/minute"
    client.get("/kyc/i/guess/")
    limited = client.get(f"/kyc/i/{token}/")
    assert limited.status_code == 429
    _assert_private(limited)
    services.invitation_revoke(actor=Actor.system(), invitation=invitation)
    # Other pages keep the site-wide policy.
    assert client.get("/accounts/login/")["Referrer-Policy"] == "same-origin"


def test_member_invitation_pages_are_no_store_no_referrer(client, organization, admin_user):
    issued = org_services.invitation_create(
        actor=Actor(user=admin_user), organization=organization, email="new@example.com", role="viewer"
    )
    link = client.get(issued.url.removeprefix(django_settings.PORTAL_BASE_URL))
    assert link.status_code == 302 and link.url == reverse("accounts:invitation_join")
    _assert_private(link)
    # The form lives on the token-free join page, which posts with the site-wide policy (and a real Origin).
    page = client.get(link.url)
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
    posted = client.post(link.url, {"password1": "x", "password2": "y"})
    assert posted.status_code == 422 and posted["Referrer-Policy"] == "same-origin"
    _assert_private(client.get(f"/accounts/invitations/{TOKEN_HEAVY}/"))  # 404
    org_services.invitation_revoke(actor=Actor(user=admin_user), invitation=issued.invitation)
    gone = client.get(issued.url.removeprefix(django_settings.PORTAL_BASE_URL))
    assert gone.status_code == 410
    _assert_private(gone)
