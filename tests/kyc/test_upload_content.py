"""KYC uploads are stored under the sniffed type's extension, must parse as that type, and a link takes at
most KYC_MAX_DOCUMENTS_PER_INVITATION documents (#10, item 4)."""

import io
import struct
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.core.audit import Actor
from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry
from portal.kyc import services
from portal.kyc.file_types import ContentMismatch, download_filename, verify_content
from portal.kyc.models import KycDocument
from tests.kyc.conftest import HEIC_BYTES, JPEG_BYTES, PDF_BYTES, PNG_BYTES, events, pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>\n"


def _png_with_bad_crc() -> bytes:
    content = bytearray(PNG_BYTES)
    content[-20] ^= 0xFF  # a byte inside the IDAT data
    return bytes(content)


def _heic_box_past_the_end() -> bytes:
    return HEIC_BYTES[:-16] + struct.pack(">I", 64) + b"mdat" + b"\x00" * 8  # claims 64 bytes, has 16


MISMATCHES = {
    "pdf-header-then-html": b"%PDF-1.7\n" + HTML,
    "pdf-header-then-html-with-eof": b"%PDF-1.4\n" + HTML + b"%%EOF\n",
    "pdf-truncated": PDF_BYTES[: len(PDF_BYTES) // 2],
    "pdf-startxref-nowhere": PDF_BYTES.replace(b"startxref\n", b"startxref\n9"),
    "pdf-no-root": PDF_BYTES.replace(b"/Root 1 0 R", b"/Info 1 0 R"),
    "png-header-then-html": b"\x89PNG\r\n\x1a\n" + HTML,
    "png-bad-crc": _png_with_bad_crc(),
    "png-truncated": PNG_BYTES[:-12],
    "jpeg-header-then-html": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + HTML,
    "jpeg-truncated": JPEG_BYTES[:-2],
    "heic-header-then-html": HEIC_BYTES[:24] + HTML,
    "heic-box-past-the-end": _heic_box_past_the_end(),
}


@pytest.fixture
def docs_url(buyers_url, buyer):
    return f"{buyers_url}/{buyer.pk}/kyc/documents"


def _stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("name", list(MISMATCHES))
def test_api_refuses_content_that_does_not_parse_as_its_type(api, docs_url, settings, name):
    content = MISMATCHES[name]
    response = api.post(docs_url, {"type": "OTHER", "file": SimpleUploadedFile("doc.pdf", content)}, format="multipart")
    assert response.status_code == 422, response.content
    body = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert body["type"].endswith("/document-content-invalid")
    assert "is not a readable one" in body["detail"]
    assert KycDocument.objects.count() == 0 and events("kyc.document.uploaded") == []
    assert _stored_files(settings) == []  # nothing half-written


def test_the_checks_accept_real_files_of_each_type():
    for content, media_type in (
        (PDF_BYTES, "application/pdf"),
        (pdf_bytes(padding=70_000), "application/pdf"),
        (PNG_BYTES, "image/png"),
        (png_bytes(300, 200), "image/png"),
        (JPEG_BYTES, "image/jpeg"),
        (HEIC_BYTES, "image/heic"),
    ):
        verify_content(io.BytesIO(content), media_type, len(content))
    with pytest.raises(ContentMismatch, match="%%EOF"):
        verify_content(io.BytesIO(MISMATCHES["pdf-header-then-html"]), "application/pdf", 80)


def test_a_pdf_with_a_cross_reference_stream_is_accepted():
    head = b"%PDF-1.5\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    offset = len(head)
    xref = b"2 0 obj\n<< /Type /XRef /Size 3 /Root 1 0 R /W [1 2 1] /Length 4 >>\nstream\n\x00\x00\x00\x00\nendstream\nendobj\n"
    content = head + xref + f"startxref\n{offset}\n%%EOF\n".encode()
    verify_content(io.BytesIO(content), "application/pdf", len(content))


@pytest.mark.parametrize(
    ("content", "extension"),
    [(PDF_BYTES, ".pdf"), (PNG_BYTES, ".png"), (JPEG_BYTES, ".jpg"), (HEIC_BYTES, ".heic")],
)
def test_stored_under_the_sniffed_extension_not_the_uploaded_name(
    api, docs_url, client, viewer_user, buyer, content, extension
):
    response = api.post(
        docs_url, {"type": "OTHER", "file": SimpleUploadedFile("invoice.html", content)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    document = KycDocument.objects.get(pk=response.json()["id"])
    assert document.file.name == f"kyc/{buyer.organization_id}/{buyer.pk}/{document.pk}{extension}"
    assert document.filename == "invoice.html"  # the uploaded name: display only
    client.force_login(viewer_user)
    url = reverse(
        "kyc:document_download",
        kwargs={"organization_id": buyer.organization_id, "buyer_id": buyer.pk, "document_id": document.pk},
    )
    download = client.get(url)
    assert download["Content-Disposition"] == f'attachment; filename="invoice{extension}"'
    assert download["Content-Type"] == document.content_type


def test_download_names():
    assert download_filename("scan.JPEG", "image/jpeg") == "scan.jpg"
    assert download_filename("report", "application/pdf") == "report.pdf"
    assert download_filename(".pdf", "application/pdf") == "document.pdf"
    assert download_filename("a.b.exe", "image/png") == "a.b.png"


# The buyer's page ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    settings.RATELIMIT_STORAGE_URI = "memory://"
    from portal.kyc.ratelimit import public_link_limits_reset

    public_link_limits_reset()


@pytest.fixture
def link(buyer):
    invitation, token = services.invitation_create(actor=Actor.system(), buyer=buyer, locale="")
    return invitation, f"/kyc/i/{token}/"


def test_public_page_refuses_a_pdf_header_in_front_of_html(client, link, settings):
    _invitation, url = link
    upload = SimpleUploadedFile("extract.pdf", MISMATCHES["pdf-header-then-html"])
    page = client.post(url, {"type": "TRADE_REGISTER_EXTRACT", "file": upload})
    assert page.status_code == 422
    assert "is damaged or is not really a PDF, JPEG, PNG or HEIC file" in page.content.decode()
    fragment = client.post(
        url,
        {"type": "TRADE_REGISTER_EXTRACT", "file": SimpleUploadedFile("x.pdf", MISMATCHES["pdf-truncated"])},
        HTTP_HX_REQUEST="true",
    )
    assert fragment.status_code == 200 and 'id="progress"' in fragment.content.decode()
    assert "is damaged or is not really" in fragment.content.decode()
    german = client.post(
        url + "?lang=de", {"type": "OTHER", "file": SimpleUploadedFile("x.png", MISMATCHES["png-bad-crc"])}
    )
    assert "beschädigt" in german.content.decode()
    assert KycDocument.objects.count() == 0 and _stored_files(settings) == []


def test_a_link_takes_at_most_the_configured_number_of_documents(client, link, settings):
    settings.KYC_MAX_DOCUMENTS_PER_INVITATION = 2
    invitation, url = link
    for index in range(2):
        ok = client.post(url, {"type": "OTHER", "file": SimpleUploadedFile(f"{index}.pdf", PDF_BYTES)})
        assert ok.status_code == 200
    refused = client.post(url, {"type": "ID_DOCUMENT", "file": SimpleUploadedFile("3.pdf", PDF_BYTES)})
    assert refused.status_code == 409
    html = refused.content.decode()
    assert "You have sent the maximum of 2 documents through this link" in html
    assert buyer_partner_name(invitation) in html
    fragment = client.post(
        url, {"type": "ID_DOCUMENT", "file": SimpleUploadedFile("4.pdf", PDF_BYTES)}, HTTP_HX_REQUEST="true"
    )
    assert fragment.status_code == 200 and "maximum of 2 documents" in fragment.content.decode()
    assert KycDocument.objects.filter(invitation=invitation).count() == 2
    assert len(events("kyc.document.uploaded")) == 2
    assert AuditEntry.objects.filter(action=AuditAction.KYC_DOCUMENT_UPLOADED).count() == 2
    assert len(_stored_files(settings)) == 2
    # The page says so up front and offers no upload form any more.
    page = client.get(url).content.decode()
    assert "maximum of 2 documents" in page and "data-upload-form" not in page


def test_the_limit_is_checked_again_under_the_buyer_lock(buyer, settings, monkeypatch):
    """An upload that lands between the early check and the transaction cannot push the link past its limit."""
    from portal.core.problems import Problem

    settings.KYC_MAX_DOCUMENTS_PER_INVITATION = 1
    invitation, _token = services.invitation_create(actor=Actor.system(), buyer=buyer)
    real_check = services._require_invitation_capacity
    racing = []

    def check_then_race(invitation):
        real_check(invitation)
        if not racing:  # the first (early) check passed: another request's upload completes now
            racing.append(True)
            services.self_service_upload(
                invitation=invitation, document_type="OTHER", upload=SimpleUploadedFile("b.pdf", PDF_BYTES)
            )

    monkeypatch.setattr(services, "_require_invitation_capacity", check_then_race)
    with pytest.raises(Problem) as refused:
        services.self_service_upload(
            invitation=invitation, document_type="OTHER", upload=SimpleUploadedFile("a.pdf", PDF_BYTES)
        )
    assert refused.value.problem.slug == "invitation-document-limit" and refused.value.status == 409
    assert refused.value.extensions == {"limit": 1}
    assert list(KycDocument.objects.values_list("filename", flat=True)) == ["b.pdf"]
    assert len(_stored_files(settings)) == 1  # the refused upload's file was removed again


def buyer_partner_name(invitation) -> str:
    return invitation.buyer.partner.legal_name
