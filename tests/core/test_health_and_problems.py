import pytest

from portal.core.problems import PROBLEM_TYPES


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_broker(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert response.status_code in (200, 503)
    assert set(body["checks"]) == {"database", "broker"}  # no Redis configured: none checked


@pytest.mark.django_db
def test_readyz_is_503_naming_redis_when_it_is_configured_but_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "unavailable"
    assert body["checks"]["redis"] == "ConnectionError"
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_is_200_when_redis_answers(client, settings):
    import os

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs a Redis server (REDIS_URL)")
    settings.REDIS_URL = redis_url
    # The broker is checked too; the embedded one always answers, a Redis broker is the same server in CI.
    response = client.get("/readyz")
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "ok", "redis": "ok"}
    assert response.status_code == 200


def test_problem_reference_lists_every_catalog_entry(client):
    response = client.get("/problems/")
    assert response.status_code == 200
    for problem in PROBLEM_TYPES:
        assert problem.slug in response.content.decode()


@pytest.mark.parametrize("problem", PROBLEM_TYPES, ids=lambda p: p.slug)
def test_every_problem_type_uri_resolves(client, problem):
    response = client.get(f"/problems/{problem.slug}")
    assert response.status_code == 200
    assert problem.title in response.content.decode()


def test_unknown_problem_is_404(client):
    assert client.get("/problems/no-such-problem").status_code == 404
