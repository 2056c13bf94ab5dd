"""Fetch-and-authorize for client pages: members see their organization's clients, admins manage them."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from portal.clients.models import ApiClient, ClientSecret
from portal.clients.services import ROTATION_CAPABILITY
from portal.organizations.access import OrganizationAccess, access_organization
from portal.organizations.models import Membership
from portal.organizations.selectors import organization_capabilities


def access_client(
    *, user, organization_id, client_pk, min_role: str = Membership.Role.VIEWER
) -> tuple[OrganizationAccess, ApiClient]:
    access = access_organization(user=user, organization_id=organization_id, min_role=min_role)
    try:
        client = ApiClient.objects.select_related("organization").get(pk=client_pk, organization=access.organization)
    except (ApiClient.DoesNotExist, ValueError) as exc:
        raise Http404 from exc
    return access, client


def access_client_secret(*, client: ApiClient, secret_pk) -> ClientSecret:
    try:
        return client.secrets.select_related("client__organization").get(pk=secret_pk)
    except (ClientSecret.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def can_manage_clients(access: OrganizationAccess) -> bool:
    """Create clients, revoke secrets and clients: organization admins and NT24 support."""
    return access.is_support or access.is_admin


def can_rotate_secrets(access: OrganizationAccess) -> bool:
    """Support always; organization admins only with the selfServiceSecretRotation capability."""
    if access.is_support:
        return True
    return access.is_admin and ROTATION_CAPABILITY in organization_capabilities(organization=access.organization)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied
