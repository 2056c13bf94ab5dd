from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from portal.core.audit import Actor
from portal.kyc import services
from portal.kyc.models import KycDocument, SelfServiceInvitation
from portal.kyc.policy import MAX_DOCUMENT_BYTES
from tests.kyc.conftest import PDF_BYTES, events

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    settings.RATELIMIT_STORAGE_URI = "memory://"
    from portal.kyc.ratelimit import limiter

    limiter().storage.reset()


@pytest.fixture
def invitation_and_token(buyer):
    return services.invitation_create(actor=Actor.system(), buyer=buyer, locale="")


def url(token):
    return f"/kyc/i/{token}/"


def test_valid_link_shows_the_branded_checklist_and_marks_opened(client, invitation_and_token, buyer):
    invitation, token = invitation_and_token
    buyer.organization.brand_color = "#123456"
    buyer.organization.save()
    response = client.get(url(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert buyer.partner.legal_name in html and "--brand: #123456" in html
    assert "Trade register extract" in html and "ID document of the legal representative" in html
    assert 'hx-encoding="multipart/form-data"' in html and "data-upload-progress" in html
    invitation.refresh_from_db()
    assert invitation.status == "OPENED" and invitation.opened_at
    client.get(url(token))
    assert len(events("kyc.invitation.opened")) == 1


def test_german_from_browser_or_invitation(client, buyer):
    _inv, token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    german = client.get(url(token), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert "Handelsregisterauszug" in german.content.decode() and 'lang="de"' in german.content.decode()
    _inv, token = services.invitation_create(actor=Actor.system(), buyer=buyer, locale="de")
    assert "Benötigte Dokumente" in client.get(url(token), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Required documents" in client.get(url(token) + "?lang=en").content.decode()


def test_buyer_upload_flows_like_an_api_upload(client, invitation_and_token, buyer):
    invitation, token = invitation_and_token
    response = client.post(
        url(token),
        {"type": "TRADE_REGISTER_EXTRACT", "file": SimpleUploadedFile("hr.pdf", PDF_BYTES)},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="progress"' in html and "<html" not in html and "hr.pdf" in html
    document = KycDocument.objects.get()
    assert document.source == "SELF_SERVICE" and document.invitation_id == invitation.pk
    uploaded = events("kyc.document.uploaded")
    assert len(uploaded) == 1 and uploaded[0].data["source"] == "SELF_SERVICE"
    assert events("compliance.rollup.updated")[-1].data["presentDocuments"][0]["type"] == "TRADE_REGISTER_EXTRACT"
    # The last required document completes the invitation; the link is then used up.
    client.post(url(token), {"type": "ID_DOCUMENT", "file": SimpleUploadedFile("id.pdf", PDF_BYTES)})
    invitation.refresh_from_db()
    assert invitation.status == "COMPLETED"
    assert len(events("kyc.invitation.completed")) == 1
    done = client.get(url(token))
    assert done.status_code == 200 and "All documents received" in done.content.decode()
    late = client.post(url(token), {"type": "OTHER", "file": SimpleUploadedFile("x.pdf", PDF_BYTES)})
    assert late.status_code == 200 and KycDocument.objects.count() == 2


def test_upload_errors_are_shown_inline(client, invitation_and_token):
    _inv, token = invitation_and_token
    bad = client.post(
        url(token), {"type": "ID_DOCUMENT", "file": SimpleUploadedFile("x.pdf", b"GIF89a...")}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 200 and "PDF, JPEG, PNG or HEIC" in bad.content.decode()
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * MAX_DOCUMENT_BYTES)
    too_big = client.post(url(token), {"type": "ID_DOCUMENT", "file": big})
    assert too_big.status_code == 413 and "larger than 15 MiB" in too_big.content.decode()
    no_file = client.post(url(token), {"type": "ID_DOCUMENT"})
    assert no_file.status_code == 422
    assert KycDocument.objects.count() == 0


def test_expired_link(client, invitation_and_token):
    invitation, token = invitation_and_token
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.get(url(token))
        assert response.status_code == 410 and "expired" in response.content.decode()
        posted = client.post(url(token), {"type": "OTHER", "file": SimpleUploadedFile("x.pdf", PDF_BYTES)})
        assert posted.status_code == 410
    invitation.refresh_from_db()
    assert invitation.status == "EXPIRED" and len(events("kyc.invitation.expired")) == 1
    assert KycDocument.objects.count() == 0


def test_revoked_and_replaced_links(client, buyer):
    first, first_token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    services.invitation_revoke(actor=Actor.system(), invitation=first)
    response = client.get(url(first_token))
    assert response.status_code == 410 and "no longer valid" in response.content.decode()
    second, second_token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    _again, third_token = services.invitation_resend(actor=Actor.system(), invitation=second)
    assert client.get(url(second_token)).status_code == 404  # the old link of a resent invitation is gone
    assert client.get(url(third_token)).status_code == 200
    assert SelfServiceInvitation.objects.get(pk=second.pk).status == "OPENED"


@pytest.mark.parametrize("token", ["forged", "A" * 43, "x" * 300, "tok.en%27;--"])
def test_forged_links_get_a_clear_page(client, token, buyer):
    response = client.get(f"/kyc/i/{token}/")
    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_attempts_are_rate_limited_per_ip(client, invitation_and_token, settings):
    settings.KYC_PUBLIC_MISS_RATE = "3/minute"
    _inv, token = invitation_and_token
    for i in range(3):
        assert client.get(url(f"guess{i}")).status_code == 404
    blocked = client.get(url("guess4"))
    assert blocked.status_code == 429 and blocked["Retry-After"]
    assert "Too many attempts" in blocked.content.decode()
    assert client.get(url(token)).status_code == 429  # the same IP is blocked for a while
    other_ip = client.get(url(token), REMOTE_ADDR="10.9.8.7")
    assert other_ip.status_code == 200
