"""Celery entry points of the clients app: call a service, nothing else."""

from celery import shared_task

from portal.clients.services import client_pauses_expire, client_secrets_mark_expired
from portal.gateway.idempotency import idempotency_records_purge


@shared_task(name="clients.secrets_mark_expired")
def secrets_mark_expired() -> int:
    return client_secrets_mark_expired()


@shared_task(name="clients.pauses_expire")
def pauses_expire() -> int:
    return client_pauses_expire()


@shared_task(name="clients.idempotency_purge")
def idempotency_purge() -> int:
    return idempotency_records_purge()
