"""A member invitation whose e-mail fails after the commit: no 500, the failure is kept, shown and resendable."""

import logging
import smtplib

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.urls import reverse

from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry
from portal.organizations.models import MemberInvitation
from tests.organizations.conftest import HTMX


def url(name, organization, **kwargs):
    return reverse(f"organizations:{name}", kwargs={"organization_id": organization.pk, **kwargs})


@pytest.fixture
def smtp_down(monkeypatch):
    def refuse(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    return monkeypatch


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("hx", [True, False])
def test_smtp_down_keeps_the_invitation_and_says_so(client, organization, admin_user, smtp_down, caplog, hx):
    caplog.set_level(logging.WARNING, logger="portal.organizations.services")
    client.force_login(admin_user)
    extra = HTMX if hx else {}
    response = client.post(
        url("invitation_create", organization), {"email": "new@example.com", "role": "operator"}, **extra
    )
    assert response.status_code == (200 if hx else 302)
    page = response.content.decode() if hx else client.get(response["Location"]).content.decode()
    assert "could not be sent" in page and "new@example.com" in page
    invitation = MemberInvitation.objects.get(email="new@example.com")
    assert invitation.send_error.startswith("SMTPServerDisconnected")
    assert (
        AuditEntry.objects.filter(
            action=AuditAction.MEMBER_INVITATION_SEND_FAILED, target_id=str(invitation.pk)
        ).count()
        == 1
    )
    assert "/invitations/" not in caplog.text and "accept" not in caplog.text  # the link is never logged

    smtp_down.undo()  # the mail server is back: a resend sends a new link and clears the failure
    resent = client.post(url("invitation_resend", organization, invitation_id=invitation.pk), **extra)
    assert resent.status_code == (200 if hx else 302)
    assert len(mail.outbox) == 1
    invitation.refresh_from_db()
    assert invitation.send_error == ""
    page = resent.content.decode() if hx else client.get(resent["Location"]).content.decode()
    assert "could not be sent" not in page
