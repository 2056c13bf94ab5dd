"""The one catalog of capability flags an organization can be granted."""

from dataclasses import dataclass
from enum import StrEnum


class CapabilitySlug(StrEnum):
    WEBHOOKS = "webhooks"
    KYC_SELF_SERVICE_INVITATIONS = "kycSelfServiceInvitations"
    KYC_LEVEL_B = "kycLevelB"
    ALLOW_MULTI_VIN_ORDERS = "allowMultiVinOrders"
    SELF_SERVICE_SECRET_ROTATION = "selfServiceSecretRotation"


@dataclass(frozen=True)
class Capability:
    slug: CapabilitySlug
    title: str
    description: str


CAPABILITIES: tuple[Capability, ...] = (
    Capability(CapabilitySlug.WEBHOOKS, "Webhooks", "Register webhook endpoints and receive signed event deliveries."),
    Capability(
        CapabilitySlug.KYC_SELF_SERVICE_INVITATIONS,
        "KYC self-service invitations",
        "E-mail buyers a branded, expiring link to upload their KYC documents themselves.",
    ),
    Capability(
        CapabilitySlug.KYC_LEVEL_B,
        "KYC level B",
        "Upgrade buyers from KYC level A to level B (enhanced due diligence).",
    ),
    Capability(
        CapabilitySlug.ALLOW_MULTI_VIN_ORDERS,
        "Multi-VIN orders",
        "Create orders with several VINs; transport is tracked per VIN with an overall PARTIAL status.",
    ),
    Capability(
        CapabilitySlug.SELF_SERVICE_SECRET_ROTATION,
        "Self-service secret rotation",
        "Organization admins may rotate their API clients' secrets without contacting NT24 support.",
    ),
)

CAPABILITIES_BY_SLUG: dict[str, Capability] = {c.slug: c for c in CAPABILITIES}
CAPABILITY_CHOICES = [(c.slug, c.title) for c in CAPABILITIES]
