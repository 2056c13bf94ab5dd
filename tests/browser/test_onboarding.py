"""Support onboards a pilot organization in the browser, as a person would, with screenshots."""

import re

from django.core import mail
from playwright.sync_api import expect

from portal.console.management.commands.seed_demo import demo_dpa_pdf
from portal.organizations.models import IntegrationOrganization, Membership


def test_support_onboards_an_organization_end_to_end(page, login, shot, support_user, browser_context):
    login(support_user)
    expect(page).to_have_url(re.compile(r"/organizations/$"))

    # 1. Create the organization.
    page.get_by_role("link", name="New organization").click()
    page.get_by_label("Name").fill("Nordlicht Autohandel")
    page.get_by_label("Slug").fill("nordlicht")
    page.get_by_label(re.compile("Rate limit")).fill("900")
    shot("create-form")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name="Nordlicht Autohandel")).to_be_visible()
    organization = IntegrationOrganization.objects.get(slug="nordlicht")
    expect(page.locator('[data-step="dpa"]')).to_have_attribute("data-state", "todo")
    expect(page.locator(".flash-success")).to_contain_text("was created")
    shot("created-overview")

    # 2. Register the signed DPA (a real PDF upload).
    page.get_by_role("navigation", name="Organization sections").get_by_role("link", name="DPA").click()
    page.get_by_label("Version").fill("2026-01")
    page.get_by_label("Signed by (name)").fill("Dana Nordlicht")
    page.get_by_label("Signer's e-mail").fill("dana@nordlicht.example")
    page.get_by_label("Signed PDF").set_input_files(
        files=[{"name": "dpa-signed.pdf", "mimeType": "application/pdf", "buffer": demo_dpa_pdf()}]
    )
    page.get_by_role("button", name="Register DPA").click()
    expect(page.locator("#dpa-current").locator("..").get_by_text("Signed", exact=True)).to_be_visible()
    expect(page.get_by_text("Dana Nordlicht <dana@nordlicht.example>")).to_be_visible()
    shot("dpa-registered")

    # 3. Add a partner and authorize it (VAT number typed loosely, stored normalized).
    page.get_by_role("navigation", name="Organization sections").get_by_role("link", name="Partners").click()
    page.get_by_label("Legal name").fill("Autohaus am Hafen GmbH")
    page.get_by_label("Country").fill("DE")
    page.get_by_label("VAT number").fill("de 136 695 976")
    page.get_by_role("button", name="Add and authorize").click()
    row = page.get_by_role("row", name=re.compile("Autohaus am Hafen GmbH"))
    expect(row).to_contain_text("DE136695976")
    shot("partner-authorized")

    # 4. Grant a capability with a reason.
    page.get_by_role("navigation", name="Organization sections").get_by_role("link", name="Capabilities").click()
    webhooks = page.locator("#capability-webhooks")
    webhooks.get_by_label("Reason").fill("Pilot needs events")
    webhooks.get_by_role("button", name="Grant").click()
    expect(page.locator("#capability-webhooks")).to_contain_text("Granted")
    expect(page.locator("#capability-webhooks")).to_contain_text("Pilot needs events")
    shot("capability-granted")

    # A destructive action asks first (accessible dialog), and Cancel really cancels.
    kyc = page.locator("#capability-kycLevelB")
    kyc.get_by_label("Reason").fill("not yet")
    kyc.get_by_role("button", name="Grant").click()
    expect(page.locator("#capability-kycLevelB")).to_contain_text("Granted")
    page.locator("#capability-kycLevelB").get_by_label("Reason").fill("Granted by mistake")
    page.locator("#capability-kycLevelB").get_by_role("button", name="Revoke").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Revoke KYC level B")
    shot("revoke-confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("#capability-kycLevelB")).to_contain_text("Granted")
    page.locator("#capability-kycLevelB").get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator("#capability-kycLevelB")).to_contain_text("Not granted")

    # 5. Invite the organization's first admin.
    page.get_by_role("navigation", name="Organization sections").get_by_role("link", name="Members").click()
    page.get_by_label("E-mail").fill("erika@nordlicht.example")
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".invitation")).to_contain_text("erika@nordlicht.example")
    shot("member-invited")

    # The overview's checklist now shows the first three steps done.
    page.get_by_role("navigation", name="Organization sections").get_by_role("link", name="Overview").click()
    for step in ("dpa", "partner", "capabilities"):
        expect(page.locator(f'[data-step="{step}"]')).to_have_attribute("data-state", "done")
    shot("onboarding-progress")

    # 6. The invitee follows the e-mailed link and sets a password.
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/invitations/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("/", 3)[3]
    browser_context.clear_cookies()
    page.goto(path)
    expect(page.get_by_role("heading", name="Join Nordlicht Autohandel")).to_be_visible()
    page.get_by_label("Your name").fill("Erika Nord")
    page.locator("#id_password1").fill("nordlicht-admin-2026")
    page.get_by_label("Repeat the password").fill("nordlicht-admin-2026")
    page.get_by_role("button", name="Create account and join").click()
    expect(page.get_by_role("heading", name="Nordlicht Autohandel")).to_be_visible()
    expect(page.get_by_text("your role: admin")).to_be_visible()
    shot("invitee-joined")
    assert Membership.objects.get(organization=organization, user__email="erika@nordlicht.example").role == "admin"
