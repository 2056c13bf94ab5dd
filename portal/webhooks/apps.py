from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "portal.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from portal.core.metrics import register_collector
        from portal.webhooks.metrics import WebhookCollector

        register_collector(WebhookCollector())

        from portal.core.registry import OnboardingStepDefinition, OrgTab, register_step, register_tab
        from portal.webhooks import selectors

        register_tab(OrgTab("webhooks", "Webhooks", "webhooks:endpoint_list", order=70))
        register_tab(OrgTab("deliveries", "Deliveries", "webhooks:delivery_list", order=80))
        register_step(
            OnboardingStepDefinition(
                "endpoint",
                "Webhook endpoint added",
                order=50,
                hint="Add an HTTPS endpoint that receives the organization's events.",
                url_name="webhooks:endpoint_list",
                is_done=selectors.endpoint_exists_for,
            )
        )
        register_step(
            OnboardingStepDefinition(
                "delivery",
                "First successful delivery",
                order=60,
                hint="Send a test event from the endpoint's page and check the receiver answers 2xx.",
                url_name="webhooks:delivery_list",
                is_done=selectors.delivery_succeeded_for,
            )
        )
