"""RFC 9457 problem+json: every catalog entry's shape, and every error path of the API renders one."""

import json

import pytest
from django.test import Client

from portal.core.problems import PROBLEM_TYPES

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.clients.gateway_urls")]


def assert_problem(response, slug, status, *, instance):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["type"].endswith(f"/problems/{slug}")
    assert body["status"] == status
    assert body["instance"] == instance
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    text = response.content.decode()
    assert "Traceback" not in text and 'File "' not in text
    return body


@pytest.mark.parametrize("problem", PROBLEM_TYPES, ids=lambda p: p.slug)
def test_every_catalog_entry_renders_as_problem_json(api, problem, client):
    path = f"/v1/raise/{problem.slug}"
    body = assert_problem(api.get(path), problem.slug, problem.status, instance=path)
    assert body["title"] == problem.title
    assert body["detail"] == f"detail for {problem.slug}"
    # ... and its `type` URI resolves to the public reference page.
    page = client.get("/problems/" + body["type"].rsplit("/problems/", 1)[1])
    assert page.status_code == 200 and problem.title in page.content.decode()


def test_validation_error_lists_every_field(api):
    response = api.post("/v1/errors/x", {"name": "toolong", "count": 0, "address": {}, "tags": [1, "x"]}, format="json")
    body = assert_problem(response, "validation-error", 422, instance="/v1/errors/x")
    fields = {e["field"]: e for e in body["errors"]}
    assert set(fields) == {"name", "count", "address.city", "tags.1"}
    assert all({"field", "message", "code"} <= set(e) for e in body["errors"])
    assert fields["count"]["code"] == "min_value"
    assert body["detail"].startswith(body["errors"][0]["field"] + ": ")


def test_django_validation_error_is_a_validation_problem(api):
    body = assert_problem(
        api.get("/v1/errors/django-validation"), "validation-error", 422, instance="/v1/errors/django-validation"
    )
    assert body["errors"] == [{"field": "email", "message": "Enter a valid e-mail address.", "code": "invalid"}]


def test_not_found_in_a_view_and_for_an_unknown_path(api):
    assert_problem(api.get("/v1/errors/404"), "not-found", 404, instance="/v1/errors/404")
    assert_problem(Client().get("/v1/no/such/thing"), "not-found", 404, instance="/v1/no/such/thing")


def test_method_not_allowed(api):
    response = api.delete("/v1/me")
    assert_problem(response, "method-not-allowed", 405, instance="/v1/me")
    assert "GET" in response["Allow"]


def test_unsupported_media_type(api):
    response = api.generic("POST", "/v1/errors/x", "name=a", content_type="text/plain")
    assert_problem(response, "unsupported-media-type", 415, instance="/v1/errors/x")


def test_malformed_json(api):
    response = api.generic("POST", "/v1/errors/x", "{not json", content_type="application/json")
    assert_problem(response, "malformed-request", 400, instance="/v1/errors/x")


def test_not_acceptable(api):
    response = api.get("/v1/me", HTTP_ACCEPT="application/xml")
    assert_problem(response, "not-acceptable", 406, instance="/v1/me")


def test_throttled_is_rate_limited_with_retry_after(api):
    response = api.get("/v1/errors/throttled")
    assert_problem(response, "rate-limited", 429, instance="/v1/errors/throttled")
    assert response["Retry-After"] == "7"


def test_unhandled_error_has_no_stack_trace(api, caplog):
    response = api.get("/v1/errors/crash")
    body = assert_problem(response, "internal-error", 500, instance="/v1/errors/crash")
    assert "secret internals" not in response.content.decode()
    assert body["errorId"] and body["errorId"] in caplog.text


def test_payload_too_large(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api.generic("POST", "/v1/errors/x", json.dumps({"name": "x" * 500}), content_type="application/json")
    assert_problem(response, "payload-too-large", 413, instance="/v1/errors/x")
