import json
from io import StringIO

import pytest
from django.core.management import call_command

from portal.clients.models import ApiClient, ClientSecret
from portal.core.tokens import token_hash
from portal.organizations.capabilities import CAPABILITIES
from portal.organizations.models import IntegrationOrganization, Membership, Partner
from portal.organizations.selectors import organization_active_dpa, organization_capabilities, organization_partners

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_json_shape(settings):
    settings.PORTAL_BASE_URL = "http://portal.test:8000"
    data = json.loads(seed("--json"))
    assert set(data) == {"baseUrl", "support", "organization", "partners", "users", "client"}
    assert data["baseUrl"] == "http://portal.test:8000"
    assert data["support"] == {"email": "support@nt24.example", "password": "demo-support-2026"}
    assert set(data["organization"]) == {"id", "slug", "name"}
    assert [p["authorized"] for p in data["partners"]] == [True, True, False]
    assert all(set(p) == {"id", "name", "authorized"} for p in data["partners"])
    assert [u["role"] for u in data["users"]] == ["admin", "operator", "viewer"]
    assert all(set(u) == {"email", "password", "role"} for u in data["users"])
    assert set(data["client"]) == {"clientId", "clientSecret"}
    assert data["client"]["clientSecret"].startswith("nt24_sk_")

    org = IntegrationOrganization.objects.get(pk=data["organization"]["id"])
    assert organization_active_dpa(organization=org).document.read(5) == b"%PDF-"
    assert organization_capabilities(organization=org) == {c.slug for c in CAPABILITIES}
    authorized = {str(p.pk) for p in organization_partners(organization=org)}
    assert authorized == {p["id"] for p in data["partners"] if p["authorized"]}


def test_seed_demo_logins_work(client):
    data = json.loads(seed("--json"))
    login = {"username": data["support"]["email"], "password": data["support"]["password"]}
    assert client.post("/accounts/login/", login).status_code == 302
    assert client.get("/organizations/").status_code == 200
    for user in data["users"]:
        client.logout()
        response = client.post("/accounts/login/", {"username": user["email"], "password": user["password"]})
        assert response.status_code == 302, user
        assert client.get(f"/organizations/{data['organization']['id']}/").status_code == 200


def test_seed_demo_is_idempotent_and_mints_a_fresh_secret():
    first = json.loads(seed("--json"))
    counts = (
        IntegrationOrganization.objects.count(),
        Partner.objects.count(),
        Membership.objects.count(),
        ApiClient.objects.count(),
    )
    second = json.loads(seed("--json"))
    assert (
        counts
        == (
            IntegrationOrganization.objects.count(),
            Partner.objects.count(),
            Membership.objects.count(),
            ApiClient.objects.count(),
        )
        == (1, 3, 3, 1)
    )
    assert {k: v for k, v in first.items() if k != "client"} == {k: v for k, v in second.items() if k != "client"}
    assert first["client"]["clientId"] == second["client"]["clientId"]
    assert first["client"]["clientSecret"] != second["client"]["clientSecret"]
    old = ClientSecret.objects.get(secret_hash=token_hash(first["client"]["clientSecret"]))
    new = ClientSecret.objects.get(secret_hash=token_hash(second["client"]["clientSecret"]))
    assert old.expires_at is not None and old.revoked_at is None  # still valid for the rotation window
    assert new.expires_at is None


def test_seed_demo_restores_the_documented_state():
    data = json.loads(seed("--json"))
    org = IntegrationOrganization.objects.get(pk=data["organization"]["id"])
    Membership.objects.filter(organization=org, role="viewer").update(role="admin")
    org.dpas.update(revoked_at=org.created_at)
    seed()
    assert organization_active_dpa(organization=org) is not None
    assert sorted(Membership.objects.filter(organization=org).values_list("role", flat=True)) == [
        "admin",
        "operator",
        "viewer",
    ]


def test_seed_demo_summary_is_friendly():
    out = seed()
    assert "Demo data is ready." in out and "support@nt24.example / demo-support-2026" in out
