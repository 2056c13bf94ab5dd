import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from portal.core.audit import Actor
from portal.core.tokens import token_hash
from portal.kyc import services, tasks
from portal.kyc.models import SelfServiceInvitation
from tests.conftest import bearer_client_for
from tests.factories import pilot_organization
from tests.kyc.conftest import events

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/kyc/i/([A-Za-z0-9_\-]+)/")


@pytest.fixture
def inv_url(buyers_url, buyer):
    return f"{buyers_url}/{buyer.pk}/kyc/self-service-invitations"


def _token_from_last_mail():
    return LINK.search(mail.outbox[-1].body).group(1)


def test_create_sends_a_branded_email_after_commit(
    api, inv_url, buyer, organization, django_capture_on_commit_callbacks
):
    organization.brand_color = "#aa3300"
    organization.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(inv_url, {"locale": "de"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["email"] == buyer.email and data["status"] == "PENDING"
    invitation = SelfServiceInvitation.objects.get(pk=data["id"])
    assert invitation.status == "SENT" and invitation.send_count == 1
    assert abs(invitation.expires_at - invitation.created_at - timedelta(days=7)) < timedelta(minutes=1)
    message = mail.outbox[-1]
    assert message.to == [buyer.email]
    assert buyer.partner.legal_name in message.subject
    assert "Dokumente" in message.body  # German, the invitation's locale
    html = message.alternatives[0].content
    assert "#aa3300" in html and buyer.partner.legal_name in html
    token = _token_from_last_mail()
    assert len(token) >= 22 and invitation.token_hash == token_hash(token)
    assert token not in str(SelfServiceInvitation.objects.filter(pk=invitation.pk).values().get())
    sent = events("kyc.invitation.sent")
    assert len(sent) == 1 and sent[0].data["id"] == data["id"] and sent[0].data["version"] == invitation.version
    listed = api.get(inv_url).json()["data"]
    assert [i["id"] for i in listed] == [data["id"]] and listed[0]["status"] == "SENT"


def test_resend_invalidates_the_previous_link(api, inv_url, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        data = api.post(inv_url, {}, format="json").json()
    first_token = _token_from_last_mail()
    with django_capture_on_commit_callbacks(execute=True):
        resent = api.post(f"{inv_url}/{data['id']}/resend")
    assert resent.status_code == 200
    second_token = _token_from_last_mail()
    assert first_token != second_token and len(mail.outbox) == 2
    assert services.invitation_for_token(token=first_token) is None
    assert services.invitation_for_token(token=second_token).pk.hex == data["id"].replace("-", "")
    invitation = SelfServiceInvitation.objects.get(pk=data["id"])
    assert invitation.send_count == 2 and invitation.status == "SENT"


def test_revoke_and_inactive_refusals(api, inv_url):
    data = api.post(inv_url, {}, format="json").json()
    revoked = api.post(f"{inv_url}/{data['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "REVOKED"
    for action in ("revoke", "resend"):
        refused = api.post(f"{inv_url}/{data['id']}/{action}")
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("/invitation-not-active")


def test_new_invitation_revokes_the_active_one(api, inv_url):
    first = api.post(inv_url, {}, format="json").json()
    api.post(inv_url, {"email": "other@example.com"}, format="json")
    assert SelfServiceInvitation.objects.get(pk=first["id"]).status == "REVOKED"


def test_email_is_required_when_the_buyer_has_none(api, buyers_url, vat_numbers):
    buyer = api.post(buyers_url, {"vatNumber": vat_numbers[4], "name": "No Mail"}, format="json").json()
    response = api.post(f"{buyers_url}/{buyer['id']}/kyc/self-service-invitations", {}, format="json")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "email"


def test_smtp_failure_is_visible_on_the_invitation(api, inv_url, monkeypatch, django_capture_on_commit_callbacks):
    import smtplib

    from django.core.mail import EmailMultiAlternatives

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"buyer@example.com": (550, b"mailbox unavailable")})

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        data = api.post(inv_url, {}, format="json").json()
    listed = api.get(inv_url).json()["data"][0]
    assert listed["id"] == data["id"] and listed["status"] == "PENDING"
    assert "SMTPRecipientsRefused" in listed["lastError"] and listed["lastErrorAt"]
    assert events("kyc.invitation.sent") == []


def test_expiry_task_emits_expired(buyer):
    invitation, _token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        tasks.invitation_expire_due()
    invitation.refresh_from_db()
    assert invitation.status == "EXPIRED" and invitation.expired_at
    expired = events("kyc.invitation.expired")
    assert len(expired) == 1 and expired[0].data["id"] == str(invitation.pk)


def test_invitations_need_the_capability(db, vat_numbers):
    organization = pilot_organization(capabilities=("webhooks",))
    partner = organization.partner_authorizations.first().partner
    api, _ = bearer_client_for(organization)
    buyer = api.post(
        f"/v1/partners/{partner.pk}/buyers",
        {"vatNumber": vat_numbers[0], "name": "X", "email": "x@example.com"},
        format="json",
    ).json()
    url = f"/v1/partners/{partner.pk}/buyers/{buyer['id']}/kyc/self-service-invitations"
    for response in (api.get(url), api.post(url, {}, format="json")):
        assert response.status_code == 403
        assert response.json()["capability"] == "kycSelfServiceInvitations"
