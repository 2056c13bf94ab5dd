import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.core.models import UUIDModel
from portal.organizations.capabilities import CAPABILITY_CHOICES


class IntegrationOrganization(UUIDModel):
    """The tenant: a dealer group or software vendor integrating with the NT24 API."""

    class Status(models.TextChoices):
        ONBOARDING = "ONBOARDING", "Onboarding"
        ACTIVE = "ACTIVE", "Active"
        SUSPENDED = "SUSPENDED", "Suspended"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ONBOARDING)
    # Set by NT24 support's suspend action (portal/organizations/services.py), cleared on reactivation.
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=500, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=600, help_text="Requests per minute shared by every API client of the organization."
    )
    brand_color = models.CharField(max_length=7, default="#1f4fd1", help_text="Hex colour used in buyer e-mails.")
    logo = models.FileField(upload_to="logos/", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED


class DataProcessingAgreement(UUIDModel):
    """A signed DPA registered by NT24 support; the newest unrevoked one opens the API gate."""

    organization = models.ForeignKey(IntegrationOrganization, on_delete=models.CASCADE, related_name="dpas")
    version = models.CharField(max_length=40)
    signer_name = models.CharField(max_length=200)
    signer_email = models.EmailField()
    signed_at = models.DateTimeField()
    document = models.FileField(upload_to="dpa/", blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-registered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(revoked_at__isnull=True), name="one_active_dpa_per_org"
            )
        ]

    def __str__(self):
        return f"DPA {self.version} ({self.organization})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Partner(models.Model):
    """A seller on NT24; organizations act for the partners they are authorized for."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    legal_name = models.CharField(max_length=200)
    country_code = models.CharField(max_length=2)
    vat_number = models.CharField(max_length=20, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["legal_name"]

    def __str__(self):
        return self.legal_name


class PartnerAuthorization(UUIDModel):
    organization = models.ForeignKey(
        IntegrationOrganization, on_delete=models.CASCADE, related_name="partner_authorizations"
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="authorizations")
    authorized_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    authorized_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-authorized_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "partner"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_authorization_per_partner",
            )
        ]

    def __str__(self):
        return f"{self.organization} → {self.partner}"


class CapabilityGrant(UUIDModel):
    organization = models.ForeignKey(
        IntegrationOrganization, on_delete=models.CASCADE, related_name="capability_grants"
    )
    capability = models.CharField(max_length=60, choices=CAPABILITY_CHOICES)
    reason = models.TextField(blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["capability", "-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "capability"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_grant_per_capability",
            )
        ]

    def __str__(self):
        return f"{self.capability} for {self.organization}"


class Membership(UUIDModel):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        OPERATOR = "operator", "Operator"
        VIEWER = "viewer", "Viewer"

    organization = models.ForeignKey(IntegrationOrganization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        ordering = ["organization__name"]
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")]

    def __str__(self):
        return f"{self.user} ({self.role}) in {self.organization}"


class MemberInvitation(UUIDModel):
    """An e-mailed, expiring, single-use link to join an organization with a role."""

    organization = models.ForeignKey(IntegrationOrganization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The last e-mail of the link could not be sent (SMTP down, refused recipient): the page offers a resend.
    send_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation for {self.email} to {self.organization}"
