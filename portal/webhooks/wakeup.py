"""Coalesced wake-ups: a burst of commits enqueues one fan-out / dispatch task, not one per event.

The woken task clears its flag *before* it looks for work, so anything committed after that look
sets the flag again and enqueues a new task; beat's 2 s dispatcher tick is the safety net for a
wake-up lost with the cache (e.g. a per-process cache under `make run`).
"""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

FANOUT_WAKE_KEY = "webhooks:wake:fanout"
DISPATCH_WAKE_KEY = "webhooks:wake:dispatch"
WAKE_SECONDS = 2


def wake_request(key: str) -> bool:
    """True when the caller should enqueue the task: no wake-up for it is pending yet."""
    try:
        return bool(cache.add(key, "1", timeout=WAKE_SECONDS))
    except Exception:  # a cache outage must never stop delivery: enqueue anyway
        logger.warning("wake-up cache unavailable; enqueueing %s without coalescing", key, exc_info=True)
        return True


def wake_clear(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("wake-up cache unavailable; could not clear %s", key, exc_info=True)
