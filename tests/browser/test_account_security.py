"""Staff with 2FA as a person meets it: the code after the password, then the password again to turn it off."""

import re

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD


def code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


@pytest.mark.allow_browser_errors(r"422", r"Unprocessable")
def test_staff_verifies_then_turns_two_factor_off_with_the_password(page, login, shot, support_user, settings):
    settings.REQUIRE_STAFF_2FA = True
    device = TOTPDevice.objects.create(user=support_user, name="Authenticator app", confirmed=True)

    login(support_user)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    page.goto("/accounts/security/")  # the password alone does not open the security page
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/\?next=%2Faccounts%2Fsecurity%2F"))
    shot("verify-step")
    page.get_by_label("6-digit code").fill(code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/accounts/security/$"))
    expect(page.get_by_role("heading", name="Turn off")).to_be_visible()

    remove = page.locator("form", has=page.get_by_role("button", name="Turn off"))
    remove.get_by_label("Current password").fill("not-my-password")
    remove.get_by_role("button", name="Turn off").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Your current password is not correct.")).to_be_visible()
    shot("wrong-password-inline")
    assert TOTPDevice.objects.filter(pk=device.pk).exists()

    remove = page.locator("form", has=page.get_by_role("button", name="Turn off"))
    remove.get_by_label("Current password").fill(DEFAULT_PASSWORD)
    remove.get_by_role("button", name="Turn off").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Two-factor authentication was turned off.")).to_be_visible()
    expect(page.get_by_role("button", name="Set up an authenticator app")).to_be_visible()
    shot("turned-off")
    assert not TOTPDevice.objects.filter(user=support_user).exists()
