"""A short in-process cache of what the gateway needs to know about an organization on every call.

DPA state, authorized partners and capability flags change rarely (support actions), so each worker
keeps them for `GATEWAY_STATE_TTL_SECONDS` (default 30 s). Changes made in this process invalidate the
entry at once (signals below); other processes see them within the TTL.
"""

import copy
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from portal.organizations.models import CapabilityGrant, DataProcessingAgreement, Partner, PartnerAuthorization
from portal.organizations.selectors import organization_active_dpa, organization_capabilities, organization_partners

DEFAULT_TTL_SECONDS = 30.0


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


_cache: dict[uuid.UUID, tuple[float, OrganizationGatewayState]] = {}
_lock = threading.Lock()


def _ttl() -> float:
    return float(getattr(settings, "GATEWAY_STATE_TTL_SECONDS", DEFAULT_TTL_SECONDS))


def _load(organization) -> OrganizationGatewayState:
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


def organization_gateway_state(*, organization) -> OrganizationGatewayState:
    now = time.monotonic()
    entry = _cache.get(organization.pk)
    if entry is not None and entry[0] > now:
        return entry[1]
    state = _load(organization)
    with _lock:
        _cache[organization.pk] = (now + _ttl(), state)
    return state


def gateway_state_invalidate(organization_id=None) -> None:
    with _lock:
        if organization_id is None:
            _cache.clear()
        else:
            _cache.pop(organization_id, None)


def _on_change(sender, instance, **kwargs):
    organization_id = getattr(instance, "organization_id", None)
    # A Partner row itself has no organization: drop everything (partner edits are rare).
    gateway_state_invalidate(organization_id)
    transaction.on_commit(lambda: gateway_state_invalidate(organization_id))


for _model in (DataProcessingAgreement, PartnerAuthorization, CapabilityGrant, Partner):
    post_save.connect(_on_change, sender=_model, dispatch_uid=f"gateway-state-{_model.__name__}-save")
    post_delete.connect(_on_change, sender=_model, dispatch_uid=f"gateway-state-{_model.__name__}-delete")
