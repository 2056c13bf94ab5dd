"""Translate webhooks objects to and from camelCase JSON; services decide everything else."""

from rest_framework import serializers

from portal.core.api.fields import UtcDateTimeField
from portal.webhooks.events import example_payload
from portal.webhooks.models import WebhookEndpoint
from portal.webhooks.signing import payload_body


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField(source="name")
    segment = serializers.CharField()
    description = serializers.CharField()
    examplePayload = serializers.SerializerMethodField()

    def get_examplePayload(self, obj) -> dict:
        return example_payload(obj)


class EventTypeListSerializer(serializers.Serializer):
    data = EventTypeSerializer(many=True)


class EndpointHealthSerializer(serializers.Serializer):
    consecutiveFailures = serializers.IntegerField(source="consecutive_failures")
    failingSince = UtcDateTimeField(source="failing_since", allow_null=True)
    lastSuccessAt = UtcDateTimeField(source="last_success_at", allow_null=True)
    lastFailureAt = UtcDateTimeField(source="last_failure_at", allow_null=True)
    breakerState = serializers.ChoiceField(
        source="breaker_state",
        choices=WebhookEndpoint.BreakerState.choices,
        help_text="CLOSED: sending. OPEN: repeated timeouts or connection failures; due deliveries wait, without "
        "a request and without using up attempts, until breakerUntil. HALF_OPEN: one probe decides.",
    )
    breakerReason = serializers.CharField(source="breaker_reason", allow_blank=True)
    breakerOpenedAt = UtcDateTimeField(source="breaker_opened_at", allow_null=True)
    breakerUntil = UtcDateTimeField(source="breaker_until", allow_null=True)
    breakerDeferredCount = serializers.IntegerField(
        source="breaker_deferred_count", help_text="Due deliveries the breaker held back in its last episode."
    )


class EndpointSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    subscriptions = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabledReason = serializers.CharField(source="disabled_reason", allow_blank=True)
    disabledAt = UtcDateTimeField(source="disabled_at", allow_null=True)
    partnerIds = serializers.SerializerMethodField()
    maxConcurrency = serializers.IntegerField(
        source="max_concurrency", help_text="At most this many requests to this endpoint at once (1-50)."
    )
    health = EndpointHealthSerializer(source="*")
    createdAt = UtcDateTimeField(source="created_at")
    updatedAt = UtcDateTimeField(source="updated_at")

    def get_partnerIds(self, obj) -> list[str]:
        return sorted(str(p.pk) for p in obj.partners.all())


class EndpointListSerializer(serializers.Serializer):
    data = EndpointSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


class EndpointWriteSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    subscriptions = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=True)
    enabled = serializers.BooleanField(required=False, default=True)
    partnerIds = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    maxConcurrency = serializers.IntegerField(
        min_value=1, max_value=50, required=False, help_text="At most this many requests at once (default 6)."
    )


class EndpointPatchSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    subscriptions = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=True, required=False)
    enabled = serializers.BooleanField(required=False)
    partnerIds = serializers.ListField(child=serializers.UUIDField(), required=False)
    maxConcurrency = serializers.IntegerField(
        min_value=1, max_value=50, required=False, help_text="At most this many requests at once (default 6)."
    )


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="`whsec_` + base64 key, as the standardwebhooks libraries expect.")
    createdAt = UtcDateTimeField(allow_null=True)
    expiresAt = UtcDateTimeField(allow_null=True, help_text="Set on the previous secret during an overlap.")


class SecretListSerializer(serializers.Serializer):
    data = SecretSerializer(many=True)


class RotateSecretSerializer(serializers.Serializer):
    overlapHours = serializers.IntegerField(
        required=False,
        default=24,
        min_value=0,
        max_value=168,
        help_text="How long the previous secret keeps signing too (0-168 h, default 24).",
    )


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    attemptedAt = UtcDateTimeField(source="attempted_at")
    durationMs = serializers.IntegerField(source="duration_ms")
    url = serializers.CharField()
    requestHeaders = serializers.DictField(source="request_headers")
    responseStatus = serializers.IntegerField(source="response_status", allow_null=True)
    responseHeaders = serializers.DictField(source="response_headers")
    responseBody = serializers.CharField(source="response_body", help_text="The first 16 KiB.")
    responseTruncated = serializers.BooleanField(source="response_truncated")
    failureClass = serializers.CharField(
        source="failure_class", help_text="'' on success; timeout, connection, tls, dns, blocked or http."
    )
    failureDetail = serializers.CharField(source="failure_detail")
    signedWith = serializers.ListField(source="signed_with", child=serializers.CharField())


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpointId = serializers.UUIDField(source="endpoint_id")
    eventId = serializers.SerializerMethodField(help_text="The `webhook-id` header value.")
    eventType = serializers.CharField(source="event_type")
    partnerId = serializers.UUIDField(source="partner_id", allow_null=True)
    status = serializers.CharField()
    attemptCount = serializers.IntegerField(source="attempt_count")
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastFailureClass = serializers.CharField(source="last_failure_class")
    lastAttemptAt = UtcDateTimeField(source="last_attempt_at", allow_null=True)
    nextAttemptAt = UtcDateTimeField(source="next_attempt_at", allow_null=True)
    replayOf = serializers.UUIDField(source="replay_of_id", allow_null=True)
    createdAt = UtcDateTimeField(source="created_at")

    def get_eventId(self, obj) -> str:
        return f"msg_{obj.event_id.hex}"


class DeliveryListSerializer(serializers.Serializer):
    data = DeliverySerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


class DeliveryDetailSerializer(DeliverySerializer):
    payload = serializers.SerializerMethodField(help_text="The exact JSON body that is signed and sent.")
    attempts = serializers.SerializerMethodField()

    def get_payload(self, obj) -> str:
        return payload_body(obj.event.payload())

    def get_attempts(self, obj) -> list[dict]:
        return AttemptSerializer(self.context.get("attempts", []), many=True).data


class ReplayRequestSerializer(serializers.Serializer):
    dryRun = serializers.BooleanField(required=False, default=False)
    endpointId = serializers.UUIDField(required=False)
    eventType = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    statusClass = serializers.CharField(required=False)
    createdAfter = serializers.DateTimeField(required=False)
    createdBefore = serializers.DateTimeField(required=False)
    eventId = serializers.CharField(required=False)
    partnerId = serializers.UUIDField(required=False)


class ReplayDryRunSerializer(serializers.Serializer):
    dryRun = serializers.BooleanField()
    count = serializers.IntegerField(help_text="How many deliveries the replay would send again.")
    filters = serializers.DictField()


class ReplayJobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    filters = serializers.DictField()
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    created = serializers.IntegerField(source="created_count", help_text="Replays created (deduplicated).")
    percent = serializers.IntegerField()
    createdAt = UtcDateTimeField(source="created_at")
    startedAt = UtcDateTimeField(source="started_at", allow_null=True)
    finishedAt = UtcDateTimeField(source="finished_at", allow_null=True)
    error = serializers.CharField()
