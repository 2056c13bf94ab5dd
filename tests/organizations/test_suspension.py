"""Suspending and reactivating an organization: a support action with a reason, audited, shown on every page."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from portal.core.audit import Actor
from portal.core.models import AuditEntry
from portal.organizations import services
from portal.organizations.models import IntegrationOrganization
from tests.factories import SupportUserFactory
from tests.organizations.conftest import HTMX

pytestmark = pytest.mark.django_db


def url(name, organization):
    return reverse(f"organizations:{name}", kwargs={"organization_id": organization.pk})


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def support():
    return Actor(user=SupportUserFactory(), ip="203.0.113.9")


# Services -------------------------------------------------------------------------------------------------


def test_suspend_and_reactivate_are_audited_with_their_reason(organization, support):
    services.organization_suspend(actor=support, organization=organization, reason="  unpaid invoices  ")
    organization.refresh_from_db()
    assert organization.status == "SUSPENDED" and organization.is_suspended
    assert organization.suspended_at is not None and organization.suspension_reason == "unpaid invoices"
    entry = AuditEntry.objects.get(action="organization.suspended")
    assert entry.organization_id == organization.pk and entry.actor_user == support.user
    assert entry.before == {"status": "ACTIVE"} and entry.after == {"status": "SUSPENDED", "reason": "unpaid invoices"}
    assert entry.ip_address == "203.0.113.9"

    services.organization_reactivate(actor=support, organization=organization, reason="paid")
    organization.refresh_from_db()
    assert organization.status == "ACTIVE" and organization.suspended_at is None
    assert organization.suspension_reason == ""
    entry = AuditEntry.objects.get(action="organization.reactivated")
    assert entry.before["reason"] == "unpaid invoices" and entry.after == {"status": "ACTIVE", "reason": "paid"}


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_reason_is_required(organization, support, reason):
    with pytest.raises(ValidationError) as caught:
        services.organization_suspend(actor=support, organization=organization, reason=reason)
    assert "reason" in caught.value.error_dict
    organization.refresh_from_db()
    assert organization.status == "ACTIVE" and not AuditEntry.objects.filter(action="organization.suspended").exists()


def test_suspend_twice_or_reactivate_an_active_one_is_refused(organization, support):
    with pytest.raises(ValidationError, match="not suspended"):
        services.organization_reactivate(actor=support, organization=organization, reason="why")
    services.organization_suspend(actor=support, organization=organization, reason="why")
    with pytest.raises(ValidationError, match="already suspended"):
        services.organization_suspend(actor=support, organization=organization, reason="again")
    assert AuditEntry.objects.filter(action="organization.suspended").count() == 1


def test_the_settings_edit_cannot_suspend_or_unsuspend(organization, support):
    with pytest.raises(ValidationError) as caught:
        services.organization_update(actor=support, organization=organization, status="SUSPENDED")
    assert "status" in caught.value.error_dict
    with pytest.raises(ValidationError):
        services.organization_create(actor=support, name="New", slug="new-org", status="SUSPENDED")
    services.organization_suspend(actor=support, organization=organization, reason="why")
    with pytest.raises(ValidationError):
        services.organization_update(actor=support, organization=organization, status="ACTIVE")
    services.organization_update(actor=support, organization=organization, name="Renamed while suspended")
    organization.refresh_from_db()
    assert organization.status == "SUSPENDED" and organization.name == "Renamed while suspended"


# Pages ----------------------------------------------------------------------------------------------------


def test_support_suspends_from_the_dialog(support_user, organization):
    client = login(support_user)
    page = client.get(url("detail", organization)).content.decode()
    assert 'id="status-dialog"' in page and "Suspend organization" in page
    response = client.post(url("suspend", organization), {"reason": "contract ended"}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == url("detail", organization)
    organization.refresh_from_db()
    assert organization.is_suspended and organization.suspension_reason == "contract ended"
    page = client.get(url("detail", organization)).content.decode()
    assert 'id="suspended-banner"' in page and "contract ended" in page and "Reactivate organization" in page


def test_missing_reason_is_an_inline_422(support_user, organization):
    client = login(support_user)
    response = client.post(url("suspend", organization), {"reason": " "}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422 and "<html" not in html and "field-error" in html
    assert 'hx-post="' + url("suspend", organization) in html
    full = client.post(url("suspend", organization), {"reason": ""})  # without JavaScript: a page with the form
    assert full.status_code == 422 and "<html" in full.content.decode() and "field-error" in full.content.decode()
    organization.refresh_from_db()
    assert organization.status == "ACTIVE"


def test_support_reactivates_without_javascript(support_user, organization):
    services.organization_suspend(actor=Actor(user=support_user), organization=organization, reason="why")
    client = login(support_user)
    response = client.post(url("reactivate", organization), {"reason": "all settled"})
    assert response.status_code == 302 and response["Location"] == url("detail", organization)
    organization.refresh_from_db()
    assert organization.status == "ACTIVE"
    assert 'id="suspended-banner"' not in client.get(url("detail", organization)).content.decode()


def test_members_see_the_banner_on_every_organization_page(viewer_user, organization):
    services.organization_suspend(actor=Actor(user=SupportUserFactory()), organization=organization, reason="audit")
    client = login(viewer_user)
    for path in (
        url("detail", organization),
        url("members", organization),
        reverse("clients:list", kwargs={"organization_id": organization.pk}),
        reverse("webhooks:endpoint_list", kwargs={"organization_id": organization.pk}),
        reverse("kyc:buyer_list", kwargs={"organization_id": organization.pk}),
    ):
        html = client.get(path).content.decode()
        assert 'id="suspended-banner"' in html, path
        assert "Contact NT24 support" in html and "organization-suspended" in html
    assert "Suspend organization" not in client.get(url("detail", organization)).content.decode()


def test_an_active_organization_has_no_banner(viewer_user, organization):
    assert 'id="suspended-banner"' not in login(viewer_user).get(url("detail", organization)).content.decode()


@pytest.mark.parametrize("action", ["suspend", "reactivate"])
def test_only_support_may_suspend_or_reactivate(admin_user, outsider_user, organization, action):
    if action == "reactivate":
        services.organization_suspend(actor=Actor(user=SupportUserFactory()), organization=organization, reason="x")
    status = IntegrationOrganization.objects.get(pk=organization.pk).status
    assert login(admin_user).post(url(action, organization), {"reason": "mine"}).status_code == 403
    assert login(outsider_user).post(url(action, organization), {"reason": "theirs"}).status_code == 404
    assert Client().post(url(action, organization), {"reason": "anon"}).status_code == 302  # to the login page
    assert IntegrationOrganization.objects.get(pk=organization.pk).status == status
    assert not AuditEntry.objects.filter(action__in=["organization.reactivated"]).exists()
