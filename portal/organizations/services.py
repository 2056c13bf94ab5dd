"""Every write to organizations, DPAs, partners, capabilities, memberships and invitations.

Keyword-only, typed, atomic and audited. Business-rule violations raise Django's ValidationError
(a message per field where one applies), so pages show them inline and the API as problem+json.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portal.core.audit import Actor, audit_record
from portal.core.audit_actions import AuditAction
from portal.core.tokens import token_hash
from portal.core.vat import vat_normalize
from portal.organizations.capabilities import CAPABILITIES_BY_SLUG
from portal.organizations.models import (
    CapabilityGrant,
    DataProcessingAgreement,
    IntegrationOrganization,
    MemberInvitation,
    Membership,
    Partner,
    PartnerAuthorization,
)
from portal.organizations.policy import (
    DPA_MAX_BYTES,
    INVITATION_LIFETIME,
    LOGO_MAX_BYTES,
    ORGANIZATION_FIELDS,
    invitation_is_active,
    membership_is_last_admin,
)

logger = logging.getLogger(__name__)

SUSPENSION_REASON_MAX = 500
SUSPEND_ONLY_BY_ACTION = "Suspend or reactivate the organization with its own action, which asks for a reason."


def _organization_snapshot(organization: IntegrationOrganization) -> dict:
    snapshot = {field: getattr(organization, field) for field in ORGANIZATION_FIELDS}
    snapshot["logo"] = organization.logo.name or ""
    return snapshot


def _validate_logo(logo: UploadedFile) -> None:
    if logo.size is not None and logo.size > LOGO_MAX_BYTES:
        raise ValidationError({"logo": "The logo must be 1 MiB or smaller."})
    head = logo.read(12)
    logo.seek(0)
    if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
        raise ValidationError({"logo": "The logo must be a PNG or JPEG image."})


def _clean_brand_color(value: str) -> str:
    value = (value or "").strip().lower()
    if len(value) != 7 or not value.startswith("#") or any(c not in "0123456789abcdef" for c in value[1:]):
        raise ValidationError({"brand_color": "Use a hex colour like #1f4fd1."})
    return value


def _save_unique(instance, *, field: str | None, message: str) -> None:
    """Save inside a savepoint; a unique-constraint violation becomes a (field) error."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ValidationError({field: message} if field else message) from exc


# Organizations ---------------------------------------------------------------------------------


@transaction.atomic
def organization_create(
    *,
    actor: Actor,
    name: str,
    slug: str,
    status: str = IntegrationOrganization.Status.ONBOARDING,
    rate_limit_per_minute: int = 600,
    brand_color: str = "#1f4fd1",
    logo: UploadedFile | None = None,
) -> IntegrationOrganization:
    if logo:
        _validate_logo(logo)
    if status == IntegrationOrganization.Status.SUSPENDED:
        raise ValidationError({"status": SUSPEND_ONLY_BY_ACTION})
    organization = IntegrationOrganization(
        name=name.strip(),
        slug=slug.strip().lower(),
        status=status,
        rate_limit_per_minute=rate_limit_per_minute,
        brand_color=_clean_brand_color(brand_color),
    )
    if logo:
        organization.logo = logo
    organization.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(organization, field="slug", message="An organization with this slug already exists.")
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.ORGANIZATION_CREATED,
        target=organization,
        after=_organization_snapshot(organization),
    )
    return organization


@transaction.atomic
def organization_update(
    *,
    actor: Actor,
    organization: IntegrationOrganization,
    name: str | None = None,
    slug: str | None = None,
    status: str | None = None,
    rate_limit_per_minute: int | None = None,
    brand_color: str | None = None,
    logo: UploadedFile | None = None,
) -> IntegrationOrganization:
    organization = IntegrationOrganization.objects.select_for_update().get(pk=organization.pk)
    if (
        status is not None
        and status != organization.status
        and IntegrationOrganization.Status.SUSPENDED
        in (
            status,
            organization.status,
        )
    ):
        raise ValidationError({"status": SUSPEND_ONLY_BY_ACTION})
    before = _organization_snapshot(organization)
    changes = {
        "name": name.strip() if name is not None else None,
        "slug": slug.strip().lower() if slug is not None else None,
        "status": status,
        "rate_limit_per_minute": rate_limit_per_minute,
        "brand_color": _clean_brand_color(brand_color) if brand_color is not None else None,
    }
    for field, value in changes.items():
        if value is not None:
            setattr(organization, field, value)
    if logo:
        _validate_logo(logo)
        organization.logo = logo
    organization.full_clean(validate_unique=False, validate_constraints=False)
    if not logo and _organization_snapshot(organization) == before:
        return organization
    _save_unique(organization, field="slug", message="An organization with this slug already exists.")
    after = _organization_snapshot(organization)
    diff_before = {k: v for k, v in before.items() if after[k] != v}
    diff_after = {k: after[k] for k in diff_before}
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.ORGANIZATION_UPDATED,
        target=organization,
        before=diff_before,
        after=diff_after,
    )
    return organization


