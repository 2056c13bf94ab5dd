from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "portal.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from portal.core.metrics import register_collector
        from portal.webhooks.metrics import WebhookCollector

        register_collector(WebhookCollector())
