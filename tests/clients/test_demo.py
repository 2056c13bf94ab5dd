import pytest

from portal.clients.demo import demo_client_credentials
from portal.clients.models import ApiClient
from portal.clients.selectors import client_credentials_verify

pytestmark = pytest.mark.django_db


def test_first_run_creates_demo_dms_and_later_runs_rotate(organization):
    first = demo_client_credentials(organization=organization)
    assert first["clientId"].startswith("nt24_ci_") and first["clientSecret"].startswith("nt24_sk_")
    assert ApiClient.objects.get(organization=organization).name == "Demo DMS"
    second = demo_client_credentials(organization=organization)
    assert second["clientId"] == first["clientId"]
    assert second["clientSecret"] != first["clientSecret"]
    # The previous secret stays valid for the rotation window.
    assert client_credentials_verify(client_id=first["clientId"], client_secret=first["clientSecret"])
    assert client_credentials_verify(client_id=second["clientId"], client_secret=second["clientSecret"])
    third = demo_client_credentials(organization=organization)
    assert client_credentials_verify(client_id=first["clientId"], client_secret=first["clientSecret"]) is None
    assert client_credentials_verify(client_id=third["clientId"], client_secret=second["clientSecret"])
    assert ApiClient.objects.filter(organization=organization).count() == 1


def test_demo_token_calls_me(organization, client):
    creds = demo_client_credentials(organization=organization)
    response = client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": creds["clientId"], "client_secret": creds["clientSecret"]},
    )
    token = response.json()["access_token"]
    me = client.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 200
    assert me.json()["client"]["name"] == "Demo DMS"


def test_onboarding_steps_for_client_and_first_call_become_live(organization, client):
    from portal.console.onboarding import onboarding_steps

    def done():
        return {s.key: s.done for s in onboarding_steps(organization=organization)}

    assert not done()["client"] and not done()["api_call"]
    creds = demo_client_credentials(organization=organization)
    assert done()["client"] and not done()["api_call"]
    token = client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": creds["clientId"], "client_secret": creds["clientSecret"]},
    ).json()["access_token"]
    assert not done()["api_call"]  # getting a token is not an API call
    assert client.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert done()["api_call"]


def test_seed_demo_json_carries_fresh_client_credentials(db, capsys):
    import json

    from django.core.management import call_command

    call_command("seed_demo", "--json")
    first = json.loads(capsys.readouterr().out)["client"]
    call_command("seed_demo", "--json")
    second = json.loads(capsys.readouterr().out)["client"]
    assert first["clientId"] == second["clientId"]
    assert first["clientSecret"] != second["clientSecret"]
    assert client_credentials_verify(client_id=first["clientId"], client_secret=first["clientSecret"])
