"""The shell that may know every app: home, docs and problem pages, tabs, onboarding checklist, audit log pages."""

from django.apps import AppConfig
from django.core import checks


class ConsoleConfig(AppConfig):
    name = "portal.console"
    label = "console"
    verbose_name = "Console"

    def ready(self):
        from portal.console.checks import registered_url_names_resolve
        from portal.core.registry import OrgTab, register_tab

        register_tab(OrgTab("audit", "Audit log", "organizations:audit", order=100, min_role="admin"))
        checks.register(registered_url_names_resolve, checks.Tags.urls)
