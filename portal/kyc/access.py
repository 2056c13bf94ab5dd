"""Fetch-and-authorize for buyers, documents and invitations: another organization's object is a 404."""

from django.http import Http404

from portal.kyc.models import Buyer, KycDocument, SelfServiceInvitation
from portal.organizations.access import OrganizationAccess, access_organization
from portal.organizations.models import Membership


def access_buyer(*, user, organization_id, buyer_id, min_role: str = Membership.Role.VIEWER):
    """(OrganizationAccess, Buyer) for a portal user; 404 if the buyer is not in that organization."""
    access: OrganizationAccess = access_organization(user=user, organization_id=organization_id, min_role=min_role)
    buyer = (
        Buyer.objects.select_related("partner", "organization")
        .filter(organization=access.organization, pk=buyer_id)
        .first()
    )
    if buyer is None:
        raise Http404
    return access, buyer


def access_document(*, user, organization_id, buyer_id, document_id, min_role: str = Membership.Role.VIEWER):
    access, buyer = access_buyer(user=user, organization_id=organization_id, buyer_id=buyer_id, min_role=min_role)
    document = KycDocument.objects.filter(buyer=buyer, pk=document_id).first()
    if document is None:
        raise Http404
    return access, buyer, document


def access_invitation(*, user, organization_id, buyer_id, invitation_id, min_role: str = Membership.Role.VIEWER):
    access, buyer = access_buyer(user=user, organization_id=organization_id, buyer_id=buyer_id, min_role=min_role)
    invitation = (
        SelfServiceInvitation.objects.select_related("buyer__partner", "organization")
        .filter(buyer=buyer, pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise Http404
    return access, buyer, invitation


def api_buyer(*, organization, partner, buyer_id) -> Buyer:
    """For /v1: the buyer of this organization and authorized partner, else 404 not-found."""
    buyer = (
        Buyer.objects.select_related("partner", "organization")
        .filter(organization=organization, partner=partner, pk=buyer_id)
        .first()
    )
    if buyer is None:
        raise Http404
    return buyer


def api_document(*, buyer: Buyer, document_id) -> KycDocument:
    document = KycDocument.objects.filter(buyer=buyer, pk=document_id).first()
    if document is None:
        raise Http404
    return document


def api_invitation(*, buyer: Buyer, invitation_id) -> SelfServiceInvitation:
    invitation = (
        SelfServiceInvitation.objects.select_related("buyer__partner", "organization")
        .filter(buyer=buyer, pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise Http404
    return invitation
