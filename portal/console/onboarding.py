"""The onboarding checklist on an organization's overview: what a pilot still needs before going live.

Each app registers its steps in its AppConfig.ready() (portal/core/registry.py); this renders them.
"""

from dataclasses import dataclass

from django.urls import reverse

from portal.core.registry import onboarding_steps as registered_steps
from portal.organizations.models import IntegrationOrganization


@dataclass(frozen=True)
class OnboardingStep:
    key: str
    label: str
    done: bool
    hint: str
    url: str

    @property
    def state(self) -> str:
        return "done" if self.done else "todo"


def onboarding_steps(*, organization: IntegrationOrganization) -> list[OnboardingStep]:
    """Each step in order."""
    return [
        OnboardingStep(
            step.key,
            step.label,
            step.is_done(organization),
            step.hint,
            reverse(step.url_name, kwargs={"organization_id": organization.pk}),
        )
        for step in registered_steps()
    ]


def onboarding_progress(steps: list[OnboardingStep]) -> tuple[int, int]:
    """(done, total)."""
    return sum(1 for s in steps if s.done), len(steps)


def onboarding_checklist(*, organization: IntegrationOrganization) -> dict:
    """What the overview's checklist card shows."""
    steps = onboarding_steps(organization=organization)
    done, total = onboarding_progress(steps)
    return {"steps": steps, "done": done, "total": total, "percent": int(100 * done / total) if total else 0}