def _suspension_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why; the reason is kept in the audit log and shown to the members."})
    if len(reason) > SUSPENSION_REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {SUSPENSION_REASON_MAX} characters."})
    return reason


@transaction.atomic
def organization_suspend(
    *, actor: Actor, organization: IntegrationOrganization, reason: str
) -> IntegrationOrganization:
    """NT24 support suspends an organization: no token, every /v1 call 403 organization-suspended.

    The save raises the gateway generation (portal/core/generation.py), so every process refuses
    the organization's callers on their next call, cached or not."""
    reason = _suspension_reason(reason)
    organization = IntegrationOrganization.objects.select_for_update().get(pk=organization.pk)
    if organization.is_suspended:
        raise ValidationError("This organization is already suspended.")
    before = {"status": organization.status}
    organization.status = IntegrationOrganization.Status.SUSPENDED
    organization.suspended_at = timezone.now()
    organization.suspension_reason = reason
    organization.save(update_fields=["status", "suspended_at", "suspension_reason", "updated_at"])
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.ORGANIZATION_SUSPENDED,
        target=organization,
        before=before,
        after={"status": organization.status, "reason": reason},
    )
    return organization


@transaction.atomic
def organization_reactivate(
    *, actor: Actor, organization: IntegrationOrganization, reason: str
) -> IntegrationOrganization:
    """Lift a suspension: the organization is ACTIVE again and its clients may mint tokens at once."""
    reason = _suspension_reason(reason)
    organization = IntegrationOrganization.objects.select_for_update().get(pk=organization.pk)
    if not organization.is_suspended:
        raise ValidationError("This organization is not suspended.")
    before = {
        "status": organization.status,
        "suspendedAt": organization.suspended_at,
        "reason": organization.suspension_reason,
    }
    organization.status = IntegrationOrganization.Status.ACTIVE
    organization.suspended_at = None
    organization.suspension_reason = ""
    organization.save(update_fields=["status", "suspended_at", "suspension_reason", "updated_at"])
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.ORGANIZATION_REACTIVATED,
        target=organization,
        before=before,
        after={"status": organization.status, "reason": reason},
    )
    return organization


# DPA -------------------------------------------------------------------------------------------


def _validate_pdf(document: UploadedFile) -> None:
    if document.size is not None and document.size > DPA_MAX_BYTES:
        raise ValidationError({"document": "The signed DPA must be a PDF of at most 10 MiB."})
    head = document.read(5)
    document.seek(0)
    if head != b"%PDF-":
        raise ValidationError({"document": "This file is not a PDF. Upload the signed DPA as a PDF."})


@transaction.atomic
def dpa_register(
    *,
    actor: Actor,
    organization: IntegrationOrganization,
    version: str,
    signer_name: str,
    signer_email: str,
    signed_at: datetime,
    document: UploadedFile,
) -> DataProcessingAgreement:
    """Register a signed DPA; it opens the API gate and supersedes any earlier one."""
    if document is None:
        raise ValidationError({"document": "Upload the signed DPA (PDF)."})
    _validate_pdf(document)
    if signed_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"signed_at": "The signing date cannot be in the future."})
    IntegrationOrganization.objects.select_for_update().get(pk=organization.pk)
    now = timezone.now()
    previous = DataProcessingAgreement.objects.filter(organization=organization, revoked_at__isnull=True).first()
    if previous is not None:
        previous.revoked_at = now
        previous.revoked_by = actor.user
        previous.revoke_reason = f"Superseded by DPA version {version}."
        previous.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
        audit_record(
            actor=actor,
            organization=organization,
            action=AuditAction.DPA_SUPERSEDED,
            target=previous,
            before={"active": True},
            after={"active": False, "reason": previous.revoke_reason},
        )
    dpa = DataProcessingAgreement(
        organization=organization,
        version=version.strip(),
        signer_name=signer_name.strip(),
        signer_email=signer_email.strip().lower(),
        signed_at=signed_at,
        registered_by=actor.user,
        registered_at=now,
    )
    dpa.document.save(f"{organization.slug}-dpa-{version.strip()}.pdf", document, save=False)
    dpa.save()
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.DPA_REGISTERED,
        target=dpa,
        after={
            "version": dpa.version,
            "signerName": dpa.signer_name,
            "signerEmail": dpa.signer_email,
            "signedAt": dpa.signed_at.isoformat(),
            "document": dpa.document.name,
        },
    )
    return dpa


