"""Reads: buyer lists, the compliance rollup, documents and invitations."""

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from portal.core.times import rfc3339
from portal.kyc.filters import BuyerFilter
from portal.kyc.models import Buyer, ComplianceStatus, KycDocument, SelfServiceInvitation, ViesResult
from portal.kyc.policy import REQUIRED_DOCUMENTS
from portal.organizations.access import OrganizationAccess


def buyer_list(*, access: OrganizationAccess, filters=None) -> BuyerFilter:
    """The buyers of the accessed organization (and partner, when set), filtered by `filters` (query params)."""
    queryset = Buyer.objects.filter(organization=access.organization).select_related("partner")
    if access.partner is not None:
        queryset = queryset.filter(partner=access.partner)
    return BuyerFilter(filters, queryset=queryset)


def document_current_by_type(*, buyer: Buyer) -> dict[str, KycDocument]:
    """The latest ACTIVE document of each type: the one that counts."""
    current: dict[str, KycDocument] = {}
    for document in buyer.documents.filter(status=KycDocument.Status.ACTIVE).order_by("-created_at", "-id"):
        current.setdefault(document.type, document)
    return current


@dataclass
class Rollup:
    buyer: Buyer
    status: str
    required: list[str]
    present: list[KycDocument] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        buyer = self.buyer
        return {
            "buyerId": str(buyer.pk),
            "sellerId": str(buyer.partner_id),
            "status": self.status,
            "viesResult": buyer.vies_result,
            "viesCheckedAt": rfc3339(buyer.vies_checked_at),
            "kycLevel": buyer.kyc_level,
            "requiredDocuments": list(self.required),
            "presentDocuments": [
                {"type": d.type, "documentId": str(d.pk), "uploadedAt": rfc3339(d.created_at)} for d in self.present
            ],
            "missingDocuments": list(self.missing),
            "version": buyer.version,
            "updatedAt": rfc3339(buyer.updated_at or timezone.now()),
        }


def compliance_status_for(*, vies_result: str, missing: list[str]) -> str:
    if vies_result == ViesResult.INVALID:
        return ComplianceStatus.NON_COMPLIANT
    if missing:
        return ComplianceStatus.INCOMPLETE
    if vies_result != ViesResult.VALID:
        return ComplianceStatus.PENDING_VERIFICATION
    return ComplianceStatus.COMPLIANT


def buyer_rollup(*, buyer: Buyer) -> Rollup:
    required = [str(t) for t in REQUIRED_DOCUMENTS[buyer.kyc_level]]
    current = document_current_by_type(buyer=buyer)
    present = [current[t] for t in required if t in current]
    missing = [t for t in required if t not in current]
    status = compliance_status_for(vies_result=buyer.vies_result, missing=missing)
    return Rollup(buyer=buyer, status=status, required=required, present=present, missing=missing)


def document_list(*, buyer: Buyer) -> QuerySet[KycDocument]:
    return buyer.documents.all().order_by("-created_at", "-id")


def document_history(*, buyer: Buyer) -> list[dict]:
    """Every document with whether it counts, is superseded by a newer ACTIVE one of its type, or archived."""
    current = document_current_by_type(buyer=buyer)
    rows = []
    for document in document_list(buyer=buyer):
        if document.status == KycDocument.Status.ARCHIVED:
            state = "archived"
        elif current.get(document.type) and current[document.type].pk == document.pk:
            state = "current"
        else:
            state = "superseded"
        rows.append({"document": document, "state": state})
    return rows


def invitation_list(*, buyer: Buyer) -> QuerySet[SelfServiceInvitation]:
    return buyer.invitations.all().order_by("-created_at", "-id")
