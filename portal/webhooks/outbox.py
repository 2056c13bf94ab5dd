"""The transactional outbox: business services call `event_emit` inside their transaction."""

from django.db import transaction
from django.utils import timezone

from portal.webhooks.events import EVENT_TYPES_BY_NAME
from portal.webhooks.models import WebhookEvent


def event_emit(*, organization, event_type: str, data: dict, partner=None) -> WebhookEvent:
    """Write the event row; fan-out to endpoints happens after commit, so a rollback emits nothing."""
    if event_type not in EVENT_TYPES_BY_NAME:
        raise ValueError(f"unknown event type {event_type!r}")
    if "version" not in data:
        raise ValueError("every event payload carries the resource state `version`")
    event = WebhookEvent.objects.create(
        organization=organization, partner=partner, type=event_type, data=data, created_at=timezone.now()
    )
    transaction.on_commit(lambda: _schedule_fanout(event.pk))
    return event


def _schedule_fanout(event_id) -> None:
    from portal.webhooks import tasks
    from portal.webhooks.wakeup import FANOUT_WAKE_KEY, wake

    wake(FANOUT_WAKE_KEY, tasks.event_fanout, str(event_id))
