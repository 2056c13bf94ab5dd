"""Organization rules both reads and writes need: role ranks, upload limits, invitation lifetime, the last admin."""

from datetime import datetime, timedelta

from django.utils import timezone

from portal.organizations.models import MemberInvitation, Membership

ROLE_RANK = {Membership.Role.VIEWER: 1, Membership.Role.OPERATOR: 2, Membership.Role.ADMIN: 3}

DPA_MAX_BYTES = 10 * 1024 * 1024
LOGO_MAX_BYTES = 1024 * 1024
INVITATION_LIFETIME = timedelta(days=7)
ORGANIZATION_FIELDS = ("name", "slug", "status", "rate_limit_per_minute", "brand_color")


def invitation_is_active(invitation: MemberInvitation, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return invitation.accepted_at is None and invitation.revoked_at is None and invitation.expires_at > now


def membership_is_last_admin(*, membership: Membership, admin_count: int) -> bool:
    """An organization keeps at least one admin: its last admin can be neither demoted nor removed."""
    return membership.role == Membership.Role.ADMIN and admin_count <= 1
