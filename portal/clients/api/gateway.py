"""The Integration API's gateway rules, applied on every /v1 call in the FAQ's order.

1. bad/expired token 401 invalid-token   2. paused client 403 client-paused
3. DPA not accepted 403 dpa-not-accepted  4. over budget 429 rate-limited
5. partner not authorized 403             6. capability missing 403 capability-not-granted
"""

import math

from django.utils import timezone
from rest_framework.views import APIView

from portal.clients.authentication import ApiCaller, ApiTokenAuthentication
from portal.clients.models import ApiClient
from portal.core.problems import Problem
from portal.organizations.selectors import (
    organization_active_dpa,
    organization_capabilities,
    organization_partners,
)


def gateway_check_client(caller: ApiCaller) -> None:
    client = caller.client
    if client.status == ApiClient.Status.PAUSED:
        now = timezone.now()
        if client.paused_until is None or client.paused_until > now:
            retry = math.ceil((client.paused_until - now).total_seconds()) if client.paused_until else 900
            raise Problem(
                "client-paused",
                f"This API client is paused: {client.pause_reason or 'paused by NT24 support'}.",
                headers={"Retry-After": str(max(retry, 1))},
                pausedUntil=client.paused_until.isoformat() if client.paused_until else None,
            )


def gateway_check_dpa(caller: ApiCaller) -> None:
    if organization_active_dpa(organization=caller.organization) is None:
        raise Problem(
            "dpa-not-accepted",
            "No signed data processing agreement is registered on your organization.",
        )


def gateway_check_partner(caller: ApiCaller, seller_id):
    partner = organization_partners(organization=caller.organization).filter(pk=seller_id).first()
    if partner is None:
        raise Problem(
            "partner-not-authorized",
            f"Partner {seller_id} is not in your organization's authorized partners.",
            sellerId=str(seller_id),
        )
    return partner


def gateway_check_capability(caller: ApiCaller, capability: str) -> None:
    if capability not in organization_capabilities(organization=caller.organization):
        raise Problem(
            "capability-not-granted",
            f"Your organization has not been granted the `{capability}` capability.",
            capability=capability,
        )


class IntegrationAPIView(APIView):
    """Base of every /v1 view. Subclasses set `required_capability`; partner-scoped URLs use `seller_id`."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes: list = []
    required_capability: str | None = None
    partner_url_kwarg = "seller_id"

    def get_required_capability(self, request) -> str | None:
        return self.required_capability

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        caller: ApiCaller = request.auth
        gateway_check_client(caller)
        gateway_check_dpa(caller)
        self.partner = None
        if self.partner_url_kwarg in kwargs:
            self.partner = gateway_check_partner(caller, kwargs[self.partner_url_kwarg])
        capability = self.get_required_capability(request)
        if capability:
            gateway_check_capability(caller, capability)

    @property
    def caller(self) -> ApiCaller:
        return self.request.auth

    @property
    def organization(self):
        return self.request.auth.organization
