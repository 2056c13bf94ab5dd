import pytest

from portal.core.problems import PROBLEM_TYPES


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_broker(client):
    response = client.get("/readyz")
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert response.status_code in (200, 503)
    assert set(body["checks"]) == {"database", "broker"}


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
