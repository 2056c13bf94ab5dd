"""The organization tab bar: each app registers its tabs in its AppConfig.ready() (portal/core/registry.py)."""

from django.urls import reverse

from portal.core.registry import org_tabs


def org_tabs_for(organization, access=None) -> list[dict]:
    """The registered tabs, minus those the caller's role may not open (`access`: OrganizationAccess)."""
    tabs = []
    for tab in org_tabs():
        if tab.min_role and access is not None and not access.has_role(tab.min_role):
            continue
        url = reverse(tab.url_name, kwargs={"organization_id": organization.pk})
        tabs.append({"key": tab.key, "label": tab.label, "url": url})
    return tabs
