"""Celery entry points of the KYC area: ids in, a service call, nothing else."""

from celery import shared_task

from portal.core.tasks import task_publish
from portal.kyc import services


@shared_task(name="kyc.vies_check", ignore_result=True)
def vies_check(buyer_id: str) -> None:
    services.buyer_vies_check(buyer_id=buyer_id)


@shared_task(name="kyc.vies_check_due", ignore_result=True)
def vies_check_due() -> None:
    # One task per due buyer, so a slow VIES answer for one country does not hold up the others.
    for buyer_id in services.buyer_vies_due_ids():
        if not task_publish(vies_check, str(buyer_id)):
            return  # the broker is down: the next run finds the same buyers still due


@shared_task(name="kyc.invitation_send_email", ignore_result=True)
def invitation_send_email(invitation_id: str, *_legacy) -> None:
    # Messages queued before the upgrade also carry the link's token: it is ignored (the task rebuilds it).
    services.invitation_send_email(invitation_id=invitation_id)


@shared_task(name="kyc.invitation_send_unsent", ignore_result=True)
def invitation_send_unsent() -> int:
    return services.invitation_send_unsent()


@shared_task(name="kyc.invitation_expire_due", ignore_result=True)
def invitation_expire_due() -> None:
    services.invitation_expire_due()
