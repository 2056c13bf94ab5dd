from django.db.models import QuerySet

from portal.organizations.models import (
    CapabilityGrant,
    DataProcessingAgreement,
    IntegrationOrganization,
    Partner,
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
