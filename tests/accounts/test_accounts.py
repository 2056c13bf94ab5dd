import re
import time

import pytest
from django.core import mail
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.core.audit import Actor
from portal.core.models import AuditEntry
from portal.organizations import services
from portal.organizations.models import Membership
from tests.factories import DEFAULT_PASSWORD, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def totp_now(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def test_login_and_logout(client, admin_user, organization):
    response = client.post(LOGIN, {"username": admin_user.email.upper(), "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/").url == reverse("organizations:detail", kwargs={"organization_id": organization.pk})
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302 and client.get("/").url.startswith("/accounts/login")


def test_wrong_password_shows_error(client, admin_user):
    response = client.post(LOGIN, {"username": admin_user.email, "password": "nope"})
    assert response.status_code == 200 and "alert-error" in response.content.decode()


def test_axes_locks_out_after_five_failures(client, admin_user):
    for _ in range(5):
        client.post(LOGIN, {"username": admin_user.email, "password": "wrong"})
    locked = client.post(LOGIN, {"username": admin_user.email, "password": DEFAULT_PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    # Another account from the same address is not locked (username + IP).
    other = UserFactory()
    assert client.post(LOGIN, {"username": other.email, "password": DEFAULT_PASSWORD}).status_code == 302


def test_password_change(client, admin_user):
    client.force_login(admin_user)
    bad = client.post(
        "/accounts/password/change/",
        {"old_password": "wrong", "new_password1": "x", "new_password2": "x"},
    )
    assert bad.status_code == 422 and "field-error" in bad.content.decode()
    ok = client.post(
        "/accounts/password/change/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "a-much-better-passphrase",
            "new_password2": "a-much-better-passphrase",
        },
    )
    assert ok.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.check_password("a-much-better-passphrase")
    assert AuditEntry.objects.filter(action="user.password_changed", actor_user=admin_user).exists()


def test_password_reset_by_email(client, admin_user):
    assert client.post("/accounts/password/reset/", {"email": admin_user.email}).status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"/accounts/password/reset/[^/\s]+/[^/\s]+/", mail.outbox[0].body).group(0)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "reset-passphrase-2026", "new_password2": "reset-passphrase-2026"},
    )
    assert done.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.check_password("reset-passphrase-2026")
    assert AuditEntry.objects.filter(action="user.password_reset", target_id=str(admin_user.pk)).exists()


def test_totp_setup_and_removal(client, admin_user, time_machine):
    client.force_login(admin_user)
    assert client.post("/accounts/security/totp/start/").status_code == 302
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    page = client.get("/accounts/security/").content.decode()
    assert "data:image/svg+xml" in page
    wrong = client.post("/accounts/security/", {"token": "000000" if totp_now(device) != "000000" else "111111"})
    assert "not valid" in wrong.content.decode()
    time_machine.move_to(time.time() + 3, tick=True)  # django-otp throttles verification for a moment after a failure
    client.post("/accounts/security/", {"token": totp_now(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEntry.objects.filter(action="user.2fa_enabled", actor_user=admin_user).exists()
    client.post("/accounts/security/totp/remove/", {"password": DEFAULT_PASSWORD})
    assert not TOTPDevice.objects.filter(user=admin_user).exists()


def test_staff_2fa_off_lets_support_in(client, support_user, settings):
    settings.REQUIRE_STAFF_2FA = False
    client.force_login(support_user)
    assert client.get("/organizations/").status_code == 200


def test_staff_2fa_on_requires_setup_then_code(client, support_user, admin_user, settings, organization, time_machine):
    settings.REQUIRE_STAFF_2FA = True
    client.force_login(support_user)
    blocked = client.get("/organizations/")
    assert blocked.status_code == 302 and blocked.url.startswith("/accounts/two-factor/")
    # Without a device, the step-up page sends staff to set one up.
    assert client.get(blocked.url).url == "/accounts/security/"
    client.post("/accounts/security/totp/start/")
    device = TOTPDevice.objects.get(user=support_user)
    client.post("/accounts/security/", {"token": totp_now(device)})  # confirming also verifies the session
    assert client.get("/organizations/").status_code == 200
    # A fresh session must pass the step-up check.
    client.logout()
    client.force_login(support_user)
    assert client.get("/organizations/").status_code == 302
    wrong = client.post("/accounts/two-factor/", {"token": "000000", "next": "/organizations/"})
    assert "not valid" in wrong.content.decode()
    time_machine.move_to(time.time() + 31, tick=True)  # past the throttle, and a new 30-second TOTP step
    ok = client.post("/accounts/two-factor/", {"token": totp_now(device), "next": "/organizations/"})
    assert ok.status_code == 302 and ok.url == "/organizations/"
    assert client.get("/organizations/").status_code == 200
    # Members (not staff) are never asked.
    client.logout()
    client.force_login(admin_user)
    assert client.get(reverse("organizations:detail", kwargs={"organization_id": organization.pk})).status_code == 200


# Invitations --------------------------------------------------------------------------------------


@pytest.fixture
def invite(support_user):
    org = OrganizationFactory()

    def make(email="new@example.com", role="operator"):
        return services.invitation_create(actor=Actor(user=support_user), organization=org, email=email, role=role)

    return make


def accept_url(token):
    return reverse("accounts:invitation_accept", kwargs={"token": token})


def test_accept_creates_account_and_logs_in(client, invite):
    issued = invite()
    page = client.get(accept_url(issued.token))
    assert page.status_code == 200 and "Create account and join" in page.content.decode()
    weak = client.post(accept_url(issued.token), {"password1": "short", "password2": "short"})
    assert weak.status_code == 422 and "field-error" in weak.content.decode()
    ok = client.post(
        accept_url(issued.token),
        {"full_name": "Nina New", "password1": "welcome-aboard-2026", "password2": "welcome-aboard-2026"},
    )
    org = issued.invitation.organization
    assert ok.status_code == 302 and ok.url == reverse("organizations:detail", kwargs={"organization_id": org.pk})
    membership = Membership.objects.get(organization=org, user__email="new@example.com")
    assert membership.role == "operator" and membership.user.full_name == "Nina New"
    assert client.get(ok.url).status_code == 200  # logged in
    used = client.get(accept_url(issued.token))
    assert used.status_code == 410 and "already used" in used.content.decode()


def test_accept_existing_account_requires_login_with_that_email(client, invite):
    user = UserFactory(email="known@example.com")
    issued = invite(email="known@example.com", role="viewer")
    anonymous = client.get(accept_url(issued.token)).content.decode()
    assert "Log in to accept" in anonymous
    client.force_login(UserFactory())
    wrong = client.get(accept_url(issued.token)).content.decode()
    assert "this invitation is for known@example.com" in wrong
    assert client.post(accept_url(issued.token)).status_code == 200
    assert not Membership.objects.filter(user=user).exists()
    client.force_login(user)
    assert client.post(accept_url(issued.token)).status_code == 302
    assert Membership.objects.get(user=user).role == "viewer"


def test_unknown_and_revoked_links(client, invite, support_user):
    assert client.get(accept_url("not-a-token")).status_code == 404
    issued = invite()
    services.invitation_revoke(actor=Actor(user=support_user), invitation=issued.invitation)
    response = client.get(accept_url(issued.token))
    assert response.status_code == 410 and "revoked" in response.content.decode()
