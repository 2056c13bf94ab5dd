"""Schemathesis over /v1/openapi.json, in process: no 5xx and no response that violates the schema.

Every documented operation gets generated requests with a valid bearer token of a pilot organization,
the organization's real partner as `seller_id` (so requests get past the gateway into the views), and
random everything else. Hypothesis' example database is off so runs are reproducible in CI.
"""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.clients.services import access_token_issue, client_create
from portal.core.audit import Actor
from tests.factories import pilot_organization

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: a WSGI request must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_api_conforms_to_its_schema(keep_test_connection):
    organization = pilot_organization(
        capabilities=("webhooks", "kycSelfServiceInvitations", "kycLevelB", "allowMultiVinOrders")
    )
    organization.rate_limit_per_minute = 100_000
    organization.save()
    partner = organization.partner_authorizations.get().partner
    client, issued = client_create(actor=Actor.system(), organization=organization, name="Schemathesis")
    token = access_token_issue(client=client, secret=issued.secret).plaintext

    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", WSGIHandler())
    schema = schema.include(path_regex=r"^/v1/")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        path_parameters = {"seller_id": str(partner.pk)} if "{seller_id}" in operation.path else None
        strategy = operation.as_strategy(headers={"Authorization": f"Bearer {token}"}, path_parameters=path_parameters)

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case):
            response = case.call()
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 3
    assert not failures, "\n\n".join(failures)
