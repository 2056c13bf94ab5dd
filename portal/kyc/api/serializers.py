"""Input shapes of the KYC API; output shapes live in portal/kyc/representations.py (shared with events)."""

from django.conf import settings
from rest_framework import serializers

from portal.kyc.models import DocumentType, KycDocument, KycLevel


class BuyerUpsertInput(serializers.Serializer):
    vatNumber = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    countryCode = serializers.CharField(max_length=2, min_length=2, required=False)
    kycLevel = serializers.ChoiceField(choices=KycLevel.choices, required=False)


class BuyerPatchInput(serializers.Serializer):
    vatNumber = serializers.CharField(max_length=40, required=False)
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    kycLevel = serializers.ChoiceField(choices=KycLevel.choices, required=False)

    FIELD_MAP = {"vatNumber": "vat_number", "name": "name", "email": "email", "kycLevel": "kyc_level"}

    def changes(self) -> dict:
        return {self.FIELD_MAP[k]: v for k, v in self.validated_data.items()}


class DocumentUploadInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=DocumentType.choices)
    file = serializers.FileField(allow_empty_file=False, use_url=False)


class DocumentPatchInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(KycDocument.Status.ARCHIVED, "Archived")])


class InvitationCreateInput(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    locale = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, allow_blank=True, default="")
    expiresInDays = serializers.IntegerField(min_value=1, max_value=30, required=False, default=7)


def list_envelope(item_serializer, name: str):
    return type(
        name,
        (serializers.Serializer,),
        {"data": item_serializer(many=True), "nextCursor": serializers.CharField(allow_null=True)},
    )
