from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.core.models import UUIDModel


class ApiClient(UUIDModel):
    """One consuming system (a DMS, an accounting tool) with its own credentials."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        PAUSED = "PAUSED", "Paused"
        REVOKED = "REVOKED", "Revoked"

    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="api_clients"
    )
    client_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=200, blank=True)
    consecutive_429s = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="unique_client_name_per_org")]

    def __str__(self):
        return f"{self.name} ({self.client_id})"


class ClientSecret(UUIDModel):
    """A client secret, stored only as a SHA-256 hash; at most two are valid during a rotation."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="secrets")
    secret_hash = models.CharField(max_length=64, unique=True)
    last_four = models.CharField(max_length=4)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set when a rotation starts its window.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    expired_marked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"…{self.last_four}"


class AccessToken(UUIDModel):
    """An opaque bearer token (`nt24_at_…`), hashed at rest, minted from one client secret."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    secret = models.ForeignKey(ClientSecret, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client", "expires_at"], name="token_client_expiry")]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__isnull=False), name="token_has_expiry"),
        ]

    def __str__(self):
        return f"token for {self.client}"


class ClientUsageHour(models.Model):
    """Per-client request counters for one clock hour, upserted in small batches (see usage.py)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="usage_hours")
    hour = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)
    rate_limited = models.PositiveIntegerField(default=0)
    pauses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["hour"]
        constraints = [models.UniqueConstraint(fields=["client", "hour"], name="one_usage_row_per_client_hour")]

    def __str__(self):
        return f"{self.client_id} {self.hour:%Y-%m-%d %H}:00"


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of an organization: claimed while the request runs, then its stored response."""

    class State(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETED = "COMPLETED", "Completed"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "organizations.IntegrationOrganization", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    client = models.ForeignKey(ApiClient, null=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=1000)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and normalized body.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    locked_at = models.DateTimeField()
    created_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(default=b"", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="one_idempotency_key_per_org")]

    def __str__(self):
        return f"{self.key} ({self.state})"
