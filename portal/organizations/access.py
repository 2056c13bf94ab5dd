"""Fetch-and-authorize in one step: every organization-scoped object goes through here."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from portal.core.problems import capability_not_granted
from portal.organizations.capabilities import CapabilitySlug
from portal.organizations.models import IntegrationOrganization, Membership, Partner
from portal.organizations.policy import ROLE_RANK
from portal.organizations.selectors import organization_capabilities


@dataclass(frozen=True)
class OrganizationAccess:
    """The caller's standing in one organization: a member's role, or NT24 support (everything).
    An API caller has no role; on a partner-scoped URL `partner` is the authorized partner."""

    organization: IntegrationOrganization
    role: str | None
    is_support: bool
    partner: Partner | None = None

    def has_role(self, minimum: str) -> bool:
        if self.is_support:
            return True
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[minimum]

    @property
    def is_admin(self) -> bool:
        return self.has_role(Membership.Role.ADMIN)

    @property
    def is_operator(self) -> bool:
        return self.has_role(Membership.Role.OPERATOR)


def access_organization(*, user, organization_id, min_role: str = Membership.Role.VIEWER) -> OrganizationAccess:
    """The organization if the user may see it (404 otherwise); 403 only for a member below `min_role`."""
    if user is None or not user.is_authenticated:
        raise Http404
    try:
        organization = IntegrationOrganization.objects.get(pk=organization_id)
    except (IntegrationOrganization.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if user.is_support:
        return OrganizationAccess(organization=organization, role=None, is_support=True)
    membership = Membership.objects.filter(organization=organization, user=user).only("role").first()
    if membership is None:
        raise Http404
    access = OrganizationAccess(organization=organization, role=membership.role, is_support=False)
    if not access.has_role(min_role):
        raise PermissionDenied
    return access


def require_support(user) -> None:
    """Support-only pages answer 404 to everybody else, like any object they cannot see."""
    if user is None or not user.is_authenticated or not user.is_support:
        raise Http404


def _scoped(model, *, access: OrganizationAccess, pk, related: tuple[str, ...] = ()):
    """An object of the accessed organization by id; anything else (or a malformed id) is a 404."""
    try:
        queryset = model.objects.select_related(*related) if related else model.objects.all()
        return queryset.get(pk=pk, organization=access.organization)
    except (model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def access_dpa(*, access: OrganizationAccess, dpa_id):
    from portal.organizations.models import DataProcessingAgreement

    return _scoped(DataProcessingAgreement, access=access, pk=dpa_id)


def access_partner_authorization(*, access: OrganizationAccess, authorization_id):
    from portal.organizations.models import PartnerAuthorization

    return _scoped(PartnerAuthorization, access=access, pk=authorization_id, related=("partner",))


def access_capability_grant(*, access: OrganizationAccess, grant_id):
    from portal.organizations.models import CapabilityGrant

    return _scoped(CapabilityGrant, access=access, pk=grant_id)


def access_membership(*, access: OrganizationAccess, membership_id):
    return _scoped(Membership, access=access, pk=membership_id, related=("user",))


def access_member_invitation(*, access: OrganizationAccess, invitation_id):
    from portal.organizations.models import MemberInvitation

    return _scoped(MemberInvitation, access=access, pk=invitation_id)


def require_capability(*, organization: IntegrationOrganization, capability: CapabilitySlug) -> None:
    """The capability gate for services: a `capability-not-granted` problem unless it is granted."""
    if capability not in organization_capabilities(organization=organization):
        raise capability_not_granted(capability)
