"""KYC rules in one place: which documents each level requires, size and count limits, which capability a
KYC level needs, and the VIES retry schedule.

What an uploaded file is (sniffing, structure checks, safe extensions) is portal/kyc/file_types.py.
"""

import random
from datetime import timedelta

from django.conf import settings

from portal.kyc.models import DocumentType, KycLevel
from portal.organizations.capabilities import CapabilitySlug

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


# Which capability a buyer at this KYC level needs: B (enhanced due diligence) is granted per organization.
LEVEL_CAPABILITIES: dict[str, str] = {KycLevel.B: CapabilitySlug.KYC_LEVEL_B}


def kyc_level_capability(level: str | None) -> str | None:
    """The capability a buyer at `level` needs (B needs kycLevelB), or None."""
    return LEVEL_CAPABILITIES.get(level) if isinstance(level, str) else None


# VIES schedule: a failed check is retried with exponential backoff (VIES_RETRY_BASE_SECONDS doubling up to
# VIES_RETRY_MAX_SECONDS, ±10 % jitter); after VIES_MAX_ATTEMPTS the rollup says UNKNOWN while retries go on,
# after VIES_GIVE_UP_ATTEMPTS they stop. A running check holds its claim for VIES_LEASE_SECONDS.


def vies_backoff(attempts: int) -> timedelta:
    base = settings.VIES_RETRY_BASE_SECONDS
    cap = settings.VIES_RETRY_MAX_SECONDS
    delay = min(cap, base * (2 ** max(attempts - 1, 0)))
    return timedelta(seconds=delay * random.uniform(0.9, 1.1))


def vies_lease() -> timedelta:
    return timedelta(seconds=settings.VIES_LEASE_SECONDS)


def vies_max_attempts() -> int:
    """Attempts after which a still-PENDING result becomes UNKNOWN (retries go on)."""
    return settings.VIES_MAX_ATTEMPTS


def vies_give_up_attempts() -> int:
    """Attempts after which no further check is scheduled."""
    return settings.VIES_GIVE_UP_ATTEMPTS
