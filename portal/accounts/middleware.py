from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from portal.accounts.policy import SECOND_FACTOR_SESSION_KEY
from portal.accounts.selectors import totp_device_confirmed


class StaffTwoFactorMiddleware:
    """A session must pass the TOTP check before any page: for support staff with REQUIRE_STAFF_2FA on, and
    for anybody who signed in to an account with a confirmed authenticator.

    Only signing in and out, the verify step and the e-mailed password reset are open to an unverified
    session under /accounts/; setting up a first authenticator too, while the user has none.
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
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        staff_rule = settings.REQUIRE_STAFF_2FA and user.is_staff
        if not staff_rule and not request.session.get(SECOND_FACTOR_SESSION_KEY):
            return None
        if request.path.startswith(self.PUBLIC_PREFIXES):
            return None
        if not staff_rule and totp_device_confirmed(user=user) is None:
            del request.session[SECOND_FACTOR_SESSION_KEY]  # turned off since this session signed in
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
