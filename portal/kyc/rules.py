"""KYC rules in one place: which documents each level requires, VAT normalization, file sniffing."""

import re

from django.core.exceptions import ValidationError
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumValidationError

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
_VAT_PREFIX_TO_COUNTRY = {"EL": "GR", "XI": "GB"}


def vat_normalize(raw: str, *, country_code: str | None = None, field: str = "vatNumber") -> tuple[str, str]:
    """Return (normalized VAT number with its prefix, ISO country code) or raise ValidationError on `field`."""
    value = re.sub(r"[\s.\-/:,]", "", raw or "").upper()
    if value and value[:2].isdigit() and country_code:
        prefix = "EL" if country_code.upper() == "GR" else country_code.upper()
        value = prefix + value
    if not value:
        raise ValidationError({field: ["This field is required."]})
    try:
        value = eu_vat.validate(value)
    except StdnumValidationError as exc:
        raise ValidationError({field: [f"Not a valid EU VAT number: {exc.message}"]}) from exc
    prefix = value[:2]
    country = _VAT_PREFIX_TO_COUNTRY.get(prefix, prefix)
    if country_code and country_code.upper() not in (country, prefix):
        raise ValidationError({"countryCode": [f"Does not match the VAT number's country ({country})."]})
    return value, country


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
