from django.conf import settings

# Set at sign-in when the account has a confirmed authenticator: the session then needs the code too.
SECOND_FACTOR_SESSION_KEY = "nt24_second_factor"


def second_factor_required(*, user, has_confirmed_device: bool) -> bool:
    """Whether the account's sensitive changes need a session verified with the second factor."""
    return has_confirmed_device or bool(settings.REQUIRE_STAFF_2FA and user.is_staff)
