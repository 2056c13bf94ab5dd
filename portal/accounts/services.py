from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.core.audit import Actor, audit_record


def totp_device_start(*, user) -> TOTPDevice:
    """A fresh unconfirmed authenticator for the user (replaces any earlier unconfirmed one)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_device_confirm(*, actor: Actor, device: TOTPDevice, token: str) -> bool:
    if not device.verify_token(token):
        return False
    TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=actor, action="user.2fa_enabled", target=device.user)
    return True


@transaction.atomic
def totp_device_remove(*, actor: Actor, user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    audit_record(actor=actor, action="user.2fa_disabled", target=user)
