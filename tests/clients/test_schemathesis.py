"""Schemathesis over /v1/openapi.json, in process: no 5xx and no response that violates the schema.

Every documented operation gets generated requests with a valid bearer token of a pilot organization,
the organization's real partner as `seller_id` (so requests get past the gateway into the views), and
random everything else. Hypothesis' example database is off so runs are reproducible in CI.

The stateful test follows the schema's OpenAPI links (create → read/update/delete, list → detail), so
generated sequences reach real objects instead of 404s on random ids.
"""

from collections import Counter

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.clients.services import access_token_issue, client_create
from portal.core.audit import Actor
from portal.kyc.services import buyer_upsert, invitation_create
from portal.webhooks.services import endpoint_create, endpoint_send_test
from tests.factories import pilot_organization

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 12
STATEFUL_SCENARIOS = 150
STATEFUL_STEPS = 10
# What generated data cannot hit by chance: a URL resolving to an allowed address, catalog events, a real VAT number.
REALISTIC_BODY_FIELDS = {
    "POST /v1/webhooks/endpoints": {"url": "https://127.0.0.1/hook", "subscriptions": ["kyc.*"]},
    "POST /v1/partners/{seller_id}/buyers": {"vatNumber": "DE811569869"},
}


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: a WSGI request must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def pilot_api(db, keep_test_connection):
    """A pilot organization with every capability and a budget no run exhausts: (organization, partner, token)."""
    organization = pilot_organization(
        capabilities=("webhooks", "kycSelfServiceInvitations", "kycLevelB", "allowMultiVinOrders")
    )
    organization.rate_limit_per_minute = 100_000
    organization.save()
    partner = organization.partner_authorizations.get().partner
    client, issued = client_create(actor=Actor.system(), organization=organization, name="Schemathesis")
    token = access_token_issue(client=client, secret=issued.secret).plaintext
    return organization, partner, token


def v1_schema():
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", WSGIHandler()).include(path_regex=r"^/v1/")


def test_api_conforms_to_its_schema(pilot_api):
    _organization, partner, token = pilot_api
    schema = v1_schema()
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


def test_linked_call_sequences_conform_to_the_schema(pilot_api):
    """Sequences that follow the schema's links: what one call creates or lists, the next reads, edits or deletes."""
    organization, partner, token = pilot_api
    # Something for the list → detail links to find from the first step on.
    endpoint = endpoint_create(
        actor=Actor.system(), organization=organization, url="https://127.0.0.1/hook", subscriptions=["kyc.*"]
    )
    endpoint_send_test(actor=Actor.system(), endpoint=endpoint)
    buyer, _ = buyer_upsert(
        actor=Actor.system(), organization=organization, partner=partner, vat_number="DE811569869", name="Seed GmbH"
    )
    invitation_create(actor=Actor.system(), buyer=buyer, email="kyc@example.com")

    schema = v1_schema()
    schema.config.phases.stateful.inference.algorithms = []  # only the links the schema declares
    linked_successes: Counter[str] = Counter()
    failures: list[str] = []

    class LinkedCalls(schema.as_state_machine()):
        # Every scenario starts from the seeded data: Hypothesis replays choice sequences and expects the same
        # responses (which rules are available depends on them).
        def setup(self):
            self.scenario = transaction.atomic()
            self.scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)

        def step(self, input):
            realistic = REALISTIC_BODY_FIELDS.get(input.case.operation.label)
            if realistic and isinstance(input.case.body, dict):
                input.case.body = {**input.case.body, **realistic}
            output = super().step(input)
            if input.transition is not None and input.is_applied and output.response.status_code < 300:
                linked_successes[output.case.operation.label] += 1
            return output

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Collected, not raised: one run reports every failing operation, like the stateless test.
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:
                failures.append(f"{case.operation.label}: {exc}")

    run_state_machine_as_test(
        LinkedCalls,
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert not failures, "\n\n".join(dict.fromkeys(failures))
    assert len(linked_successes) >= 5, f"few linked calls succeeded ({dict(linked_successes)}): links gone?"
    assert any("{seller_id}" in label for label in linked_successes), "no partner-scoped linked call succeeded"
