import hashlib

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.core.audit import Actor, audit_record
from portal.core.audit_actions import AuditAction
from portal.core.throttle import throttle_hit


def totp_device_start(*, user) -> TOTPDevice:
    """A fresh unconfirmed authenticator for the user (replaces any earlier unconfirmed one).

    A confirmed device keeps working until the new one is confirmed; callers check the step-up first.
    """
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_device_confirm(*, actor: Actor, device: TOTPDevice, token: str) -> bool:
    if not device.verify_token(token):
        return False
    replaced = TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()[0]
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(
        actor=actor,
        action=AuditAction.USER_2FA_REPLACED if replaced else AuditAction.USER_2FA_ENABLED,
        target=device.user,
        after={"device": device.name},
    )
    return True


@transaction.atomic
def totp_device_remove(*, actor: Actor, user) -> None:
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    audit_record(actor=actor, action=AuditAction.USER_2FA_DISABLED, target=user, before={"devices": removed})


@transaction.atomic
def user_password_set(*, actor: Actor, user, password: str, reset: bool = False) -> None:
    """Change the password (reset: through the e-mailed link rather than with the current password)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=actor, action=AuditAction.USER_PASSWORD_RESET if reset else AuditAction.USER_PASSWORD_CHANGED, target=user
    )


def password_reset_mail_allowed(*, email: str, ip: str | None) -> bool:
    """Whether another reset mail may go out to this address from this client (a few per hour each).

    Addresses are counted whether or not an account has them, and only as a hash. Without the
    rate-limit store the mail goes out (fail open): a reset mail only reaches the address's owner.
    """
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return throttle_hit(settings.PASSWORD_RESET_RATE_PER_IP, "password-reset-ip", ip or "unknown") and throttle_hit(
        settings.PASSWORD_RESET_RATE_PER_ADDRESS, "password-reset-address", address
    )
