from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import timezone

from portal.core.audit import Actor
from portal.kyc import services, tasks
from portal.kyc.models import Buyer
from portal.kyc.vies import vies_interpret
from tests.kyc.conftest import events

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("payload", "verdict", "error"),
    [
        ({"valid": True, "userError": "VALID", "requestIdentifier": "WAPI1"}, "VALID", ""),
        ({"valid": False, "userError": "INVALID"}, "INVALID", "INVALID"),
        ({"valid": False, "userError": "INVALID_INPUT"}, "INVALID", "INVALID_INPUT"),
        ({"actionSucceed": False, "errorWrappers": [{"error": "INVALID_INPUT"}]}, "INVALID", "INVALID_INPUT"),
        ({"valid": False}, "INVALID", ""),
        ({"valid": False, "userError": "MS_UNAVAILABLE"}, None, "MS_UNAVAILABLE"),
        ({"valid": False, "userError": "TIMEOUT"}, None, "TIMEOUT"),
        ({"valid": False, "userError": "SERVICE_UNAVAILABLE"}, None, "SERVICE_UNAVAILABLE"),
        ({"valid": False, "userError": "GLOBAL_MAX_CONCURRENT_REQ"}, None, "GLOBAL_MAX_CONCURRENT_REQ"),
        ({"errorWrappers": [{"error": "MS_MAX_CONCURRENT_REQ"}]}, None, "MS_MAX_CONCURRENT_REQ"),
        ({"something": "else"}, None, "HTTP_200"),
    ],
)
def test_mapping(payload, verdict, error):
    answer = vies_interpret(payload)
    assert answer.verdict == verdict
    assert answer.error == error


def test_valid_answer(buyer, vies, vies_url):
    vies.post(vies_url, json={"valid": True, "userError": "VALID", "requestIdentifier": "WAPI123"})
    tasks.vies_check(str(buyer.pk))
    buyer.refresh_from_db()
    assert buyer.vies_result == "VALID" and buyer.vies_next_check_at is None
    assert buyer.vies_request_identifier == "WAPI123"
    assert buyer.version == 2
    sent = vies.calls[0].request
    assert b'"countryCode": "DE"' in sent.body and buyer.vat_number[2:].encode() in sent.body
    completed = events("compliance.vies.completed")
    assert [e.data["viesResult"] for e in completed] == ["VALID"]
    assert completed[0].data["version"] == 2
    rollup = events("compliance.rollup.updated")[-1].data
    assert rollup["viesResult"] == "VALID" and rollup["version"] == 2


def test_invalid_answer(buyer, vies, vies_url):
    vies.post(vies_url, json={"valid": False, "userError": "INVALID"})
    tasks.vies_check(str(buyer.pk))
    buyer.refresh_from_db()
    assert buyer.vies_result == "INVALID" and buyer.compliance_status == "NON_COMPLIANT"


def test_outage_as_http_200_stays_pending_then_unknown_then_recovers(buyer, vies, vies_url, settings):
    settings.VIES_MAX_ATTEMPTS = 3
    vies.post(vies_url, json={"countryCode": "DE", "valid": False, "userError": "MS_UNAVAILABLE"})
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        tasks.vies_check(str(buyer.pk))
        buyer.refresh_from_db()
        assert buyer.vies_result == "PENDING"
        assert buyer.vies_attempts == 1 and buyer.vies_last_error == "MS_UNAVAILABLE"
        assert buyer.vies_next_check_at > now
        assert buyer.version == 1
        assert events("compliance.vies.completed") == []
        # Not due yet: the beat task does not call VIES.
        tasks.vies_check_due()
        assert len(vies.calls) == 1
        first_delay = buyer.vies_next_check_at - now
        clock.shift(timedelta(hours=2))
        tasks.vies_check_due()
        buyer.refresh_from_db()
        assert buyer.vies_attempts == 2 and buyer.vies_result == "PENDING"
        assert buyer.vies_next_check_at - timezone.now() > first_delay  # backoff grows
        clock.shift(timedelta(hours=2))
        tasks.vies_check_due()
        buyer.refresh_from_db()
        assert buyer.vies_result == "UNKNOWN" and buyer.version == 2
        assert [e.data["viesResult"] for e in events("compliance.vies.completed")] == ["UNKNOWN"]
        assert buyer.vies_next_check_at is not None  # still retried in the background
        vies.replace("POST", vies_url, json={"valid": True})
        clock.shift(timedelta(hours=2))
        tasks.vies_check_due()
        buyer.refresh_from_db()
        assert buyer.vies_result == "VALID" and buyer.version == 3 and buyer.vies_next_check_at is None
        assert [e.data["version"] for e in events("compliance.vies.completed")] == [2, 3]


@pytest.mark.parametrize("failure", ["connection", "http500", "html"])
def test_transport_failures_are_transient(buyer, vies, vies_url, failure):
    if failure == "connection":
        vies.post(vies_url, body=requests.ConnectionError("refused"))
    elif failure == "http500":
        vies.post(vies_url, status=500, json={"error": "boom"})
    else:
        vies.post(vies_url, status=503, body="<html>down</html>")
    tasks.vies_check(str(buyer.pk))
    buyer.refresh_from_db()
    assert buyer.vies_result == "PENDING" and buyer.vies_attempts == 1 and buyer.vies_next_check_at


def test_check_runs_after_commit_and_vies_down_blocks_nothing(
    api, buyers_url, vat_numbers, vies, vies_url, django_capture_on_commit_callbacks
):
    vies.post(vies_url, json={"valid": False, "userError": "SERVICE_UNAVAILABLE"})
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "X"}, format="json")
    assert response.status_code == 201
    assert len(vies.calls) == 1
    buyer_id = response.json()["id"]
    assert api.get(f"{buyers_url}/{buyer_id}/compliance").json()["viesResult"] == "PENDING"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.patch(f"{buyers_url}/{buyer_id}", {"kycLevel": "B"}, format="json").status_code == 200
    assert len(vies.calls) == 1  # an edit without a VAT change does not re-check


def test_a_result_for_a_replaced_vat_number_is_dropped(buyer, vat_numbers):
    old = buyer.vat_number
    services.buyer_update(actor=Actor.system(), buyer=buyer, changes={"vat_number": vat_numbers[5]})
    services.buyer_vies_apply(buyer_id=buyer.pk, vat_number=old, verdict="VALID")
    buyer.refresh_from_db()
    assert buyer.vies_result == "PENDING" and buyer.vies_attempts == 0


def test_a_claimed_check_is_not_run_twice(buyer, vies, vies_url):
    vies.post(vies_url, json={"valid": False, "userError": "TIMEOUT"})
    tasks.vies_check(str(buyer.pk))
    tasks.vies_check(str(buyer.pk))  # duplicate delivery of the task: not due any more
    assert len(vies.calls) == 1
    assert Buyer.objects.get(pk=buyer.pk).vies_attempts == 1
