"""Issue #10 item 1: the password alone must not turn off, replace or outlive the second factor."""

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.core.models import AuditEntry
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
SECURITY = "/accounts/security/"
START = "/accounts/security/totp/start/"
REMOVE = "/accounts/security/totp/remove/"
CHANGE = "/accounts/password/change/"
VERIFY = "/accounts/two-factor/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def new_password_form(old=DEFAULT_PASSWORD, new="a-much-better-passphrase"):
    return {"old_password": old, "new_password1": new, "new_password2": new}


@pytest.fixture
def staff_with_device(support_user, settings):
    settings.REQUIRE_STAFF_2FA = True
    device = TOTPDevice.objects.create(user=support_user, name="Authenticator app", confirmed=True)
    return support_user, device


def password_login(client, user):
    response = client.post(LOGIN, {"username": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return response


def verify(client, device, time_machine):
    time_machine.move_to(time.time() + 31, tick=True)  # a fresh 30-second step, past any throttle
    response = client.post(VERIFY, {"token": code(device), "next": SECURITY})
    assert response.status_code == 302 and response.url == SECURITY
    return response


def refused(response) -> bool:
    return response.status_code == 403 or (response.status_code == 302 and response.url.startswith(VERIFY))


def test_attack_chain_with_the_password_alone_is_refused(client, staff_with_device):
    user, device = staff_with_device
    password_login(client, user)
    assert client.get("/organizations/").url.startswith(VERIFY)

    assert refused(client.post(REMOVE, {"password": DEFAULT_PASSWORD}))
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()

    assert refused(client.post(START, {"password": DEFAULT_PASSWORD}))
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()
    # Even a pending device made earlier can be neither seen nor confirmed without the second factor.
    pending = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    assert refused(client.get(SECURITY))
    assert refused(client.post(SECURITY, {"token": code(pending)}))
    pending.refresh_from_db()
    assert not pending.confirmed and TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    assert client.get("/organizations/").url.startswith(VERIFY)

    assert refused(client.get(CHANGE))
    assert refused(client.post(CHANGE, new_password_form()))
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert not AuditEntry.objects.filter(
        action__in=["user.2fa_disabled", "user.2fa_enabled", "user.2fa_replaced", "user.password_changed"]
    ).exists()


def test_unverified_staff_reaches_only_the_sign_in_pages(client, staff_with_device):
    user, _device = staff_with_device
    password_login(client, user)
    for path in ("/accounts/security/", "/admin/", "/accounts/password/change/", "/"):
        assert refused(client.get(path)), path
    assert client.get(VERIFY).status_code == 200
    assert client.get("/accounts/password/reset/").status_code == 200
    assert client.get("/problems/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


def test_member_who_turned_2fa_on_is_asked_for_the_code_at_sign_in(client, admin_user, organization, time_machine):
    device = TOTPDevice.objects.create(user=admin_user, name="Authenticator app", confirmed=True)
    detail = f"/organizations/{organization.pk}/"
    password_login(client, admin_user)
    assert client.get(detail).url == f"{VERIFY}?next=%2Forganizations%2F{organization.pk}%2F"
    assert refused(client.post(REMOVE, {"password": DEFAULT_PASSWORD}))
    time_machine.move_to(time.time() + 31, tick=True)
    assert client.post(VERIFY, {"token": code(device), "next": detail}).url == detail
    assert client.get(detail).status_code == 200


def test_member_whose_device_was_removed_elsewhere_is_not_stuck(client, admin_user, organization):
    device = TOTPDevice.objects.create(user=admin_user, name="Authenticator app", confirmed=True)
    password_login(client, admin_user)
    device.delete()  # turned off from another, verified session
    assert client.get(f"/organizations/{organization.pk}/").status_code == 200


def test_member_without_a_device_is_never_asked(client, admin_user, organization):
    password_login(client, admin_user)
    assert client.get(f"/organizations/{organization.pk}/").status_code == 200


def test_member_with_a_device_needs_the_code_for_changes_too(client, admin_user, settings):
    """Even a session that was never asked for the code (signed in before the device existed elsewhere)."""
    settings.REQUIRE_STAFF_2FA = False
    device = TOTPDevice.objects.create(user=admin_user, name="Authenticator app", confirmed=True)
    client.force_login(admin_user)
    assert refused(client.post(REMOVE, {"password": DEFAULT_PASSWORD}))
    assert refused(client.post(START, {"password": DEFAULT_PASSWORD}))
    assert refused(client.post(CHANGE, new_password_form()))
    htmx = client.post(REMOVE, {"password": DEFAULT_PASSWORD}, **HTMX)
    assert htmx["HX-Redirect"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    assert not TOTPDevice.objects.filter(user=admin_user, confirmed=False).exists()
    page = client.get(SECURITY).content.decode()
    assert "enter a code first" in page


def test_verified_session_and_password_turn_it_off(client, staff_with_device, time_machine):
    user, device = staff_with_device
    password_login(client, user)
    verify(client, device, time_machine)
    assert client.get("/organizations/").status_code == 200

    wrong = client.post(REMOVE, {"password": "not-my-password"})
    assert wrong.status_code == 422 and "current password is not correct" in wrong.content.decode()
    wrong_htmx = client.post(REMOVE, {"password": "not-my-password"}, **HTMX)
    assert wrong_htmx.status_code == 422
    assert "current password is not correct" in wrong_htmx.content.decode()
    assert "<html" not in wrong_htmx.content.decode()  # the card's partial only
    assert TOTPDevice.objects.filter(pk=device.pk).exists()

    ok = client.post(REMOVE, {"password": DEFAULT_PASSWORD})
    assert ok.status_code == 302 and ok.url == SECURITY
    assert not TOTPDevice.objects.filter(user=user).exists()
    entry = AuditEntry.objects.get(action="user.2fa_disabled", target_id=str(user.pk))
    assert entry.actor_user == user and entry.ip_address == "127.0.0.1"


def test_verified_session_and_password_replace_the_device(client, staff_with_device, time_machine):
    user, device = staff_with_device
    password_login(client, user)
    verify(client, device, time_machine)

    wrong = client.post(START, {"password": "not-my-password"})
    assert wrong.status_code == 422 and "current password is not correct" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()

    assert client.post(START, {"password": DEFAULT_PASSWORD}).url == SECURITY
    new = TOTPDevice.objects.get(user=user, confirmed=False)
    page = client.get(SECURITY).content.decode()
    assert "data:image/svg+xml" in page and "keeps working until the new one is confirmed" in page
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()  # still valid until confirmed

    confirmed = client.post(SECURITY, {"token": code(new)}, **HTMX)
    assert confirmed.status_code == 200 and confirmed["HX-Redirect"] == SECURITY
    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", "confirmed")) == [(new.pk, True)]
    assert AuditEntry.objects.filter(action="user.2fa_replaced", target_id=str(user.pk)).exists()
    assert client.get("/organizations/").status_code == 200  # the new device verified the session


def test_verified_session_changes_the_password(client, staff_with_device, time_machine):
    user, device = staff_with_device
    password_login(client, user)
    verify(client, device, time_machine)

    wrong = client.post(CHANGE, new_password_form(old="not-my-password"), **HTMX)
    assert wrong.status_code == 422 and "field-error" in wrong.content.decode()
    assert "<html" not in wrong.content.decode()
    ok = client.post(CHANGE, new_password_form())
    assert ok.status_code == 302 and ok.url == SECURITY
    user.refresh_from_db()
    assert user.check_password("a-much-better-passphrase")
    assert AuditEntry.objects.filter(action="user.password_changed", target_id=str(user.pk)).count() == 1
    assert client.get("/organizations/").status_code == 200  # still signed in, still verified


def test_first_device_can_be_set_up_without_a_code(client, support_user, settings, time_machine):
    """Staff without any device must still be able to enrol (the verify step sends them here)."""
    settings.REQUIRE_STAFF_2FA = True
    password_login(client, support_user)
    assert client.get(VERIFY).url == SECURITY
    assert client.get(SECURITY).status_code == 200
    assert refused(client.get(CHANGE))  # a password change waits for the second factor
    assert client.post(START).url == SECURITY
    device = TOTPDevice.objects.get(user=support_user, confirmed=False)
    assert client.post(SECURITY, {"token": code(device)}).url == SECURITY
    assert AuditEntry.objects.filter(action="user.2fa_enabled", target_id=str(support_user.pk)).exists()
    assert client.get("/organizations/").status_code == 200


def test_unverified_staff_htmx_request_loads_the_verify_page(client, staff_with_device):
    user, device = staff_with_device
    password_login(client, user)
    response = client.post(
        REMOVE, {"password": DEFAULT_PASSWORD}, HTTP_HX_CURRENT_URL="http://testserver/accounts/security/", **HTMX
    )
    assert response.status_code == 200 and response["HX-Redirect"] == f"{VERIFY}?next=%2Faccounts%2Fsecurity%2F"
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
