from django.db.models import QuerySet

from portal.core.models import AuditEntry


def audit_entries(*, organization=None) -> QuerySet[AuditEntry]:
    """Audit entries, newest first; one organization's, or every entry (support) when None."""
    qs = AuditEntry.objects.select_related("organization")
    if organization is not None:
        qs = qs.filter(organization=organization)
    return qs.order_by("-occurred_at", "-id")