@transaction.atomic
def dpa_revoke(*, actor: Actor, dpa: DataProcessingAgreement, reason: str) -> DataProcessingAgreement:
    """Revoke the DPA: the API gate closes again (403 dpa-not-accepted) until a new one is registered."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give a reason for revoking the DPA."})
    dpa = DataProcessingAgreement.objects.select_for_update().get(pk=dpa.pk)
    if dpa.revoked_at is not None:
        raise ValidationError("This DPA is already revoked.")
    dpa.revoked_at = timezone.now()
    dpa.revoked_by = actor.user
    dpa.revoke_reason = reason.strip()
    dpa.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
    audit_record(
        actor=actor,
        organization=dpa.organization,
        action=AuditAction.DPA_REVOKED,
        target=dpa,
        before={"active": True},
        after={"active": False, "reason": dpa.revoke_reason},
    )
    return dpa


# Partners --------------------------------------------------------------------------------------


def vat_number_normalize(*, vat_number: str, country_code: str | None = None) -> str:
    """A valid EU VAT number in compact form (e.g. `DE136695976`), checked against the country."""
    number, _country = vat_normalize(
        vat_number, country_code=country_code, field="vat_number", country_field="vat_number"
    )
    return number


@transaction.atomic
def partner_create(
    *,
    actor: Actor,
    legal_name: str,
    country_code: str,
    vat_number: str,
    organization: IntegrationOrganization | None = None,
) -> Partner:
    """Create a seller; `organization` only sets where the audit entry shows (the partner is global)."""
    country_code = (country_code or "").strip().upper()
    if len(country_code) != 2 or not country_code.isalpha():
        raise ValidationError({"country_code": "Use a two-letter ISO country code."})
    normalized = vat_number_normalize(vat_number=vat_number, country_code=country_code)
    partner = Partner(legal_name=legal_name.strip(), country_code=country_code, vat_number=normalized)
    _save_unique(partner, field="vat_number", message="A partner with this VAT number already exists.")
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.PARTNER_CREATED,
        target=partner,
        after={"legalName": partner.legal_name, "countryCode": country_code, "vatNumber": normalized},
    )
    return partner


@transaction.atomic
def partner_authorize(*, actor: Actor, organization: IntegrationOrganization, partner: Partner) -> PartnerAuthorization:
    authorization = PartnerAuthorization(
        organization=organization, partner=partner, authorized_by=actor.user, authorized_at=timezone.now()
    )
    _save_unique(authorization, field="partner", message="This partner is already authorized for the organization.")
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.PARTNER_AUTHORIZATION_CREATED,
        target=authorization,
        after={"partnerId": partner.pk, "partner": partner.legal_name},
    )
    return authorization


@transaction.atomic
def partner_authorization_revoke(
    *, actor: Actor, authorization: PartnerAuthorization, reason: str
) -> PartnerAuthorization:
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give a reason for revoking the authorization."})
    authorization = PartnerAuthorization.objects.select_for_update().select_related("partner").get(pk=authorization.pk)
    if authorization.revoked_at is not None:
        raise ValidationError("This authorization is already revoked.")
    authorization.revoked_at = timezone.now()
    authorization.revoked_by = actor.user
    authorization.revoke_reason = reason.strip()
    authorization.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
    audit_record(
        actor=actor,
        organization=authorization.organization,
        action=AuditAction.PARTNER_AUTHORIZATION_REVOKED,
        target=authorization,
        before={"partnerId": authorization.partner_id, "active": True},
        after={"partnerId": authorization.partner_id, "active": False, "reason": authorization.revoke_reason},
    )
    return authorization


# Capabilities ----------------------------------------------------------------------------------


@transaction.atomic
def capability_grant(
    *, actor: Actor, organization: IntegrationOrganization, capability: str, reason: str = ""
) -> CapabilityGrant:
    if capability not in CAPABILITIES_BY_SLUG:
        raise ValidationError({"capability": f"Unknown capability `{capability}`."})
    grant = CapabilityGrant(
        organization=organization,
        capability=capability,
        reason=(reason or "").strip(),
        granted_by=actor.user,
        granted_at=timezone.now(),
    )
    _save_unique(grant, field="capability", message="This capability is already granted.")
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.CAPABILITY_GRANTED,
        target=grant,
        after={"capability": capability, "reason": grant.reason},
    )
    return grant


@transaction.atomic
def capability_revoke(*, actor: Actor, grant: CapabilityGrant, reason: str) -> CapabilityGrant:
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give a reason for revoking the capability."})
    grant = CapabilityGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is not None:
        raise ValidationError("This capability is already revoked.")
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor.user
    grant.revoke_reason = reason.strip()
    grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
    audit_record(
        actor=actor,
        organization=grant.organization,
        action=AuditAction.CAPABILITY_REVOKED,
        target=grant,
        before={"capability": grant.capability, "active": True},
        after={"capability": grant.capability, "active": False, "reason": grant.revoke_reason},
    )
    return grant


# Memberships -----------------------------------------------------------------------------------


def _lock_admins(organization: IntegrationOrganization) -> list[Membership]:
    """Lock the organization's admin rows so two concurrent demotions cannot both pass the check."""
    return list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Membership.Role.ADMIN)
        .order_by("pk")
    )


