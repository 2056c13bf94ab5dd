"""Hourly usage counters per client (requests, 429s, pauses), cheap on the hot path.

Each process adds to an in-memory buffer and upserts it with F() increments at most every
`CLIENT_USAGE_FLUSH_SECONDS` (default 10 s) and at exit, so a request costs no write of its own.
"""

import atexit
import threading
import time
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

_buffer: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
_lock = threading.Lock()
_last_flush = time.monotonic()


def _hour(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def usage_count(*, client_id, requests: int = 0, rate_limited: int = 0, pauses: int = 0, now=None) -> None:
    global _last_flush
    hour = _hour(now or timezone.now())
    with _lock:
        counters = _buffer[(client_id, hour)]
        counters[0] += requests
        counters[1] += rate_limited
        counters[2] += pauses
        due = time.monotonic() - _last_flush >= settings.CLIENT_USAGE_FLUSH_SECONDS
    if due:
        usage_flush()


def usage_flush() -> None:
    """Write the buffered counters (one UPDATE, or INSERT for a new hour, per client-hour)."""
    global _last_flush
    from portal.clients.models import ApiClient, ClientUsageHour

    with _lock:
        pending = dict(_buffer)
        _buffer.clear()
        _last_flush = time.monotonic()
    for (client_id, hour), (requests, rate_limited, pauses) in pending.items():
        changes = {
            "requests": F("requests") + requests,
            "rate_limited": F("rate_limited") + rate_limited,
            "pauses": F("pauses") + pauses,
        }
        if ClientUsageHour.objects.filter(client_id=client_id, hour=hour).update(**changes):
            continue
        if not ApiClient.objects.filter(pk=client_id).exists():
            continue  # the client was deleted (or its transaction rolled back) since it was counted
        try:
            with transaction.atomic():
                ClientUsageHour.objects.create(
                    client_id=client_id, hour=hour, requests=requests, rate_limited=rate_limited, pauses=pauses
                )
        except IntegrityError:
            # Another process inserted the row first (or the client is gone): add to it instead.
            ClientUsageHour.objects.filter(client_id=client_id, hour=hour).update(**changes)


def _flush_at_exit() -> None:
    try:
        usage_flush()
    except Exception:  # interpreter shutdown: the database may already be gone
        return


atexit.register(_flush_at_exit)
