"""The Integration API's gateway rules, applied on every /v1 call in the FAQ's order.

1. bad/expired token 401 invalid-token      2. paused client 403 client-paused (Retry-After)
3. DPA not accepted 403 dpa-not-accepted    4. over the organization's budget 429 rate-limited
   (10 consecutive 429s pause the client for 15 minutes)
5. partner not authorized 403               6. capability missing 403 capability-not-granted
Then, for POST/PATCH with an Idempotency-Key: replay / 422 / 409 (portal/clients/idempotency.py).
"""

import math
from datetime import timedelta

from django.db.models import F
from django.utils import timezone
from rest_framework.views import APIView

from portal.clients.authentication import ApiCaller, ApiTokenAuthentication
from portal.clients.gateway_state import OrganizationGatewayState, organization_gateway_state
from portal.clients.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from portal.clients.idempotency import (
    IDEMPOTENT_METHODS,
    IdempotentReplay,
    idempotency_begin,
    idempotency_complete,
    idempotency_release,
    parse_idempotency_key,
)
from portal.clients.models import ApiClient, ClientSecret
from portal.clients.ratelimit import BudgetState, organization_budget_hit
from portal.clients.services import client_pause_expire, client_pause_for_rate_limit
from portal.clients.usage import usage_count
from portal.core.api.schema import GatewayAutoSchema
from portal.core.problems import Problem

# last_used_at is written at most once per this interval per client and per secret (not on every call).
LAST_USED_RESOLUTION = timedelta(seconds=60)


def gateway_check_client(caller: ApiCaller, now=None) -> None:
    client = caller.client
    if client.status != ApiClient.Status.PAUSED:
        return
    now = now or timezone.now()
    if client.paused_until is not None and client.paused_until <= now:
        client_pause_expire(client=client, now=now)
        return
    retry = math.ceil((client.paused_until - now).total_seconds()) if client.paused_until else 900
    raise Problem(
        "client-paused",
        f"This API client is paused: {client.pause_reason or 'paused by NT24 support'}.",
        headers={"Retry-After": str(max(retry, 1))},
        pausedUntil=client.paused_until.isoformat() if client.paused_until else None,
    )


def gateway_check_dpa(caller: ApiCaller, state: OrganizationGatewayState | None = None) -> None:
    state = state or organization_gateway_state(organization=caller.organization)
    if not state.dpa_accepted:
        raise Problem(
            "dpa-not-accepted",
            "No signed data processing agreement is registered on your organization.",
        )


def gateway_check_budget(caller: ApiCaller) -> BudgetState:
    """Spend one request of the organization's shared budget; the 10th consecutive 429 pauses the client."""
    client = caller.client
    budget = organization_budget_hit(organization=caller.organization)
    if budget.allowed:
        usage_count(client_id=client.pk, requests=1)
        if client.consecutive_429s:
            ApiClient.objects.filter(pk=client.pk).update(consecutive_429s=0)
            client.consecutive_429s = 0
        return budget
    usage_count(client_id=client.pk, requests=1, rate_limited=1)
    ApiClient.objects.filter(pk=client.pk).update(consecutive_429s=F("consecutive_429s") + 1)
    client_pause_for_rate_limit(client=client)
    retry = max(budget.reset_seconds, 1)
    raise Problem(
        "rate-limited",
        f"Your organization's budget of {budget.limit} requests per minute is used up; retry in {retry} s.",
        headers={"Retry-After": str(retry), **budget.headers()},
        limit=budget.limit,
        windowSeconds=60,
    )


def gateway_check_partner(caller: ApiCaller, seller_id, state: OrganizationGatewayState | None = None):
    state = state or organization_gateway_state(organization=caller.organization)
    partner = state.partner(seller_id)
    if partner is None:
        raise Problem(
            "partner-not-authorized",
            f"Partner {seller_id} is not in your organization's authorized partners.",
            sellerId=str(seller_id),
        )
    return partner


def gateway_check_capability(caller: ApiCaller, capability: str, state: OrganizationGatewayState | None = None):
    state = state or organization_gateway_state(organization=caller.organization)
    if capability not in state.capabilities:
        raise Problem(
            "capability-not-granted",
            f"Your organization has not been granted the `{capability}` capability.",
            capability=capability,
        )


def gateway_record_use(caller: ApiCaller, now) -> None:
    """Last use of the client and of the secret behind the token, written at most once a minute."""
    client, secret = caller.client, caller.token.secret
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    if secret.last_used_at is None or now - secret.last_used_at >= LAST_USED_RESOLUTION:
        ClientSecret.objects.filter(pk=secret.pk).update(last_used_at=now)
        secret.last_used_at = now


class IntegrationAPIView(APIView):
    """Base of every /v1 view. Subclasses set `required_capability`; partner-scoped URLs use `seller_id`.

    POST and PATCH handlers get Idempotency-Key handling for free; every response carries the
    organization's RateLimit headers.
    """

    authentication_classes = [ApiTokenAuthentication]
    permission_classes: list = []
    required_capability: str | None = None
    partner_url_kwarg = "seller_id"
    schema = GatewayAutoSchema()

    partner = None
    gateway_state: OrganizationGatewayState | None = None
    budget: BudgetState | None = None
    _idempotency_claim = None

    def get_required_capability(self, request) -> str | None:
        return self.required_capability

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication: 401 invalid-token
        caller: ApiCaller = request.auth
        now = timezone.now()
        gateway_check_client(caller, now)
        self.gateway_state = state = organization_gateway_state(organization=caller.organization)
        gateway_check_dpa(caller, state)
        self.budget = gateway_check_budget(caller)
        gateway_record_use(caller, now)
        self.partner = None
        if self.partner_url_kwarg in kwargs:
            self.partner = gateway_check_partner(caller, kwargs[self.partner_url_kwarg], state)
        capability = self.get_required_capability(request)
        if capability:
            gateway_check_capability(caller, capability, state)
        if request.method in IDEMPOTENT_METHODS:
            key = parse_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
            if key is not None:
                self._idempotency_claim = idempotency_begin(
                    request=request, organization=caller.organization, client=caller.client, key=key
                )

    def handle_exception(self, exc):
        if isinstance(exc, IdempotentReplay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.budget is not None:
            for name, value in self.budget.headers().items():
                response.setdefault(name, value)
        claim, self._idempotency_claim = self._idempotency_claim, None
        if claim is not None:
            try:
                idempotency_complete(claim=claim, response=response)
            except Exception:
                idempotency_release(claim=claim)
                raise
        return response

    @property
    def caller(self) -> ApiCaller:
        return self.request.auth

    @property
    def organization(self):
        return self.request.auth.organization