@transaction.atomic
def membership_create(*, actor: Actor, organization: IntegrationOrganization, user, role: str) -> Membership:
    """Add an existing user directly (seed data, support); people normally join through an invitation."""
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose admin, operator or viewer."})
    membership = Membership(organization=organization, user=user, role=role)
    _save_unique(membership, field=None, message="This person is already a member of the organization.")
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.MEMBERSHIP_CREATED,
        target=membership,
        target_label=user.email,
        after={"user": user.email, "role": role},
    )
    return membership


@transaction.atomic
def membership_role_change(*, actor: Actor, membership: Membership, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose admin, operator or viewer."})
    admins = _lock_admins(membership.organization)
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if membership.role == role:
        return membership
    if membership_is_last_admin(membership=membership, admin_count=len(admins)):
        raise ValidationError({"role": "An organization needs at least one admin; promote someone else first."})
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(
        actor=actor,
        organization=membership.organization,
        action=AuditAction.MEMBERSHIP_ROLE_CHANGED,
        target=membership,
        target_label=membership.user.email,
        before={"role": before},
        after={"role": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> None:
    admins = _lock_admins(membership.organization)
    membership = Membership.objects.select_for_update().select_related("user", "organization").get(pk=membership.pk)
    if membership_is_last_admin(membership=membership, admin_count=len(admins)):
        raise ValidationError("An organization needs at least one admin; promote someone else first.")
    audit_record(
        actor=actor,
        organization=membership.organization,
        action=AuditAction.MEMBERSHIP_REMOVED,
        target=membership,
        target_label=membership.user.email,
        before={"user": membership.user.email, "role": membership.role},
    )
    membership.delete()


# Invitations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    """An invitation with its link in plain text: e-mailed once, never stored (only its hash is)."""

    invitation: MemberInvitation
    token: str

    @property
    def url(self) -> str:
        return settings.PORTAL_BASE_URL + reverse("accounts:invitation_accept", kwargs={"token": self.token})


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def _invitation_send_after_commit(issued: IssuedInvitation) -> None:
    """Send after the commit; a mail failure is kept on the invitation (and audited), never a 500 after it.

    The link exists only in this e-mail, so the page shows the failure and offers a resend (a new link)."""
    invitation = issued.invitation
    try:
        _invitation_send(issued)
    except Exception as exc:  # SMTP errors, refused recipients, connection failures
        error = f"{type(exc).__name__}: {exc}"[:300]
        logger.warning("member invitation %s e-mail failed: %s", invitation.pk, type(exc).__name__)
        invitation.send_error = error
        with transaction.atomic():
            MemberInvitation.objects.filter(pk=invitation.pk).update(send_error=error)
            audit_record(
                actor=Actor.system(),
                organization=invitation.organization,
                action=AuditAction.MEMBER_INVITATION_SEND_FAILED,
                target=invitation,
                target_label=invitation.email,
                after={"error": error},
            )
        return
    if invitation.send_error:
        invitation.send_error = ""
        MemberInvitation.objects.filter(pk=invitation.pk).update(send_error="")


def _invitation_send(issued: IssuedInvitation) -> None:
    invitation = issued.invitation
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "url": issued.url,
        "inviter": invitation.invited_by,
    }
    message = EmailMessage(
        subject=render_to_string("accounts/email/invitation_subject.txt", context).strip(),
        body=render_to_string("accounts/email/invitation.txt", context),
        to=[invitation.email],
    )
    message.send()


@transaction.atomic
def invitation_create(
    *, actor: Actor, organization: IntegrationOrganization, email: str, role: str
) -> IssuedInvitation:
    email = (email or "").strip().lower()
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose admin, operator or viewer."})
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": "This person is already a member of the organization."})
    now = timezone.now()
    pending = MemberInvitation.objects.select_for_update().filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    )
    if pending.exists():
        raise ValidationError({"email": "This address already has a pending invitation; resend it instead."})
    token, token_hash = _new_token()
    invitation = MemberInvitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=token_hash,
        expires_at=now + INVITATION_LIFETIME,
        invited_by=actor.user,
    )
    issued = IssuedInvitation(invitation=invitation, token=token)
    audit_record(
        actor=actor,
        organization=organization,
        action=AuditAction.MEMBER_INVITATION_CREATED,
        target=invitation,
        target_label=email,
        after={"email": email, "role": role, "expiresAt": invitation.expires_at.isoformat()},
    )
    transaction.on_commit(lambda: _invitation_send_after_commit(issued))
    return issued


