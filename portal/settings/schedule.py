"""Celery beat: every periodic task of every app, in one place."""

CELERY_BEAT_SCHEDULE = {}
