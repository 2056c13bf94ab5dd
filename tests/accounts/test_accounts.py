import re
import time
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
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


JOIN_URL = reverse("accounts:invitation_join")


def open_link(client, token):
    """The e-mailed link keeps the token in the session and sends the browser on to the token-free join page."""
    response = client.get(accept_url(token))
    assert response.status_code == 302 and response.url == JOIN_URL
    return client.get(JOIN_URL)


def test_accept_creates_account_and_logs_in(client, invite):
    issued = invite()
    page = open_link(client, issued.token)
    assert page.status_code == 200 and "Create account and join" in page.content.decode()
    assert f'action="{JOIN_URL}"' in page.content.decode() and issued.token not in page.content.decode()
    weak = client.post(JOIN_URL, {"password1": "short", "password2": "short"})
    assert weak.status_code == 422 and "field-error" in weak.content.decode()
    ok = client.post(
        JOIN_URL,
        {"full_name": "Nina New", "password1": "welcome-aboard-2026", "password2": "welcome-aboard-2026"},
    )
    org = issued.invitation.organization
    assert ok.status_code == 302 and ok.url == reverse("organizations:detail", kwargs={"organization_id": org.pk})
    membership = Membership.objects.get(organization=org, user__email="new@example.com")
    assert membership.role == "operator" and membership.user.full_name == "Nina New"
    assert client.get(ok.url).status_code == 200  # logged in
    assert "_invitation_token" not in client.session  # dropped once accepted
    assert client.get(JOIN_URL).status_code == 404
    used = client.get(accept_url(issued.token))
    assert used.status_code == 410 and "already used" in used.content.decode()


def test_accept_existing_account_requires_login_with_that_email(client, invite):
    user = UserFactory(email="known@example.com")
    issued = invite(email="known@example.com", role="viewer")
    anonymous = open_link(client, issued.token).content.decode()
    assert "Log in to accept" in anonymous
    login_url = f"{reverse('accounts:login')}?{urlencode({'next': JOIN_URL})}"
    assert f'href="{escape(login_url)}"' in anonymous and issued.token not in anonymous
    client.force_login(UserFactory())
    wrong = open_link(client, issued.token).content.decode()
    assert "this invitation is for known@example.com" in wrong
    assert client.post(JOIN_URL).status_code == 200
    assert not Membership.objects.filter(user=user).exists()
    client.logout()
    open_link(client, issued.token)
    logged_in = client.post(login_url, {"username": user.email, "password": DEFAULT_PASSWORD})
    assert logged_in.status_code == 302 and logged_in.url == JOIN_URL  # the session still holds the invitation
    assert client.post(JOIN_URL).status_code == 302
    assert Membership.objects.get(user=user).role == "viewer"


def test_join_page_posts_with_csrf_and_the_site_wide_referrer_policy(invite):
    """Regression: under the token link's no-referrer a browser posted the form with `Origin: null` (403 CSRF)."""
    issued = invite()
    client = Client(enforce_csrf_checks=True)
    page = open_link(client, issued.token)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "same-origin"  # not the token link's no-referrer
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    form = {"full_name": "Nina New", "password1": "welcome-aboard-2026", "password2": "welcome-aboard-2026"}
    assert client.post(JOIN_URL, form, HTTP_ORIGIN="http://testserver").status_code == 403  # CSRF intact
    ok = client.post(JOIN_URL, {**form, "csrfmiddlewaretoken": csrf}, HTTP_ORIGIN="http://testserver")
    assert ok.status_code == 302, ok.content.decode()[:500]
    assert Membership.objects.filter(user__email="new@example.com").exists()


def test_join_page_without_a_link_opened(client):
    response = client.get(JOIN_URL)
    assert response.status_code == 404 and "Open the link from your e-mail again" in response.content.decode()
    assert client.post(JOIN_URL, {"password1": "x", "password2": "x"}).status_code == 404


def test_unknown_and_revoked_links(client, invite, support_user):
    assert client.get(accept_url("not-a-token")).status_code == 404
    issued = invite()
    services.invitation_revoke(actor=Actor(user=support_user), invitation=issued.invitation)
    response = client.get(accept_url(issued.token))
    assert response.status_code == 410 and "revoked" in response.content.decode()
    # Revoked after the link was opened: the join page says so too.
    later = invite(email="later@example.com")
    assert open_link(client, later.token).status_code == 200
    services.invitation_revoke(actor=Actor(user=support_user), invitation=later.invitation)
    joined = client.get(JOIN_URL)
    assert joined.status_code == 410 and "revoked" in joined.content.decode()
