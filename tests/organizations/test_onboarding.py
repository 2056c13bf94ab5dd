from datetime import timedelta

import pytest
from django.utils import timezone

from portal.clients.services import client_create
from portal.console.onboarding import onboarding_progress, onboarding_steps
from portal.core.audit import Actor
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def states(org):
    return {s.key: s.state for s in onboarding_steps(organization=org)}


def test_new_organization_has_everything_to_do():
    org = OrganizationFactory()
    steps = onboarding_steps(organization=org)
    assert [s.key for s in steps] == ["dpa", "partner", "capabilities", "client", "endpoint", "delivery", "api_call"]
    assert all(s.state == "todo" for s in steps)


def test_pilot_progresses_through_the_steps(organization):
    before = states(organization)
    assert before["dpa"] == before["partner"] == before["capabilities"] == "done"
    assert before["client"] == "todo" and before["api_call"] == "todo"
    client, _ = client_create(actor=Actor(), organization=organization, name="DMS")
    assert states(organization)["client"] == "done"
    client.last_used_at = timezone.now() - timedelta(minutes=1)
    client.save()
    assert states(organization)["api_call"] == "done"


def test_webhook_steps_follow_the_webhooks_app(organization, django_capture_on_commit_callbacks):
    from portal.webhooks.services import endpoint_create, endpoint_send_test
    from tests.webhooks.conftest import Receiver

    steps = {s.key: s for s in onboarding_steps(organization=organization)}
    assert steps["endpoint"].state == "todo" and steps["delivery"].state == "todo"
    receiver = Receiver()
    try:
        endpoint = endpoint_create(actor=Actor(), organization=organization, url=receiver.url, subscriptions=["kyc.*"])
        assert states(organization)["endpoint"] == "done"
        assert states(organization)["delivery"] == "todo"
        with django_capture_on_commit_callbacks(execute=True):
            endpoint_send_test(actor=Actor(), endpoint=endpoint)
        assert states(organization)["delivery"] == "done"
        done, total = onboarding_progress(onboarding_steps(organization=organization))
        assert (done, total) == (5, 7)
    finally:
        receiver.close()
