"""Every write of the webhooks app: endpoints, secrets, fan-out, replays, test events, health and retention."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from portal.core.audit import Actor, audit_record
from portal.core.audit_actions import AuditAction
from portal.core.problems import Problem
from portal.core.tasks import enqueue_on_commit
from portal.core.times import rfc3339
from portal.organizations.models import Membership
from portal.organizations.selectors import organization_capabilities, organization_partners
from portal.webhooks import ssrf
from portal.webhooks.events import EVENT_SEGMENTS, EVENT_TYPES_BY_NAME, subscription_matches
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookReplayJob
from portal.webhooks.policy import (
    AUTO_DISABLE_AFTER,
    DEFAULT_ROTATION_OVERLAP,
    DISABLE_WARNING_AFTER,
    MAX_CONCURRENCY_LIMITS,
    MAX_ROTATION_OVERLAP,
    REPLAY_CHUNK,
    REPLAY_WINDOW,
    RETENTION,
)
from portal.webhooks.selectors import endpoint_previous_secret_created_at
from portal.webhooks.signing import secret_generate


def _dispatch_on_commit() -> None:
    def _kick():
        from portal.webhooks.tasks import deliveries_dispatch
        from portal.webhooks.wakeup import DISPATCH_WAKE_KEY, wake

        wake(DISPATCH_WAKE_KEY, deliveries_dispatch)

    transaction.on_commit(_kick)


def endpoint_snapshot(endpoint: WebhookEndpoint) -> dict:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "subscriptions": list(endpoint.subscriptions),
        "enabled": endpoint.enabled,
        "partnerIds": sorted(str(p) for p in endpoint.partners.values_list("pk", flat=True)),
        "maxConcurrency": endpoint.max_concurrency,
    }


def max_concurrency_validate(value) -> int:
    """An endpoint's cap on requests in flight: a whole number within MAX_CONCURRENCY_LIMITS."""

    low, high = MAX_CONCURRENCY_LIMITS
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError({"maxConcurrency": [f"Enter a whole number from {low} to {high}."]})
    return value


def _breaker_reset(endpoint: WebhookEndpoint) -> None:
    """A new URL or a re-enabled endpoint starts with a closed breaker: the old failures say nothing about it."""
    endpoint.breaker_state = WebhookEndpoint.BreakerState.CLOSED
    endpoint.breaker_failures = 0
    endpoint.breaker_opened_at = endpoint.breaker_until = None
    endpoint.breaker_reason = ""


# ------------------------------------------------------------------------------------ validation


def subscriptions_validate(subscriptions) -> list[str]:
    """Exact event types or segment wildcards; a root `*` is a problem of its own, the rest a validation error."""
    if not isinstance(subscriptions, list | tuple) or not subscriptions:
        raise ValidationError({"subscriptions": ["Subscribe to at least one event type or segment wildcard."]})
    cleaned: list[str] = []
    for raw in subscriptions:
        if not isinstance(raw, str):
            raise ValidationError({"subscriptions": ["Each subscription must be a string."]})
        item = raw.strip()
        if item in ("*", "*.*", ".*") or item.startswith("*"):
            raise Problem(
                "wildcard-subscription-not-allowed",
                "A root `*` subscription is not allowed; subscribe to event types or segment wildcards "
                "such as `kyc.*` or `compliance.*`.",
            )
        if item.endswith(".*"):
            segment = item[:-2]
            if segment not in EVENT_SEGMENTS:
                raise ValidationError({"subscriptions": [f"Unknown event segment `{segment}`."]})
        elif item not in EVENT_TYPES_BY_NAME:
            raise ValidationError({"subscriptions": [f"Unknown event type `{item}`."]})
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


