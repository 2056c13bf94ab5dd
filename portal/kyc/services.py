"""Every write of the KYC area: buyers, VIES results, documents and self-service invitations."""

import base64
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.core.audit import Actor, audit_record
from portal.core.audit_actions import AuditAction
from portal.core.problems import Problem
from portal.core.tasks import enqueue_on_commit
from portal.core.tokens import token_hash
from portal.core.vat import vat_normalize
from portal.kyc.file_types import (
    ACCEPTED_MEDIA_TYPES,
    MEDIA_TYPE_NAMES,
    ContentMismatch,
    sniff_media_type,
    verify_content,
)
from portal.kyc.models import Buyer, DocumentType, KycDocument, KycLevel, SelfServiceInvitation, ViesResult
from portal.kyc.policy import (
    KYC_LEVEL_RANK,
    MAX_DOCUMENT_BYTES,
    REQUIRED_DOCUMENTS,
    kyc_level_capability,
    max_documents_per_invitation,
    vies_backoff,
    vies_give_up_attempts,
    vies_lease,
    vies_max_attempts,
)
from portal.kyc.representations import buyer_data, document_data, invitation_data
from portal.kyc.selectors import buyer_rollup, compliance_status_for
from portal.kyc.vies import vies_check_vat
from portal.organizations.capabilities import CapabilitySlug
from portal.organizations.selectors import organization_capabilities
from portal.webhooks.outbox import event_emit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuyerActor(Actor):
    """The buyer acting through a self-service link: no user, no client, known by the invited e-mail."""

    buyer_email: str = ""

    @property
    def label(self) -> str:
        return f"buyer:{self.buyer_email}"


BUYER_AUDIT_FIELDS = ("vat_number", "country_code", "name", "email", "kyc_level", "vies_result", "version")


def _snapshot(buyer: Buyer) -> dict:
    return {f: getattr(buyer, f) for f in BUYER_AUDIT_FIELDS}


def _require_capability(organization, capability: str) -> None:
    if capability not in organization_capabilities(organization=organization):
        raise Problem(
            "capability-not-granted",
            f"Your organization has not been granted the `{capability}` capability.",
            capability=capability,
        )


def _lock_buyer(buyer_id) -> Buyer:
    return Buyer.objects.select_for_update().select_related("organization", "partner").get(pk=buyer_id)


def _buyer_changed(buyer: Buyer, *, rollup_before: str | None = None, rollup_changed: bool = True) -> dict:
    """Bump the aggregate version, refresh the stored compliance status; emit compliance.rollup.updated."""
    buyer.version += 1
    rollup = buyer_rollup(buyer=buyer)
    buyer.compliance_status = rollup.status
    buyer.save()
    rollup_dict = rollup.as_dict()
    if rollup_changed:
        event_emit(
            organization=buyer.organization,
            partner=buyer.partner,
            event_type="compliance.rollup.updated",
            data=rollup_dict,
        )
    return rollup_dict


def _schedule_vies(buyer: Buyer) -> None:
    # Not published (broker down): the buyer's vies_next_check_at is due, so kyc.vies_check_due runs it.
    from portal.kyc.tasks import vies_check

    enqueue_on_commit(vies_check, str(buyer.pk))


# Buyers ---------------------------------------------------------------------------------------------------


