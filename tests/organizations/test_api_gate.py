"""Support's actions open and close the Integration API's gates for the organization's clients at once."""

import pytest

from portal.core.audit import Actor
from portal.organizations import services
from portal.organizations.models import CapabilityGrant, PartnerAuthorization
from portal.organizations.selectors import organization_active_dpa

pytestmark = pytest.mark.django_db


def problem_type(response) -> str:
    assert response["Content-Type"].startswith("application/problem+json"), response.content
    return response.json()["type"].rstrip("/").rsplit("/", 1)[-1]


def test_dpa_revoke_and_register_close_and_reopen_the_gate(api, organization, support_user, pdf_upload):
    from django.utils import timezone

    actor = Actor(user=support_user)
    assert api.get("/v1/me").status_code == 200
    services.dpa_revoke(actor=actor, dpa=organization_active_dpa(organization=organization), reason="expired")
    response = api.get("/v1/me")
    assert response.status_code == 403 and problem_type(response) == "dpa-not-accepted"
    services.dpa_register(
        actor=actor,
        organization=organization,
        version="2026-02",
        signer_name="Dana",
        signer_email="dana@example.com",
        signed_at=timezone.now(),
        document=pdf_upload(),
    )
    assert api.get("/v1/me").status_code == 200


def test_partner_revoke_closes_partner_urls(api, organization, partner, support_user):
    buyers = f"/v1/partners/{partner.pk}/buyers"
    assert api.get(buyers).status_code == 200
    authorization = PartnerAuthorization.objects.get(organization=organization, partner=partner)
    services.partner_authorization_revoke(actor=Actor(user=support_user), authorization=authorization, reason="x")
    response = api.get(buyers)
    assert response.status_code == 403 and problem_type(response) == "partner-not-authorized"


def test_capability_revoke_and_grant_flip_the_capability_gate(api, organization, support_user):
    actor = Actor(user=support_user)
    assert api.get("/v1/webhooks/endpoints").status_code == 200
    grant = CapabilityGrant.objects.get(organization=organization, capability="webhooks", revoked_at__isnull=True)
    services.capability_revoke(actor=actor, grant=grant, reason="paused pilot")
    response = api.get("/v1/webhooks/endpoints")
    assert response.status_code == 403 and problem_type(response) == "capability-not-granted"
    services.capability_grant(actor=actor, organization=organization, capability="webhooks", reason="back")
    assert api.get("/v1/webhooks/endpoints").status_code == 200
