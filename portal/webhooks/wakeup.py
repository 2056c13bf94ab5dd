"""Coalesced wake-ups: a burst of commits enqueues one fan-out (or dispatch) task, not one per event.

Speed comes from here, correctness from the dispatcher tick. A flag in the cache (`cache.add`) says a
task is on its way; the woken task clears it *before* it looks for work, so anything committed after
that look enqueues a new task. The flag is cleared when the publish fails (logged, never raised: the
commit it follows is done — portal/core/tasks.py), and it expires by itself
after `WAKE_SECONDS`, so a message lost without an error (published on a dead broker connection) or a
flag in a cache the worker cannot clear (the per-process locmem cache of `make run` and the tests)
delays work by at most that long: beat's dispatcher tick (every 2 s) fans out every event pending for
more than `TICK_FANOUT_AGE_SECONDS` itself.
"""

import logging

from django.core.cache import cache

from portal.core.tasks import task_publish

logger = logging.getLogger(__name__)

FANOUT_WAKE_KEY = "webhooks:wake:fanout"
DISPATCH_WAKE_KEY = "webhooks:wake:dispatch"
WAKE_SECONDS = 3
TICK_FANOUT_AGE_SECONDS = 1.0


def wake(key: str, task, *args) -> bool:
    """Enqueue `task(*args)` unless a wake-up under `key` is already pending; True when enqueued."""
    try:
        first = cache.add(key, "1", timeout=WAKE_SECONDS)
    except Exception:  # a cache outage must never stop delivery: enqueue without coalescing
        logger.warning("wake-up cache unavailable; enqueueing %s without coalescing", key, exc_info=True)
        first = True
    if not first:
        return False
    if not task_publish(task, *args):
        wake_clear(key)  # the flag must never outlive a failed publish, or later commits would wait for nothing
        return False
    return True


def wake_clear(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:  # the flag expires by itself
        logger.warning("wake-up cache unavailable; could not clear %s", key, exc_info=True)
