"""Celery beat: every periodic task of every app, in one place."""

from celery.schedules import crontab

CELERY_BEAT_SCHEDULE = {
    # Webhooks: the dispatcher claims due deliveries; stale ticks expire instead of piling up.
    "webhooks-dispatch": {"task": "webhooks.deliveries_dispatch", "schedule": 2.0, "options": {"expires": 10}},
    "webhooks-fanout-pending": {"task": "webhooks.events_fanout_pending", "schedule": 60.0, "options": {"expires": 50}},
    "webhooks-health": {"task": "webhooks.endpoints_health_check", "schedule": crontab(minute="*/15")},
    "webhooks-purge": {"task": "webhooks.purge", "schedule": crontab(hour=3, minute=17)},
    "kyc-vies-check-due": {"task": "kyc.vies_check_due", "schedule": 30.0},
    "kyc-invitation-expire-due": {"task": "kyc.invitation_expire_due", "schedule": 300.0},
    # Work whose Celery task was not published after its commit (broker down; portal/core/tasks.py).
    "kyc-invitation-send-unsent": {"task": "kyc.invitation_send_unsent", "schedule": 60.0},
    "webhooks-replay-jobs-resume": {"task": "webhooks.replay_jobs_resume", "schedule": 60.0},
    "clients-secrets-mark-expired": {"task": "clients.secrets_mark_expired", "schedule": 60.0},
    "clients-pauses-expire": {"task": "clients.pauses_expire", "schedule": 60.0},
    "clients-idempotency-purge": {"task": "clients.idempotency_purge", "schedule": 3600.0},
}
