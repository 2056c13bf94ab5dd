from portal.console.filters import AuditEntryFilterSet, SupportAuditEntryFilterSet
from portal.core.selectors import audit_entries
from portal.organizations.access import OrganizationAccess


def audit_list(*, access: OrganizationAccess | None, filters) -> AuditEntryFilterSet:
    """The audit log filtered by `filters`, scoped here: one organization's entries, or every one (None: support)."""
    if access is None:
        return SupportAuditEntryFilterSet(filters, queryset=audit_entries())
    return AuditEntryFilterSet(filters, queryset=audit_entries(organization=access.organization))
