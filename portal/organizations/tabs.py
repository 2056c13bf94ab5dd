"""The organization tab bar: every area's page registers here by URL name (resolved at render time)."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class OrgTab:
    key: str
    label: str
    url_name: str
    min_role: str | None = None  # hidden from members below this role (support sees every tab)


ORG_TABS: tuple[OrgTab, ...] = (
    OrgTab("overview", "Overview", "organizations:detail"),
    OrgTab("dpa", "DPA", "organizations:dpa"),
    OrgTab("partners", "Partners", "organizations:partners"),
    OrgTab("capabilities", "Capabilities", "organizations:capabilities"),
    OrgTab("members", "Members", "organizations:members"),
    OrgTab("clients", "API clients", "clients:list"),
    OrgTab("webhooks", "Webhooks", "webhooks:endpoint_list"),
    OrgTab("deliveries", "Deliveries", "webhooks:delivery_list"),
    OrgTab("buyers", "Buyers", "kyc:buyer_list"),
    OrgTab("audit", "Audit log", "organizations:audit", min_role="admin"),
)


def org_tabs_for(organization, access=None) -> list[dict]:
    """The tabs whose pages exist, minus those the caller's role may not open (`access`: OrganizationAccess)."""
    tabs = []
    for tab in ORG_TABS:
        if tab.min_role and access is not None and not access.has_role(tab.min_role):
            continue
        try:
            url = reverse(tab.url_name, kwargs={"organization_id": organization.pk})
        except NoReverseMatch:
            continue
        tabs.append({"key": tab.key, "label": tab.label, "url": url})
    return tabs