def url_validate(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": ["Enter the URL of your receiver."]})
    if len(url) > 2000:
        raise ValidationError({"url": ["The URL is longer than 2000 characters."]})
    try:
        ssrf.url_check(url)
    except ssrf.UrlNotAllowed as exc:
        raise Problem("webhook-url-not-allowed", exc.reason, url=url) from exc
    return url


def _partners_validate(*, organization, partner_ids) -> list:
    partner_ids = list(partner_ids or [])
    allowed = {str(p.pk): p for p in organization_partners(organization=organization)}
    unknown = [str(p) for p in partner_ids if str(p) not in allowed]
    if unknown:
        raise ValidationError(
            {"partnerIds": [f"Not an authorized partner of your organization: {', '.join(unknown)}."]}
        )
    return [allowed[str(p)] for p in partner_ids]


def _require_capability(organization) -> None:
    if "webhooks" not in organization_capabilities(organization=organization):
        raise Problem(
            "capability-not-granted",
            "Your organization has not been granted the `webhooks` capability.",
            capability="webhooks",
        )


# ------------------------------------------------------------------------------------ endpoints


def endpoint_create(
    *,
    actor: Actor,
    organization,
    url: str,
    subscriptions,
    description: str = "",
    partner_ids=(),
    enabled=True,
    max_concurrency: int | None = None,
) -> WebhookEndpoint:
    _require_capability(organization)
    url = url_validate(url)
    extra = {} if max_concurrency is None else {"max_concurrency": max_concurrency_validate(max_concurrency)}
    subscriptions = subscriptions_validate(subscriptions)
    partners = _partners_validate(organization=organization, partner_ids=partner_ids)
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organization=organization,
            url=url,
            description=(description or "").strip()[:300],
            subscriptions=subscriptions,
            enabled=bool(enabled),
            disabled_reason="" if enabled else WebhookEndpoint.DisabledReason.MANUAL,
            disabled_at=None if enabled else now,
            secret=secret_generate(),
            secret_created_at=now,
            **extra,
        )
        endpoint.partners.set(partners)
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_CREATED,
            target=endpoint,
            organization=organization,
            after=endpoint_snapshot(endpoint),
        )
    return endpoint


def endpoint_update(*, actor: Actor, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """Partial update: url, description, subscriptions, partner_ids, enabled, max_concurrency."""
    _require_capability(endpoint.organization)
    if "url" in changes:
        changes["url"] = url_validate(changes["url"])
    if "max_concurrency" in changes:
        changes["max_concurrency"] = max_concurrency_validate(changes["max_concurrency"])
    if "subscriptions" in changes:
        changes["subscriptions"] = subscriptions_validate(changes["subscriptions"])
    partners = None
    if "partner_ids" in changes:
        partners = _partners_validate(organization=endpoint.organization, partner_ids=changes.pop("partner_ids"))
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = endpoint_snapshot(endpoint)
        if "url" in changes and changes["url"] != endpoint.url:
            _breaker_reset(endpoint)
        for name in ("url", "description", "subscriptions", "max_concurrency"):
            if name in changes:
                setattr(endpoint, name, changes[name].strip()[:300] if name == "description" else changes[name])
        if "enabled" in changes and bool(changes["enabled"]) != endpoint.enabled:
            _set_enabled(endpoint, bool(changes["enabled"]))
        endpoint.save()
        if partners is not None:
            endpoint.partners.set(partners)
        after = endpoint_snapshot(endpoint)
        if after != before:
            audit_record(
                actor=actor,
                action=AuditAction.WEBHOOK_ENDPOINT_UPDATED,
                target=endpoint,
                organization=endpoint.organization,
                before=before,
                after=after,
            )
    return endpoint


def _set_enabled(endpoint: WebhookEndpoint, enabled: bool) -> None:
    endpoint.enabled = enabled
    if enabled:
        endpoint.disabled_reason, endpoint.disabled_at = "", None
        endpoint.consecutive_failures, endpoint.failing_since, endpoint.disable_warning_sent_at = 0, None, None
        _breaker_reset(endpoint)
    else:
        endpoint.disabled_reason, endpoint.disabled_at = WebhookEndpoint.DisabledReason.MANUAL, timezone.now()


def endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_DELETED,
            target=endpoint,
            organization=endpoint.organization,
            before=endpoint_snapshot(endpoint),
        )
        endpoint.delete()


