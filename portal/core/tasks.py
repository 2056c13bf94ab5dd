import socket

from celery import shared_task
from django.db import connection


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
