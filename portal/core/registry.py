"""The organization tab bar and the onboarding checklist, filled by each app in its AppConfig.ready().

Core imports no app: an app registers its tabs and steps by URL name; the console renders them. The
`console.E001` system check reverses every registered URL name, so a misspelt one fails `manage.py check`.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class OrgTab:
    key: str
    label: str
    url_name: str  # reversed with organization_id
    order: int
    min_role: str | None = None  # hidden from members below this role (support sees every tab)


@dataclass(frozen=True)
class OnboardingStepDefinition:
    key: str
    label: str
    order: int
    hint: str
    url_name: str  # reversed with organization_id
    is_done: Callable[..., bool]  # is_done(organization) -> bool


_TABS: dict[str, OrgTab] = {}
_STEPS: dict[str, OnboardingStepDefinition] = {}


def register_tab(tab: OrgTab) -> None:
    _TABS[tab.key] = tab


def register_step(step: OnboardingStepDefinition) -> None:
    _STEPS[step.key] = step


def org_tabs() -> list[OrgTab]:
    """Every registered tab in order (read at render time: the registry is filled in ready())."""
    return sorted(_TABS.values(), key=lambda tab: tab.order)


def onboarding_steps() -> list[OnboardingStepDefinition]:
    return sorted(_STEPS.values(), key=lambda step: step.order)
