"""The published OpenAPI schema: security schemes, Problem component, and a generated client that works."""

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from portal.clients.services import client_create
from portal.core.audit import Actor

GENERATOR = Path(sys.executable).parent / "openapi-generator-cli"


@pytest.fixture
def schema(db):
    response = Client().get("/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json") or response[
        "Content-Type"
    ].startswith("application/json")
    return response.json()


def test_schema_has_bearer_and_client_credentials_security(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "opaque (nt24_at_…)",
        "description": "An access token from POST /oauth/token, valid for one hour.",
    }
    assert schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert schema["paths"]["/v1/me"]["get"]["security"] == [{"bearerAuth": []}, {"oauth2": []}]
    assert schema["servers"][0]["url"] == "http://testserver"


def test_every_v1_operation_documents_the_gateway_problems(schema):
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    assert set(schema["components"]["schemas"]["Problem"]["required"]) >= {"type", "title", "status", "detail"}
    for path, item in schema["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            if method not in {"get", "post", "patch", "put", "delete"}:
                continue
            responses = operation["responses"]
            for code in ("401", "403", "429"):
                content = responses[code]["content"]["application/problem+json"]
                assert content["schema"] == problem_ref, (method, path, code)
                assert content["examples"], (method, path, code)
            if "{seller_id}" in path or "{sellerId}" in path:
                assert "partner-not-authorized" in responses["403"]["description"]
            if method in ("post", "patch"):
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "Idempotency-Key" in names, (method, path)
                assert "idempotency-key-reused" in responses["422"]["description"]
                assert "409" in responses


def test_me_has_an_example_and_rate_limit_headers(schema):
    ok = schema["paths"]["/v1/me"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["examples"]
    assert {"RateLimit", "RateLimit-Policy"} <= set(ok["headers"])
    assert "Retry-After" in schema["paths"]["/v1/me"]["get"]["responses"]["429"]["headers"]


def _json_schema(node):
    """OpenAPI 3.0 `nullable: true` as JSON Schema's `null` type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def _conforms(schema, component: str, value: dict) -> None:
    from jsonschema import Draft202012Validator, FormatChecker

    document = {"$ref": f"#/components/schemas/{component}", "components": _json_schema(schema["components"])}
    Draft202012Validator(document, format_checker=FormatChecker()).validate(value)


def test_a_buyer_without_email_conforms_to_the_buyer_schema(schema, organization, partner):
    from portal.kyc.representations import buyer_data
    from portal.kyc.services import buyer_upsert

    buyer, _ = buyer_upsert(
        actor=Actor.system(), organization=organization, partner=partner, vat_number="DE811569869", name="No Mail"
    )
    assert buyer_data(buyer)["email"] == ""
    _conforms(schema, "BuyerRepresentation", buyer_data(buyer))  # was `format: email`


def test_an_invitation_without_locale_conforms_to_the_invitation_schema(schema, organization, partner):
    from portal.kyc.representations import invitation_data
    from portal.kyc.services import buyer_upsert, invitation_create

    buyer, _ = buyer_upsert(
        actor=Actor.system(), organization=organization, partner=partner, vat_number="DE811569869", name="Any"
    )
    invitation, _token = invitation_create(actor=Actor.system(), buyer=buyer, email="kyc@example.com")
    invitation.refresh_from_db()
    assert invitation_data(invitation)["locale"] == ""
    _conforms(schema, "InvitationRepresentation", invitation_data(invitation))  # was enum en/de only


def test_links_lead_from_what_a_call_creates_or_lists_to_its_operations(schema):
    operations = {
        operation["operationId"]: operation for item in schema["paths"].values() for operation in item.values()
    }
    links = {
        (operation_id, status, name): link
        for operation_id, operation in operations.items()
        for status, response in operation["responses"].items()
        for name, link in response.get("links", {}).items()
    }
    assert links[("buyers_upsert", "201", "buyers_retrieve")]["parameters"] == {
        "seller_id": "$request.path.seller_id",
        "buyer_id": "$response.body#/id",
    }
    assert links[("webhooks_endpoints_create", "201", "webhooks_endpoints_destroy")]["parameters"] == {
        "endpoint_id": "$response.body#/id"
    }
    assert links[("webhooks_deliveries_list", "200", "webhooks_deliveries_replay")]["parameters"] == {
        "delivery_id": "$response.body#/data/0/id"
    }
    assert ("kyc_invitations_create", "201", "kyc_invitations_revoke") in links
    assert ("partners_list", "200", "buyers_upsert") in links
    for (_source, _status, _name), link in links.items():
        target = operations[link["operationId"]]
        names = {parameter["name"] for parameter in target.get("parameters", [])}
        assert set(link["parameters"]) <= names, link


def test_swagger_ui_page_uses_sidecar_and_nonces(client):
    response = client.get("/docs/api/")
    html = response.content.decode()
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert html.count(f'nonce="{nonce}"') >= 3
    assert "cdn" not in html.lower()


@pytest.mark.django_db(transaction=True)
def test_generated_python_client_gets_a_token_and_calls_me(live_server, organization, tmp_path):
    assert shutil.which("java"), "openapi-generator needs a Java runtime (apt-get install default-jre-headless)"
    spec = tmp_path / "openapi.json"
    spec.write_bytes(Client().get("/v1/openapi.json").content)
    out = tmp_path / "generated"
    subprocess.run(
        [str(GENERATOR), "generate", "-i", str(spec), "-g", "python", "-o", str(out), "--package-name", "nt24_gen"],
        check=True,
        capture_output=True,
        timeout=240,
    )
    api_client, issued = client_create(actor=Actor.system(), organization=organization, name="Generated")
    sys.path.insert(0, str(out))
    try:
        nt24 = importlib.import_module("nt24_gen")
        config = nt24.Configuration(host=live_server.url)
        with nt24.ApiClient(config) as http:
            token = nt24.OauthApi(http).oauth_token(
                grant_type="client_credentials", client_id=api_client.client_id, client_secret=issued.plaintext
            )
            assert token.token_type == "Bearer" and token.expires_in == 3600
            config.access_token = token.access_token
            me = nt24.MeApi(http).me_retrieve()
            assert me.client.client_id == api_client.client_id
            assert me.organization.id == str(organization.pk) or str(me.organization.id) == str(organization.pk)
            assert me.dpa.status == "ACCEPTED"
            partners = nt24.MeApi(http).partners_list()
            assert len(partners.data) == 1
        # HTTP Basic client authentication through the generated client as well.
        basic = nt24.Configuration(host=live_server.url, username=api_client.client_id, password=issued.plaintext)
        with nt24.ApiClient(basic) as http:
            assert nt24.OauthApi(http).oauth_token(grant_type="client_credentials").access_token.startswith("nt24_at_")
        # A problem response surfaces as the generated client's exception with our problem+json body.
        config.access_token = "nt24_at_invalid"
        with nt24.ApiClient(config) as http, pytest.raises(nt24.exceptions.UnauthorizedException) as info:
            nt24.MeApi(http).me_retrieve()
        assert "invalid-token" in info.value.body
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "nt24_gen" or m.startswith("nt24_gen.")]:
            del sys.modules[name]