@transaction.atomic
def invitation_resend(*, actor: Actor, invitation: MemberInvitation) -> IssuedInvitation:
    """A fresh link and a fresh 7-day expiry; the previous link stops working."""
    invitation = MemberInvitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError("This invitation was already accepted or revoked.")
    token, token_hash = _new_token()
    invitation.token_hash = token_hash
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    invitation.save(update_fields=["token_hash", "expires_at", "updated_at"])
    issued = IssuedInvitation(invitation=invitation, token=token)
    audit_record(
        actor=actor,
        organization=invitation.organization,
        action=AuditAction.MEMBER_INVITATION_RESENT,
        target=invitation,
        target_label=invitation.email,
        after={"expiresAt": invitation.expires_at.isoformat()},
    )
    transaction.on_commit(lambda: _invitation_send_after_commit(issued))
    return issued


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: MemberInvitation) -> MemberInvitation:
    invitation = MemberInvitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError("This invitation was already accepted or revoked.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        actor=actor,
        organization=invitation.organization,
        action=AuditAction.MEMBER_INVITATION_REVOKED,
        target=invitation,
        target_label=invitation.email,
        before={"active": True},
        after={"active": False},
    )
    return invitation


def invitation_by_token(*, token: str) -> MemberInvitation | None:
    """The invitation a link points to, whatever its state (the page explains expired/used links)."""
    return (
        MemberInvitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=token_hash(token or ""))
        .first()
    )


@transaction.atomic
def invitation_accept(
    *,
    actor: Actor,
    token: str,
    user=None,
    password: str | None = None,
    full_name: str = "",
) -> Membership:
    """Join the organization: attach the logged-in `user`, or create the account with `password`."""
    from portal.accounts.models import User

    invitation = (
        MemberInvitation.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=token_hash(token or ""))
        .first()
    )
    if invitation is None or not invitation_is_active(invitation):
        raise ValidationError("This invitation link is no longer valid.")
    if user is not None:
        if user.email.lower() != invitation.email.lower():
            raise ValidationError(
                f"This invitation is for {invitation.email}; log out and open the link again to accept it."
            )
    else:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError("An account with this e-mail exists already; log in to accept the invitation.")
        if not password:
            raise ValidationError({"password1": "Choose a password."})
        user = User.objects.create_user(invitation.email, password, full_name=(full_name or "").strip())
        audit_record(
            actor=Actor(user=user, ip=actor.ip),
            organization=invitation.organization,
            action=AuditAction.USER_CREATED,
            target=user,
            after={"email": user.email, "via": "invitation"},
        )
    membership = Membership(organization=invitation.organization, user=user, role=invitation.role)
    _save_unique(membership, field=None, message="You are already a member of this organization.")
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    audit_record(
        actor=Actor(user=user, client=actor.client, ip=actor.ip),
        organization=invitation.organization,
        action=AuditAction.MEMBER_INVITATION_ACCEPTED,
        target=invitation,
        target_label=invitation.email,
        after={"user": user.email, "role": invitation.role},
    )
    return membership
