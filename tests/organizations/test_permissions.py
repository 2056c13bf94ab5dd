"""The permission matrix: every URL of an organization, for every kind of caller.

Support: everything. Admin: reads, member management, audit. Operator/viewer: reads only (403 on writes).
A member of another organization: 404 on every URL of this one, and on this one's objects under their own.
"""

import pytest
from django.urls import URLPattern, reverse
from django.utils import timezone

from portal.console import organization_urls as org_urls
from portal.core.audit import Actor
from portal.organizations import services
from portal.organizations.models import Membership
from tests.factories import MembershipFactory
from tests.organizations.conftest import HTMX

pytestmark = pytest.mark.django_db

S, A, OP, V = "support", "admin", "operator", "viewer"
EVERYONE = {S, A, OP, V}

# name: (method, roles allowed; any other member gets 403)
MATRIX = {
    "detail": ("get", EVERYONE),
    "edit": ("get", {S}),
    "suspend": ("post", {S}),
    "reactivate": ("post", {S}),
    "dpa": ("get", EVERYONE),
    "dpa_register": ("post", {S}),
    "dpa_revoke": ("post", {S}),
    "dpa_document": ("get", {S, A}),
    "partners": ("get", EVERYONE),
    "partner_authorize": ("post", {S}),
    "partner_create": ("post", {S}),
    "partner_authorization_revoke": ("post", {S}),
    "capabilities": ("get", EVERYONE),
    "capability_grant": ("post", {S}),
    "capability_revoke": ("post", {S}),
    "members": ("get", EVERYONE),
    "invitation_create": ("post", {S, A}),
    "membership_role": ("post", {S, A}),
    "membership_remove": ("post", {S, A}),
    "invitation_resend": ("post", {S, A}),
    "invitation_revoke": ("post", {S, A}),
    "audit": ("get", {S, A}),
    "audit_export": ("get", {S, A}),
}


def org_url_names() -> set[str]:
    return {p.name for p in org_urls.urlpatterns if isinstance(p, URLPattern) and "organization_id" in str(p.pattern)}


def test_matrix_covers_every_organization_url():
    assert org_url_names() == set(MATRIX)


@pytest.fixture
def objects(organization, support_user, pdf_upload):
    actor = Actor(user=support_user)
    dpa = services.dpa_register(
        actor=actor,
        organization=organization,
        version="x",
        signer_name="x",
        signer_email="x@example.com",
        signed_at=timezone.now(),
        document=pdf_upload(),
    )
    viewer_membership = MembershipFactory(organization=organization, role="viewer")
    invitation = services.invitation_create(
        actor=actor, organization=organization, email="i@example.com", role="viewer"
    )
    return {
        "dpa_id": dpa.pk,
        "authorization_id": organization.partner_authorizations.first().pk,
        "grant_id": organization.capability_grants.first().pk,
        "membership_id": viewer_membership.pk,
        "invitation_id": invitation.invitation.pk,
        "capability": "allowMultiVinOrders",
    }


def kwargs_for(name: str, organization_id, objects: dict) -> dict:
    pattern = next(p for p in org_urls.urlpatterns if p.name == name)
    kwargs = {"organization_id": organization_id}
    for key in pattern.pattern.converters:
        if key != "organization_id":
            kwargs[key] = objects[key]
    return kwargs


def call(client, name, organization_id, objects, htmx=False):
    method, _ = MATRIX[name]
    target = reverse(f"organizations:{name}", kwargs=kwargs_for(name, organization_id, objects))
    extra = HTMX if htmx else {}
    return getattr(client, method)(target, **extra)


@pytest.mark.parametrize("name", sorted(MATRIX))
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsider_gets_404_everywhere(client, organization, outsider_user, objects, name, htmx):
    client.force_login(outsider_user)
    assert call(client, name, organization.pk, objects, htmx=htmx).status_code == 404


def object_url_names_for_admins() -> list[str]:
    """URLs that take an object id and that an admin may use in their own organization."""
    names = []
    for pattern in org_urls.urlpatterns:
        if pattern.name in MATRIX and A in MATRIX[pattern.name][1] and len(pattern.pattern.converters) > 1:
            names.append(pattern.name)
    return sorted(names)


def test_admin_object_urls_are_enumerated():
    assert object_url_names_for_admins() == [
        "dpa_document",
        "invitation_resend",
        "invitation_revoke",
        "membership_remove",
        "membership_role",
    ]


@pytest.mark.parametrize("name", object_url_names_for_admins())
def test_objects_of_another_org_are_404_under_own_org(client, organization, outsider_user, objects, name):
    """An admin of org B using org B's URL with org A's object ids: 404, never the object."""
    client.force_login(outsider_user)
    own_org = Membership.objects.get(user=outsider_user).organization
    assert call(client, name, own_org.pk, objects).status_code == 404


@pytest.mark.parametrize("role", [S, A, OP, V])
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_members_and_support(
    client, organization, objects, support_user, admin_user, operator_user, viewer_user, role, name
):
    user = {S: support_user, A: admin_user, OP: operator_user, V: viewer_user}[role]
    client.force_login(user)
    _, allowed = MATRIX[name]
    status = call(client, name, organization.pk, objects).status_code
    if role in allowed:
        # Allowed: a page, a redirect after a write, or 422 for the empty form we posted.
        assert status in {200, 302, 422}, (role, name, status)
    else:
        assert status == 403, (role, name, status)


def test_anonymous_is_sent_to_login(client, organization, objects):
    response = call(client, "detail", organization.pk, objects)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", ["list", "create", "audit_global", "audit_global_export"])
def test_support_only_pages_are_404_for_members(client, admin_user, name):
    client.force_login(admin_user)
    assert client.get(reverse(f"organizations:{name}")).status_code == 404
