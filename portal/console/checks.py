"""console.E001: every tab and onboarding step an app registers must name a URL that exists."""

import uuid

from django.core import checks
from django.urls import NoReverseMatch, reverse

from portal.core.registry import onboarding_steps, org_tabs


def registered_url_names_resolve(app_configs=None, **kwargs) -> list[checks.Error]:
    errors = []
    entries = [("tab", tab.key, tab.url_name) for tab in org_tabs()]
    entries += [("onboarding step", step.key, step.url_name) for step in onboarding_steps()]
    for kind, key, url_name in entries:
        try:
            reverse(url_name, kwargs={"organization_id": uuid.UUID(int=0)})
        except NoReverseMatch:
            errors.append(
                checks.Error(
                    f"The {kind} {key!r} names the URL {url_name!r}, which does not reverse with organization_id.",
                    hint="Fix the url_name where the app registers it (its AppConfig.ready()).",
                    obj=key,
                    id="console.E001",
                )
            )
    return errors
