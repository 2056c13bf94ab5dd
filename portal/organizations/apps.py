from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "portal.organizations"
    label = "organizations"
    verbose_name = "Organizations"

    def ready(self):
        from portal.core.registry import OnboardingStepDefinition, OrgTab, register_step, register_tab
        from portal.organizations import selectors

        register_tab(OrgTab("overview", "Overview", "organizations:detail", order=10))
        register_tab(OrgTab("dpa", "DPA", "organizations:dpa", order=20))
        register_tab(OrgTab("partners", "Partners", "organizations:partners", order=30))
        register_tab(OrgTab("capabilities", "Capabilities", "organizations:capabilities", order=40))
        register_tab(OrgTab("members", "Members", "organizations:members", order=50))
        register_step(
            OnboardingStepDefinition(
                "dpa",
                "DPA registered",
                order=10,
                hint="Register the signed data processing agreement; until then every API call gets 403.",
                url_name="organizations:dpa",
                is_done=selectors.organization_has_active_dpa,
            )
        )
        register_step(
            OnboardingStepDefinition(
                "partner",
                "Partner authorized",
                order=20,
                hint="Authorize at least one partner (seller) the organization acts for.",
                url_name="organizations:partners",
                is_done=selectors.organization_has_partner_authorized,
            )
        )
        register_step(
            OnboardingStepDefinition(
                "capabilities",
                "Capabilities granted",
                order=30,
                hint="Grant the capability flags the pilot needs (webhooks, KYC, …).",
                url_name="organizations:capabilities",
                is_done=selectors.organization_has_capability_granted,
            )
        )
