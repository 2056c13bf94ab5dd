from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse


class StaffTwoFactorMiddleware:
    """With REQUIRE_STAFF_2FA on, support staff must pass a TOTP check before any page."""

    EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/readyz", "/v1/", "/oauth/", "/problems/", "/kyc/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.REQUIRE_STAFF_2FA
            and user is not None
            and user.is_authenticated
            and user.is_staff
            and not request.path.startswith(self.EXEMPT_PREFIXES)
            and not user.is_verified()
        ):
            return redirect(f"{reverse('accounts:two_factor')}?next={request.get_full_path()}")
        return self.get_response(request)
