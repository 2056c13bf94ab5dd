"""Support suspends and reactivates an organization from its overview, as a person would (issue 10, item 8)."""

import pytest
from playwright.sync_api import expect

from portal.organizations.models import IntegrationOrganization


@pytest.mark.allow_browser_errors(r"HTTP 422: POST .*/suspend/$", r"status of 422 .*/suspend/\)")
def test_support_suspends_and_reactivates_from_the_overview(page, login, shot, organization, support_user):
    login(support_user, via_form=False)
    page.goto(f"/organizations/{organization.pk}/")
    expect(page.locator("#suspended-banner")).to_have_count(0)
    page.get_by_role("button", name="Suspend organization").click()
    dialog = page.locator("#status-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("   ")  # only spaces: the server refuses it inline
    dialog.get_by_role("button", name="Suspend now").click()
    expect(dialog.get_by_text("This field is required.")).to_be_visible()
    shot("suspend-error")
    dialog.get_by_label("Reason").fill("Contract ended")
    dialog.get_by_role("button", name="Suspend now").click()
    banner = page.locator("#suspended-banner")
    expect(banner).to_contain_text("This organization is suspended")
    expect(banner).to_contain_text("Contract ended")
    shot("suspended")
    organization.refresh_from_db()
    assert organization.status == IntegrationOrganization.Status.SUSPENDED

    page.get_by_role("button", name="Reactivate organization").click()
    dialog = page.locator("#status-dialog")
    dialog.get_by_label("Reason").fill("Contract renewed")
    dialog.get_by_role("button", name="Reactivate now").click()
    expect(page.get_by_role("button", name="Suspend organization")).to_be_visible()
    expect(page.locator("#suspended-banner")).to_have_count(0)
    organization.refresh_from_db()
    assert organization.status == IntegrationOrganization.Status.ACTIVE
