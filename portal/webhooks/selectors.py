"""Every read of the webhooks app that is more than a .get()."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from portal.core.pagination import keyset_page
from portal.webhooks.events import EVENT_TYPES, subscription_coverage
from portal.webhooks.filters import DeliveryFilter
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list(*, organization):
    return (
        WebhookEndpoint.objects.filter(organization=organization)
        .prefetch_related("partners")
        .order_by("created_at", "id")
    )


def delivery_filterset(*, organization, data, with_choices: bool = False) -> DeliveryFilter:
    base = WebhookDelivery.objects.filter(organization=organization)
    kwargs = {}
    if with_choices:
        from portal.organizations.selectors import organization_partners

        kwargs["endpoints"] = list(endpoint_list(organization=organization).only("id", "url"))
        kwargs["partners"] = list(organization_partners(organization=organization).only("id", "legal_name"))
    return DeliveryFilter(data=data, queryset=base, organization=organization, **kwargs)


def delivery_page(*, filterset: DeliveryFilter, cursor: str | None, limit: int):
    """One keyset page of the (valid) filterset's deliveries, newest first."""
    qs = filterset.qs.select_related("endpoint").only(
        "id",
        "created_at",
        "status",
        "event_type",
        "event_id",
        "attempt_count",
        "last_status_code",
        "last_failure_class",
        "last_duration_ms",
        "next_attempt_at",
        "last_attempt_at",
        "partner_id",
        "endpoint_id",
        "replay_of_id",
        "organization_id",
        "endpoint__id",
        "endpoint__url",
    )
    return keyset_page(qs, cursor=cursor, limit=limit, ordering=("-created_at", "-id"))


def delivery_attempts(*, delivery):
    return list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number", "id"))


def event_catalog() -> list[dict]:
    return [{"type": e, "segment": e.segment} for e in EVENT_TYPES]


def wildcard_coverage(subscriptions) -> list[dict]:
    """For each subscription, the event types it covers today (the page shows it beside wildcards)."""
    return [{"subscription": s, "covers": subscription_coverage(s)} for s in subscriptions]


@dataclass
class EndpointHealth:
    attempts: int
    succeeded: int
    success_rate: float | None
    p95_ms: int | None
    consecutive_failures: int
    failing_since: object
    next_retry_at: object
    disable_at: object
    chart: list[dict]
    chart_max: int


def _p95(values: list[int]) -> int | None:
    if not values:
        return None
    values = sorted(values)
    return values[max(math.ceil(0.95 * len(values)) - 1, 0)]


def endpoint_health(*, endpoint: WebhookEndpoint, now=None) -> EndpointHealth:
    """Success rate, p95 latency and an hourly chart over the last 24 h, plus the failure streak."""
    from portal.webhooks.services import AUTO_DISABLE_AFTER

    now = now or timezone.now()
    since = now - timedelta(hours=24)
    window = WebhookAttempt.objects.filter(endpoint=endpoint, attempted_at__gte=since)
    durations = list(window.values_list("duration_ms", flat=True))
    ok = Q(failure_class="")
    hourly = {
        row["hour"]: row
        for row in window.annotate(hour=TruncHour("attempted_at"))
        .values("hour")
        .annotate(total=Count("id"), good=Count("id", filter=ok))
    }
    succeeded = sum(r["good"] for r in hourly.values())
    total = len(durations)
    start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    buckets = []
    for i in range(24):
        hour = start + timedelta(hours=i)
        row = hourly.get(hour, {"total": 0, "good": 0})
        buckets.append({"hour": hour, "total": row["total"], "good": row["good"], "bad": row["total"] - row["good"]})
    chart_max = max((b["total"] for b in buckets), default=0) or 1
    width = 10
    chart = []
    for i, b in enumerate(buckets):
        h = round(46 * b["total"] / chart_max) if b["total"] else 0
        chart.append(
            {
                "x": i * width,
                "y": 48 - h,
                "w": width - 2,
                "h": h,
                "bad": b["bad"] > 0,
                "label": f"{b['hour']:%H}:00 UTC",
                "value": f"{b['good']} ok / {b['bad']} failed",
            }
        )
    next_retry = (
        WebhookDelivery.objects.filter(endpoint=endpoint, status__in=WebhookDelivery.ACTIVE_STATUSES)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return EndpointHealth(
        attempts=total,
        succeeded=succeeded,
        success_rate=(succeeded * 100 / total) if total else None,
        p95_ms=_p95(durations),
        consecutive_failures=endpoint.consecutive_failures,
        failing_since=endpoint.failing_since,
        next_retry_at=next_retry,
        disable_at=(endpoint.failing_since + AUTO_DISABLE_AFTER)
        if endpoint.failing_since and endpoint.enabled
        else None,
        chart=chart,
        chart_max=chart_max,
    )


def replay_job_queryset(job):
    """The deliveries a bulk replay job covers: its stored filters applied with the history FilterSet."""
    filterset = delivery_filterset(organization=job.organization, data=job.filters)
    if not filterset.is_valid():
        return WebhookDelivery.objects.none()
    return filterset.qs


def endpoint_previous_secret_created_at(*, endpoint: WebhookEndpoint):
    """When the secret now in its rotation overlap was created. No column holds it: the rotation that retired
    it recorded `previousCreatedAt` in its audit entry; older entries fall back to the rotation before, else
    the endpoint's creation (its first secret)."""
    from datetime import datetime

    from portal.core.models import AuditEntry

    rotations = list(
        AuditEntry.objects.filter(
            organization_id=endpoint.organization_id,
            action="webhook_endpoint.secret_rotated",
            target_id=str(endpoint.pk),
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", "after")[:2]
    )
    if rotations:
        recorded = (rotations[0][1] or {}).get("previousCreatedAt")
        if recorded:
            try:
                return datetime.fromisoformat(recorded)
            except ValueError:
                pass
        if len(rotations) > 1:
            return rotations[1][0]
    return endpoint.created_at
