"""The Integration API's gateway rules, applied on every /v1 call in the FAQ's order.

1. bad/expired token 401 invalid-token      2. suspended organization 403 organization-suspended
   then paused client 403 client-paused (Retry-After)
3. DPA not accepted 403 dpa-not-accepted    4. over the organization's budget 429 rate-limited
   (10 consecutive 429s pause the client for 15 minutes)
5. partner not authorized 403               6. capability missing 403 capability-not-granted
Then, for POST/PATCH with an Idempotency-Key: replay / 422 / 409 (portal/gateway/idempotency.py).

Rules 1-3 run on rows from the in-process cache when it has them (portal/gateway/cache.py); the
budget call of rule 4 returns the gateway generation in the same Redis round trip, and if anything
changed since those rows were read they are reloaded and rules 1-3 run again (the spent request is
given back if they now refuse it). A steady caller thus costs no query, and while its organization's
budget is far from used up most calls need no Redis round trip either (leases, portal/gateway/ratelimit.py).
"""

import math
from datetime import timedelta

from django.utils import timezone
from rest_framework.views import APIView

from portal.clients.models import ApiClient, ClientSecret
from portal.clients.services import CONSECUTIVE_429S_BEFORE_PAUSE, client_pause_expire, client_pause_for_rate_limit
from portal.clients.usage import usage_count
from portal.core.problems import Problem
from portal.core.times import rfc3339
from portal.gateway.authentication import ApiCaller, ApiTokenAuthentication, caller_load
from portal.gateway.cache import OrganizationGatewayState, caller_remember, organization_gateway_state
from portal.gateway.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from portal.gateway.idempotency import (
    IDEMPOTENT_METHODS,
    IdempotentReplay,
    idempotency_begin,
    idempotency_complete,
    idempotency_release,
    parse_idempotency_key,
)
from portal.gateway.ratelimit import (
    BudgetState,
    client_streak_reset,
    organization_budget_refund,
    organization_budget_take,
)
from portal.gateway.schema import GatewayAutoSchema
from portal.organizations.access import OrganizationAccess

_ANY_JSON = frozenset({"", "*/*", "application/json"})

# last_used_at is written at most once per this interval per client and per secret (not on every call).
LAST_USED_RESOLUTION = timedelta(seconds=60)


def gateway_check_organization(caller: ApiCaller) -> None:
    """A suspended organization is refused before anything about its client or DPA is said."""
    if caller.organization.is_suspended:
        raise Problem(
            "organization-suspended",
            "Your organization is suspended by NT24 support; contact support to have it reactivated.",
        )


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
        pausedUntil=rfc3339(client.paused_until),
    )


def gateway_check_dpa(caller: ApiCaller, state: OrganizationGatewayState | None = None) -> None:
    state = state or organization_gateway_state(organization=caller.organization)
    if not state.dpa_accepted:
        raise Problem(
            "dpa-not-accepted",
            "No signed data processing agreement is registered on your organization.",
        )


def gateway_spend(caller: ApiCaller) -> BudgetState:
    """Spend one request of the organization's shared budget (and read the gateway generation)."""
    return organization_budget_take(organization=caller.organization, client_id=caller.client.pk)


def gateway_check_budget(caller: ApiCaller, budget: BudgetState) -> BudgetState:
    """Rule 4 on a spent request: 429 when the budget is used up; the 10th consecutive 429 pauses the client."""
    client = caller.client
    if budget.allowed:
        usage_count(client_id=client.pk, requests=1)
        if budget.streak_before or client.consecutive_429s:
            ApiClient.objects.filter(pk=client.pk).update(consecutive_429s=0)
            client.consecutive_429s = 0
        return budget
    usage_count(client_id=client.pk, requests=1, rate_limited=1)
    ApiClient.objects.filter(pk=client.pk).update(consecutive_429s=budget.streak_after)
    client.consecutive_429s = budget.streak_after
    if budget.streak_after >= CONSECUTIVE_429S_BEFORE_PAUSE and client_pause_for_rate_limit(client=client):
        client_streak_reset(client=client)
    retry = max(budget.reset_seconds, 1)
    raise Problem(
        "rate-limited",
        f"Your organization's budget of {budget.limit} requests per minute is used up; retry in {retry} s.",
        headers={"Retry-After": str(retry), **budget.headers()},
        limit=budget.limit,
        windowSeconds=60,
    )


def _rules_before_budget(caller: ApiCaller, now) -> OrganizationGatewayState:
    """Rules 2 and 3 (rule 1 ran in authentication)."""
    gateway_check_organization(caller)
    gateway_check_client(caller, now)
    state = organization_gateway_state(organization=caller.organization, generation=caller.generation)
    gateway_check_dpa(caller, state)
    return state


def gateway_admit(caller: ApiCaller, now) -> tuple[ApiCaller, OrganizationGatewayState, BudgetState]:
    """Rules 1-4 in order; returns the (possibly reloaded) caller, its organization's state and budget."""
    if caller.cached:
        if caller.client.status == ApiClient.Status.ACTIVE and not caller.organization.is_suspended:
            state = organization_gateway_state(organization=caller.organization, generation=caller.generation)
            if state.dpa_accepted:
                budget = gateway_spend(caller)
                if budget.generation is not None and budget.generation == caller.generation:
                    return caller, state, gateway_check_budget(caller, budget)
                # Something changed since these rows were read: rules 1-3 again on fresh rows.
                try:
                    caller = caller_load(caller.token_hash, now)
                    state = _rules_before_budget(caller, now)
                except Problem:
                    organization_budget_refund(organization=caller.organization)
                    raise
                if caller.generation == budget.generation:
                    caller_remember(caller.token_hash, caller.token, caller.generation)
                return caller, state, gateway_check_budget(caller, budget)
        # The cached rows would refuse the call: decide on fresh rows.
        caller = caller_load(caller.token_hash, now)
    state = _rules_before_budget(caller, now)
    budget = gateway_spend(caller)
    if caller.generation is not None and caller.generation == budget.generation:
        caller_remember(caller.token_hash, caller.token, caller.generation)
    return caller, state, gateway_check_budget(caller, budget)


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
    # True where get_required_capability is overridden: the schema then documents capability-not-granted.
    may_require_capability = False
    partner_url_kwarg = "seller_id"
    schema = GatewayAutoSchema()

    partner = None
    gateway_state: OrganizationGatewayState | None = None
    budget: BudgetState | None = None
    _idempotency_claim = None

    def get_required_capability(self, request) -> str | None:
        return self.required_capability

    def perform_content_negotiation(self, request, force=False):
        # The API speaks JSON only: skip parsing the Accept header when it cannot change the answer.
        if request.META.get("HTTP_ACCEPT", "*/*") in _ANY_JSON:
            renderers = self.get_renderers()
            if len(renderers) == 1:
                return (renderers[0], renderers[0].media_type)
        return super().perform_content_negotiation(request, force)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication: 401 invalid-token
        now = timezone.now()
        caller, state, budget = gateway_admit(request.auth, now)
        request.auth = caller
        self.gateway_state, self.budget = state, budget
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

    @property
    def access(self) -> OrganizationAccess:
        """The caller's standing, for the same `access_*` helpers the pages use (scoped to the partner)."""
        return OrganizationAccess(organization=self.organization, role=None, is_support=False, partner=self.partner)
