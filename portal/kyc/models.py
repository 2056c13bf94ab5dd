from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.core.models import UUIDModel
from portal.kyc.file_types import safe_extension


class KycLevel(models.TextChoices):
    A = "A", "Level A"
    B = "B", "Level B"


class ViesResult(models.TextChoices):
    PENDING = "PENDING", "Pending"
    VALID = "VALID", "Valid"
    INVALID = "INVALID", "Invalid"
    UNKNOWN = "UNKNOWN", "Unknown"


class ComplianceStatus(models.TextChoices):
    COMPLIANT = "COMPLIANT", "Compliant"
    INCOMPLETE = "INCOMPLETE", "Documents missing"
    PENDING_VERIFICATION = "PENDING_VERIFICATION", "VAT check pending"
    NON_COMPLIANT = "NON_COMPLIANT", "VAT number invalid"


class DocumentType(models.TextChoices):
    TRADE_REGISTER_EXTRACT = "TRADE_REGISTER_EXTRACT", _("Trade register extract")
    ID_DOCUMENT = "ID_DOCUMENT", _("ID document of the legal representative")
    PROOF_OF_ADDRESS = "PROOF_OF_ADDRESS", _("Proof of business address")
    BENEFICIAL_OWNER_DECLARATION = "BENEFICIAL_OWNER_DECLARATION", _("Beneficial owner declaration")
    OTHER = "OTHER", _("Other document")


class Buyer(UUIDModel):
    """A buyer of one partner (seller), unique by (organization, seller, normalized VAT number)."""

    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="buyers"
    )
    partner = models.ForeignKey("organizations.Partner", on_delete=models.PROTECT, related_name="buyers")
    vat_number = models.CharField(max_length=20)
    country_code = models.CharField(max_length=2)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    kyc_level = models.CharField(max_length=1, choices=KycLevel.choices, default=KycLevel.A)
    # One state version for the whole buyer aggregate (fields, VIES, documents): +1 on every change.
    version = models.PositiveIntegerField(default=1)
    compliance_status = models.CharField(
        max_length=24, choices=ComplianceStatus.choices, default=ComplianceStatus.INCOMPLETE, db_index=True
    )
    vies_result = models.CharField(max_length=10, choices=ViesResult.choices, default=ViesResult.PENDING)
    vies_attempts = models.PositiveIntegerField(default=0)
    vies_next_check_at = models.DateTimeField(null=True, blank=True)
    vies_checked_at = models.DateTimeField(null=True, blank=True)
    vies_last_error = models.CharField(max_length=200, blank=True)
    vies_request_identifier = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "partner", "vat_number"], name="buyer_unique_seller_vat")
        ]
        indexes = [
            models.Index(fields=["organization", "partner", "-created_at"], name="buyer_org_partner_time"),
            models.Index(
                fields=["vies_next_check_at"], name="buyer_vies_due", condition=Q(vies_next_check_at__isnull=False)
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.vat_number})"


def kyc_document_upload_to(instance, filename):
    """The stored name: ids and the extension of the sniffed type; the uploaded name is only display metadata."""
    return f"kyc/{instance.organization_id}/{instance.buyer_id}/{instance.id}{safe_extension(instance.content_type)}"


class KycDocument(UUIDModel):
    """Append-only: only `status` moves, once, from ACTIVE to ARCHIVED."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        ARCHIVED = "ARCHIVED", "Archived"

    class Source(models.TextChoices):
        API = "API", "API"
        PORTAL = "PORTAL", "Portal"
        SELF_SERVICE = "SELF_SERVICE", "Self-service link"

    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="kyc_documents"
    )
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="documents")
    type = models.CharField(max_length=40, choices=DocumentType.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=20, choices=Source.choices)
    file = models.FileField(upload_to=kyc_document_upload_to, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=60)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    invitation = models.ForeignKey(
        "kyc.SelfServiceInvitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    uploaded_by_label = models.CharField(max_length=255)
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by_label = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["buyer", "type", "-created_at"], name="kycdoc_buyer_type_time")]

    def __str__(self):
        return f"{self.get_type_display()} {self.filename}"


class SelfServiceInvitation(UUIDModel):
    """An e-mailed, expiring link on which a buyer uploads KYC documents; only the token's hash is stored."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SENT = "SENT", "Sent"
        OPENED = "OPENED", "Opened"
        COMPLETED = "COMPLETED", "Completed"
        EXPIRED = "EXPIRED", "Expired"
        REVOKED = "REVOKED", "Revoked"

    ACTIVE_STATUSES = (Status.PENDING, Status.SENT, Status.OPENED)

    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="kyc_invitations"
    )
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    locale = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)
    token_hash = models.CharField(max_length=64, unique=True)
    # The link's token is rebuilt from this salt, the id and SECRET_KEY when the e-mail task runs, so the
    # token itself is never stored nor put in a task's arguments (portal/kyc/services.py invitation_link_token).
    token_salt = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    version = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField(db_index=True)
    send_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_by_label = models.CharField(max_length=255)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Invitation for {self.email}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES
