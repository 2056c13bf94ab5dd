import uuid

from django.db import models

from portal.core.times import rfc3339


class WebhookEvent(models.Model):
    """An outbox row: written in the same transaction as the change that causes it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="webhook_events"
    )
    partner = models.ForeignKey(
        "organizations.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    type = models.CharField(max_length=80, db_index=True)
    data = models.JSONField()
    created_at = models.DateTimeField(db_index=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="event_org_time"),
            models.Index(
                fields=["fanned_out_at"], name="event_pending_fanout", condition=models.Q(fanned_out_at__isnull=True)
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.id}"

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks `webhook-id`: stable across retries and replays."""
        return f"msg_{self.id.hex}"

    def payload(self) -> dict:
        return {
            "id": self.webhook_id,
            "type": self.type,
            "createdAt": rfc3339(self.created_at),
            "organizationId": str(self.organization_id),
            "partnerId": str(self.partner_id) if self.partner_id else None,
            "data": self.data,
        }


class WebhookEndpoint(models.Model):
    """Where an organization receives events: a URL, its subscriptions and its signing secret(s)."""

    class BreakerState(models.TextChoices):
        CLOSED = "CLOSED", "Closed (sending)"
        OPEN = "OPEN", "Open (deferring deliveries)"
        HALF_OPEN = "HALF_OPEN", "Half-open (one probe in flight)"

    class DisabledReason(models.TextChoices):
        NONE = "", "—"
        MANUAL = "MANUAL", "Disabled by a person"
        GONE = "GONE", "Receiver answered 410 Gone"
        FAILING = "FAILING", "Five days of failed deliveries"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=300, blank=True)
    subscriptions = models.JSONField(default=list)
    partners = models.ManyToManyField("organizations.Partner", blank=True, related_name="+")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=10, choices=DisabledReason.choices, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Signing: Standard Webhooks needs the plaintext secret to sign, so it is stored (not hashed).
    secret = models.CharField(max_length=100)
    secret_created_at = models.DateTimeField()
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Health, kept current by the delivery engine.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    disable_warning_sent_at = models.DateTimeField(null=True, blank=True)
    # Isolation: at most this many requests in flight to this endpoint across all workers.
    max_concurrency = models.PositiveSmallIntegerField(default=6)
    # Circuit breaker, kept by the delivery engine: OPEN defers due deliveries without a request until breaker_until.
    breaker_state = models.CharField(max_length=10, choices=BreakerState.choices, default=BreakerState.CLOSED)
    breaker_failures = models.PositiveIntegerField(default=0)
    breaker_opened_at = models.DateTimeField(null=True, blank=True)
    breaker_until = models.DateTimeField(null=True, blank=True)
    breaker_reason = models.CharField(max_length=300, blank=True)
    breaker_deferred_count = models.PositiveIntegerField(default=0)
    # Fair claiming: dispatchers serve endpoints with due deliveries least recently claimed first.
    last_claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organization", "enabled"], name="endpoint_org_enabled")]

    def __str__(self):
        return self.url

    def signing_secrets(self, *, now) -> list[tuple[str, str]]:
        """(label, secret) pairs that sign a delivery now: the current one, plus the previous during overlap."""
        secrets = [("current", self.secret)]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(("previous", self.previous_secret))
        return secrets


class WebhookReplayJob(models.Model):
    """A bulk replay by filter, run in the background with visible progress."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        RUNNING = "RUNNING", "Running"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="webhook_replay_jobs"
    )
    filters = models.JSONField(default=dict)
    cutoff = models.DateTimeField(help_text="Only deliveries created up to this moment are replayed.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    requested_by_label = models.CharField(max_length=255)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Replay {self.id}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        return int(self.processed * 100 / self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)


class WebhookDelivery(models.Model):
    """One event to one endpoint (a replay is a new delivery of the same event), with its retry schedule."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        RETRYING = "RETRYING", "Retrying"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    ACTIVE_STATUSES = (Status.PENDING, Status.RETRYING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    # Denormalized from the event so history filters use one composite index each.
    event_type = models.CharField(max_length=80)
    partner = models.ForeignKey(
        "organizations.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_failure_class = models.CharField(max_length=20, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # The claim: a dispatcher owns the row until lease_until; a killed worker's rows come back after it.
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    replay_job = models.ForeignKey(
        WebhookReplayJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="delivery_org_time"),
            models.Index(fields=["endpoint", "-created_at", "-id"], name="delivery_endpoint_time"),
            models.Index(fields=["organization", "status", "-created_at", "-id"], name="delivery_org_status_time"),
            models.Index(fields=["organization", "event_type", "-created_at", "-id"], name="delivery_org_type_time"),
            models.Index(fields=["organization", "partner", "-created_at", "-id"], name="delivery_org_partner_time"),
            models.Index(fields=["event", "endpoint"], name="delivery_event_endpoint"),
            models.Index(fields=["created_at"], name="delivery_created"),
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status__in=["PENDING", "RETRYING"]),
            ),
            # Per-endpoint claiming: an endpoint's due deliveries in order, and its live leases (the cap).
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="delivery_endpoint_due",
                condition=models.Q(status__in=["PENDING", "RETRYING"]),
            ),
            models.Index(
                fields=["endpoint", "lease_until"],
                name="delivery_endpoint_leased",
                condition=models.Q(status__in=["PENDING", "RETRYING"], lease_until__isnull=False),
            ),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id}"

    @property
    def status_class(self) -> str:
        return f"{self.last_status_code // 100}xx" if self.last_status_code else ""


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery and what came back."""

    class FailureClass(models.TextChoices):
        NONE = "", "—"
        TIMEOUT = "timeout", "Timeout"
        CONNECTION = "connection", "Connection refused or reset"
        TLS = "tls", "TLS error"
        DNS = "dns", "DNS resolution failed"
        BLOCKED = "blocked", "Blocked address (SSRF guard)"
        HTTP = "http", "HTTP status"

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)
    request_headers = models.JSONField(default=dict)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)
    response_truncated = models.BooleanField(default=False)
    failure_class = models.CharField(max_length=20, choices=FailureClass.choices, blank=True)
    failure_detail = models.CharField(max_length=500, blank=True)
    signed_with = models.JSONField(default=list)

    class Meta:
        ordering = ["attempted_at", "id"]
        indexes = [
            models.Index(fields=["delivery", "number"], name="attempt_delivery"),
            models.Index(fields=["endpoint", "attempted_at"], name="attempt_endpoint_time"),
            models.Index(fields=["attempted_at"], name="attempt_time"),
        ]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.failure_class == "" and self.response_status is not None and 200 <= self.response_status < 300
