"""The JSON shapes of buyers, documents, invitations and the rollup: API responses and event payloads share them."""

from django.conf import settings
from rest_framework import serializers

from portal.core.api.fields import UtcDateTimeField
from portal.kyc.models import (
    Buyer,
    ComplianceStatus,
    DocumentType,
    KycDocument,
    KycLevel,
    SelfServiceInvitation,
    ViesResult,
)


class BuyerRepresentation(serializers.ModelSerializer):
    sellerId = serializers.UUIDField(source="partner_id", read_only=True)
    vatNumber = serializers.CharField(source="vat_number")
    # Not an EmailField: its schema says `format: email`, which the empty string of a buyer without one breaks.
    email = serializers.CharField(help_text="The buyer's e-mail address; an empty string when none is known.")
    countryCode = serializers.CharField(source="country_code")
    kycLevel = serializers.ChoiceField(source="kyc_level", choices=KycLevel.choices)
    viesResult = serializers.ChoiceField(source="vies_result", choices=ViesResult.choices)
    complianceStatus = serializers.ChoiceField(source="compliance_status", choices=ComplianceStatus.choices)
    createdAt = UtcDateTimeField(source="created_at")
    updatedAt = UtcDateTimeField(source="updated_at")

    class Meta:
        model = Buyer
        fields = [
            "id",
            "sellerId",
            "vatNumber",
            "name",
            "countryCode",
            "email",
            "kycLevel",
            "viesResult",
            "complianceStatus",
            "version",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = fields


class DocumentRepresentation(serializers.ModelSerializer):
    buyerId = serializers.UUIDField(source="buyer_id")
    type = serializers.ChoiceField(choices=DocumentType.choices)
    status = serializers.ChoiceField(choices=KycDocument.Status.choices)
    source = serializers.ChoiceField(choices=KycDocument.Source.choices)
    contentType = serializers.CharField(source="content_type")
    sha256 = serializers.CharField()
    invitationId = serializers.UUIDField(source="invitation_id", allow_null=True)
    createdAt = UtcDateTimeField(source="created_at")
    archivedAt = UtcDateTimeField(source="archived_at", allow_null=True)

    class Meta:
        model = KycDocument
        fields = [
            "id",
            "buyerId",
            "type",
            "status",
            "source",
            "filename",
            "contentType",
            "size",
            "sha256",
            "invitationId",
            "createdAt",
            "archivedAt",
        ]
        read_only_fields = fields


class InvitationRepresentation(serializers.ModelSerializer):
    buyerId = serializers.UUIDField(source="buyer_id")
    locale = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        allow_blank=True,
        help_text="Language of the e-mail and page; empty: the default e-mail language, the buyer's browser's page.",
    )
    status = serializers.ChoiceField(choices=SelfServiceInvitation.Status.choices)
    expiresAt = UtcDateTimeField(source="expires_at")
    sendCount = serializers.IntegerField(source="send_count")
    sentAt = UtcDateTimeField(source="sent_at", allow_null=True)
    openedAt = UtcDateTimeField(source="opened_at", allow_null=True)
    completedAt = UtcDateTimeField(source="completed_at", allow_null=True)
    revokedAt = UtcDateTimeField(source="revoked_at", allow_null=True)
    expiredAt = UtcDateTimeField(source="expired_at", allow_null=True)
    lastError = serializers.CharField(source="last_error", allow_blank=True)
    lastErrorAt = UtcDateTimeField(source="last_error_at", allow_null=True)
    createdAt = UtcDateTimeField(source="created_at")

    class Meta:
        model = SelfServiceInvitation
        fields = [
            "id",
            "buyerId",
            "email",
            "locale",
            "status",
            "version",
            "expiresAt",
            "sendCount",
            "sentAt",
            "openedAt",
            "completedAt",
            "revokedAt",
            "expiredAt",
            "lastError",
            "lastErrorAt",
            "createdAt",
        ]
        read_only_fields = fields


class PresentDocumentRepresentation(serializers.Serializer):
    type = serializers.ChoiceField(choices=DocumentType.choices)
    documentId = serializers.UUIDField()
    uploadedAt = UtcDateTimeField()


class RollupRepresentation(serializers.Serializer):
    buyerId = serializers.UUIDField()
    sellerId = serializers.UUIDField()
    status = serializers.CharField(help_text="COMPLIANT, INCOMPLETE, PENDING_VERIFICATION or NON_COMPLIANT.")
    viesResult = serializers.ChoiceField(choices=ViesResult.choices)
    viesCheckedAt = UtcDateTimeField(allow_null=True)
    kycLevel = serializers.ChoiceField(choices=KycLevel.choices)
    requiredDocuments = serializers.ListField(
        child=serializers.CharField(), help_text="Document types (see KycDocumentTypeEnum)."
    )
    presentDocuments = PresentDocumentRepresentation(many=True)
    missingDocuments = serializers.ListField(
        child=serializers.CharField(), help_text="Document types (see KycDocumentTypeEnum)."
    )
    version = serializers.IntegerField()
    updatedAt = UtcDateTimeField()


def buyer_data(buyer: Buyer) -> dict:
    return dict(BuyerRepresentation(buyer).data)


def document_data(document: KycDocument) -> dict:
    return dict(DocumentRepresentation(document).data)


def invitation_data(invitation: SelfServiceInvitation) -> dict:
    return dict(InvitationRepresentation(invitation).data)
