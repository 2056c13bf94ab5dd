"""Tabs and onboarding steps are registered by each app; a misspelt URL name fails `manage.py check`."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from portal.console.checks import registered_url_names_resolve
from portal.core import registry
from portal.core.registry import OnboardingStepDefinition, OrgTab


@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(registry, "_TABS", dict(registry._TABS))
    monkeypatch.setattr(registry, "_STEPS", dict(registry._STEPS))


def test_every_app_registers_its_tabs_in_the_bar_order():
    assert [(t.key, t.label) for t in registry.org_tabs()] == [
        ("overview", "Overview"),
        ("dpa", "DPA"),
        ("partners", "Partners"),
        ("capabilities", "Capabilities"),
        ("members", "Members"),
        ("clients", "API clients"),
        ("webhooks", "Webhooks"),
        ("deliveries", "Deliveries"),
        ("buyers", "Buyers"),
        ("audit", "Audit log"),
    ]


def test_the_registered_names_pass_the_check():
    assert registered_url_names_resolve() == []


def test_a_misspelt_tab_url_name_fails_manage_py_check(scratch_registry):
    registry.register_tab(OrgTab("typo", "Typo", "webhooks:endpoint_lst", order=75))
    errors = registered_url_names_resolve()
    assert [e.id for e in errors] == ["console.E001"] and "webhooks:endpoint_lst" in errors[0].msg
    with pytest.raises(SystemCheckError, match=r"console\.E001"):
        call_command("check", "--tag", "urls")


def test_a_misspelt_step_url_name_fails_the_check(scratch_registry):
    registry.register_step(
        OnboardingStepDefinition("typo", "Typo", order=75, hint="", url_name="clients:lst", is_done=lambda org: False)
    )
    assert [e.id for e in registered_url_names_resolve()] == ["console.E001"]