def endpoint_secret_reveal(*, actor: Actor, endpoint: WebhookEndpoint) -> list[dict]:
    """The secrets that sign deliveries now (current, and previous during a rotation overlap); audited."""
    now = timezone.now()
    secrets = [{"secret": endpoint.secret, "createdAt": endpoint.secret_created_at, "expiresAt": None}]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(
            {
                "secret": endpoint.previous_secret,
                "createdAt": endpoint_previous_secret_created_at(endpoint=endpoint),
                "expiresAt": endpoint.previous_secret_expires_at,
            }
        )
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_ENDPOINT_SECRET_REVEALED,
        target=endpoint,
        organization=endpoint.organization,
    )
    return secrets


def endpoint_secret_rotate(
    *, actor: Actor, endpoint: WebhookEndpoint, overlap: timedelta = DEFAULT_ROTATION_OVERLAP
) -> WebhookEndpoint:
    """A new current secret; the old one keeps signing (both signatures sent) until the overlap ends."""
    if overlap < timedelta(0) or overlap > MAX_ROTATION_OVERLAP:
        raise ValidationError({"overlapHours": ["The overlap must be between 0 and 168 hours (7 days)."]})
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        previous_created_at = endpoint.secret_created_at
        if overlap > timedelta(0):
            endpoint.previous_secret, endpoint.previous_secret_expires_at = endpoint.secret, now + overlap
        else:
            endpoint.previous_secret, endpoint.previous_secret_expires_at = "", None
        endpoint.secret, endpoint.secret_created_at = secret_generate(), now
        endpoint.save()
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
            target=endpoint,
            organization=endpoint.organization,
            after={
                "overlapSeconds": int(overlap.total_seconds()),
                "previousExpiresAt": endpoint.previous_secret_expires_at,
                "previousCreatedAt": rfc3339(previous_created_at),
            },
        )
    return endpoint


def endpoint_send_test(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send `webhook.test` to this endpoint only, whatever it subscribes to."""
    _endpoint_enabled_check(endpoint)
    now = timezone.now()
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            organization_id=endpoint.organization_id,
            type="webhook.test",
            data={
                "endpointId": str(endpoint.pk),
                "message": "This is a test event sent from the NT24 Integration Portal.",
                "version": 1,
            },
            created_at=now,
            fanned_out_at=now,
        )
        delivery = WebhookDelivery.objects.create(
            organization_id=endpoint.organization_id,
            endpoint=endpoint,
            event=event,
            event_type=event.type,
            created_at=now,
            next_attempt_at=now,
        )
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_TEST_SENT,
            target=endpoint,
            organization=endpoint.organization,
            after={"deliveryId": str(delivery.pk), "eventId": event.webhook_id},
        )
        _dispatch_on_commit()
    return delivery


def endpoint_reenable_and_replay_missed(*, actor: Actor, endpoint: WebhookEndpoint) -> int:
    """Enable the endpoint and deliver again every event it missed while disabled or failing (30-day window)."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        starts = [t for t in (endpoint.disabled_at, endpoint.failing_since) if t is not None]
        since = max(min(starts) if starts else now, now - REPLAY_WINDOW)
        before = endpoint_snapshot(endpoint)
        _set_enabled(endpoint, True)
        endpoint.save()
        partner_ids = set(endpoint.partners.values_list("pk", flat=True))
        delivered = WebhookDelivery.objects.filter(
            event=OuterRef("pk"), endpoint=endpoint, status=WebhookDelivery.Status.SUCCEEDED
        )
        events = (
            WebhookEvent.objects.filter(organization_id=endpoint.organization_id, created_at__gte=since)
            .exclude(type="webhook.test")
            .exclude(Exists(delivered))
            .order_by("created_at")
        )
        rows = [
            _first_delivery(endpoint, event, now)
            for event in events.iterator(chunk_size=2000)
            if _endpoint_wants(endpoint.subscriptions, partner_ids, event)
        ]
        WebhookDelivery.objects.bulk_create(rows, batch_size=1000)
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_REENABLED,
            target=endpoint,
            organization=endpoint.organization,
            before=before,
            after={**endpoint_snapshot(endpoint), "replayedSince": since, "replayed": len(rows)},
        )
        _dispatch_on_commit()
    return len(rows)


