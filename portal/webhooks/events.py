"""The one catalog of webhook event types: the API, the pages, the OpenAPI schema and the docs read it."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    example_data: dict = field(default_factory=dict)

    @property
    def segment(self) -> str:
        return self.name.split(".", 1)[0]


EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "buyer.created",
        "A buyer was created for a partner (first POST of a seller and VAT number).",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "sellerId": "3b8e4c0e-5a41-4f0e-8d0b-6b2f3f1e2a77",
            "vatNumber": "DE123456789",
            "name": "Autohaus Muster GmbH",
            "countryCode": "DE",
            "kycLevel": "A",
            "version": 1,
        },
    ),
    EventType(
        "kyc.level.upgraded",
        "A buyer's KYC level was upgraded from A to B.",
        {"buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10", "from": "A", "to": "B", "version": 4},
    ),
    EventType(
        "kyc.document.uploaded",
        "A KYC document was uploaded, through the API or a self-service link.",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "documentId": "c1f6f3b2-93a0-4d58-9a2e-5d3c7a1e0b44",
            "documentType": "TRADE_REGISTER_EXTRACT",
            "status": "ACTIVE",
            "source": "API",
            "version": 5,
        },
    ),
    EventType(
        "kyc.document.archived",
        "A KYC document was archived (superseded by a newer upload).",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "documentId": "c1f6f3b2-93a0-4d58-9a2e-5d3c7a1e0b44",
            "documentType": "TRADE_REGISTER_EXTRACT",
            "status": "ARCHIVED",
            "version": 6,
        },
    ),
    EventType(
        "kyc.invitation.sent",
        "A self-service KYC invitation e-mail was sent (or re-sent) to a buyer.",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "invitationId": "0e5b7f9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            "email": "buyer@example.com",
            "expiresAt": "2026-12-14T09:00:00Z",
            "version": 1,
        },
    ),
    EventType(
        "kyc.invitation.opened",
        "The buyer opened the self-service upload link for the first time.",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "invitationId": "0e5b7f9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            "version": 2,
        },
    ),
    EventType(
        "kyc.invitation.completed",
        "The buyer uploaded every document their KYC level requires.",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "invitationId": "0e5b7f9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            "version": 3,
        },
    ),
    EventType(
        "kyc.invitation.expired",
        "A self-service invitation expired before it was completed.",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "invitationId": "0e5b7f9a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            "version": 3,
        },
    ),
    EventType(
        "compliance.vies.completed",
        "A VIES check of the buyer's VAT number reached a result.",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "vatNumber": "DE123456789",
            "viesResult": "VALID",
            "checkedAt": "2026-11-30T09:00:00Z",
            "version": 7,
        },
    ),
    EventType(
        "compliance.rollup.updated",
        "The buyer's compliance rollup changed; `data.version` increased.",
        {
            "buyerId": "7d0c1c55-2f4e-4b5e-9a43-0d6f1d3c9a10",
            "kycLevel": "B",
            "viesResult": "VALID",
            "documentsComplete": True,
            "version": 8,
        },
    ),
    EventType(
        "webhook.test",
        "A test event sent from the portal or POST /v1/webhooks/endpoints/{id}/test.",
        {
            "endpointId": "5f2d8a61-7b3c-4e9d-a0f1-2b3c4d5e6f70",
            "message": "This is a test event sent from the NT24 Integration Portal.",
            "version": 1,
        },
    ),
)

EVENT_TYPES_BY_NAME: dict[str, EventType] = {e.name: e for e in EVENT_TYPES}
EVENT_SEGMENTS: frozenset[str] = frozenset(e.segment for e in EVENT_TYPES)


def subscription_matches(subscription: str, event_type: str) -> bool:
    """An exact event type, or a segment wildcard such as `kyc.*` (a root `*` never matches)."""
    if subscription.endswith(".*"):
        return event_type.startswith(subscription[:-1])
    return subscription == event_type


def subscription_coverage(subscription: str) -> list[str]:
    """The event types a subscription covers today."""
    return [e.name for e in EVENT_TYPES if subscription_matches(subscription, e.name)]


def example_payload(event_type: EventType) -> dict:
    """A full example delivery body for the catalog page and the API."""
    return {
        "id": "msg_2f1c9e0a7b6d4c3e8f9a0b1c2d3e4f50",
        "type": event_type.name,
        "createdAt": "2026-11-30T09:00:00Z",
        "organizationId": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "partnerId": "3b8e4c0e-5a41-4f0e-8d0b-6b2f3f1e2a77" if event_type.name != "webhook.test" else None,
        "data": event_type.example_data,
    }
