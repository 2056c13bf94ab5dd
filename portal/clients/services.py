"""Every write of the clients app: clients, secrets and their rotation, tokens, pauses."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal.clients.credentials import (
    new_access_token,
    new_client_id,
    new_client_secret,
)
from portal.clients.models import AccessToken, ApiClient, ClientSecret
from portal.clients.usage import usage_count, usage_flush
from portal.core.audit import Actor, audit_record
from portal.core.audit_actions import AuditAction
from portal.core.generation import gateway_inputs_changed
from portal.core.tokens import token_hash

logger = logging.getLogger(__name__)

ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
ROTATION_WINDOWS_HOURS = (24, 48, 72)
DEFAULT_ROTATION_WINDOW = timedelta(hours=24)
RATE_LIMIT_PAUSE = timedelta(minutes=15)
CONSECUTIVE_429S_BEFORE_PAUSE = 10
ROTATION_CAPABILITY = "selfServiceSecretRotation"


@dataclass(frozen=True)
class IssuedSecret:
    """A secret in plain text: returned once to be shown once, never stored."""

    secret: ClientSecret
    plaintext: str


class RotationNeedsConfirmation(ValidationError):
    """Rotating during an overlap ends the older secret at once: the caller must confirm that."""


def _secret_label(secret: ClientSecret) -> str:
    return f"…{secret.last_four}"


def _secret_create(*, client: ApiClient, created_by=None) -> IssuedSecret:
    plaintext = new_client_secret()
    secret = ClientSecret.objects.create(
        client=client, secret_hash=token_hash(plaintext), last_four=plaintext[-4:], created_by=created_by
    )
    return IssuedSecret(secret=secret, plaintext=plaintext)


def valid_secrets_q(now) -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def client_create(*, actor: Actor, organization, name: str, description: str = "") -> tuple[ApiClient, IssuedSecret]:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the client a name, e.g. the consuming system (DMS, accounting)."]})
    if ApiClient.objects.filter(organization=organization, name__iexact=name).exists():
        raise ValidationError({"name": ["This organization already has a client with that name."]})
    try:
        with transaction.atomic():
            client = ApiClient.objects.create(
                organization=organization,
                client_id=new_client_id(),
                name=name,
                description=description.strip(),
                created_by=actor.user,
            )
            issued = _secret_create(client=client, created_by=actor.user)
            audit_record(
                actor=actor,
                organization=organization,
                action=AuditAction.CLIENT_CREATED,
                target=client,
                after={"name": name, "clientId": client.client_id, "secret": _secret_label(issued.secret)},
            )
    except IntegrityError as exc:  # a concurrent create with the same name
        raise ValidationError({"name": ["This organization already has a client with that name."]}) from exc
    return client, issued


def _lock_client(client: ApiClient) -> ApiClient:
    return ApiClient.objects.select_for_update().get(pk=client.pk)


@transaction.atomic
def client_secret_rotate(
    *, actor: Actor, client: ApiClient, window: timedelta = DEFAULT_ROTATION_WINDOW, confirm_end_overlap: bool = False
) -> IssuedSecret:
    """A new secret now; the current one stays valid for `window` (24, 48 or 72 h).

    At most two secrets are valid: rotating while an older secret is still in its window ends that
    older secret at once, which needs `confirm_end_overlap=True`.
    """
    if window not in {timedelta(hours=h) for h in ROTATION_WINDOWS_HOURS}:
        raise ValidationError({"window": ["Choose a rotation window of 24, 48 or 72 hours."]})
    client = _lock_client(client)
    if client.status == ApiClient.Status.REVOKED:
        raise ValidationError("A revoked client cannot be rotated.")
    now = timezone.now()
    valid = list(client.secrets.filter(valid_secrets_q(now)).order_by("created_at"))
    overlapping = [s for s in valid if s.expires_at is not None]
    current = [s for s in valid if s.expires_at is None]
    if overlapping and not confirm_end_overlap:
        raise RotationNeedsConfirmation(
            f"Secret …{overlapping[0].last_four} is still in its rotation window; rotating again ends it now. "
            "Confirm to continue."
        )
    for old in overlapping:
        _secret_end(actor=actor, secret=old, now=now, action=AuditAction.CLIENT_SECRET_OVERLAP_ENDED)
    before = {"valid": [_secret_label(s) for s in valid]}
    for secret in current:
        secret.expires_at = now + window
        secret.save(update_fields=["expires_at", "updated_at"])
    issued = _secret_create(client=client, created_by=actor.user)
    audit_record(
        actor=actor,
        organization=client.organization,
        action=AuditAction.CLIENT_SECRET_ROTATED,
        target=client,
        before=before,
        after={
            "newSecret": _secret_label(issued.secret),
            "oldSecrets": [{"secret": _secret_label(s), "validUntil": s.expires_at} for s in current],
            "windowHours": int(window.total_seconds() // 3600),
        },
    )
    return issued


def _secret_end(*, actor: Actor, secret: ClientSecret, now, action: AuditAction) -> None:
    before = {"expiresAt": secret.expires_at}
    secret.expires_at = now
    secret.save(update_fields=["expires_at", "updated_at"])
    AccessToken.objects.filter(secret=secret, revoked_at__isnull=True, expires_at__gt=now).update(revoked_at=now)
    audit_record(
        actor=actor,
        organization=secret.client.organization,
        action=action,
        target=secret,
        target_label=f"{secret.client.name} {_secret_label(secret)}",
        before=before,
        after={"expiresAt": now},
    )


@transaction.atomic
def client_secret_overlap_end(*, actor: Actor, client: ApiClient) -> list[ClientSecret]:
    """End the rotation window early: the older secret(s) stop working now."""
    client = _lock_client(client)
    now = timezone.now()
    ended = list(client.secrets.filter(valid_secrets_q(now), expires_at__isnull=False))
    if not ended:
        raise ValidationError("There is no rotation overlap to end.")
    for secret in ended:
        secret.client = client
        _secret_end(actor=actor, secret=secret, now=now, action=AuditAction.CLIENT_SECRET_OVERLAP_ENDED)
    return ended


@transaction.atomic
def client_secret_revoke(*, actor: Actor, secret: ClientSecret) -> ClientSecret:
    """Revoke one secret at once; the tokens minted with it stop working."""
    secret = ClientSecret.objects.select_for_update().select_related("client__organization").get(pk=secret.pk)
    if secret.revoked_at is not None:
        raise ValidationError("This secret is already revoked.")
    now = timezone.now()
    secret.revoked_at = now
    secret.save(update_fields=["revoked_at", "updated_at"])
    tokens = AccessToken.objects.filter(secret=secret, revoked_at__isnull=True, expires_at__gt=now).update(
        revoked_at=now
    )
    audit_record(
        actor=actor,
        organization=secret.client.organization,
        action=AuditAction.CLIENT_SECRET_REVOKED,
        target=secret,
        target_label=f"{secret.client.name} {_secret_label(secret)}",
        after={"revokedAt": now, "tokensRevoked": tokens},
    )
    return secret


@transaction.atomic
def client_revoke(*, actor: Actor, client: ApiClient) -> ApiClient:
    """Revoke the whole client: every secret and every token stops working now. Irreversible."""
    client = _lock_client(client)
    if client.status == ApiClient.Status.REVOKED:
        raise ValidationError("This client is already revoked.")
    now = timezone.now()
    before = {"status": client.status}
    client.status = ApiClient.Status.REVOKED
    client.revoked_at = now
    client.paused_until = None
    client.save(update_fields=["status", "revoked_at", "paused_until", "updated_at"])
    secrets = client.secrets.filter(revoked_at__isnull=True).update(revoked_at=now)
    tokens = client.tokens.filter(revoked_at__isnull=True, expires_at__gt=now).update(revoked_at=now)
    audit_record(
        actor=actor,
        organization=client.organization,
        action=AuditAction.CLIENT_REVOKED,
        target=client,
        before=before,
        after={"status": client.status, "secretsRevoked": secrets, "tokensRevoked": tokens},
    )
    return client


def client_pause_for_rate_limit(*, client: ApiClient, now=None) -> bool:
    """Pause the client for 15 minutes once it has had 10 consecutive 429s (exactly once, race-safe)."""
    now = now or timezone.now()
    with transaction.atomic():
        paused = ApiClient.objects.filter(
            pk=client.pk, status=ApiClient.Status.ACTIVE, consecutive_429s__gte=CONSECUTIVE_429S_BEFORE_PAUSE
        ).update(
            status=ApiClient.Status.PAUSED,
            paused_until=now + RATE_LIMIT_PAUSE,
            pause_reason=f"{CONSECUTIVE_429S_BEFORE_PAUSE} consecutive 429 responses",
            consecutive_429s=0,
        )
        if paused:
            gateway_inputs_changed()
            audit_record(
                actor=Actor.system(),
                organization=client.organization,
                action=AuditAction.CLIENT_PAUSED,
                target=client,
                before={"status": ApiClient.Status.ACTIVE},
                after={
                    "status": ApiClient.Status.PAUSED,
                    "pausedUntil": now + RATE_LIMIT_PAUSE,
                    "reason": f"{CONSECUTIVE_429S_BEFORE_PAUSE} consecutive 429 responses",
                },
            )
    if paused:
        usage_count(client_id=client.pk, pauses=1, now=now)
    return bool(paused)


def client_pause_expire(*, client: ApiClient, now=None) -> bool:
    """A pause whose time is up ends (at the next call or by the periodic task); audited as the system."""
    now = now or timezone.now()
    with transaction.atomic():
        ended = ApiClient.objects.filter(pk=client.pk, status=ApiClient.Status.PAUSED, paused_until__lte=now).update(
            status=ApiClient.Status.ACTIVE, paused_until=None, pause_reason="", consecutive_429s=0
        )
        if ended:
            gateway_inputs_changed(client=client)  # and the client's run of 429s starts afresh
            audit_record(
                actor=Actor.system(),
                organization=client.organization,
                action=AuditAction.CLIENT_PAUSE_ENDED,
                target=client,
                before={"status": ApiClient.Status.PAUSED, "pausedUntil": client.paused_until},
                after={"status": ApiClient.Status.ACTIVE},
            )
    if ended or client.status == ApiClient.Status.PAUSED:
        client.status = ApiClient.Status.ACTIVE
        client.paused_until = None
        client.consecutive_429s = 0
    return bool(ended)


# Pauses NT24 support can set by hand, in minutes; 0 = until unpaused.
PAUSE_DURATIONS_MINUTES = (15, 60, 24 * 60, 0)


@transaction.atomic
def client_pause(*, actor: Actor, client: ApiClient, minutes: int, reason: str, now=None) -> ApiClient:
    """NT24 support pauses a client now (a runaway integration, a suspected leak): calls get 403
    client-paused with Retry-After until the pause ends or support unpauses it."""
    now = now or timezone.now()
    client = _lock_client(client)
    reason = reason.strip().rstrip(".").strip()  # shown as "… paused: <reason>."
    if client.status != ApiClient.Status.ACTIVE:
        raise ValidationError("Only an active client can be paused.")
    if minutes not in PAUSE_DURATIONS_MINUTES:
        raise ValidationError("Choose one of the offered pause lengths.")
    if not reason:
        raise ValidationError("Say why the client is paused; the caller sees it in the problem detail.")
    before = {"status": client.status}
    client.status = ApiClient.Status.PAUSED
    client.paused_until = now + timedelta(minutes=minutes) if minutes else None
    client.pause_reason = reason[:200]
    client.save(update_fields=["status", "paused_until", "pause_reason", "updated_at"])
    audit_record(
        actor=actor,
        organization=client.organization,
        action=AuditAction.CLIENT_PAUSED,
        target=client,
        before=before,
        after={"status": client.status, "pausedUntil": client.paused_until, "reason": client.pause_reason},
    )

    def count_pause():
        usage_count(client_id=client.pk, pauses=1, now=now)
        usage_flush()  # support looks at the chart right after pausing

    transaction.on_commit(count_pause)
    return client


@transaction.atomic
def client_unpause(*, actor: Actor, client: ApiClient) -> ApiClient:
    """NT24 support lifts a pause early."""
    client = _lock_client(client)
    if client.status != ApiClient.Status.PAUSED:
        raise ValidationError("This client is not paused.")
    before = {"status": client.status, "pausedUntil": client.paused_until, "reason": client.pause_reason}
    client.status = ApiClient.Status.ACTIVE
    client.paused_until = None
    client.pause_reason = ""
    client.consecutive_429s = 0
    client.save(update_fields=["status", "paused_until", "pause_reason", "consecutive_429s", "updated_at"])
    gateway_inputs_changed(client=client)  # and the client's run of 429s starts afresh
    audit_record(
        actor=actor,
        organization=client.organization,
        action=AuditAction.CLIENT_UNPAUSED,
        target=client,
        before=before,
        after={"status": client.status},
    )
    return client


def client_pauses_expire(*, now=None) -> int:
    """Periodic: end every pause whose time is up."""
    now = now or timezone.now()
    count = 0
    for client in ApiClient.objects.filter(status=ApiClient.Status.PAUSED, paused_until__lte=now).select_related(
        "organization"
    ):
        count += client_pause_expire(client=client, now=now)
    return count


def client_secrets_mark_expired(*, now=None) -> int:
    """Periodic: mark secrets whose rotation window is over (they are already refused at check time)."""
    now = now or timezone.now()
    count = 0
    due = ClientSecret.objects.filter(
        expires_at__lte=now, expired_marked_at__isnull=True, revoked_at__isnull=True
    ).select_related("client__organization")
    for secret in due:
        with transaction.atomic():
            marked = ClientSecret.objects.filter(pk=secret.pk, expired_marked_at__isnull=True).update(
                expired_marked_at=now
            )
            if marked:
                audit_record(
                    actor=Actor.system(),
                    organization=secret.client.organization,
                    action=AuditAction.CLIENT_SECRET_EXPIRED,
                    target=secret,
                    target_label=f"{secret.client.name} {_secret_label(secret)}",
                    after={"expiresAt": secret.expires_at},
                )
                count += 1
    return count


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    plaintext: str
    expires_in: int


def access_token_issue(*, client: ApiClient, secret: ClientSecret) -> IssuedToken:
    plaintext = new_access_token()
    now = timezone.now()
    token = AccessToken.objects.create(
        client=client, secret=secret, token_hash=token_hash(plaintext), expires_at=now + ACCESS_TOKEN_LIFETIME
    )
    ClientSecret.objects.filter(pk=secret.pk).update(last_used_at=now)
    return IssuedToken(token=token, plaintext=plaintext, expires_in=int(ACCESS_TOKEN_LIFETIME.total_seconds()))


def client_token_lockout_record(*, actor: Actor, client_id: str, rate: str, lockout_seconds: int | None) -> None:
    """A client id reached the failure limit at POST /oauth/token: audited on the client when it exists,
    logged either way (the presented id is not logged when it matches no client)."""
    client = (
        ApiClient.objects.select_related("organization").filter(client_id=client_id).first()
        if len(client_id) <= 64
        else None
    )
    if client is None:
        logger.warning("oauth token lockout for an unknown client id (%s) from %s", rate, actor.ip)
        return
    logger.warning("oauth token lockout for client %s (%s) from %s", client.client_id, rate, actor.ip)
    audit_record(
        actor=actor,
        organization=client.organization,
        action=AuditAction.CLIENT_TOKEN_LOCKED_OUT,
        target=client,
        after={"failureLimit": rate, "lockoutSeconds": lockout_seconds},
    )
