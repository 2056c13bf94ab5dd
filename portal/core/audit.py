"""Who did what: the actor of a change, and the one function that writes the audit log."""

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import timezone

from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """A person (user), an integrator's system (client), or the system itself (neither)."""

    user: Any = None
    client: Any = None
    ip: str | None = None

    @classmethod
    def from_request(cls, request) -> "Actor":
        client = getattr(getattr(request, "auth", None), "client", None)
        user = getattr(request, "user", None)
        if user is not None and not getattr(user, "is_authenticated", False):
            user = None
        return cls(user=user, client=client, ip=client_ip(request))

    @classmethod
    def system(cls) -> "Actor":
        return cls()

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.email
        if self.client is not None:
            return f"client:{self.client.client_id}"
        return "system"


def client_ip(request) -> str | None:
    # Behind trusted proxies TrustedProxyMiddleware has already put the client's address here.
    return request.META.get("REMOTE_ADDR") or None


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    target: models.Model | None = None,
    organization=None,
    before: dict | None = None,
    after: dict | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    target_label: str | None = None,
) -> AuditEntry:
    """Write one audit entry; call it inside the transaction of the change it records."""
    action = AuditAction(action)  # a name outside the catalog is a ValueError, never a stray row
    return AuditEntry.objects.create(
        occurred_at=timezone.now(),
        actor_user=actor.user,
        actor_client=actor.client,
        actor_label=actor.label,
        organization=organization,
        action=action.value,
        target_type=target_type or (target._meta.label if target is not None else ""),
        target_id=target_id or (str(target.pk) if target is not None else ""),
        target_label=(target_label or (str(target) if target is not None else ""))[:255],
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        ip_address=actor.ip,
    )
