import pytest


@pytest.mark.django_db
def test_missing_token_is_invalid_token_problem(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200  # the schema is public
