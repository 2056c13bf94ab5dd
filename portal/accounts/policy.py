from django.conf import settings


def second_factor_required(*, user, has_confirmed_device: bool) -> bool:
    """Whether the account's sensitive changes need a session verified with the second factor."""
    return has_confirmed_device or bool(settings.REQUIRE_STAFF_2FA and user.is_staff)