def buyer_upsert(
    *,
    actor: Actor,
    organization,
    partner,
    vat_number: str,
    name: str,
    email: str = "",
    kyc_level: str | None = None,
    country_code: str | None = None,
) -> tuple[Buyer, bool]:
    """Create the buyer of (partner, VAT number) or return the existing one; True if it was created.

    The database's unique constraint decides under concurrency: the losing INSERT rolls back to its
    savepoint and the winner's row is read and updated like a PATCH.
    """
    vat, country = vat_normalize(vat_number, country_code=country_code)
    if not (name or "").strip():
        raise ValidationError({"name": ["This field is required."]})
    level = kyc_level or KycLevel.A
    if level not in KycLevel.values:
        raise ValidationError({"kycLevel": [f"Must be one of {', '.join(KycLevel.values)}."]})
    try:
        with transaction.atomic():
            if capability := kyc_level_capability(level):
                _require_capability(organization, capability)
            now = timezone.now()
            buyer = Buyer(
                organization=organization,
                partner=partner,
                vat_number=vat,
                country_code=country,
                name=name.strip(),
                email=email or "",
                kyc_level=level,
                vies_result=ViesResult.PENDING,
                vies_next_check_at=now,
            )
            buyer.compliance_status = buyer_rollup_status_new(buyer)
            buyer.save(force_insert=True)
            audit_record(
                actor=actor,
                action=AuditAction.BUYER_CREATED,
                target=buyer,
                organization=organization,
                after=_snapshot(buyer),
            )
            event_emit(organization=organization, partner=partner, event_type="buyer.created", data=buyer_data(buyer))
            _schedule_vies(buyer)
        return buyer, True
    except IntegrityError:
        buyer = Buyer.objects.get(organization=organization, partner=partner, vat_number=vat)
    changes = {"name": name.strip(), "email": email or ""}
    if kyc_level:
        changes["kyc_level"] = kyc_level
    buyer = buyer_update(actor=actor, buyer=buyer, changes=changes)
    return buyer, False


def buyer_rollup_status_new(buyer: Buyer) -> str:
    return compliance_status_for(vies_result=buyer.vies_result, missing=list(REQUIRED_DOCUMENTS[buyer.kyc_level]))


# The unique constraint of kyc/models.py: another buyer of this seller has the VAT number.
BUYER_VAT_CONSTRAINT = "buyer_unique_seller_vat"


def buyer_update(*, actor: Actor, buyer: Buyer, changes: dict) -> Buyer:
    """Apply edits (name, email, kyc_level, vat_number); A→B needs kycLevelB, B→A is refused.

    A VAT number is unique per seller by the database's constraint, so two concurrent edits to the same
    number answer a validation error, never a 500."""
    try:
        with transaction.atomic():
            return _buyer_update_locked(actor=actor, buyer=buyer, changes=changes)
    except IntegrityError as exc:
        if BUYER_VAT_CONSTRAINT not in str(exc):
            raise
        raise ValidationError({"vatNumber": ["Another buyer of this seller has this VAT number."]}) from exc


