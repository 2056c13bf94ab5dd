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


class TokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=["client_credentials"])
    client_id = serializers.CharField(required=False, help_text="Unless sent with HTTP Basic authentication.")
    client_secret = serializers.CharField(required=False, help_text="Unless sent with HTTP Basic authentication.")
    scope = serializers.CharField(required=False, help_text="Ignored: a token carries the organization's scope.")


class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField()


class OAuthErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(
        choices=["invalid_request", "invalid_client", "unsupported_grant_type", "unauthorized_client"]
    )
    error_description = serializers.CharField(required=False)
