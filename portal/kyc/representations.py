"""The JSON shapes of buyers, documents, invitations and the rollup: API responses and event payloads share them."""

from django.conf import settings
from rest_framework import serializers

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
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

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
    createdAt = serializers.DateTimeField(source="created_at")
    archivedAt = serializers.DateTimeField(source="archived_at", allow_null=True)

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
    expiresAt = serializers.DateTimeField(source="expires_at")
    sendCount = serializers.IntegerField(source="send_count")
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)
    openedAt = serializers.DateTimeField(source="opened_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)
    expiredAt = serializers.DateTimeField(source="expired_at", allow_null=True)
    lastError = serializers.CharField(source="last_error", allow_blank=True)
    lastErrorAt = serializers.DateTimeField(source="last_error_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

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
    uploadedAt = serializers.DateTimeField()


class RollupRepresentation(serializers.Serializer):
    buyerId = serializers.UUIDField()
    sellerId = serializers.UUIDField()
    status = serializers.CharField(help_text="COMPLIANT, INCOMPLETE, PENDING_VERIFICATION or NON_COMPLIANT.")
    viesResult = serializers.ChoiceField(choices=ViesResult.choices)
    viesCheckedAt = serializers.DateTimeField(allow_null=True)
    kycLevel = serializers.ChoiceField(choices=KycLevel.choices)
    requiredDocuments = serializers.ListField(
        child=serializers.CharField(), help_text="Document types (see KycDocumentTypeEnum)."
    )
    presentDocuments = PresentDocumentRepresentation(many=True)
    missingDocuments = serializers.ListField(
        child=serializers.CharField(), help_text="Document types (see KycDocumentTypeEnum)."
    )
    version = serializers.IntegerField()
    updatedAt = serializers.DateTimeField()


def buyer_data(buyer: Buyer) -> dict:
    return dict(BuyerRepresentation(buyer).data)


def document_data(document: KycDocument) -> dict:
    return dict(DocumentRepresentation(document).data)


def invitation_data(invitation: SelfServiceInvitation) -> dict:
    return dict(InvitationRepresentation(invitation).data)
