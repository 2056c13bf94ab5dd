"""Races that only a real database can referee: skipped on SQLite, which serializes every writer."""

import threading

import pytest
from django.db import connection, connections

from portal.core.audit import Actor
from portal.kyc import services
from portal.kyc.models import Buyer
from tests.conftest import bearer_client_for
from tests.factories import pilot_organization
from tests.kyc.conftest import PDF_BYTES, events, upload, valid_vat_numbers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serializes writers, so there is no race to referee",
    ),
]


def _run_threads(count, target):
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def worker(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_twenty_concurrent_identical_posts_make_one_buyer(vies, vies_url):
    vies.post(vies_url, json={"valid": True})
    organization = pilot_organization()
    partner = organization.partner_authorizations.first().partner
    api, _ = bearer_client_for(organization)
    vat = valid_vat_numbers(1)[0]
    url = f"/v1/partners/{partner.pk}/buyers"
    body = {"vatNumber": vat, "name": "Race GmbH", "email": "race@example.com"}

    def post(_index):
        response = api.post(url, body, format="json")
        return response.status_code, response.json()

    results = _run_threads(20, post)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 19 + [201], results
    assert len({body["id"] for _, body in results}) == 1
    assert Buyer.objects.filter(partner=partner, vat_number=vat).count() == 1
    assert len(events("buyer.created")) == 1


def test_rollup_version_is_monotonic_under_concurrent_changes(vies, vies_url):
    vies.post(vies_url, json={"valid": False, "userError": "MS_UNAVAILABLE"})
    organization = pilot_organization()
    partner = organization.partner_authorizations.first().partner
    buyer, _ = services.buyer_upsert(
        actor=Actor.system(), organization=organization, partner=partner, vat_number=valid_vat_numbers(1)[0], name="V"
    )
    start = Buyer.objects.get(pk=buyer.pk).version

    def change(index):
        if index % 2:
            services.document_upload(
                actor=Actor.system(),
                buyer=buyer,
                document_type="OTHER",
                upload=upload(PDF_BYTES, f"d{index}.pdf"),
                source="API",
            )
        else:
            services.buyer_update(actor=Actor.system(), buyer=buyer, changes={"name": f"Name {index}"})

    _run_threads(10, change)
    assert Buyer.objects.get(pk=buyer.pk).version == start + 10
    versions = [e.data["version"] for e in events("compliance.rollup.updated")]
    # Five uploads changed the rollup; renames bumped the version too. In commit order the versions only rise.
    assert len(versions) == 5 and len(set(versions)) == 5
    assert versions == sorted(versions) and all(start < v <= start + 10 for v in versions)
    uploads = [e.data["version"] for e in events("kyc.document.uploaded")]
    assert len(set(uploads)) == 5
