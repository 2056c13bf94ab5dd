from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "portal.clients"
    label = "clients"
    verbose_name = "Clients"

    def ready(self):
        self._register_console()

    def _register_console(self):
        from portal.clients import selectors
        from portal.core.registry import OnboardingStepDefinition, OrgTab, register_step, register_tab

        register_tab(OrgTab("clients", "API clients", "clients:list", order=60))
        register_step(
            OnboardingStepDefinition(
                "client",
                "API client created",
                order=40,
                hint="Create an API client for the integrator's system and hand over its secret.",
                url_name="clients:list",
                is_done=selectors.client_exists_for,
            )
        )
        register_step(
            OnboardingStepDefinition(
                "api_call",
                "First API call",
                order=70,
                hint="The integrator calls GET /v1/me with a token from POST /oauth/token.",
                url_name="clients:list",
                is_done=selectors.client_called_api,
            )
        )
