import pytest

from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry
from portal.kyc.models import Buyer
from tests.conftest import bearer_client_for
from tests.factories import pilot_organization
from tests.kyc.conftest import events

pytestmark = pytest.mark.django_db


def test_post_creates_then_returns_the_same_buyer(api, buyers_url, vat_numbers, partner):
    body = {"vatNumber": vat_numbers[0], "name": "Autohandel Nord GmbH", "email": "a@example.com"}
    first = api.post(buyers_url, body, format="json")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["sellerId"] == str(partner.pk)
    assert data["vatNumber"] == vat_numbers[0]
    assert data["countryCode"] == "DE"
    assert data["kycLevel"] == "A"
    assert data["viesResult"] == "PENDING"
    assert data["version"] == 1
    second = api.post(buyers_url, body, format="json")
    assert second.status_code == 200
    assert second.json()["id"] == data["id"]
    assert second.json()["version"] == 1
    assert Buyer.objects.count() == 1
    created = events("buyer.created")
    assert len(created) == 1
    assert created[0].data["id"] == data["id"] and created[0].data["version"] == 1
    assert created[0].partner_id == partner.pk
    assert AuditEntry.objects.filter(action=AuditAction.BUYER_CREATED, target_id=data["id"]).count() == 1


def test_vat_number_is_normalized_before_the_upsert(api, buyers_url, vat_numbers):
    spaced = f"{vat_numbers[0][:2].lower()} {vat_numbers[0][2:5]} {vat_numbers[0][5:]}"
    a = api.post(buyers_url, {"vatNumber": spaced, "name": "X"}, format="json")
    b = api.post(buyers_url, {"vatNumber": vat_numbers[0][2:], "countryCode": "DE", "name": "X"}, format="json")
    assert a.status_code == 201 and b.status_code == 200
    assert a.json()["vatNumber"] == vat_numbers[0] and b.json()["id"] == a.json()["id"]


def test_post_on_existing_buyer_applies_changed_name(api, buyers_url, vat_numbers):
    a = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "Old"}, format="json").json()
    b = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "New"}, format="json")
    assert b.status_code == 200
    assert b.json()["name"] == "New" and b.json()["version"] == a["version"] + 1


@pytest.mark.parametrize("vat", ["DE123456780", "XX123", "", "DE12345"])
def test_invalid_vat_number_is_a_validation_error_naming_the_field(api, buyers_url, vat):
    response = api.post(buyers_url, {"vatNumber": vat, "name": "X"}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert body["type"].endswith("/problems/validation-error")
    assert [e["field"] for e in body["errors"]] == ["vatNumber"]
    assert Buyer.objects.count() == 0


def test_country_code_must_match_the_vat_number(api, buyers_url, vat_numbers):
    response = api.post(buyers_url, {"vatNumber": vat_numbers[0], "countryCode": "FR", "name": "X"}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "countryCode"


def test_list_filters_and_paginates(api, buyers_url, vat_numbers):
    for i, vat in enumerate(vat_numbers[:5]):
        api.post(buyers_url, {"vatNumber": vat, "name": f"Buyer {i}"}, format="json")
    page1 = api.get(buyers_url, {"limit": 2}).json()
    assert len(page1["data"]) == 2 and page1["nextCursor"]
    page2 = api.get(buyers_url, {"limit": 2, "cursor": page1["nextCursor"]}).json()
    page3 = api.get(buyers_url, {"limit": 2, "cursor": page2["nextCursor"]}).json()
    ids = [b["id"] for b in page1["data"] + page2["data"] + page3["data"]]
    assert len(set(ids)) == 5 and page3["nextCursor"] is None
    assert [b["name"] for b in api.get(buyers_url, {"q": "Buyer 3"}).json()["data"]] == ["Buyer 3"]
    assert len(api.get(buyers_url, {"vatNumber": vat_numbers[1]}).json()["data"]) == 1
    assert api.get(buyers_url, {"kycLevel": "B"}).json()["data"] == []
    assert len(api.get(buyers_url, {"viesResult": "PENDING"}).json()["data"]) == 5
    bad = api.get(buyers_url, {"kycLevel": "Z"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kycLevel"
    assert api.get(buyers_url, {"cursor": "!!!"}).status_code == 422


def test_read_and_patch(api, buyers_url, vat_numbers):
    buyer = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "X"}, format="json").json()
    url = f"{buyers_url}/{buyer['id']}"
    assert api.get(url).json()["id"] == buyer["id"]
    patched = api.patch(url, {"name": "Renamed", "email": "new@example.com"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renamed" and patched.json()["version"] == 2
    assert AuditEntry.objects.filter(action=AuditAction.BUYER_UPDATED, target_id=buyer["id"]).exists()
    bad = api.patch(url, {"email": "not-an-email"}, format="json")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"


def test_vat_change_resets_vies_and_bumps_the_rollup(api, buyers_url, vat_numbers):
    buyer = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "X"}, format="json").json()
    Buyer.objects.filter(pk=buyer["id"]).update(vies_result="VALID", vies_next_check_at=None)
    response = api.patch(f"{buyers_url}/{buyer['id']}", {"vatNumber": vat_numbers[1]}, format="json")
    assert response.status_code == 200
    assert response.json()["viesResult"] == "PENDING" and response.json()["vatNumber"] == vat_numbers[1]
    assert Buyer.objects.get(pk=buyer["id"]).vies_next_check_at is not None
    rollups = events("compliance.rollup.updated")
    assert rollups[-1].data["version"] == 2 and rollups[-1].data["viesResult"] == "PENDING"
    other = api.post(buyers_url, {"vatNumber": vat_numbers[2], "name": "Y"}, format="json").json()
    clash = api.patch(f"{buyers_url}/{other['id']}", {"vatNumber": vat_numbers[1]}, format="json")
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "vatNumber"


def test_kyc_level_upgrade_and_downgrade_refusal(api, buyers_url, vat_numbers):
    buyer = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "X"}, format="json").json()
    url = f"{buyers_url}/{buyer['id']}"
    up = api.patch(url, {"kycLevel": "B"}, format="json")
    assert up.status_code == 200 and up.json()["kycLevel"] == "B"
    upgraded = events("kyc.level.upgraded")
    assert len(upgraded) == 1
    assert upgraded[0].data["kycLevel"] == "B" and upgraded[0].data["previousKycLevel"] == "A"
    assert upgraded[0].data["version"] == 2
    assert AuditEntry.objects.filter(action=AuditAction.BUYER_KYC_LEVEL_UPGRADED, target_id=buyer["id"]).count() == 1
    down = api.patch(url, {"kycLevel": "A"}, format="json")
    assert down.status_code == 409
    assert down.json()["type"].endswith("/problems/kyc-downgrade-not-allowed")
    assert Buyer.objects.get(pk=buyer["id"]).kyc_level == "B"
    # The upsert path refuses the downgrade too.
    again = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "X", "kycLevel": "A"}, format="json")
    assert again.status_code == 409
    assert len(events("kyc.level.upgraded")) == 1


