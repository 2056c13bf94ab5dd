"""Reads of the clients app: credential checks, the page's client list, usage series."""

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from portal.clients.credentials import CLIENT_SECRET_PREFIX, has_valid_checksum
from portal.clients.models import ApiClient, ClientSecret, ClientUsageHour
from portal.clients.services import valid_secrets_q
from portal.core.tokens import token_hash

_DUMMY_HASH = token_hash("nt24_sk_dummy-secret-for-constant-time-comparison")


def client_credentials_verify(*, client_id: str, client_secret: str) -> tuple[ApiClient, ClientSecret] | None:
    """The client and the matching valid secret, or None. Every candidate is compared in constant time."""
    presented = token_hash(client_secret or "")
    client = (
        ApiClient.objects.select_related("organization").filter(client_id=client_id).first()
        if client_id and len(client_id) <= 64 and "\x00" not in client_id
        else None
    )
    candidates = list(client.secrets.filter(valid_secrets_q(timezone.now()))) if client is not None else []
    match = None
    for secret in candidates or [None]:
        expected = secret.secret_hash if secret is not None else _DUMMY_HASH
        if hmac.compare_digest(presented.encode(), expected.encode()) and secret is not None:
            match = secret
    if client is None or match is None or client.status == ApiClient.Status.REVOKED:
        return None
    if not has_valid_checksum(client_secret, CLIENT_SECRET_PREFIX):  # cannot happen for a stored secret
        return None
    return client, match


def client_list_for_organization(*, organization):
    """Clients with their secrets (newest first) and their count of live tokens, for the page."""
    now = timezone.now()
    return (
        ApiClient.objects.filter(organization=organization)
        .annotate(active_tokens=Count("tokens", filter=Q(tokens__revoked_at__isnull=True, tokens__expires_at__gt=now)))
        .prefetch_related(Prefetch("secrets", queryset=ClientSecret.objects.order_by("-created_at")))
        .order_by("name")
    )


@dataclass(frozen=True)
class UsagePoint:
    hour: object
    requests: int
    rate_limited: int
    pauses: int


def client_usage_24h(*, clients, now=None) -> dict:
    """{client_id: 24 UsagePoints} oldest hour first, zeros where nothing happened. One query."""
    now = now or timezone.now()
    current = now.replace(minute=0, second=0, microsecond=0)
    hours = [current - timedelta(hours=23 - i) for i in range(24)]
    ids = [c.pk for c in clients]
    rows = ClientUsageHour.objects.filter(client_id__in=ids, hour__gte=hours[0])
    by_key = {(row.client_id, row.hour): row for row in rows}
    series = {}
    for client_pk in ids:
        points = []
        for hour in hours:
            row = by_key.get((client_pk, hour))
            points.append(
                UsagePoint(
                    hour=hour,
                    requests=row.requests if row else 0,
                    rate_limited=row.rate_limited if row else 0,
                    pauses=row.pauses if row else 0,
                )
            )
        series[client_pk] = points
    return series


# Onboarding checklist (registered in ClientsConfig.ready()) --------------------------------------


def client_exists_for(organization) -> bool:
    return ApiClient.objects.filter(organization=organization).exists()


def client_called_api(organization) -> bool:
    return ApiClient.objects.filter(organization=organization, last_used_at__isnull=False).exists()
