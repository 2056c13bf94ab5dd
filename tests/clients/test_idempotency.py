"""Idempotency-Key on POST/PATCH, scoped to the organization, through IntegrationAPIView."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from portal.clients.models import IdempotencyRecord
from portal.core.problems import Problem
from portal.gateway.idempotency import idempotency_records_purge, parse_idempotency_key
from tests.clients import gateway_urls
from tests.conftest import bearer_client_for
from tests.factories import pilot_organization

pytestmark = pytest.mark.urls("tests.clients.gateway_urls")


@pytest.fixture(autouse=True)
def _executions():
    gateway_urls.EXECUTIONS.clear()
    yield
    gateway_urls.EXECUTIONS.clear()


def post(api, body, key=None, path="/v1/echo", method="post"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return getattr(api, method)(path, body, format="json", **headers)


@pytest.mark.parametrize(
    ("raw", "key"),
    [("abc", "abc"), (' "abc" ', "abc"), ('"a\\"b"', 'a"b'), ('"a\\\\b"', "a\\b"), ("8e2f-uuid", "8e2f-uuid")],
)
def test_parse_bare_and_structured_field_keys(raw, key):
    assert parse_idempotency_key(raw) == key


@pytest.mark.parametrize("raw", ['""', "", '"a\\x"', '"a"b"', "é", "x" * 256])
def test_bad_keys_are_validation_errors(raw):
    with pytest.raises(Problem) as info:
        parse_idempotency_key(raw)
    assert info.value.problem.slug == "validation-error"


@pytest.mark.django_db
def test_same_key_same_body_replays_the_stored_response(api):
    first = post(api, {"a": 1, "b": [1, 2]}, key="k1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = post(api, {"b": [1, 2], "a": 1}, key='"k1"')  # key order and the sf-string form don't matter
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again["Location"] == "/x/1"
    assert again["Content-Type"] == "application/json"
    assert len(gateway_urls.EXECUTIONS) == 1


@pytest.mark.django_db
def test_same_key_different_body_is_422(api):
    post(api, {"a": 1}, key="k2")
    response = post(api, {"a": 2}, key="k2")
    assert response.status_code == 422
    assert response.json()["type"].endswith("/problems/idempotency-key-reused")
    assert len(gateway_urls.EXECUTIONS) == 1


@pytest.mark.django_db
def test_same_key_other_method_or_path_is_422(api):
    post(api, {"a": 1}, key="k3")
    response = post(api, {"a": 1}, key="k3", method="patch")
    assert response.json()["type"].endswith("/problems/idempotency-key-reused")


@pytest.mark.django_db
def test_without_a_key_every_request_executes(api):
    post(api, {"a": 1})
    post(api, {"a": 1})
    assert len(gateway_urls.EXECUTIONS) == 2


@pytest.mark.django_db
def test_keys_are_scoped_to_the_organization(api, organization):
    other_api, _ = bearer_client_for(pilot_organization())
    assert post(api, {"a": 1}, key="shared").status_code == 201
    response = post(other_api, {"a": 1}, key="shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert len(gateway_urls.EXECUTIONS) == 2


@pytest.mark.django_db
def test_keys_are_shared_by_the_clients_of_one_organization(organization):
    api_a, _ = bearer_client_for(organization, name="A")
    api_b, _ = bearer_client_for(organization, name="B")
    post(api_a, {"a": 1}, key="org-wide")
    assert post(api_b, {"a": 1}, key="org-wide")["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_in_flight_key_is_409(api):
    first = post(api, {"a": 1}, key="busy")
    IdempotencyRecord.objects.filter(key="busy").update(state=IdempotencyRecord.State.IN_PROGRESS)
    response = post(api, {"a": 1}, key="busy")
    assert first.status_code == 201
    assert response.status_code == 409
    assert response.json()["type"].endswith("/problems/idempotency-request-in-progress")
    assert response["Retry-After"] == "1"


@pytest.mark.django_db
def test_a_stale_claim_can_be_taken_over(api):
    post(api, {"a": 1}, key="stale")
    IdempotencyRecord.objects.filter(key="stale").update(
        state=IdempotencyRecord.State.IN_PROGRESS, locked_at=timezone.now() - timedelta(minutes=6)
    )
    assert post(api, {"a": 1}, key="stale").status_code == 201
    assert len(gateway_urls.EXECUTIONS) == 2


@pytest.mark.django_db
def test_errors_below_500_are_stored_and_5xx_release_the_key(api):
    bad = post(api, {"fail": "problem"}, key="p")
    assert bad.status_code == 422
    replay = post(api, {"fail": "problem"}, key="p")
    assert replay.status_code == 422 and replay["Idempotent-Replayed"] == "true"
    assert replay["Content-Type"] == "application/problem+json"
    crash = post(api, {"fail": "crash"}, key="c")
    assert crash.status_code == 500
    assert "Traceback" not in crash.content.decode()
    assert not IdempotencyRecord.objects.filter(key="c").exists()


@pytest.mark.django_db
def test_gateway_rejections_do_not_claim_the_key(organization):
    api, _ = bearer_client_for(pilot_organization(dpa=False))
    assert post(api, {"a": 1}, key="g").status_code == 403
    assert not IdempotencyRecord.objects.filter(key="g").exists()


def _fresh_api(client):
    from portal.clients.services import access_token_issue

    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token_issue(client=client, secret=client.secrets.get()).plaintext}"
    )
    return api


@pytest.mark.django_db
def test_keys_live_24_hours(organization):
    api, client = bearer_client_for(organization)
    start = timezone.now()
    post(api, {"a": 1}, key="old")
    with time_machine.travel(start + timedelta(hours=23, minutes=59)):
        assert post(_fresh_api(client), {"a": 1}, key="old")["Idempotent-Replayed"] == "true"
        assert idempotency_records_purge() == 0
    with time_machine.travel(start + timedelta(hours=24, seconds=1)):
        response = post(_fresh_api(client), {"a": 2}, key="old")  # an expired key is fresh, even with another body
        assert response.status_code == 201 and "Idempotent-Replayed" not in response
    with time_machine.travel(start + timedelta(hours=48, seconds=2)):
        assert idempotency_records_purge() == 1


@pytest.mark.django_db
def test_invalid_key_header_is_a_validation_problem(api):
    response = post(api, {"a": 1}, key='"unterminated\\"')
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking across connections")
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_execute_exactly_once():
    organization = pilot_organization()
    organization.rate_limit_per_minute = 10_000
    organization.save()
    _, client = bearer_client_for(organization)
    from portal.clients.services import access_token_issue

    token = access_token_issue(client=client, secret=client.secrets.get()).plaintext
    results: list = []
    barrier = threading.Barrier(8)

    def worker():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            results.append(post(api, {"sleep": "0.3", "x": 1}, key="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert len(gateway_urls.EXECUTIONS) == 1
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    replayed = [r for r in results if r.status_code == 201 and r.has_header("Idempotent-Replayed")]
    assert len([r for r in results if r.status_code == 201]) - len(replayed) == 1
    # Once the first finished, a retry replays it.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert post(api, {"sleep": "0.3", "x": 1}, key="race")["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_key_reused_on_another_path_says_the_path_differs_not_the_body(api, partner):
    post(api, {"a": 1}, key="k-path")
    response = post(api, {"a": 1}, key="k-path", path=f"/v1/partners/{partner.pk}/buyers")
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/problems/idempotency-key-reused")
    assert body["differs"] == ["path"]
    assert "POST /v1/echo" in body["detail"] and f"POST /v1/partners/{partner.pk}/buyers" in body["detail"]
    assert "different body" not in body["detail"]


@pytest.mark.django_db
def test_key_reused_with_another_method_says_so(api):
    post(api, {"a": 1}, key="k-method")
    body = post(api, {"a": 1}, key="k-method", method="patch").json()
    assert body["differs"] == ["method"]
    assert "PATCH /v1/echo" in body["detail"] and "another method" in body["detail"]


@pytest.mark.django_db
def test_key_reused_with_another_body_says_the_body_differs(api):
    post(api, {"a": 1}, key="k-body")
    body = post(api, {"a": 2}, key="k-body").json()
    assert body["differs"] == ["body"]
    assert "different body" in body["detail"]
