"""Hostile inputs answer 4xx problems (or RFC 6749 errors at /oauth/token), never a 500 (issue #10 items 4, 12).

NUL characters (PostgreSQL refuses them in text) in credentials, paths, query strings and JSON; JSON nested
deep enough to exhaust Python's recursion limit; unmatched /v1 paths under DEBUG."""

import base64
import json
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from portal.clients.services import client_create
from portal.core.audit import Actor
from portal.kyc.models import Buyer
from tests.kyc.conftest import valid_vat_numbers

pytestmark = pytest.mark.django_db


def _problem(response, status, slug):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["type"].endswith(f"/problems/{slug}"), body
    return body


def _token(data=None, authorization=None):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return APIClient().generic(
        "POST", "/oauth/token", urlencode(data or {}), content_type="application/x-www-form-urlencoded", **extra
    )


@pytest.fixture
def credentials(organization):
    client, issued = client_create(actor=Actor.system(), organization=organization, name="DMS")
    return client.client_id, issued.plaintext


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "client_credentials", "client_id": "nt24_ci_\x00", "client_secret": "x"},
        {"grant_type": "client_credentials", "client_id": "\x00", "client_secret": "\x00"},
        {"grant_type": "client_credentials\x00", "client_id": "a", "client_secret": "b"},
    ],
)
def test_nul_in_form_credentials_is_invalid_request(data):
    response = _token(data)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert "NUL" in response.json()["error_description"]


@pytest.mark.parametrize("raw", [b"nt24_ci_\x00abc:secret", b"id:sec\x00ret", b"id%00:secret", b"\x00:\x00"])
def test_nul_in_http_basic_credentials_is_invalid_request(raw):
    response = _token({"grant_type": "client_credentials"}, "Basic " + base64.b64encode(raw).decode())
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"


def test_real_credentials_still_work_after_nul_attempts(credentials):
    client_id, secret = credentials
    _token({"grant_type": "client_credentials", "client_id": client_id + "\x00", "client_secret": secret})
    response = _token({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert response.status_code == 200, response.content


def test_client_credentials_verify_refuses_a_nul_client_id_without_querying():
    from portal.clients.selectors import client_credentials_verify

    assert client_credentials_verify(client_id="abc\x00", client_secret="x") is None


@pytest.mark.parametrize("path", ["/media/logos/%00.png", "/media/logos/a%00b.png", "/organizations/%00/"])
def test_nul_in_a_page_path_is_a_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/v1/me%00", "/v1/partners/%00/buyers", "/oauth/token%00"])
def test_nul_in_an_api_path_is_a_not_found_problem(api, path):
    _problem(api.get(path), 404, "not-found")


@pytest.mark.parametrize(
    "query",
    ["cursor=%00", "limit=1%00", "eventType=%00", "createdAfter=2026-01-01T00:00:00Z%00", "%00=1"],
)
def test_nul_in_a_query_string_is_a_validation_problem(api, partner, query):
    for url in (f"/v1/partners/{partner.pk}/buyers", "/v1/webhooks/deliveries"):
        body = _problem(api.get(f"{url}?{query}"), 422, "validation-error")
        assert body["errors"][0]["code"] == "null_characters_not_allowed"


@pytest.fixture
def buyers_url(partner):
    return f"/v1/partners/{partner.pk}/buyers"


@pytest.mark.parametrize(
    "body",
    [
        {"vatNumber": "DE\u0000", "name": "X"},
        {"vatNumber": "placeholder", "name": "Nord\u0000 GmbH"},
        {"vatNumber": "placeholder", "name": "X", "extra": {"k\u0000": 1}},
        {"vatNumber": "placeholder", "name": "X", "list": ["a", ["\u0000"]]},
    ],
)
def test_nul_in_a_json_string_is_a_malformed_request(api, buyers_url, body):
    vat = valid_vat_numbers(1)[0]
    payload = json.dumps({k: (vat if v == "placeholder" else v) for k, v in body.items()})
    _problem(api.generic("POST", buyers_url, payload, content_type="application/json"), 400, "malformed-request")
    assert Buyer.objects.count() == 0


def _nested(depth: int) -> str:
    return '{"vatNumber": "DE1", "name": "X", "x": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("depth", [3000, 100_000, 64])
def test_deeply_nested_json_on_buyer_post_and_patch_is_a_400(api, buyers_url, partner, depth):
    buyer = api.post(buyers_url, {"vatNumber": valid_vat_numbers(1)[0], "name": "X"}, format="json").json()
    body = _nested(depth)
    assert len(_nested(3000)) < 6100
    for method, url in (("POST", buyers_url), ("PATCH", f"{buyers_url}/{buyer['id']}")):
        response = api.generic(method, url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"k{depth}")
        problem = _problem(response, 400, "malformed-request")
        assert "64 levels" in problem["detail"]
    assert Buyer.objects.count() == 1


def test_json_within_the_nesting_limit_is_parsed(api, buyers_url):
    # 63 nested lists inside the top-level object: 64 levels, accepted by the parser (the field is unknown).
    response = api.generic("POST", buyers_url, _nested(63), content_type="application/json")
    assert response.status_code == 422, response.content  # vatNumber "DE1" is invalid: the body was read


def test_unmatched_v1_path_is_a_problem_even_under_debug(api, settings):
    settings.DEBUG = True
    for path in ("/v1/nope", "/v1/partners", "/v1/webhooks/endpoints/not-a-uuid", "/oauth/nope"):
        if path == "/v1/partners":
            assert api.get(path).status_code == 200
            continue
        body = _problem(api.get(path), 404, "not-found")
        assert body["instance"] == path
    # Pages keep Django's debug 404 page.
    assert APIClient().get("/organizations/nope/").status_code == 404


def test_nul_anywhere_else_in_a_request_is_never_a_500(api, partner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    buyers = f"/v1/partners/{partner.pk}/buyers"
    buyer = api.post(buyers, {"vatNumber": valid_vat_numbers(1)[0], "name": "X"}, format="json").json()
    nul_json = json.dumps({"url": "https://example.com/\u0000", "subscriptions": ["kyc.*\u0000"]})
    answers = [
        APIClient().get("/v1/me", HTTP_AUTHORIZATION="Bearer nt24_at_\x00abc"),
        api.post("/v1/webhooks/endpoints", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k\x00"),
        api.generic("POST", "/v1/webhooks/endpoints", nul_json, content_type="application/json"),
        api.generic("POST", "/v1/webhooks/replays", '{"eventId": "msg_\\u0000"}', content_type="application/json"),
        api.generic("PATCH", f"{buyers}/{buyer['id']}", '{"kycLevel": "B\\u0000"}', content_type="application/json"),
        api.post(
            f"{buyers}/{buyer['id']}/kyc/documents",
            {"type": "PASSPORT\x00", "file": SimpleUploadedFile("a\x00.pdf", b"%PDF-1.4\n%%EOF\n")},
            format="multipart",
        ),
    ]
    for response in answers:
        assert 400 <= response.status_code < 500, (response.request["PATH_INFO"], response.content)
        assert response["Content-Type"].startswith("application/problem+json")