def _buyer_update_locked(*, actor: Actor, buyer: Buyer, changes: dict) -> Buyer:
    allowed = {"name", "email", "kyc_level", "vat_number"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({sorted(unknown)[0]: ["This field cannot be changed."]})
    buyer = _lock_buyer(buyer.pk)
    before = _snapshot(buyer)
    updates: dict = {}
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name:
            raise ValidationError({"name": ["This field may not be blank."]})
        if name != buyer.name:
            updates["name"] = name
    if "email" in changes and (changes["email"] or "") != buyer.email:
        updates["email"] = changes["email"] or ""
    if "vat_number" in changes:
        vat, country = vat_normalize(changes["vat_number"])
        if vat != buyer.vat_number:
            updates["vat_number"] = vat
            updates["country_code"] = country
    level_upgraded = False
    if "kyc_level" in changes and changes["kyc_level"] != buyer.kyc_level:
        new_level = changes["kyc_level"]
        if new_level not in KycLevel.values:
            raise ValidationError({"kycLevel": [f"Must be one of {', '.join(KycLevel.values)}."]})
        if KYC_LEVEL_RANK[new_level] < KYC_LEVEL_RANK[buyer.kyc_level]:
            raise Problem(
                "kyc-downgrade-not-allowed",
                f"The buyer is at KYC level {buyer.kyc_level}; it cannot be downgraded to {new_level}.",
                currentLevel=buyer.kyc_level,
                requestedLevel=new_level,
            )
        if capability := kyc_level_capability(new_level):
            _require_capability(buyer.organization, capability)
        updates["kyc_level"] = new_level
        level_upgraded = True
    if not updates:
        return buyer
    for key, value in updates.items():
        setattr(buyer, key, value)
    vat_changed = "vat_number" in updates
    if vat_changed:
        buyer.vies_result = ViesResult.PENDING
        buyer.vies_attempts = 0
        buyer.vies_checked_at = None
        buyer.vies_last_error = ""
        buyer.vies_request_identifier = ""
        buyer.vies_next_check_at = timezone.now()
    _buyer_changed(buyer, rollup_changed=vat_changed or level_upgraded)
    audit_record(
        actor=actor,
        action=AuditAction.BUYER_UPDATED,
        target=buyer,
        organization=buyer.organization,
        before=before,
        after=_snapshot(buyer),
    )
    if level_upgraded:
        audit_record(
            actor=actor,
            action=AuditAction.BUYER_KYC_LEVEL_UPGRADED,
            target=buyer,
            organization=buyer.organization,
            before={"kyc_level": before["kyc_level"]},
            after={"kyc_level": buyer.kyc_level},
        )
        event_emit(
            organization=buyer.organization,
            partner=buyer.partner,
            event_type="kyc.level.upgraded",
            data={**buyer_data(buyer), "previousKycLevel": before["kyc_level"]},
        )
    if vat_changed:
        _schedule_vies(buyer)
    return buyer


# VIES -----------------------------------------------------------------------------------------------------


def buyer_vies_check(*, buyer_id) -> str | None:
    """Run one due VIES check for the buyer; returns the buyer's viesResult afterwards (None if nothing due)."""
    now = timezone.now()
    lease = vies_lease()
    with transaction.atomic():
        buyer = Buyer.objects.select_for_update().filter(pk=buyer_id).first()
        if buyer is None or buyer.vies_next_check_at is None or buyer.vies_next_check_at > now:
            return None
        # Claim the check: a concurrent beat run or duplicate task sees it as not due.
        buyer.vies_next_check_at = now + lease
        buyer.save(update_fields=["vies_next_check_at"])
        vat = buyer.vat_number
    answer = vies_check_vat(vat_number=vat)
    return buyer_vies_apply(
        buyer_id=buyer_id,
        vat_number=vat,
        verdict=answer.verdict,
        error=answer.error,
        request_identifier=answer.request_identifier,
    )


def buyer_vies_apply(
    *, buyer_id, vat_number: str, verdict: str | None, error: str = "", request_identifier: str = ""
) -> str | None:
    max_attempts = vies_max_attempts()
    give_up_after = vies_give_up_attempts()
    with transaction.atomic():
        buyer = Buyer.objects.select_for_update().select_related("organization", "partner").filter(pk=buyer_id).first()
        if buyer is None:
            return None
        if buyer.vat_number != vat_number:
            # The VAT number changed while VIES was answering: that change scheduled its own check.
            return buyer.vies_result
        now = timezone.now()
        before = _snapshot(buyer)
        buyer.vies_attempts += 1
        buyer.vies_last_error = (error or "")[:200]
        if verdict in (ViesResult.VALID, ViesResult.INVALID):
            buyer.vies_result = verdict
            buyer.vies_checked_at = now
            buyer.vies_next_check_at = None
            buyer.vies_request_identifier = request_identifier[:100]
        else:
            buyer.vies_next_check_at = (
                None if buyer.vies_attempts >= give_up_after else now + vies_backoff(buyer.vies_attempts)
            )
            if buyer.vies_result == ViesResult.PENDING and buyer.vies_attempts >= max_attempts:
                buyer.vies_result = ViesResult.UNKNOWN
                buyer.vies_checked_at = now
        if buyer.vies_result == before["vies_result"]:
            buyer.save(
                update_fields=[
                    "vies_attempts",
                    "vies_last_error",
                    "vies_next_check_at",
                    "vies_checked_at",
                    "vies_request_identifier",
                    "updated_at",
                ]
            )
            return buyer.vies_result
        rollup = _buyer_changed(buyer)
        audit_record(
            actor=Actor.system(),
            action=AuditAction.BUYER_VIES_CHECKED,
            target=buyer,
            organization=buyer.organization,
            before={"vies_result": before["vies_result"]},
            after={"vies_result": buyer.vies_result, "error": buyer.vies_last_error},
        )
        event_emit(
            organization=buyer.organization,
            partner=buyer.partner,
            event_type="compliance.vies.completed",
            data={
                "buyerId": str(buyer.pk),
                "sellerId": str(buyer.partner_id),
                "vatNumber": buyer.vat_number,
                "viesResult": buyer.vies_result,
                "checkedAt": rollup["viesCheckedAt"],
                "complianceStatus": buyer.compliance_status,
                "version": buyer.version,
            },
        )
        return buyer.vies_result


def buyer_vies_due_ids(*, limit: int = 100) -> list:
    return list(
        Buyer.objects.filter(vies_next_check_at__lte=timezone.now())
        .order_by("vies_next_check_at")
        .values_list("pk", flat=True)[:limit]
    )


# Documents ------------------------------------------------------------------------------------------------


def document_upload(
    *,
    actor: Actor,
    buyer: Buyer,
    document_type: str,
    upload,
    source: str,
    invitation: SelfServiceInvitation | None = None,
    actor_label: str | None = None,
) -> KycDocument:
    """Store one KYC document (append-only) after checking its size, its type and that its content parses as
    that type; stored under ids and the sniffed type's extension, the uploaded name kept for display only."""
    if document_type not in DocumentType.values:
        raise ValidationError({"type": [f"Must be one of {', '.join(DocumentType.values)}."]})
    if upload is None:
        raise ValidationError({"file": ["No file was submitted."]})
    if upload.size > MAX_DOCUMENT_BYTES:
        raise Problem(
            "payload-too-large",
            f"The file is {upload.size} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes (15 MiB).",
            limit=MAX_DOCUMENT_BYTES,
        )
    if invitation is not None:
        _require_invitation_capacity(invitation)  # early, before the file is read or written; again under the lock
    upload.seek(0)
    head = upload.read(16)
    media_type = sniff_media_type(head)
    if media_type is None:
        raise Problem(
            "unsupported-media-type",
            "Upload a PDF, JPEG, PNG or HEIC file.",
            accepted=list(ACCEPTED_MEDIA_TYPES),
        )
    try:
        verify_content(upload, media_type, upload.size)
    except ContentMismatch as exc:
        raise Problem(
            "document-content-invalid",
            f"The file starts like a {MEDIA_TYPE_NAMES[media_type]} file but is not a readable one: {exc}.",
            mediaType=media_type,
        ) from exc
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    document = KycDocument(
        organization=buyer.organization,
        buyer=buyer,
        type=document_type,
        source=source,
        filename=(getattr(upload, "name", "") or "document").rsplit("/", 1)[-1][:255],
        content_type=media_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        invitation=invitation,
        uploaded_by_label=(actor_label or actor.label)[:255],
    )
    # The file lands in storage first; if the transaction fails it is removed again.
    document.file.save(document.filename, upload, save=False)
    try:
        with transaction.atomic():
            locked = _lock_buyer(buyer.pk)
            if invitation is not None:
                _require_invitation_capacity(invitation)  # uploads of one buyer are serialized by its lock
            document.buyer = locked
            document.save(force_insert=True)
            _buyer_changed(locked)
            audit_record(
                actor=actor,
                action=AuditAction.KYC_DOCUMENT_UPLOADED,
                target=document,
                organization=locked.organization,
                after={"type": document.type, "sha256": document.sha256, "size": document.size, "source": source},
                target_label=f"{document.type} {document.filename}",
            )
            event_emit(
                organization=locked.organization,
                partner=locked.partner,
                event_type="kyc.document.uploaded",
                data={**document_data(document), "sellerId": str(locked.partner_id), "version": locked.version},
            )
            if invitation is not None:
                _invitation_complete_if_done(invitation_id=invitation.pk, buyer=locked)
    except Exception:
        document.file.delete(save=False)
        raise
    buyer.version = locked.version
    buyer.compliance_status = locked.compliance_status
    return document


def _require_invitation_capacity(invitation: SelfServiceInvitation) -> None:
    limit = max_documents_per_invitation()
    if KycDocument.objects.filter(invitation_id=invitation.pk).count() >= limit:
        raise Problem(
            "invitation-document-limit",
            f"This link has received the maximum of {limit} documents.",
            limit=limit,
        )


def document_update(*, actor: Actor, document: KycDocument, changes: dict) -> KycDocument:
    """Documents are append-only: the only change is {"status": "ARCHIVED"}."""
    if set(changes) != {"status"} or changes.get("status") != KycDocument.Status.ARCHIVED:
        raise Problem(
            "document-immutable",
            'KYC documents are append-only; only {"status": "ARCHIVED"} may be set.',
        )
    return document_archive(actor=actor, document=document)


def document_archive(*, actor: Actor, document: KycDocument) -> KycDocument:
    with transaction.atomic():
        buyer = _lock_buyer(document.buyer_id)
        document = KycDocument.objects.select_for_update().get(pk=document.pk)
        if document.status == KycDocument.Status.ARCHIVED:
            return document
        document.status = KycDocument.Status.ARCHIVED
        document.archived_at = timezone.now()
        document.archived_by_label = actor.label[:255]
        document.save(update_fields=["status", "archived_at", "archived_by_label", "updated_at"])
        _buyer_changed(buyer)
        audit_record(
            actor=actor,
            action=AuditAction.KYC_DOCUMENT_ARCHIVED,
            target=document,
            organization=buyer.organization,
            before={"status": "ACTIVE"},
            after={"status": "ARCHIVED"},
            target_label=f"{document.type} {document.filename}",
        )
        event_emit(
            organization=buyer.organization,
            partner=buyer.partner,
            event_type="kyc.document.archived",
            data={**document_data(document), "sellerId": str(buyer.partner_id), "version": buyer.version},
        )
    return document


# Self-service invitations ---------------------------------------------------------------------------------


LINK_TOKEN_KEY_SALT = "portal.kyc.invitation-link"


def _link_token(invitation_id, token_salt: str, *, secret=None) -> str:
    """HMAC-SHA256 of (id, salt) under SECRET_KEY: 256 bits, like Django's password reset tokens."""
    value = f"{invitation_id}:{token_salt}"
    digest = salted_hmac(LINK_TOKEN_KEY_SALT, value, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _new_token(invitation_id) -> tuple[str, str, str]:
    """(token, its hash, the salt it is rebuilt from): a fresh salt gives a new link."""
    token_salt = secrets.token_hex(16)
    token = _link_token(invitation_id, token_salt)
    return token, token_hash(token), token_salt


def invitation_link_token(invitation: SelfServiceInvitation) -> str | None:
    """The current link's token, rebuilt from the stored salt (SECRET_KEY or a fallback); None if it cannot be."""
    if not invitation.token_salt:
        return None
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        token = _link_token(invitation.pk, invitation.token_salt, secret=secret)
        if constant_time_compare(token_hash(token), invitation.token_hash):
            return token
    return None


def _invitation_event(invitation: SelfServiceInvitation, event_type: str) -> None:
    event_emit(
        organization=invitation.organization,
        partner=invitation.buyer.partner,
        event_type=event_type,
        data={**invitation_data(invitation), "sellerId": str(invitation.buyer.partner_id)},
    )


def _schedule_send(invitation: SelfServiceInvitation) -> None:
    # The id only: the task rebuilds the link's token. Not published (broker down): the invitation stays
    # PENDING and kyc.invitation_send_unsent sends it.
    from portal.kyc.tasks import invitation_send_email

    enqueue_on_commit(invitation_send_email, str(invitation.pk))


def invitation_create(
    *, actor: Actor, buyer: Buyer, email: str = "", locale: str = "", expires_in_days: int | None = None
) -> tuple[SelfServiceInvitation, str]:
    """Create an invitation and send it after commit; earlier active invitations of the buyer are revoked."""
    _require_capability(buyer.organization, CapabilitySlug.KYC_SELF_SERVICE_INVITATIONS)
    email = (email or buyer.email or "").strip()
    if not email:
        raise ValidationError({"email": ["The buyer has no e-mail address; give one."]})
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": ["Enter a valid e-mail address."]}) from exc
    if locale and locale not in dict(settings.LANGUAGES):
        raise ValidationError({"locale": [f"Must be one of {', '.join(dict(settings.LANGUAGES))}."]})
    days = expires_in_days if expires_in_days is not None else 7
    if not 1 <= int(days) <= 30:
        raise ValidationError({"expiresInDays": ["Must be between 1 and 30."]})
    invitation_id = uuid.uuid4()
    token, token_hash, token_salt = _new_token(invitation_id)
    with transaction.atomic():
        buyer = _lock_buyer(buyer.pk)
        for previous in buyer.invitations.select_for_update().filter(status__in=SelfServiceInvitation.ACTIVE_STATUSES):
            _invitation_revoke_locked(actor=actor, invitation=previous, reason="superseded by a new invitation")
        invitation = SelfServiceInvitation.objects.create(
            id=invitation_id,
            organization=buyer.organization,
            buyer=buyer,
            email=email,
            locale=locale or "",
            token_hash=token_hash,
            token_salt=token_salt,
            expires_at=timezone.now() + timedelta(days=int(days)),
            created_by_label=actor.label[:255],
        )
        audit_record(
            actor=actor,
            action=AuditAction.SELF_SERVICE_INVITATION_CREATED,
            target=invitation,
            organization=buyer.organization,
            after={"email": email, "locale": locale, "expires_at": invitation.expires_at},
        )
        _schedule_send(invitation)
    return invitation, token


def _lock_invitation(invitation_id) -> SelfServiceInvitation:
    return (
        SelfServiceInvitation.objects.select_for_update()
        .select_related("buyer__partner", "organization")
        .get(pk=invitation_id)
    )


def _expire_if_past_due(invitation_id) -> None:
    """Expire a past-due invitation in its own transaction, so the refusal that follows cannot roll it back."""
    with transaction.atomic():
        invitation = _lock_invitation(invitation_id)
        if invitation.is_active and invitation.expires_at <= timezone.now():
            _invitation_expire_locked(invitation)


def _require_active(invitation: SelfServiceInvitation) -> None:
    if not invitation.is_active or invitation.expires_at <= timezone.now():
        raise Problem(
            "invitation-not-active",
            f"The invitation is {invitation.status.lower()}; create a new one.",
            invitationStatus=invitation.status,
        )


def invitation_resend(*, actor: Actor, invitation: SelfServiceInvitation) -> tuple[SelfServiceInvitation, str]:
    """A new link (the old one stops working) with a fresh expiry, e-mailed again after commit."""
    token, token_hash, token_salt = _new_token(invitation.pk)
    _expire_if_past_due(invitation.pk)
    with transaction.atomic():
        invitation = _lock_invitation(invitation.pk)
        _require_active(invitation)
        validity = timedelta(days=max(1, round((invitation.expires_at - invitation.created_at) / timedelta(days=1))))
        invitation.token_hash = token_hash
        invitation.token_salt = token_salt
        invitation.status = SelfServiceInvitation.Status.PENDING
        invitation.expires_at = timezone.now() + validity
        invitation.last_error = ""
        invitation.last_error_at = None
        invitation.version += 1
        invitation.save()
        audit_record(
            actor=actor,
            action=AuditAction.SELF_SERVICE_INVITATION_RESENT,
            target=invitation,
            organization=invitation.organization,
            after={"expires_at": invitation.expires_at},
        )
        _schedule_send(invitation)
    return invitation, token


def _invitation_revoke_locked(*, actor: Actor, invitation: SelfServiceInvitation, reason: str = "") -> None:
    before = invitation.status
    invitation.status = SelfServiceInvitation.Status.REVOKED
    invitation.revoked_at = timezone.now()
    invitation.version += 1
    invitation.save()
    audit_record(
        actor=actor,
        action=AuditAction.SELF_SERVICE_INVITATION_REVOKED,
        target=invitation,
        organization=invitation.organization,
        before={"status": before},
        after={"status": invitation.status, "reason": reason},
    )


def invitation_revoke(*, actor: Actor, invitation: SelfServiceInvitation) -> SelfServiceInvitation:
    _expire_if_past_due(invitation.pk)
    with transaction.atomic():
        invitation = _lock_invitation(invitation.pk)
        _require_active(invitation)
        _invitation_revoke_locked(actor=actor, invitation=invitation)
    return invitation


def _invitation_expire_locked(invitation: SelfServiceInvitation) -> None:
    before = invitation.status
    invitation.status = SelfServiceInvitation.Status.EXPIRED
    invitation.expired_at = timezone.now()
    invitation.version += 1
    invitation.save()
    audit_record(
        actor=Actor.system(),
        action=AuditAction.SELF_SERVICE_INVITATION_EXPIRED,
        target=invitation,
        organization=invitation.organization,
        before={"status": before},
        after={"status": "EXPIRED"},
    )
    _invitation_event(invitation, "kyc.invitation.expired")


def invitation_expire_due(*, limit: int = 500) -> int:
    """Expire active invitations past their expiry (the beat task); emits kyc.invitation.expired."""
    count = 0
    due = list(
        SelfServiceInvitation.objects.filter(
            status__in=SelfServiceInvitation.ACTIVE_STATUSES, expires_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:limit]
    )
    for invitation_id in due:
        with transaction.atomic():
            invitation = _lock_invitation(invitation_id)
            if invitation.is_active and invitation.expires_at <= timezone.now():
                _invitation_expire_locked(invitation)
                count += 1
    return count


# A send not published within this long (the broker was down) is sent by kyc.invitation_send_unsent.
UNSENT_INVITATION_AFTER = timedelta(minutes=5)


def invitation_send_unsent(*, older_than: timedelta = UNSENT_INVITATION_AFTER, limit: int = 100) -> int:
    """E-mail active invitations still PENDING long after their send was due; returns how many were sent.

    The link is rebuilt from the invitation (its salt), so the buyer gets the link the invitation was
    created with. Failed sends (last_error_at set) stay for a person to resend, as before."""
    now = timezone.now()
    due = SelfServiceInvitation.objects.filter(
        status=SelfServiceInvitation.Status.PENDING,
        last_error_at__isnull=True,
        updated_at__lte=now - older_than,
        expires_at__gt=now,
    )
    sent = 0
    for invitation_id in list(due.order_by("updated_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            invitation = (
                due.select_for_update(of=("self",)).select_related("organization").filter(pk=invitation_id).first()
            )
            if invitation is None:
                continue  # sent, revoked or retried meanwhile
            audit_record(
                actor=Actor.system(),
                action=AuditAction.SELF_SERVICE_INVITATION_SEND_RECOVERED,
                target=invitation,
                organization=invitation.organization,
                after={"reason": "the e-mail was never sent (its task was not published)"},
            )
        sent += invitation_send_email(invitation_id=invitation_id)
    return sent


def invitation_send_email(*, invitation_id) -> bool:
    """E-mail the link (HTML + text, branded, in the invitation's language); failures are kept on the invitation."""
    from portal.kyc.emails import invitation_email_message

    invitation = (
        SelfServiceInvitation.objects.select_related("buyer__partner", "organization").filter(pk=invitation_id).first()
    )
    if invitation is None or not invitation.is_active:
        return False  # revoked or gone meanwhile
    token = invitation_link_token(invitation)
    if token is None:
        # Created before links were rebuilt from a salt, or SECRET_KEY changed without a fallback.
        logger.warning("KYC invitation %s: its link cannot be rebuilt; resend the invitation", invitation_id)
        return False
    message = invitation_email_message(invitation=invitation, token=token)
    try:
        message.send()
    except Exception as exc:  # SMTP errors, refused recipients, connection failures
        logger.warning("KYC invitation %s e-mail failed: %s", invitation_id, exc)
        with transaction.atomic():
            invitation = _lock_invitation(invitation_id)
            invitation.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            invitation.last_error_at = timezone.now()
            invitation.version += 1
            invitation.save()
            audit_record(
                actor=Actor.system(),
                action=AuditAction.SELF_SERVICE_INVITATION_SEND_FAILED,
                target=invitation,
                organization=invitation.organization,
                after={"error": invitation.last_error},
            )
        return False
    with transaction.atomic():
        invitation = _lock_invitation(invitation_id)
        if invitation.token_hash != token_hash(token):
            return False
        if invitation.status == SelfServiceInvitation.Status.PENDING:
            invitation.status = SelfServiceInvitation.Status.SENT
        invitation.sent_at = timezone.now()
        invitation.send_count += 1
        invitation.last_error = ""
        invitation.last_error_at = None
        invitation.version += 1
        invitation.save()
        audit_record(
            actor=Actor.system(),
            action=AuditAction.SELF_SERVICE_INVITATION_SENT,
            target=invitation,
            organization=invitation.organization,
            after={"email": invitation.email},
        )
        _invitation_event(invitation, "kyc.invitation.sent")
    return True


def invitation_for_token(*, token: str) -> SelfServiceInvitation | None:
    if not token or len(token) > 100:
        return None
    return (
        SelfServiceInvitation.objects.select_related("buyer__partner", "organization")
        .filter(token_hash=token_hash(token))
        .first()
    )


def invitation_open(*, invitation: SelfServiceInvitation) -> SelfServiceInvitation:
    """The buyer opened the link: expire it if it is past due, else mark it OPENED the first time."""
    if not invitation.is_active:
        return invitation
    if invitation.expires_at > timezone.now() and invitation.status == SelfServiceInvitation.Status.OPENED:
        return invitation
    with transaction.atomic():
        invitation = _lock_invitation(invitation.pk)
        if not invitation.is_active:
            return invitation
        if invitation.expires_at <= timezone.now():
            _invitation_expire_locked(invitation)
            return invitation
        if invitation.status != SelfServiceInvitation.Status.OPENED:
            invitation.status = SelfServiceInvitation.Status.OPENED
            invitation.opened_at = invitation.opened_at or timezone.now()
            invitation.version += 1
            invitation.save()
            audit_record(
                actor=Actor.system(),
                action=AuditAction.SELF_SERVICE_INVITATION_OPENED,
                target=invitation,
                organization=invitation.organization,
                after={"status": "OPENED"},
            )
            _invitation_event(invitation, "kyc.invitation.opened")
    return invitation


def _invitation_complete_if_done(*, invitation_id, buyer: Buyer) -> None:
    invitation = _lock_invitation(invitation_id)
    if not invitation.is_active or buyer_rollup(buyer=buyer).missing:
        return
    invitation.status = SelfServiceInvitation.Status.COMPLETED
    invitation.completed_at = timezone.now()
    invitation.version += 1
    invitation.save()
    audit_record(
        actor=Actor.system(),
        action=AuditAction.SELF_SERVICE_INVITATION_COMPLETED,
        target=invitation,
        organization=invitation.organization,
        after={"status": "COMPLETED"},
    )
    _invitation_event(invitation, "kyc.invitation.completed")


def self_service_upload(*, invitation: SelfServiceInvitation, document_type: str, upload, ip: str | None = None):
    """What the buyer uploads on the link flows exactly like an API upload, with source SELF_SERVICE."""
    _expire_if_past_due(invitation.pk)
    with transaction.atomic():
        invitation = _lock_invitation(invitation.pk)
        _require_active(invitation)
    return document_upload(
        actor=BuyerActor(ip=ip, buyer_email=invitation.email),
        buyer=invitation.buyer,
        document_type=document_type,
        upload=upload,
        source=KycDocument.Source.SELF_SERVICE,
        invitation=invitation,
    )
