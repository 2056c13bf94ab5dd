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
    EventType("buyer.created", "A buyer was created for a partner (first POST of a seller and VAT number)."),
    EventType("kyc.level.upgraded", "A buyer's KYC level was upgraded from A to B."),
    EventType("kyc.document.uploaded", "A KYC document was uploaded, through the API or a self-service link."),
    EventType("kyc.document.archived", "A KYC document was archived (superseded by a newer upload)."),
    EventType("kyc.invitation.sent", "A self-service KYC invitation e-mail was sent (or re-sent) to a buyer."),
    EventType("kyc.invitation.opened", "The buyer opened the self-service upload link for the first time."),
    EventType("kyc.invitation.completed", "The buyer uploaded every document their KYC level requires."),
    EventType("kyc.invitation.expired", "A self-service invitation expired before it was completed."),
    EventType("compliance.vies.completed", "A VIES check of the buyer's VAT number reached a result."),
    EventType("compliance.rollup.updated", "The buyer's compliance rollup changed; `data.version` increased."),
    EventType("webhook.test", "A test event sent from the portal or POST /v1/webhooks/endpoints/{id}/test."),
)

EVENT_TYPES_BY_NAME: dict[str, EventType] = {e.name: e for e in EVENT_TYPES}
EVENT_SEGMENTS: frozenset[str] = frozenset(e.segment for e in EVENT_TYPES)
