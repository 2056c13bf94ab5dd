import os

from celery import Celery
from celery.signals import task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _reset_db_connections(**_kwargs):
    # A forked worker must not share the parent's database socket.
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()


@task_prerun.connect
def _check_db_connections(task=None, **_kwargs):
    # Celery keeps connections across tasks (CELERY_DB_REUSE_MAX) and never runs Django's per-request
    # check, so a connection the server dropped (restart, failover, pg_terminate_backend) failed the next
    # task of every process. Do what Django does at each request: drop an unusable or expired connection
    # and re-arm CONN_HEALTH_CHECKS, so the task's first query reconnects instead of failing.
    if task is None or getattr(task.request, "is_eager", False):
        return  # an eager task runs inside its caller's request or transaction: leave that connection alone
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
