"""Fetch-and-authorize for buyers, documents and invitations: another organization's (or, for an API caller,
another partner's) object is a 404. The pages and /v1 call the same helpers with an OrganizationAccess."""

from django.core.exceptions import ValidationError
from django.http import Http404

from portal.kyc.models import Buyer, KycDocument, SelfServiceInvitation
from portal.organizations.access import OrganizationAccess


def _buyer_scope(access: OrganizationAccess, prefix: str = "") -> dict:
    scope = {f"{prefix}organization": access.organization}
    if access.partner is not None:
        scope[f"{prefix}partner"] = access.partner
    return scope


def _first(queryset):
    try:
        found = queryset.first()
    except (ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if found is None:
        raise Http404
    return found


def access_buyer(*, access: OrganizationAccess, buyer_id) -> Buyer:
    """The buyer of the accessed organization (and partner, on /v1); 404 otherwise."""
    return _first(Buyer.objects.select_related("partner", "organization").filter(pk=buyer_id, **_buyer_scope(access)))


def access_kyc_document(*, access: OrganizationAccess, buyer_id, document_id) -> KycDocument:
    return _first(
        KycDocument.objects.select_related("buyer__partner", "buyer__organization").filter(
            pk=document_id, buyer_id=buyer_id, **_buyer_scope(access, "buyer__")
        )
    )


def access_self_service_invitation(*, access: OrganizationAccess, buyer_id, invitation_id) -> SelfServiceInvitation:
    return _first(
        SelfServiceInvitation.objects.select_related("buyer__partner", "buyer__organization", "organization").filter(
            pk=invitation_id, buyer_id=buyer_id, **_buyer_scope(access, "buyer__")
        )
    )
