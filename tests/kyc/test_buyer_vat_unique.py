"""A VAT number is unique per seller by the database constraint: a losing edit answers a validation error."""

import pytest
from django.core.exceptions import ValidationError

from portal.core.audit import Actor
from portal.kyc import services
from portal.kyc.models import Buyer
from tests.factories import pilot_organization

pytestmark = pytest.mark.django_db


def _two_buyers(vat_numbers):
    organization = pilot_organization()
    partner = organization.partner_authorizations.first().partner
    first, _ = services.buyer_upsert(
        actor=Actor.system(), organization=organization, partner=partner, vat_number=vat_numbers[0], name="First"
    )
    second, _ = services.buyer_upsert(
        actor=Actor.system(), organization=organization, partner=partner, vat_number=vat_numbers[1], name="Second"
    )
    return first, second


def test_an_edit_to_a_taken_vat_number_is_refused_by_the_constraint(vat_numbers):
    first, second = _two_buyers(vat_numbers)
    version = Buyer.objects.get(pk=second.pk).version
    with pytest.raises(ValidationError) as refused:
        services.buyer_update(actor=Actor.system(), buyer=second, changes={"vat_number": first.vat_number})
    assert refused.value.message_dict == {"vatNumber": ["Another buyer of this seller has this VAT number."]}
    stored = Buyer.objects.get(pk=second.pk)
    assert stored.vat_number == vat_numbers[1] and stored.version == version


def test_two_concurrent_edits_to_one_vat_number_answer_a_validation_error(vat_numbers, monkeypatch):
    """The other edit commits between this one's read and its write: the INSERT-time constraint decides."""
    first, second = _two_buyers(vat_numbers)
    target = vat_numbers[2]
    real_lock = services._lock_buyer

    def lock_then_lose_the_race(buyer_id):
        locked = real_lock(buyer_id)
        if buyer_id == second.pk:
            Buyer.objects.filter(pk=first.pk).update(vat_number=target)  # the winner's row
        return locked

    monkeypatch.setattr(services, "_lock_buyer", lock_then_lose_the_race)
    with pytest.raises(ValidationError) as refused:
        services.buyer_update(actor=Actor.system(), buyer=second, changes={"vat_number": target})
    assert "vatNumber" in refused.value.message_dict
    assert Buyer.objects.get(pk=second.pk).vat_number == vat_numbers[1]


def test_the_api_answers_the_race_with_422_not_500(api, buyers_url, vat_numbers):
    one = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "One"}, format="json").json()
    two = api.post(buyers_url, {"vatNumber": vat_numbers[1], "name": "Two"}, format="json").json()
    response = api.patch(f"{buyers_url}/{two['id']}", {"vatNumber": one["vatNumber"]}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "vatNumber"
