from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "portal.gateway"
    label = "gateway"
    verbose_name = "API gateway"

    def ready(self):
        # The bearer scheme for the OpenAPI schema (a spectacular extension registers on import), the cache's
        # invalidation signals, and what this process forgets when the gateway generation moves.
        from portal.core.generation import generation_listen
        from portal.gateway import cache, ratelimit, schema  # noqa: F401

        cache.signals_connect()
        generation_listen(cache.generation_changed)
        generation_listen(ratelimit.generation_changed)
