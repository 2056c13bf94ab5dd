from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "portal.clients"
    label = "clients"
    verbose_name = "Clients"

    def ready(self):
        # The bearer scheme for the OpenAPI schema, and the gateway cache's invalidation signals.
        from portal.clients import gateway_cache  # noqa: F401
        from portal.clients.api import schema  # noqa: F401
