"""Celery beat: every periodic task of every app, in one place."""

CELERY_BEAT_SCHEDULE = {
    "kyc-vies-check-due": {"task": "kyc.vies_check_due", "schedule": 30.0},
    "kyc-invitation-expire-due": {"task": "kyc.invitation_expire_due", "schedule": 300.0},
    "clients-secrets-mark-expired": {"task": "clients.secrets_mark_expired", "schedule": 60.0},
    "clients-pauses-expire": {"task": "clients.pauses_expire", "schedule": 60.0},
    "clients-idempotency-purge": {"task": "clients.idempotency_purge", "schedule": 3600.0},
}
