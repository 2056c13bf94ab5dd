"""What the gateway needs on every /v1 call, cached in the process and kept exact across processes.

Two caches per process: token hash → the token with its secret, client and organization (the caller),
and organization → its gateway state (DPA, authorized partners, capability flags). Both hold data
read under a *gateway generation*: a counter in Redis that every change to those rows raises (signals
below, and `gateway_inputs_changed()` from services that write with `.update()`, portal/core/generation.py).
The budget check reads the generation in the same round trip as the INCR (portal/gateway/ratelimit.py), so a
cached entry is used only when nothing changed since it was read — a revoked token, a paused client or a
withdrawn DPA is refused by every process on its next call, at no extra round trip.

The generation is read *before* the rows are loaded, so an entry can never carry newer generation than
its data. Without Redis (`make run`), or while Redis is down, callers are not cached (every call reads
the database) and the organization state falls back to a `GATEWAY_STATE_TTL_SECONDS` cache that this
process invalidates on change. Entries also expire after `GATEWAY_CACHE_MAX_AGE_SECONDS` whatever the
generation says, as a bound on anything changed behind the ORM's back.
"""

import copy
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from portal.clients.models import AccessToken, ApiClient, ClientSecret
from portal.core.generation import gateway_inputs_changed
from portal.organizations.models import (
    CapabilityGrant,
    DataProcessingAgreement,
    IntegrationOrganization,
    Partner,
    PartnerAuthorization,
)
from portal.organizations.selectors import organization_active_dpa, organization_capabilities, organization_partners

MAX_CALLERS = 10_000


@dataclass(frozen=True)
class OrganizationGatewayState:
    organization_id: uuid.UUID
    dpa: dict | None
    partners: tuple[Partner, ...]
    capabilities: frozenset[str]

    @property
    def dpa_accepted(self) -> bool:
        return self.dpa is not None

    def partner(self, seller_id) -> Partner | None:
        try:
            wanted = seller_id if isinstance(seller_id, uuid.UUID) else uuid.UUID(str(seller_id))
        except (ValueError, TypeError, AttributeError):
            return None
        for partner in self.partners:
            if partner.pk == wanted:
                return copy.copy(partner)  # callers may assign it; never share the cached instance
        return None


# organization id → (generation or None, expires at (monotonic), state)
_states: dict[uuid.UUID, tuple[int | None, float, OrganizationGatewayState]] = {}
# token hash → (generation, expires at (monotonic), token with secret, client and organization)
_callers: dict[str, tuple[int, float, AccessToken]] = {}
_lock = threading.Lock()


def _ttl() -> float:
    return settings.GATEWAY_STATE_TTL_SECONDS


def _max_age() -> float:
    return settings.GATEWAY_CACHE_MAX_AGE_SECONDS


def _load_state(organization) -> OrganizationGatewayState:
    dpa = organization_active_dpa(organization=organization)
    return OrganizationGatewayState(
        organization_id=organization.pk,
        dpa=(
            {"version": dpa.version, "signedAt": dpa.signed_at, "registeredAt": dpa.registered_at}
            if dpa is not None
            else None
        ),
        partners=tuple(organization_partners(organization=organization).order_by("legal_name", "id")),
        capabilities=frozenset(organization_capabilities(organization=organization)),
    )


def organization_gateway_state(*, organization, generation: int | None = None) -> OrganizationGatewayState:
    """The organization's DPA, partners and capabilities as of `generation` (read before calling)."""
    now = time.monotonic()
    entry = _states.get(organization.pk)
    if entry is not None and entry[0] == generation and entry[1] > now:
        return entry[2]
    state = _load_state(organization)
    lifetime = _ttl() if generation is None else _max_age()
    with _lock:
        _states[organization.pk] = (generation, now + lifetime, state)
    return state


def caller_cached(token_hash: str) -> tuple[int, AccessToken] | None:
    """A token read earlier under the returned generation (confirm it against the current one)."""
    entry = _callers.get(token_hash)
    if entry is None or entry[1] <= time.monotonic():
        return None
    return entry[0], entry[2]


def caller_remember(token_hash: str, token: AccessToken, generation: int | None) -> None:
    if generation is None:
        return
    with _lock:
        if len(_callers) >= MAX_CALLERS:
            _callers.clear()
        _callers[token_hash] = (generation, time.monotonic() + _max_age(), token)


def caller_forget(token_hash: str) -> None:
    with _lock:
        _callers.pop(token_hash, None)


def gateway_cache_clear() -> None:
    """Drop this process's cached callers and organization states."""
    with _lock:
        _callers.clear()
        _states.clear()


def generation_changed(*, generation: int | None, client=None) -> None:
    """A `portal.core.generation` listener: whatever this process cached may be stale now."""
    gateway_cache_clear()


def _on_change(sender, instance, created=False, **kwargs):
    # A new token, secret or client cannot be stale anywhere; everything else the gateway reads can.
    if created and sender in (AccessToken, ClientSecret, ApiClient):
        return
    gateway_inputs_changed()


def signals_connect() -> None:
    """Every save or delete of a row the gateway reads raises the generation (GatewayConfig.ready())."""
    for model in (
        AccessToken,
        ClientSecret,
        ApiClient,
        IntegrationOrganization,
        DataProcessingAgreement,
        PartnerAuthorization,
        CapabilityGrant,
        Partner,
    ):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"gateway-cache-{model.__name__}-save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"gateway-cache-{model.__name__}-delete")
