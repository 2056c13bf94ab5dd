import hashlib

import pytest

from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry
from portal.kyc.models import KycDocument
from portal.kyc.policy import MAX_DOCUMENT_BYTES
from tests.kyc.conftest import HEIC_BYTES as HEIC
from tests.kyc.conftest import JPEG_BYTES as JPEG
from tests.kyc.conftest import PDF_BYTES, PNG_BYTES, events, file_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def docs_url(buyers_url, buyer):
    return f"{buyers_url}/{buyer.pk}/kyc/documents"


def _post(api, url, content, doc_type="TRADE_REGISTER_EXTRACT", name="doc.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api.post(url, {"type": doc_type, "file": SimpleUploadedFile(name, content)}, format="multipart")


@pytest.mark.parametrize(
    ("content", "media_type"),
    [(PDF_BYTES, "application/pdf"), (PNG_BYTES, "image/png"), (JPEG, "image/jpeg"), (HEIC, "image/heic")],
)
def test_upload_sniffs_type_and_stores_sha256(api, docs_url, buyer, content, media_type):
    response = _post(api, docs_url, content, name="whatever.bin")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["contentType"] == media_type
    assert data["sha256"] == hashlib.sha256(content).hexdigest()
    assert data["status"] == "ACTIVE" and data["source"] == "API" and data["size"] == len(content)
    document = KycDocument.objects.get(pk=data["id"])
    with document.file.open("rb") as stored:
        assert stored.read() == content
    uploaded = events("kyc.document.uploaded")
    assert len(uploaded) == 1 and uploaded[0].data["id"] == data["id"] and uploaded[0].data["version"] == 2
    assert events("compliance.rollup.updated")[-1].data["presentDocuments"][0]["documentId"] == data["id"]
    assert AuditEntry.objects.filter(action=AuditAction.KYC_DOCUMENT_UPLOADED, target_id=data["id"]).exists()


def test_unsupported_content_is_415_whatever_the_name(api, docs_url):
    response = _post(api, docs_url, b"MZ\x90\x00 not a pdf", name="looks.pdf")
    assert response.status_code == 415
    assert response.json()["type"].endswith("/unsupported-media-type")
    assert KycDocument.objects.count() == 0 and events("kyc.document.uploaded") == []


def test_over_15_mib_is_413(api, docs_url):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = file_of(MAX_DOCUMENT_BYTES + 1).getvalue()
    response = api.post(
        docs_url, {"type": "ID_DOCUMENT", "file": SimpleUploadedFile("big.pdf", big)}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")
    exact = file_of(MAX_DOCUMENT_BYTES).getvalue()
    ok = api.post(docs_url, {"type": "ID_DOCUMENT", "file": SimpleUploadedFile("ok.pdf", exact)}, format="multipart")
    assert ok.status_code == 201
    assert KycDocument.objects.count() == 1


def test_bad_type_and_missing_file_are_validation_errors(api, docs_url):
    response = _post(api, docs_url, PDF_BYTES, doc_type="PASSPORT_SELFIE")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "type"
    missing = api.post(docs_url, {"type": "ID_DOCUMENT"}, format="multipart")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "file"


def test_append_only_latest_active_counts_and_archive(api, docs_url, buyers_url, buyer):
    first = _post(api, docs_url, PDF_BYTES).json()
    second = _post(api, docs_url, PDF_BYTES + b"v2").json()
    _post(api, docs_url, PDF_BYTES, doc_type="ID_DOCUMENT")
    rollup = api.get(f"{buyers_url}/{buyer.pk}/compliance").json()
    extract = next(d for d in rollup["presentDocuments"] if d["type"] == "TRADE_REGISTER_EXTRACT")
    assert extract["documentId"] == second["id"]
    assert rollup["missingDocuments"] == [] and rollup["status"] == "PENDING_VERIFICATION"
    # Immutable: anything but {"status": "ARCHIVED"} is refused.
    for body in ({"type": "ID_DOCUMENT"}, {"status": "ACTIVE"}, {"status": "ARCHIVED", "filename": "x"}, {}):
        refused = api.patch(f"{docs_url}/{second['id']}", body, format="json")
        assert refused.status_code == 409, body
        assert refused.json()["type"].endswith("/document-immutable")
    archived = api.patch(f"{docs_url}/{second['id']}", {"status": "ARCHIVED"}, format="json")
    assert archived.status_code == 200 and archived.json()["status"] == "ARCHIVED"
    assert archived.json()["archivedAt"]
    rollup = api.get(f"{buyers_url}/{buyer.pk}/compliance").json()
    extract = next(d for d in rollup["presentDocuments"] if d["type"] == "TRADE_REGISTER_EXTRACT")
    assert extract["documentId"] == first["id"]
    archived_events = events("kyc.document.archived")
    assert len(archived_events) == 1 and archived_events[0].data["version"] == rollup["version"]
    # Archiving again changes nothing.
    again = api.patch(f"{docs_url}/{second['id']}", {"status": "ARCHIVED"}, format="json")
    assert again.status_code == 200 and len(events("kyc.document.archived")) == 1
    listed = api.get(docs_url).json()["data"]
    assert [d["id"] for d in listed][1] == second["id"] and len(listed) == 3
    assert api.get(f"{docs_url}/{first['id']}").json()["status"] == "ACTIVE"


def test_documents_of_another_buyer_are_404(api, docs_url, buyers_url, vat_numbers):
    other = api.post(buyers_url, {"vatNumber": vat_numbers[3], "name": "Other"}, format="json").json()
    doc = _post(api, docs_url, PDF_BYTES).json()
    response = api.patch(f"{buyers_url}/{other['id']}/kyc/documents/{doc['id']}", {"status": "ARCHIVED"}, format="json")
    assert response.status_code == 404


def test_an_oversized_body_is_refused_before_it_is_parsed(api, docs_url):
    response = api.post(
        docs_url,
        data=b"x" * 10,
        content_type="multipart/form-data; boundary=zzz",
        CONTENT_LENGTH=str(MAX_DOCUMENT_BYTES + 2 * 1024 * 1024),
    )
    assert response.status_code == 413 and response.json()["type"].endswith("/payload-too-large")