def test_level_b_needs_the_capability(db, vat_numbers):
    organization = pilot_organization(capabilities=("webhooks",))
    partner = organization.partner_authorizations.first().partner
    api, _ = bearer_client_for(organization)
    url = f"/v1/partners/{partner.pk}/buyers"
    created = api.post(url, {"vatNumber": vat_numbers[0], "name": "X", "kycLevel": "B"}, format="json")
    assert created.status_code == 403
    assert created.json()["capability"] == "kycLevelB"
    buyer = api.post(url, {"vatNumber": vat_numbers[0], "name": "X"}, format="json").json()
    response = api.patch(f"{url}/{buyer['id']}", {"kycLevel": "B"}, format="json")
    assert response.status_code == 403 and response.json()["type"].endswith("/capability-not-granted")
    assert Buyer.objects.get(pk=buyer["id"]).kyc_level == "A"


def test_tenant_isolation(api, buyers_url, vat_numbers, partner):
    other_org = pilot_organization()
    other_partner = other_org.partner_authorizations.first().partner
    other_api, _ = bearer_client_for(other_org)
    theirs = other_api.post(
        f"/v1/partners/{other_partner.pk}/buyers", {"vatNumber": vat_numbers[0], "name": "Theirs"}, format="json"
    ).json()
    # Another organization's partner is not authorized for us; their buyer id under our partner is a 404.
    assert api.get(f"/v1/partners/{other_partner.pk}/buyers").status_code == 403
    for path in ("", "/compliance", "/kyc/documents", "/kyc/self-service-invitations"):
        response = api.get(f"{buyers_url}/{theirs['id']}{path}")
        assert response.status_code == 404, path
        assert response.json()["type"].endswith("/not-found")
    assert api.patch(f"{buyers_url}/{theirs['id']}", {"name": "Mine"}, format="json").status_code == 404
    assert api.get(buyers_url).json()["data"] == []
    # The same VAT number under our partner is a separate buyer of ours.
    mine = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "Mine"}, format="json")
    assert mine.status_code == 201 and mine.json()["id"] != theirs["id"]


def test_compliance_rollup(api, buyers_url, vat_numbers):
    buyer = api.post(buyers_url, {"vatNumber": vat_numbers[0], "name": "X"}, format="json").json()
    rollup = api.get(f"{buyers_url}/{buyer['id']}/compliance").json()
    assert rollup["viesResult"] == "PENDING"
    assert rollup["kycLevel"] == "A"
    assert rollup["requiredDocuments"] == ["TRADE_REGISTER_EXTRACT", "ID_DOCUMENT"]
    assert rollup["presentDocuments"] == [] and rollup["missingDocuments"] == rollup["requiredDocuments"]
    assert rollup["status"] == "INCOMPLETE" and rollup["version"] == 1
