"""KYC rules in one place: which documents each level requires, VAT normalization, file sniffing."""

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


# VAT prefixes that are not the ISO 3166 country code.


def sniff_media_type(head: bytes) -> str | None:
    """The media type from the file's first bytes: PDF, JPEG, PNG or HEIC; None for anything else."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    # ISO-BMFF: size(4) 'ftyp' brand(4); HEIC/HEIF brands.
    if (
        len(head) >= 12
        and head[4:8] == b"ftyp"
        and head[8:12]
        in {
            b"heic",
            b"heix",
            b"hevc",
            b"hevx",
            b"heim",
            b"heis",
            b"mif1",
            b"msf1",
        }
    ):
        return "image/heic"
    return None
