import uuid

from django.db import models


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
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
            "organizationId": str(self.organization_id),
            "partnerId": str(self.partner_id) if self.partner_id else None,
            "data": self.data,
        }
