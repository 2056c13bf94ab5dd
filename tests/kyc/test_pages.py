import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.core.audit import Actor
from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry
from portal.kyc import services
from portal.kyc.models import Buyer, SelfServiceInvitation
from tests.kyc.conftest import PDF_BYTES, events, valid_vat_numbers

pytestmark = pytest.mark.django_db


def list_url(organization):
    return reverse("kyc:buyer_list", kwargs={"organization_id": organization.pk})


def detail_url(buyer, name="kyc:buyer_detail", **extra):
    return reverse(name, kwargs={"organization_id": buyer.organization_id, "buyer_id": buyer.pk, **extra})


@pytest.fixture
def many_buyers(organization, partner):
    return [
        services.buyer_upsert(
            actor=Actor.system(), organization=organization, partner=partner, vat_number=vat, name=f"Buyer {i}"
        )[0]
        for i, vat in enumerate(valid_vat_numbers(8, start=200000000))
    ]


def test_buyer_list_with_badges_filters_and_pinned_queries(
    client, viewer_user, organization, many_buyers, django_assert_max_num_queries
):
    client.force_login(viewer_user)
    Buyer.objects.filter(pk=many_buyers[0].pk).update(vies_result="VALID")
    with django_assert_max_num_queries(12):
        response = client.get(list_url(organization))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Buyer 7" in html and "badge" in html and 'aria-current="page"' in html
    assert "Add a buyer" not in html  # viewers read only
    partial = client.get(list_url(organization), {"viesResult": "VALID"}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and "Buyer 0" in body and "Buyer 3" not in body
    searched = client.get(list_url(organization), {"q": "Buyer 5"}).content.decode()
    assert "Buyer 5" in searched and "Buyer 6" not in searched


def test_operator_creates_a_buyer_from_the_page(client, operator_user, organization, partner):
    client.force_login(operator_user)
    vat = valid_vat_numbers(1, start=300000000)[0]
    assert "Add a buyer" in client.get(list_url(organization)).content.decode()
    bad = client.post(
        reverse("kyc:buyer_create", kwargs={"organization_id": organization.pk}),
        {"partner": partner.pk, "vat_number": "DE000", "name": "X", "kyc_level": "A"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 200 and "not a valid EU VAT number" in bad.content.decode()
    ok = client.post(
        reverse("kyc:buyer_create", kwargs={"organization_id": organization.pk}),
        {"partner": partner.pk, "vat_number": vat, "name": "Page GmbH", "kyc_level": "A"},
        HTTP_HX_REQUEST="true",
    )
    buyer = Buyer.objects.get(vat_number=vat)
    assert ok.status_code == 200 and ok["HX-Redirect"] == detail_url(buyer)
    assert len(events("buyer.created")) == 1


def test_detail_shows_rollup_documents_and_polls_vies(client, viewer_user, buyer):
    services.document_upload(
        actor=Actor.system(),
        buyer=buyer,
        document_type="ID_DOCUMENT",
        upload=SimpleUploadedFile("a.pdf", PDF_BYTES),
        source="API",
    )
    services.document_upload(
        actor=Actor.system(),
        buyer=buyer,
        document_type="ID_DOCUMENT",
        upload=SimpleUploadedFile("b.pdf", PDF_BYTES),
        source="API",
    )
    client.force_login(viewer_user)
    html = client.get(detail_url(buyer)).content.decode()
    assert "a.pdf" in html and "b.pdf" in html and "Superseded" in html and "Counts" in html
    assert "Trade register extract" in html and "Missing" in html
    assert 'hx-trigger="every 3s"' in html  # VIES pending: polling
    assert "Archive" not in html and "Send invitation" not in html  # viewer
    pending = client.get(detail_url(buyer, "kyc:buyer_vies"), HTTP_HX_REQUEST="true")
    assert pending.status_code == 200 and "every 3s" in pending.content.decode()
    services.buyer_vies_apply(buyer_id=buyer.pk, vat_number=buyer.vat_number, verdict="VALID")
    final = client.get(detail_url(buyer, "kyc:buyer_vies"), HTTP_HX_REQUEST="true")
    assert final.status_code == 286  # HttpResponseStopPolling
    assert "Valid" in final.content.decode() and "every 3s" not in final.content.decode()
    assert 'hx-swap-oob="true"' in final.content.decode()


def test_viewer_cannot_act_and_outsider_sees_nothing(client, viewer_user, outsider_user, buyer):
    document = services.document_upload(
        actor=Actor.system(),
        buyer=buyer,
        document_type="ID_DOCUMENT",
        upload=SimpleUploadedFile("a.pdf", PDF_BYTES),
        source="API",
    )
    client.force_login(viewer_user)
    assert client.post(detail_url(buyer, "kyc:invitation_send"), {"expires_in_days": 7}).status_code == 403
    assert client.post(detail_url(buyer, "kyc:document_archive", document_id=document.pk)).status_code == 403
    assert client.post(detail_url(buyer, "kyc:buyer_upgrade")).status_code == 403
    client.force_login(outsider_user)
    assert client.get(list_url(buyer.organization)).status_code == 404
    assert client.get(detail_url(buyer)).status_code == 404
    assert client.get(detail_url(buyer, "kyc:document_download", document_id=document.pk)).status_code == 404


def test_download_is_for_members_and_audited(client, viewer_user, buyer):
    document = services.document_upload(
        actor=Actor.system(),
        buyer=buyer,
        document_type="ID_DOCUMENT",
        upload=SimpleUploadedFile("a.pdf", PDF_BYTES),
        source="API",
    )
    url = detail_url(buyer, "kyc:document_download", document_id=document.pk)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(viewer_user)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"].startswith("attachment")
    assert AuditEntry.objects.filter(action=AuditAction.KYC_DOCUMENT_DOWNLOADED, target_id=str(document.pk)).exists()


def test_operator_archives_inline(client, operator_user, buyer):
    document = services.document_upload(
        actor=Actor.system(),
        buyer=buyer,
        document_type="ID_DOCUMENT",
        upload=SimpleUploadedFile("a.pdf", PDF_BYTES),
        source="API",
    )
    client.force_login(operator_user)
    response = client.post(detail_url(buyer, "kyc:document_archive", document_id=document.pk), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="documents"' in html and 'id="rollup" hx-swap-oob="true"' in html
    assert "Archived" in html and len(events("kyc.document.archived")) == 1


def test_operator_sends_resends_and_revokes_inline(client, operator_user, buyer, django_capture_on_commit_callbacks):
    client.force_login(operator_user)
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            detail_url(buyer, "kyc:invitation_send"),
            {"email": "kyc@buyer.example", "locale": "de", "expires_in_days": 7},
            HTTP_HX_REQUEST="true",
        )
    assert sent.status_code == 200 and 'id="invitations"' in sent.content.decode()
    invitation = SelfServiceInvitation.objects.get()
    assert mail.outbox[-1].to == ["kyc@buyer.example"] and invitation.status == "SENT"
    rows = client.get(detail_url(buyer, "kyc:buyer_invitations"), HTTP_HX_REQUEST="true")
    assert rows.status_code == 200 and "every 5s" in rows.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(detail_url(buyer, "kyc:invitation_resend", invitation_id=invitation.pk), HTTP_HX_REQUEST="true")
    assert len(mail.outbox) == 2
    revoked = client.post(
        detail_url(buyer, "kyc:invitation_revoke", invitation_id=invitation.pk), HTTP_HX_REQUEST="true"
    )
    assert "Revoked" in revoked.content.decode()
    again = client.post(detail_url(buyer, "kyc:invitation_revoke", invitation_id=invitation.pk), HTTP_HX_REQUEST="true")
    assert "revoked; create a new one" in again.content.decode()  # flash, no 500
    final_rows = client.get(detail_url(buyer, "kyc:buyer_invitations"), HTTP_HX_REQUEST="true")
    assert final_rows.status_code == 286
    bad = client.post(
        detail_url(buyer, "kyc:invitation_send"), {"email": "nope", "expires_in_days": 7}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 200 and "valid email" in bad.content.decode().lower()


def test_operator_upgrades_level(client, operator_user, buyer):
    client.force_login(operator_user)
    response = client.post(detail_url(buyer, "kyc:buyer_upgrade"))
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.kyc_level == "B" and len(events("kyc.level.upgraded")) == 1


def test_another_organizations_buyer_under_my_organization_is_404(client, admin_user, organization, vat_numbers):
    from tests.factories import pilot_organization

    other = pilot_organization()
    theirs, _ = services.buyer_upsert(
        actor=Actor.system(),
        organization=other,
        partner=other.partner_authorizations.first().partner,
        vat_number=vat_numbers[0],
        name="Theirs",
    )
    client.force_login(admin_user)
    url = reverse("kyc:buyer_detail", kwargs={"organization_id": organization.pk, "buyer_id": theirs.pk})
    assert client.get(url).status_code == 404
    assert client.post(url.replace("/buyers/", "/buyers/") + "upgrade").status_code == 404
    assert "Theirs" not in client.get(list_url(organization)).content.decode()