# ------------------------------------------------------------------------------------ fan-out


def _endpoint_wants(subscriptions, partner_ids: set, event: WebhookEvent) -> bool:
    if partner_ids and event.partner_id not in partner_ids:
        return False
    return any(subscription_matches(s, event.type) for s in subscriptions)


def event_fan_out(*, event_id) -> int:
    """One delivery per enabled endpoint whose subscriptions (and partner scope) match; idempotent."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.fanned_out_at is not None:
            return 0
        return _events_fan_out_locked([event])


def events_fan_out_pending(*, min_age_seconds: float = 30, batch_size: int = 500, max_events: int = 5000) -> int:
    """Fan out events still pending, oldest first, in batches; returns the deliveries created.

    The drain of a coalesced wake-up (`min_age_seconds=0`), the dispatcher tick's catch-up of a lost or
    coalesced wake-up (1 s) and the 30 s safety net. Events another drain holds are skipped, not waited for.
    """
    created = 0
    drained = 0
    while drained < max_events:
        with transaction.atomic():
            pending = WebhookEvent.objects.select_for_update(skip_locked=True).filter(fanned_out_at__isnull=True)
            if min_age_seconds > 0:
                pending = pending.filter(created_at__lte=timezone.now() - timedelta(seconds=min_age_seconds))
            events = list(pending.order_by("created_at")[:batch_size])
            if events:
                created += _events_fan_out_locked(events)
        drained += len(events)
        if len(events) < batch_size:
            break
    return created


def _first_delivery(endpoint: WebhookEndpoint, event: WebhookEvent, now) -> WebhookDelivery:
    """An event's delivery to one endpoint, due now (not saved)."""
    return WebhookDelivery(
        organization_id=event.organization_id,
        endpoint=endpoint,
        event=event,
        event_type=event.type,
        partner_id=event.partner_id,
        created_at=now,
        next_attempt_at=now,
    )


def _events_fan_out_locked(events: list[WebhookEvent]) -> int:
    """The deliveries of events the caller has locked and found not fanned out: one insert, one update."""
    endpoints_by_organization: dict = {}
    for endpoint in WebhookEndpoint.objects.filter(
        organization_id__in={e.organization_id for e in events}, enabled=True
    ).prefetch_related("partners"):
        partner_ids = {p.pk for p in endpoint.partners.all()}
        endpoints_by_organization.setdefault(endpoint.organization_id, []).append((endpoint, partner_ids))
    now = timezone.now()
    rows = [
        _first_delivery(endpoint, event, now)
        for event in events
        for endpoint, partner_ids in endpoints_by_organization.get(event.organization_id, ())
        if _endpoint_wants(endpoint.subscriptions, partner_ids, event)
    ]
    WebhookDelivery.objects.bulk_create(rows)
    WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(fanned_out_at=now)
    for event in events:
        event.fanned_out_at = now
    if rows:
        _dispatch_on_commit()
    return len(rows)


# ------------------------------------------------------------------------------------ replay


def _replay_window_check(event_created_at) -> None:
    if event_created_at < timezone.now() - REPLAY_WINDOW:
        raise Problem(
            "replay-window-expired",
            "This event is older than the 30-day replay window.",
            eventCreatedAt=rfc3339(event_created_at),
        )


