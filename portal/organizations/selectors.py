from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from portal.organizations.models import (
    CapabilityGrant,
    DataProcessingAgreement,
    IntegrationOrganization,
    MemberInvitation,
    Membership,
    Partner,
    PartnerAuthorization,
)


def organization_list_for_user(*, user) -> QuerySet[IntegrationOrganization]:
    if user.is_support:
        return IntegrationOrganization.objects.all()
    return IntegrationOrganization.objects.filter(memberships__user=user).distinct()


def organization_active_dpa(*, organization: IntegrationOrganization) -> DataProcessingAgreement | None:
    return organization.dpas.filter(revoked_at__isnull=True).first()


def organization_capabilities(*, organization: IntegrationOrganization) -> set[str]:
    return set(
        CapabilityGrant.objects.filter(organization=organization, revoked_at__isnull=True).values_list(
            "capability", flat=True
        )
    )


def organization_partners(*, organization: IntegrationOrganization) -> QuerySet[Partner]:
    """The partners the organization is currently authorized to act for."""
    return Partner.objects.filter(
        authorizations__organization=organization, authorizations__revoked_at__isnull=True
    ).distinct()


def organization_list(*, user, filters: dict | None = None) -> QuerySet[IntegrationOrganization]:
    """The organizations the user may see, annotated for the support console's list (no N+1)."""
    active_dpa = DataProcessingAgreement.objects.filter(organization=OuterRef("pk"), revoked_at__isnull=True)
    return organization_list_for_user(user=user).annotate(
        has_active_dpa=Exists(active_dpa),
        partner_count=Count(
            "partner_authorizations",
            filter=Q(partner_authorizations__revoked_at__isnull=True),
            distinct=True,
        ),
        member_count=Count("memberships", distinct=True),
    )


def organization_dpa_history(*, organization: IntegrationOrganization) -> QuerySet[DataProcessingAgreement]:
    return organization.dpas.select_related("registered_by", "revoked_by").order_by("-registered_at")


def organization_partner_authorizations(*, organization: IntegrationOrganization) -> QuerySet[PartnerAuthorization]:
    """Every authorization, active first, newest first."""
    return (
        PartnerAuthorization.objects.filter(organization=organization)
        .select_related("partner", "authorized_by", "revoked_by")
        .order_by(F("revoked_at").desc(nulls_first=True), "-authorized_at")
    )


def partners_authorizable(*, organization: IntegrationOrganization) -> QuerySet[Partner]:
    """Partners the organization is not currently authorized for."""
    return Partner.objects.exclude(
        authorizations__organization=organization, authorizations__revoked_at__isnull=True
    ).order_by("legal_name")


def organization_capability_grants(*, organization: IntegrationOrganization) -> dict[str, CapabilityGrant]:
    """The active grant per capability slug."""
    grants = CapabilityGrant.objects.filter(organization=organization, revoked_at__isnull=True).select_related(
        "granted_by"
    )
    return {grant.capability: grant for grant in grants}


def organization_capability_history(*, organization: IntegrationOrganization) -> QuerySet[CapabilityGrant]:
    return (
        CapabilityGrant.objects.filter(organization=organization, revoked_at__isnull=False)
        .select_related("granted_by", "revoked_by")
        .order_by("-revoked_at")
    )


def organization_members(*, organization: IntegrationOrganization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("user__email")


def organization_pending_invitations(*, organization: IntegrationOrganization) -> QuerySet[MemberInvitation]:
    return (
        MemberInvitation.objects.filter(organization=organization, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at")
    )


# Onboarding checklist (registered in OrganizationsConfig.ready()) --------------------------------


def organization_has_active_dpa(organization: IntegrationOrganization) -> bool:
    return organization.dpas.filter(revoked_at__isnull=True).exists()


def organization_has_partner_authorized(organization: IntegrationOrganization) -> bool:
    return organization.partner_authorizations.filter(revoked_at__isnull=True).exists()


def organization_has_capability_granted(organization: IntegrationOrganization) -> bool:
    return organization.capability_grants.filter(revoked_at__isnull=True).exists()
