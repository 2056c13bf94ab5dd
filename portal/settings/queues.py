"""Celery queues: every queue, the route of every task of every app, and the workers that consume them.

Each kind of work has its own queue, so a slow dependency only fills its own: a VIES check that hangs for
its whole timeout never holds a process that webhook dispatch needs. Routes are by task name; a task
without a route would land on the default queue (tests/core/test_queues.py fails for it).
"""

from kombu import Queue

WEBHOOK_DISPATCH_QUEUE = "webhooks.dispatch"
WEBHOOK_FANOUT_QUEUE = "webhooks.fanout"
VIES_QUEUE = "vies"
EMAIL_QUEUE = "email"
MAINTENANCE_QUEUE = "maintenance"
DEFAULT_QUEUE = "celery"  # health pings; nothing else is routed here

CELERY_TASK_DEFAULT_QUEUE = DEFAULT_QUEUE
CELERY_TASK_QUEUES = [
    Queue(name, routing_key=name)
    for name in (
        WEBHOOK_DISPATCH_QUEUE,
        WEBHOOK_FANOUT_QUEUE,
        VIES_QUEUE,
        EMAIL_QUEUE,
        MAINTENANCE_QUEUE,
        DEFAULT_QUEUE,
    )
]

CELERY_TASK_ROUTES = {
    # Webhooks: sending, and the work that creates deliveries (fan-out of events, bulk replays).
    "webhooks.deliveries_dispatch": {"queue": WEBHOOK_DISPATCH_QUEUE},
    "webhooks.event_fanout": {"queue": WEBHOOK_FANOUT_QUEUE},
    "webhooks.events_fanout_pending": {"queue": WEBHOOK_FANOUT_QUEUE},
    "webhooks.replay_job_run": {"queue": WEBHOOK_FANOUT_QUEUE},
    "webhooks.replay_jobs_resume": {"queue": WEBHOOK_FANOUT_QUEUE},
    # VIES: one check per buyer (each may wait for the whole VIES timeout) and the sweep that enqueues them.
    "kyc.vies_check": {"queue": VIES_QUEUE},
    "kyc.vies_check_due": {"queue": VIES_QUEUE},
    # E-mail.
    "kyc.invitation_send_email": {"queue": EMAIL_QUEUE},
    "kyc.invitation_send_unsent": {"queue": EMAIL_QUEUE},
    # Maintenance sweeps: expiries, health checks, retention.
    "kyc.invitation_expire_due": {"queue": MAINTENANCE_QUEUE},
    "webhooks.endpoints_health_check": {"queue": MAINTENANCE_QUEUE},
    "webhooks.purge": {"queue": MAINTENANCE_QUEUE},
    "clients.secrets_mark_expired": {"queue": MAINTENANCE_QUEUE},
    "clients.pauses_expire": {"queue": MAINTENANCE_QUEUE},
    "clients.idempotency_purge": {"queue": MAINTENANCE_QUEUE},
    "portal.core.tasks.health_ping": {"queue": DEFAULT_QUEUE},
}

# The worker processes a deployment runs (make run, compose.yaml, the drills), and the queues each consumes.
# Webhooks get a worker of their own; everything else shares the background worker.
WORKER_QUEUES = {
    "webhooks": (WEBHOOK_DISPATCH_QUEUE, WEBHOOK_FANOUT_QUEUE),
    "background": (VIES_QUEUE, EMAIL_QUEUE, MAINTENANCE_QUEUE, DEFAULT_QUEUE),
}