def _endpoint_enabled_check(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise Problem(
            "webhook-endpoint-disabled",
            "The endpoint is disabled; enable it (or use “re-enable and replay missed”) first.",
            endpointId=str(endpoint.pk),
        )


def delivery_replay(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new delivery of the same event (same `webhook-id`) to the same endpoint, with its own schedule."""
    _replay_window_check(delivery.event.created_at)
    _endpoint_enabled_check(delivery.endpoint)
    now = timezone.now()
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(
            organization_id=delivery.organization_id,
            endpoint_id=delivery.endpoint_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            partner_id=delivery.partner_id,
            created_at=now,
            next_attempt_at=now,
            replay_of=delivery,
        )
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_DELIVERY_REPLAYED,
            target=delivery,
            organization=delivery.organization,
            after={"replayId": str(replay.pk), "eventId": delivery.event.webhook_id},
        )
        _dispatch_on_commit()
    return replay


def _replay_filter_window_check(created_after) -> None:
    if created_after is not None and created_after < timezone.now() - REPLAY_WINDOW:
        raise Problem(
            "replay-window-expired",
            "Bulk replays cover at most the last 30 days; move `createdAfter` into the window.",
        )


def replay_dry_run(*, queryset, created_after=None) -> int:
    """How many deliveries a bulk replay with these filters would send again."""
    _replay_filter_window_check(created_after)
    return replay_candidates(queryset=queryset, cutoff=timezone.now()).count()


def replay_job_create(*, actor: Actor, organization, filters: dict, queryset, created_after=None) -> WebhookReplayJob:
    """A bulk replay of every delivery matching `filters` (the history FilterSet's data) in the 30-day window."""
    _replay_filter_window_check(created_after)
    now = timezone.now()
    total = replay_candidates(queryset=queryset, cutoff=now).count()
    with transaction.atomic():
        job = WebhookReplayJob.objects.create(
            organization=organization, filters=filters, cutoff=now, total=total, requested_by_label=actor.label
        )
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_REPLAY_CREATED,
            target=job,
            organization=organization,
            after={"filters": filters, "total": total},
        )

        from portal.webhooks.tasks import replay_job_run

        # Not published (broker down): the job stays PENDING and webhooks.replay_jobs_resume starts it.
        enqueue_on_commit(replay_job_run, str(job.pk))
    return job


def replay_candidates(*, queryset, cutoff):
    return queryset.filter(created_at__lte=cutoff, event__created_at__gte=cutoff - REPLAY_WINDOW)


def replay_job_run(*, job_id, queryset_for) -> WebhookReplayJob:
    """Create the replays in chunks, updating progress after each; skips endpoints now disabled."""
    job = WebhookReplayJob.objects.filter(pk=job_id).select_related("organization").first()
    if job is None or job.is_finished:
        return job
    WebhookReplayJob.objects.filter(pk=job.pk).update(status=WebhookReplayJob.Status.RUNNING, started_at=timezone.now())
    base = replay_candidates(queryset=queryset_for(job), cutoff=job.cutoff).filter(endpoint__enabled=True)
    processed = created = 0
    last = None
    while True:
        chunk_qs = base.order_by("created_at", "id")
        if last is not None:
            chunk_qs = chunk_qs.filter(created_at__gte=last[0]).exclude(created_at=last[0], id__lte=last[1])
        chunk = list(
            chunk_qs.values("id", "created_at", "endpoint_id", "event_id", "event_type", "partner_id")[:REPLAY_CHUNK]
        )
        if not chunk:
            break
        last = (chunk[-1]["created_at"], chunk[-1]["id"])
        now = timezone.now()
        with transaction.atomic():
            done = set(
                WebhookDelivery.objects.filter(replay_job=job, event_id__in=[c["event_id"] for c in chunk]).values_list(
                    "event_id", "endpoint_id"
                )
            )
            rows = []
            for c in chunk:
                key = (c["event_id"], c["endpoint_id"])
                if key in done:
                    continue  # the same event to the same endpoint is replayed once per job
                done.add(key)
                rows.append(
                    WebhookDelivery(
                        organization_id=job.organization_id,
                        endpoint_id=c["endpoint_id"],
                        event_id=c["event_id"],
                        event_type=c["event_type"],
                        partner_id=c["partner_id"],
                        created_at=now,
                        next_attempt_at=now,
                        replay_of_id=c["id"],
                        replay_job=job,
                    )
                )
            WebhookDelivery.objects.bulk_create(rows)
            processed += len(chunk)
            created += len(rows)
            WebhookReplayJob.objects.filter(pk=job.pk).update(processed=processed, created_count=created)
            _dispatch_on_commit()
    WebhookReplayJob.objects.filter(pk=job.pk).update(
        status=WebhookReplayJob.Status.COMPLETED,
        processed=max(processed, job.total),
        created_count=created,
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


# A bulk replay still PENDING this long after it was created lost its start (broker down).
REPLAY_START_GRACE = timedelta(minutes=2)


def replay_jobs_unstarted_ids(*, older_than: timedelta = REPLAY_START_GRACE, limit: int = 100) -> list:
    return list(
        WebhookReplayJob.objects.filter(
            status=WebhookReplayJob.Status.PENDING, started_at__isnull=True, created_at__lte=timezone.now() - older_than
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def replay_job_fail(*, job_id, error: str) -> None:
    WebhookReplayJob.objects.filter(pk=job_id).update(
        status=WebhookReplayJob.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


# ------------------------------------------------------------------------------------ health and retention


def endpoints_health_check() -> dict:
    """Warn (banner + e-mail to admins) after 4 days of only failures; disable after 5, with an audit entry."""
    now = timezone.now()
    warned = disabled = 0
    to_warn = WebhookEndpoint.objects.filter(
        enabled=True,
        failing_since__lte=now - DISABLE_WARNING_AFTER,
        failing_since__gt=now - AUTO_DISABLE_AFTER,
        disable_warning_sent_at__isnull=True,
    ).select_related("organization")
    for endpoint in to_warn:
        _warning_email(endpoint)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disable_warning_sent_at=now)
        warned += 1
    for endpoint in WebhookEndpoint.objects.filter(enabled=True, failing_since__lte=now - AUTO_DISABLE_AFTER):
        with transaction.atomic():
            locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
            if not locked.enabled or locked.failing_since is None or locked.failing_since > now - AUTO_DISABLE_AFTER:
                continue
            locked.enabled = False
            locked.disabled_reason = WebhookEndpoint.DisabledReason.FAILING
            locked.disabled_at = now
            locked.save()
            audit_record(
                actor=Actor.system(),
                action=AuditAction.WEBHOOK_ENDPOINT_DISABLED,
                target=locked,
                organization=locked.organization,
                before={"enabled": True},
                after={"enabled": False, "reason": "FAILING", "failingSince": locked.failing_since},
            )
            disabled += 1
    return {"warned": warned, "disabled": disabled}


def _warning_email(endpoint: WebhookEndpoint) -> None:
    admins = list(
        Membership.objects.filter(organization_id=endpoint.organization_id, role=Membership.Role.ADMIN).values_list(
            "user__email", flat=True
        )
    )
    if not admins:
        return
    disable_at = endpoint.failing_since + AUTO_DISABLE_AFTER
    link = settings.PORTAL_BASE_URL + reverse(
        "webhooks:endpoint_detail", kwargs={"organization_id": endpoint.organization_id, "endpoint_id": endpoint.pk}
    )
    send_mail(
        subject=f"[NT24] Webhook endpoint failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC",
        message=(
            f"Every delivery to {endpoint.url} has failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC.\n"
            f"Unless a delivery succeeds, the endpoint will be disabled at {disable_at:%Y-%m-%d %H:%M} UTC.\n\n"
            f"See the endpoint's health and the failed deliveries: {link}\n"
        ),
        from_email=None,
        recipient_list=admins,
    )


def webhooks_purge(*, batch_size: int = 5000) -> int:
    """Delete deliveries (with their attempts), events and bulk replay jobs older than 30 days, in batches."""
    cutoff = timezone.now() - RETENTION
    removed = 0
    while True:
        ids = list(WebhookDelivery.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            WebhookDelivery.objects.filter(replay_of_id__in=ids).update(replay_of=None)
            removed += WebhookDelivery.objects.filter(id__in=ids).delete()[1].get("webhooks.WebhookDelivery", 0)
    while True:
        ids = list(
            WebhookEvent.objects.filter(created_at__lt=cutoff, fanned_out_at__isnull=False)
            .exclude(Exists(WebhookDelivery.objects.filter(event=OuterRef("pk"))))
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            break
        WebhookEvent.objects.filter(id__in=ids).delete()
    WebhookReplayJob.objects.filter(created_at__lt=cutoff).delete()
    return removed
