"""The JSON shapes of buyers, documents, invitations and the rollup: API responses and event payloads share them."""

from rest_framework import serializers

from portal.kyc.models import Buyer, KycDocument, SelfServiceInvitation


class BuyerRepresentation(serializers.ModelSerializer):
    sellerId = serializers.UUIDField(source="partner_id", read_only=True)
    vatNumber = serializers.CharField(source="vat_number")
    countryCode = serializers.CharField(source="country_code")
    kycLevel = serializers.CharField(source="kyc_level")
    viesResult = serializers.CharField(source="vies_result")
    complianceStatus = serializers.CharField(source="compliance_status")
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
    type = serializers.CharField()
    documentId = serializers.UUIDField()
    uploadedAt = serializers.DateTimeField()


class RollupRepresentation(serializers.Serializer):
    buyerId = serializers.UUIDField()
    sellerId = serializers.UUIDField()
    status = serializers.CharField()
    viesResult = serializers.CharField()
    viesCheckedAt = serializers.DateTimeField(allow_null=True)
    kycLevel = serializers.CharField()
    requiredDocuments = serializers.ListField(child=serializers.CharField())
    presentDocuments = PresentDocumentRepresentation(many=True)
    missingDocuments = serializers.ListField(child=serializers.CharField())
    version = serializers.IntegerField()
    updatedAt = serializers.DateTimeField()


def buyer_data(buyer: Buyer) -> dict:
    return dict(BuyerRepresentation(buyer).data)


def document_data(document: KycDocument) -> dict:
    return dict(DocumentRepresentation(document).data)


def invitation_data(invitation: SelfServiceInvitation) -> dict:
    return dict(InvitationRepresentation(invitation).data)
