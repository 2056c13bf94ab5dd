"""Shapes of the control-plane API (documentation and translation only; no rules here)."""

from rest_framework import serializers

from portal.core.api.fields import UtcDateTimeField


class PartnerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    legalName = serializers.CharField(source="legal_name")
    countryCode = serializers.CharField(source="country_code")
    vatNumber = serializers.CharField(source="vat_number")


class PartnerListSerializer(serializers.Serializer):
    data = PartnerSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


class MeOrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.CharField()


class MeClientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    clientId = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["ACTIVE", "PAUSED", "REVOKED"])


class MeDpaSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ACCEPTED", "NOT_ACCEPTED"])
    version = serializers.CharField(allow_null=True)
    signedAt = UtcDateTimeField(allow_null=True)


class RateLimitBudgetSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Requests per window, shared by every client of the organization.")
    windowSeconds = serializers.IntegerField()
    remaining = serializers.IntegerField()
    resetSeconds = serializers.IntegerField()


class MeSerializer(serializers.Serializer):
    organization = MeOrganizationSerializer()
    client = MeClientSerializer()
    dpa = MeDpaSerializer()
    partners = PartnerSerializer(many=True)
    capabilities = serializers.ListField(child=serializers.CharField())
    rateLimit = RateLimitBudgetSerializer()
