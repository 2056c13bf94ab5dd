"""The gateway generation: a counter in Redis that every change to what the /v1 gateway caches raises.

It lives on the ground floor so that domain services can say "something the gateway reads changed"
(`gateway_inputs_changed()`) without importing the gateway. The gateway registers its listeners at
ready() (portal/gateway/apps.py): drop this process's cached callers and organization states, its budget
leases, and the changed client's run of 429s. The counter sits in the `limits` storage at
`settings.RATELIMIT_STORAGE_URI`, the one the gateway's budget script reads it from in the same round trip.
"""

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from limits.storage import RedisStorage, Storage, storage_from_string

logger = logging.getLogger(__name__)

GENERATION_KEY = "nt24:gateway:generation"

_storages: dict[str, Storage] = {}
_listeners: list[Callable[..., None]] = []
_lock = threading.Lock()


def storage() -> Storage:
    """The `limits` storage at settings.RATELIMIT_STORAGE_URI, one per process and URI."""
    uri = settings.RATELIMIT_STORAGE_URI
    found = _storages.get(uri)
    if found is None:
        with _lock:
            found = _storages.get(uri)
            if found is None:
                found = _storages[uri] = storage_from_string(uri)
    return found


def generation_current() -> int | None:
    """The gateway generation (None when the store is not Redis or is down)."""
    store = storage()
    if not isinstance(store, RedisStorage):
        return None
    try:
        return int(store.get_connection().get(GENERATION_KEY) or 0)
    except Exception:
        logger.exception("rate-limit store unavailable; caller cache bypassed")
        return None


def generation_bump() -> int | None:
    """Raise the generation; returns the new one (None when the store is not Redis or is down)."""
    store = storage()
    if not isinstance(store, RedisStorage):
        return None
    try:
        return int(store.get_connection().incr(GENERATION_KEY))
    except Exception:
        logger.exception("rate-limit store unavailable; other processes see this change within the cache's max age")
        return None


def generation_listen(listener: Callable[..., None]) -> None:
    """Call `listener(generation=…, client=…)` on every change this process makes (once per registration)."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def _changed(*, client=None) -> None:
    generation = generation_bump()
    for listener in list(_listeners):
        listener(generation=generation, client=client)


def gateway_inputs_changed(*, client=None) -> None:
    """Something the gateway reads changed (with `client`: that client's pause started or ended).

    Raised now (this transaction's own later calls, tests) and again after commit, so that a process
    reloading between the two cannot keep pre-commit rows under the final generation."""
    _changed(client=client)
    transaction.on_commit(_changed)
