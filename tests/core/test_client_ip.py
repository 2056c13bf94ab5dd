"""Issue #10 item 2: behind the reverse proxy, lockouts, limits and the audit log see the client, not the proxy."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from portal.core.audit import Actor
from portal.core.middleware import TrustedProxyMiddleware
from portal.core.models import AuditEntry
from portal.kyc import services as kyc_services
from tests.factories import DEFAULT_PASSWORD
from tests.kyc.conftest import valid_vat_numbers

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
CLIENT_A = "203.0.113.10"
CLIENT_B = "198.51.100.20"


def seen_address(settings, *, remote_addr="127.0.0.1", forwarded=None, count=1, networks=("127.0.0.1", "::1")):
    settings.TRUSTED_PROXY_COUNT = count
    settings.TRUSTED_PROXY_NETWORKS = list(networks)
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **extra)
    seen = {}

    def view(req):
        seen.update(addr=req.META["REMOTE_ADDR"], proxy=req.META.get("NT24_PROXY_ADDR"))
        return HttpResponse()

    TrustedProxyMiddleware(view)(request)
    return seen


@pytest.mark.parametrize(
    ("forwarded", "count", "expected"),
    [
        (CLIENT_A, 1, CLIENT_A),
        (f"6.6.6.6, {CLIENT_A}", 1, CLIENT_A),  # the client's own (forged) entry on the left is never used
        (f"6.6.6.6, {CLIENT_A}, 10.0.0.2", 2, CLIENT_A),  # two proxies: the second value from the right
        (f"{CLIENT_A}:51234", 1, CLIENT_A),
        ("[2001:db8::7]:443", 1, "2001:db8::7"),
        ("2001:db8::7", 1, "2001:db8::7"),
        (CLIENT_A, 3, CLIENT_A),  # fewer entries than hops: the left end was still written by our proxy
        ("not-an-address", 1, "127.0.0.1"),
        ("6.6.6.6, <script>", 1, "127.0.0.1"),
        ("", 1, "127.0.0.1"),
        (CLIENT_A, 0, "127.0.0.1"),  # the default: trust nobody
    ],
)
def test_forwarded_address_is_taken_from_the_trusted_hops_only(settings, forwarded, count, expected):
    seen = seen_address(settings, forwarded=forwarded, count=count)
    assert seen["addr"] == expected
    assert seen["proxy"] == ("127.0.0.1" if expected != "127.0.0.1" else None)


def test_a_peer_outside_the_trusted_networks_cannot_set_the_address(settings):
    assert seen_address(settings, remote_addr="192.0.2.50", forwarded=CLIENT_A)["addr"] == "192.0.2.50"
    inside = seen_address(settings, remote_addr="10.1.2.3", forwarded=CLIENT_A, networks=("10.0.0.0/8",))
    assert inside == {"addr": CLIENT_A, "proxy": "10.1.2.3"}
    anyone = seen_address(settings, remote_addr="192.0.2.50", forwarded=CLIENT_A, networks=("*",))
    assert anyone["addr"] == CLIENT_A


def fail_logins(client, email, times=5, **extra):
    statuses = [client.post(LOGIN, {"username": email, "password": "wrong"}, **extra).status_code for _ in range(times)]
    assert statuses == [200] * (times - 1) + [429]  # the fifth failure locks


def test_lockout_is_per_username_and_address(client, support_user):
    fail_logins(client, support_user.email, REMOTE_ADDR=CLIENT_A)
    ok = {"username": support_user.email, "password": DEFAULT_PASSWORD}
    assert client.post(LOGIN, ok, REMOTE_ADDR=CLIENT_A).status_code == 429  # the lockout holds for A
    assert client.post(LOGIN, ok, REMOTE_ADDR=CLIENT_B).status_code == 302  # support@ is not locked for B


def test_two_clients_behind_the_proxy_get_separate_lockouts(client, support_user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    fail_logins(client, support_user.email, HTTP_X_FORWARDED_FOR=CLIENT_A)
    ok = {"username": support_user.email, "password": DEFAULT_PASSWORD}
    assert client.post(LOGIN, ok, HTTP_X_FORWARDED_FOR=CLIENT_A).status_code == 429
    assert client.post(LOGIN, ok, HTTP_X_FORWARDED_FOR=CLIENT_B).status_code == 302


def test_without_a_trusted_proxy_a_forged_header_changes_nothing(client, support_user, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    fail_logins(client, support_user.email, HTTP_X_FORWARDED_FOR=CLIENT_A)
    ok = {"username": support_user.email, "password": DEFAULT_PASSWORD}
    # Still the same address (127.0.0.1) whatever the header says: a new value does not unlock.
    assert client.post(LOGIN, ok, HTTP_X_FORWARDED_FOR=CLIENT_B).status_code == 429


def test_audit_entry_records_the_forwarded_client(client, admin_user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.post(LOGIN, {"username": admin_user.email, "password": DEFAULT_PASSWORD}, HTTP_X_FORWARDED_FOR=CLIENT_A)
    form = {"old_password": DEFAULT_PASSWORD, "new_password1": "proxy-aware-2026", "new_password2": "proxy-aware-2026"}
    assert client.post("/accounts/password/change/", form, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {CLIENT_A}").status_code
    entry = AuditEntry.objects.get(action="user.password_changed")
    assert entry.ip_address == CLIENT_A


def test_audit_entry_ignores_a_forged_header_without_a_trusted_proxy(client, admin_user, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client.force_login(admin_user)
    form = {"old_password": DEFAULT_PASSWORD, "new_password1": "proxy-aware-2026", "new_password2": "proxy-aware-2026"}
    client.post("/accounts/password/change/", form, HTTP_X_FORWARDED_FOR=CLIENT_A)
    assert AuditEntry.objects.get(action="user.password_changed").ip_address == "127.0.0.1"


@pytest.fixture
def kyc_token(organization, partner, settings):
    settings.RATELIMIT_STORAGE_URI = "memory://"
    settings.KYC_PUBLIC_MISS_RATE = "3/minute"
    from portal.kyc.ratelimit import limiter

    limiter().storage.reset()
    buyer, _ = kyc_services.buyer_upsert(
        actor=Actor.system(),
        organization=organization,
        partner=partner,
        vat_number=valid_vat_numbers(1)[0],
        name="B",
        email="b@example.com",
    )
    _invitation, token = kyc_services.invitation_create(actor=Actor.system(), buyer=buyer, locale="")
    return token


def guess_until_blocked(client, **extra):
    for i in range(3):
        assert client.get(f"/kyc/i/guess{i}/", **extra).status_code == 404
    assert client.get("/kyc/i/guess-more/", **extra).status_code == 429


def test_two_clients_behind_the_proxy_get_separate_public_link_limits(client, kyc_token, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    guess_until_blocked(client, HTTP_X_FORWARDED_FOR=CLIENT_A)
    assert client.get(f"/kyc/i/{kyc_token}/", HTTP_X_FORWARDED_FOR=CLIENT_A).status_code == 429
    assert client.get(f"/kyc/i/{kyc_token}/", HTTP_X_FORWARDED_FOR=CLIENT_B).status_code == 200


def test_public_link_limit_ignores_a_forged_header_without_a_trusted_proxy(client, kyc_token, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    guess_until_blocked(client, HTTP_X_FORWARDED_FOR=CLIENT_A)
    assert client.get(f"/kyc/i/{kyc_token}/", HTTP_X_FORWARDED_FOR=CLIENT_B).status_code == 429
