from django import template

register = template.Library()

BADGES = {
    # compliance
    "COMPLIANT": "badge-green",
    "INCOMPLETE": "badge-amber",
    "PENDING_VERIFICATION": "badge-blue",
    "NON_COMPLIANT": "badge-red",
    # VIES
    "VALID": "badge-green",
    "INVALID": "badge-red",
    "PENDING": "badge-gray",
    "UNKNOWN": "badge-amber",
    # invitations
    "SENT": "badge-blue",
    "OPENED": "badge-amber",
    "COMPLETED": "badge-green",
    "EXPIRED": "badge-gray",
    "REVOKED": "badge-red",
    # documents
    "ACTIVE": "badge-green",
    "ARCHIVED": "badge-gray",
}


@register.filter
def kyc_badge(value) -> str:
    return BADGES.get(str(value), "badge-gray")
