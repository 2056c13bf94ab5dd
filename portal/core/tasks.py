"""Celery plumbing every app shares: the one way to publish a task, and the worker health ping.

A task is published after the commit of the work it continues (Zulip's queue_event_on_commit). A
broker that is down must not turn that committed work into a 500 (the client would retry and do it
twice): the publish failure is logged and left to the periodic sweeps, which find the work from the
database alone — the outbox's pending events (webhooks dispatcher tick), due VIES checks
(`kyc.vies_check_due`), unsent KYC invitation e-mails (`kyc.invitation_send_unsent`), pending bulk
replays (`webhooks.replay_jobs_resume`).
"""

import logging
import re
import socket

from celery import shared_task
from django.db import connection, transaction
from kombu.exceptions import KombuError

logger = logging.getLogger(__name__)

_URL_CREDENTIALS = re.compile(r"(://)[^/@\s]*@")


# What a broker client raises when it cannot take a message; with eager tasks, anything else is the task's own.
BROKER_ERRORS = (KombuError, ConnectionError, TimeoutError, OSError)


def _runs_eagerly(task) -> bool:
    app = getattr(task, "app", None)
    return bool(app is not None and app.conf.task_always_eager)


def task_publish(task, *args) -> bool:
    """Publish `task(*args)` now; True when the broker took it.

    Any failure of the broker (kombu's OperationalError, ConnectionError, a timeout, a full disk under
    the embedded broker...) is logged with the task's name and the error, never the arguments (they may
    carry ids of people's data) nor credentials from a broker URL, and False is returned."""
    try:
        task.delay(*args)
    except Exception as exc:  # whatever the broker raises, the caller's work is already committed
        if _runs_eagerly(task) and not isinstance(exc, BROKER_ERRORS):
            raise  # an eager task's own failure (the tests), not a publish failure: never hide it
        message = _URL_CREDENTIALS.sub(r"\1[redacted]@", str(exc))[:300]
        logger.warning(
            "could not publish task %s (%s: %s); the periodic sweep will pick the work up",
            getattr(task, "name", task),
            type(exc).__name__,
            message,
        )
        return False
    return True


def enqueue_on_commit(task, *args) -> None:
    """Publish `task(*args)` once the current transaction commits (at once outside one), never raising."""
    transaction.on_commit(lambda: task_publish(task, *args))


@shared_task(name="portal.core.tasks.health_ping", ignore_result=False)
def health_ping(nonce: str = "") -> dict:
    """Round trip through the broker and a worker: echoes `nonce` and says whether the worker reaches the database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            database = "ok"
    except Exception as exc:  # a ping reports, never raises
        database = exc.__class__.__name__
    return {"nonce": nonce, "worker": socket.gethostname(), "database": database}
