"""The one catalog of capability flags an organization can be granted."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Capability:
    slug: str
    title: str
    description: str


CAPABILITIES: tuple[Capability, ...] = (
    Capability("webhooks", "Webhooks", "Register webhook endpoints and receive signed event deliveries."),
    Capability(
        "kycSelfServiceInvitations",
        "KYC self-service invitations",
        "E-mail buyers a branded, expiring link to upload their KYC documents themselves.",
    ),
    Capability("kycLevelB", "KYC level B", "Upgrade buyers from KYC level A to level B (enhanced due diligence)."),
    Capability(
        "allowMultiVinOrders",
        "Multi-VIN orders",
        "Create orders with several VINs; transport is tracked per VIN with an overall PARTIAL status.",
    ),
    Capability(
        "selfServiceSecretRotation",
        "Self-service secret rotation",
        "Organization admins may rotate their API clients' secrets without contacting NT24 support.",
    ),
)

CAPABILITIES_BY_SLUG: dict[str, Capability] = {c.slug: c for c in CAPABILITIES}
CAPABILITY_CHOICES = [(c.slug, c.title) for c in CAPABILITIES]
