"""KYC rules in one place: which documents each level requires, size and count limits.

What an uploaded file is (sniffing, structure checks, safe extensions) is portal/kyc/file_types.py.
"""

from django.conf import settings

from portal.kyc.models import DocumentType, KycLevel

REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    KycLevel.A: (DocumentType.TRADE_REGISTER_EXTRACT, DocumentType.ID_DOCUMENT),
    KycLevel.B: (
        DocumentType.TRADE_REGISTER_EXTRACT,
        DocumentType.ID_DOCUMENT,
        DocumentType.PROOF_OF_ADDRESS,
        DocumentType.BENEFICIAL_OWNER_DECLARATION,
    ),
}
KYC_LEVEL_RANK = {KycLevel.A: 1, KycLevel.B: 2}

MAX_DOCUMENT_BYTES = 15 * 1024 * 1024
# A multipart body this much larger than the file limit cannot hold an acceptable file: refused unread.
MAX_UPLOAD_REQUEST_BYTES = MAX_DOCUMENT_BYTES + 1024 * 1024


def upload_request_too_large(request) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_REQUEST_BYTES
    except ValueError:
        return False


def max_documents_per_invitation() -> int:
    """How many documents one self-service link accepts (KYC_MAX_DOCUMENTS_PER_INVITATION)."""
    return settings.KYC_MAX_DOCUMENTS_PER_INVITATION
