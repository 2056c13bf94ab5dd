"""The onboarding checklist on an organization's overview: what a pilot still needs before going live."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from portal.organizations.models import IntegrationOrganization


@dataclass(frozen=True)
class OnboardingStep:
    key: str
    label: str
    done: bool
    hint: str
    url: str | None = None
    unavailable: str | None = None  # why the step cannot be checked yet (its feature is not installed)

    @property
    def state(self) -> str:
        if self.unavailable:
            return "unavailable"
        return "done" if self.done else "todo"


def _url(name: str, organization: IntegrationOrganization) -> str | None:
    try:
        return reverse(name, kwargs={"organization_id": organization.pk})
    except NoReverseMatch:
        return None


def onboarding_steps(*, organization: IntegrationOrganization) -> list[OnboardingStep]:
    """Each step in order."""
    from portal.clients.models import ApiClient
    from portal.webhooks.models import WebhookDelivery, WebhookEndpoint

    org = organization
    steps = [
        OnboardingStep(
            "dpa",
            "DPA registered",
            org.dpas.filter(revoked_at__isnull=True).exists(),
            "Register the signed data processing agreement; until then every API call gets 403.",
            _url("organizations:dpa", org),
        ),
        OnboardingStep(
            "partner",
            "Partner authorized",
            org.partner_authorizations.filter(revoked_at__isnull=True).exists(),
            "Authorize at least one partner (seller) the organization acts for.",
            _url("organizations:partners", org),
        ),
        OnboardingStep(
            "capabilities",
            "Capabilities granted",
            org.capability_grants.filter(revoked_at__isnull=True).exists(),
            "Grant the capability flags the pilot needs (webhooks, KYC, …).",
            _url("organizations:capabilities", org),
        ),
        OnboardingStep(
            "client",
            "API client created",
            ApiClient.objects.filter(organization=org).exists(),
            "Create an API client for the integrator's system and hand over its secret.",
            _url("clients:list", org),
        ),
    ]
    steps.append(
        OnboardingStep(
            "endpoint",
            "Webhook endpoint added",
            WebhookEndpoint.objects.filter(organization=org).exists(),
            "Add an HTTPS endpoint that receives the organization's events.",
            _url("webhooks:endpoint_list", org),
        )
    )
    steps.append(
        OnboardingStep(
            "delivery",
            "First successful delivery",
            WebhookDelivery.objects.filter(organization=org, status=WebhookDelivery.Status.SUCCEEDED).exists(),
            "Send a test event from the endpoint's page and check the receiver answers 2xx.",
            _url("webhooks:delivery_list", org),
        )
    )
    steps.append(
        OnboardingStep(
            "api_call",
            "First API call",
            ApiClient.objects.filter(organization=org, last_used_at__isnull=False).exists(),
            "The integrator calls GET /v1/me with a token from POST /oauth/token.",
            _url("clients:list", org),
        )
    )
    return steps


def onboarding_progress(steps: list[OnboardingStep]) -> tuple[int, int]:
    """(done, total) over the steps that can be checked."""
    checkable = [s for s in steps if not s.unavailable]
    return sum(1 for s in checkable if s.done), len(checkable)
