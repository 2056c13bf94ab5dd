from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from portal.clients.api.serializers import MeSerializer, PartnerListSerializer
from portal.core.api.schema import FIRST_ITEM_ID, links_to
from portal.core.times import rfc3339
from portal.gateway.views import IntegrationAPIView

_ME_EXAMPLE = {
    "organization": {
        "id": "0b7f3f0e-8d43-4a8e-9a53-3c1d1e0f7a11",
        "name": "Autohaus Demo Group",
        "slug": "demo",
        "status": "ACTIVE",
    },
    "client": {
        "id": "6c1e2a7b-5d44-4f0b-8f8b-2a9d7c3e4b55",
        "clientId": "nt24_ci_4f1c9e2ab37d6e8f0a1b",
        "name": "Demo DMS",
        "status": "ACTIVE",
    },
    "dpa": {"status": "ACCEPTED", "version": "2026-01", "signedAt": "2026-01-15T09:30:00Z"},
    "partners": [
        {
            "id": "5f0c7a4e-1b2d-4c3e-9f8a-7b6c5d4e3f21",
            "legalName": "Autohaus Nord GmbH",
            "countryCode": "DE",
            "vatNumber": "DE123456789",
        }
    ],
    "capabilities": ["kycLevelB", "webhooks"],
    "rateLimit": {"limit": 600, "windowSeconds": 60, "remaining": 599, "resetSeconds": 60},
}


def _partner_json(partner) -> dict:
    return {
        "id": str(partner.pk),
        "legalName": partner.legal_name,
        "countryCode": partner.country_code,
        "vatNumber": partner.vat_number,
    }


class MeView(IntegrationAPIView):
    @extend_schema(
        operation_id="me_retrieve",
        summary="Who am I",
        description="The caller's organization, client, DPA status, authorized partners, capabilities and "
        "rate-limit budget. Cache it for up to 5 minutes (`Cache-Control: private, max-age=300`).",
        tags=["me"],
        responses={200: MeSerializer},
        examples=[OpenApiExample("me", value=_ME_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        caller, state = self.caller, self.gateway_state
        organization, client = caller.organization, caller.client
        body = {
            "organization": {
                "id": str(organization.pk),
                "name": organization.name,
                "slug": organization.slug,
                "status": organization.status,
            },
            "client": {
                "id": str(client.pk),
                "clientId": client.client_id,
                "name": client.name,
                "status": client.status,
            },
            "dpa": {
                "status": "ACCEPTED" if state.dpa_accepted else "NOT_ACCEPTED",
                "version": state.dpa["version"] if state.dpa else None,
                "signedAt": rfc3339(state.dpa["signedAt"]) if state.dpa else None,
            },
            "partners": [_partner_json(p) for p in state.partners],
            "capabilities": sorted(state.capabilities),
            "rateLimit": self.budget.as_json(),
        }
        response = Response(body)
        response["Cache-Control"] = "private, max-age=300"
        patch_vary_headers(response, ["Authorization"])
        return response


class PartnerListView(IntegrationAPIView):
    response_links = {("GET", 200): links_to("buyers_list", "buyers_upsert", seller_id=FIRST_ITEM_ID)}

    @extend_schema(
        operation_id="partners_list",
        summary="Authorized partners",
        description="The partners (sellers) your organization may act for; use their `id` as `sellerId`.",
        tags=["me"],
        responses={200: PartnerListSerializer},
    )
    def get(self, request):
        response = Response({"data": [_partner_json(p) for p in self.gateway_state.partners], "nextCursor": None})
        response["Cache-Control"] = "private, max-age=300"
        patch_vary_headers(response, ["Authorization"])
        return response
