from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from portal.accounts.selectors import totp_device_confirmed


class StaffTwoFactorMiddleware:
    """With REQUIRE_STAFF_2FA on, support staff must pass a TOTP check before any page.

    Only signing in and out, the verify step and the e-mailed password reset are open to an unverified
    staff session under /accounts/; setting up a first authenticator too, while the user has none.
    """

    PUBLIC_PREFIXES = ("/static/", "/healthz", "/readyz", "/v1/", "/oauth/", "/problems/", "/kyc/", "/media/logos/")
    EXEMPT_VIEWS = frozenset(
        {
            "login",
            "logout",
            "two_factor",
            "password_reset",
            "password_reset_done",
            "password_reset_confirm",
            "password_reset_complete",
        }
    )
    ENROLMENT_VIEWS = frozenset({"security", "totp_start"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if not (
            settings.REQUIRE_STAFF_2FA
            and user is not None
            and user.is_authenticated
            and user.is_staff
            and not user.is_verified()
        ):
            return None
        if request.path.startswith(self.PUBLIC_PREFIXES):
            return None
        match = request.resolver_match
        if match is not None and match.namespace == "accounts":
            if match.url_name in self.EXEMPT_VIEWS:
                return None
            if match.url_name in self.ENROLMENT_VIEWS and totp_device_confirmed(user=user) is None:
                return None
        htmx = getattr(request, "htmx", None)
        if htmx:  # a swap of the verify page into a fragment would help nobody: load it as the page
            current = htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(f"{reverse('accounts:two_factor')}?{urlencode({'next': current})}")
        return redirect(f"{reverse('accounts:two_factor')}?{urlencode({'next': request.get_full_path()})}")
