"""POST /oauth/token: client credentials with HTTP Basic or form auth, RFC 6749 §5.2 errors."""

import base64
from urllib.parse import quote_plus

import pytest
from rest_framework.test import APIClient

from portal.clients.models import AccessToken, ClientSecret
from portal.clients.services import client_create, client_revoke, client_secret_revoke
from portal.core.audit import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials(organization):
    client, issued = client_create(actor=Actor.system(), organization=organization, name="DMS")
    return client, issued.plaintext


def basic(client_id, secret):
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def token_request(data, authorization=None, content_type="application/x-www-form-urlencoded"):
    api = APIClient()
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    if content_type == "application/x-www-form-urlencoded":
        from urllib.parse import urlencode

        return api.generic("POST", "/oauth/token", urlencode(data), content_type=content_type, **extra)
    return api.post("/oauth/token", data, format="json", **extra)


def assert_oauth_error(response, status, error):
    assert response.status_code == status, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]


def test_form_client_auth_issues_a_bearer_token(credentials, organization):
    client, secret = credentials
    response = token_request(
        {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("nt24_at_")
    # Stored only as a hash.
    assert not AccessToken.objects.filter(token_hash=body["access_token"]).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/v1/me").json()["client"]["clientId"] == client.client_id
    assert ClientSecret.objects.get(client=client).last_used_at is not None


def test_basic_client_auth(credentials):
    client, secret = credentials
    response = token_request({"grant_type": "client_credentials"}, authorization=basic(client.client_id, secret))
    assert response.status_code == 200
    assert response.json()["access_token"].startswith("nt24_at_")


def test_wrong_secret_with_basic_is_401_with_www_authenticate(credentials):
    client, secret = credentials
    response = token_request(
        {"grant_type": "client_credentials"}, authorization=basic(client.client_id, secret[:-1] + "x")
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].startswith("Basic")


def test_wrong_secret_in_form_is_invalid_client(credentials):
    client, _ = credentials
    response = token_request(
        {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "nt24_sk_wrong"}
    )
    assert_oauth_error(response, 401, "invalid_client")


def test_unknown_client_is_invalid_client(db):
    response = token_request({"grant_type": "client_credentials", "client_id": "nt24_ci_nope", "client_secret": "x"})
    assert_oauth_error(response, 401, "invalid_client")


def test_no_client_authentication_is_invalid_client(db):
    assert_oauth_error(token_request({"grant_type": "client_credentials"}), 401, "invalid_client")


def test_malformed_basic_header(db):
    assert_oauth_error(token_request({"grant_type": "client_credentials"}, "Basic !!!"), 401, "invalid_client")
    no_colon = "Basic " + base64.b64encode(b"nocolon").decode()
    assert_oauth_error(token_request({"grant_type": "client_credentials"}, no_colon), 401, "invalid_client")


def test_two_auth_methods_is_invalid_request(credentials):
    client, secret = credentials
    response = token_request(
        {"grant_type": "client_credentials", "client_secret": secret}, authorization=basic(client.client_id, secret)
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_missing_grant_type_is_invalid_request(credentials):
    client, secret = credentials
    response = token_request({"client_id": client.client_id, "client_secret": secret})
    assert_oauth_error(response, 400, "invalid_request")


def test_other_grant_is_unsupported_grant_type(credentials):
    client, secret = credentials
    response = token_request({"grant_type": "password", "client_id": client.client_id, "client_secret": secret})
    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_json_body_is_invalid_request(credentials):
    client, secret = credentials
    response = token_request(
        {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret},
        content_type="application/json",
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_get_is_405(db):
    response = APIClient().get("/oauth/token")
    assert response.status_code == 405
    assert "POST" in response["Allow"]


def test_revoked_secret_and_client_cannot_get_tokens(credentials):
    client, secret = credentials
    data = {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret}
    client_secret_revoke(actor=Actor.system(), secret=client.secrets.get())
    assert_oauth_error(token_request(data), 401, "invalid_client")
    client2, issued = client_create(actor=Actor.system(), organization=client.organization, name="Second")
    client_revoke(actor=Actor.system(), client=client2)
    data2 = {"grant_type": "client_credentials", "client_id": client2.client_id, "client_secret": issued.plaintext}
    assert_oauth_error(token_request(data2), 401, "invalid_client")
