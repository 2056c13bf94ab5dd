"""Prometheus metrics at /metrics: one registry; each app adds its collectors in its AppConfig.ready().

Protected: `Authorization: Bearer <METRICS_TOKEN>` (a scraper), or a support staff session (a person
looking). Without METRICS_TOKEN the endpoint does not exist for anyone else (404).
"""

import hmac

from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

registry = CollectorRegistry(auto_describe=False)


def register_collector(collector) -> None:
    registry.register(collector)


def bearer_token(request) -> str | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_valid(token: str | None) -> bool:
    expected = settings.METRICS_TOKEN
    return bool(expected) and token is not None and hmac.compare_digest(token.encode(), expected.encode())


def exposition() -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST
