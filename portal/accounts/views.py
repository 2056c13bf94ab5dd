import logging
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_otp import login as otp_login

from portal.accounts import services
from portal.accounts.forms import CurrentPasswordForm, InvitationAcceptForm, LoginForm, TotpForm
from portal.accounts.models import User
from portal.accounts.policy import SECOND_FACTOR_SESSION_KEY, second_factor_required
from portal.accounts.selectors import totp_device_confirmed, totp_device_pending
from portal.core.audit import Actor, client_ip
from portal.core.htmx import htmx_partial, render_page
from portal.organizations import services as org_services
from portal.organizations.policy import invitation_is_active

log = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        if totp_device_confirmed(user=form.get_user()) is not None:
            self.request.session[SECOND_FACTOR_SESSION_KEY] = True  # StaffTwoFactorMiddleware asks for the code
        return response


def _after_action(request, url: str):
    return HttpResponseClientRedirect(url) if htmx_partial(request) else redirect(url)


def _step_up_refusal(request):
    """None when the session may change how the account signs in; else the way to the verify step.

    With a confirmed authenticator (or 2FA required for staff) the password alone is not enough.
    """
    user = request.user
    has_device = totp_device_confirmed(user=user) is not None
    if not second_factor_required(user=user, has_confirmed_device=has_device) or user.is_verified():
        return None
    target = f"{reverse('accounts:two_factor')}?{urlencode({'next': reverse('accounts:security')})}"
    if htmx_partial(request):
        return HttpResponseClientRedirect(target)
    messages.warning(request, "Enter a code from your authenticator app first.")
    return redirect(target)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Needs the current password and, when the account has a second factor, a verified session."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:security")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and (refusal := _step_up_refusal(request)):
            return refusal
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        services.user_password_set(
            actor=Actor.from_request(self.request), user=form.user, password=form.cleaned_data["new_password1"]
        )
        update_session_auth_hash(self.request, form.user)  # other sessions end; this one stays (and stays verified)
        messages.success(self.request, "Your password was changed.")
        return _after_action(self.request, str(self.success_url))

    def form_invalid(self, form):
        return render_page(
            self.request, self.template_name, self.get_context_data(form=form), partial="form", status=422
        )


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        if services.password_reset_mail_allowed(email=form.cleaned_data["email"], ip=client_ip(self.request)):
            return super().form_valid(form)
        log.info("password reset mail throttled")
        return redirect(self.success_url)  # the same answer as a sent mail: nothing to learn from it


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        services.user_password_set(
            actor=Actor(user=form.user, ip=client_ip(self.request)),
            user=form.user,
            password=form.cleaned_data["new_password1"],
            reset=True,
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        return redirect(self.success_url)


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _security_page(request, *, form=None, remove_form=None, replace_form=None, status: int = 200):
    user = request.user
    confirmed = totp_device_confirmed(user=user)
    pending = totp_device_pending(user=user)
    verified = user.is_verified()
    if confirmed is not None and not verified:
        pending = None  # a replacement is shown and confirmed only in a verified session
    qr_svg = segno.make(pending.config_url, error="m").svg_data_uri(scale=4) if pending else None
    context = {
        "confirmed": confirmed,
        "pending": pending,
        "form": form or TotpForm(),
        "remove_form": remove_form or CurrentPasswordForm(user=user, auto_id="id_remove_%s"),
        "replace_form": replace_form or CurrentPasswordForm(user=user, auto_id="id_replace_%s"),
        "qr_svg": qr_svg,
        "step_up_url": (
            f"{reverse('accounts:two_factor')}?{urlencode({'next': reverse('accounts:security')})}"
            if confirmed is not None and not verified
            else None
        ),
    }
    return render_page(request, "accounts/security.html", context, partial="two_factor", status=status)


@login_required
def security(request):
    if request.method != "POST":
        return _security_page(request)
    confirmed = totp_device_confirmed(user=request.user)
    if confirmed is not None and (refusal := _step_up_refusal(request)):
        return refusal  # confirming a new device would replace the current one
    pending = totp_device_pending(user=request.user)
    form = TotpForm(request.POST)
    if pending and form.is_valid():
        if services.totp_device_confirm(
            actor=Actor.from_request(request), device=pending, token=form.cleaned_data["token"]
        ):
            otp_login(request, pending)
            messages.success(request, "Two-factor authentication is on.")
            return _after_action(request, reverse("accounts:security"))
        form.add_error("token", "That code is not valid. Check the time on your phone and try again.")
    return _security_page(request, form=form, status=422 if pending else 200)


@login_required
@require_POST
def totp_start(request):
    """Set up an authenticator; replacing a confirmed one needs a verified session and the password."""
    if totp_device_confirmed(user=request.user) is not None:
        if refusal := _step_up_refusal(request):
            return refusal
        form = CurrentPasswordForm(request.POST, user=request.user, auto_id="id_replace_%s")
        if not form.is_valid():
            return _security_page(request, replace_form=form, status=422)
    services.totp_device_start(user=request.user)
    return _after_action(request, reverse("accounts:security"))


@login_required
@require_POST
def totp_remove(request):
    """Turn two-factor authentication off: a verified session and the current password."""
    if refusal := _step_up_refusal(request):
        return refusal
    form = CurrentPasswordForm(request.POST, user=request.user, auto_id="id_remove_%s")
    if not form.is_valid():
        return _security_page(request, remove_form=form, status=422)
    services.totp_device_remove(actor=Actor.from_request(request), user=request.user)
    messages.success(request, "Two-factor authentication was turned off.")
    return _after_action(request, reverse("accounts:security"))


@login_required
def two_factor(request):
    """Step-up: enter the TOTP code; staff must pass it when REQUIRE_STAFF_2FA is on."""
    device = totp_device_confirmed(user=request.user)
    if device is None:
        messages.warning(request, "Support staff must set up two-factor authentication first.")
        return redirect("accounts:security")
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            return redirect(_safe_next(request, "/"))
        form.add_error("token", "That code is not valid.")
    return render(request, "accounts/two_factor.html", {"form": form, "next": _safe_next(request, "/")})


# The invitation being accepted, between the e-mailed token link and the join page (like Django's
# PasswordResetConfirmView keeps its token out of the form's URL).
INVITATION_SESSION_TOKEN = "_invitation_token"


@require_http_methods(["GET"])
def invitation_accept(request, token: str):
    """The e-mailed link: check the token, keep it in the session and go on to the token-free join page.

    The link is a token link (no-store, no-referrer); under no-referrer a browser posts the page's own form
    with `Origin: null`, which CSRF refuses, so the form lives on the join page instead."""
    invitation = org_services.invitation_by_token(token=token)
    if invitation is None:
        raise Http404
    if not invitation_is_active(invitation):
        context = {"invitation": invitation, "organization": invitation.organization}
        return render(request, "accounts/invitation_invalid.html", context, status=410)
    request.session[INVITATION_SESSION_TOKEN] = token
    return redirect("accounts:invitation_join")


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_join(request):
    """Join the organization of the invitation in the session, creating the account (set a password) if
    there is none."""
    token = request.session.get(INVITATION_SESSION_TOKEN)
    invitation = org_services.invitation_by_token(token=token) if token else None
    if invitation is None:
        request.session.pop(INVITATION_SESSION_TOKEN, None)
        return render(request, "accounts/invitation_missing.html", status=404)
    context = {"invitation": invitation, "organization": invitation.organization}
    if not invitation_is_active(invitation):
        request.session.pop(INVITATION_SESSION_TOKEN, None)
        return render(request, "accounts/invitation_invalid.html", context, status=410)
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        context["email_matches"] = user.email.lower() == invitation.email.lower()
        if request.method == "POST" and context["email_matches"]:
            try:
                org_services.invitation_accept(actor=Actor.from_request(request), token=token, user=user)
            except ValidationError as exc:
                context["error"] = " ".join(exc.messages)
                return render(request, "accounts/invitation_accept.html", context, status=422)
            request.session.pop(INVITATION_SESSION_TOKEN, None)
            messages.success(request, f"Welcome to {invitation.organization.name}.")
            return redirect("organizations:detail", organization_id=invitation.organization_id)
        return render(request, "accounts/invitation_accept.html", context)
    if User.objects.filter(email__iexact=invitation.email).exists():
        context["login_url"] = f"{reverse('accounts:login')}?{urlencode({'next': reverse('accounts:invitation_join')})}"
        return render(request, "accounts/invitation_accept.html", context)
    form = InvitationAcceptForm(request.POST or None, email=invitation.email)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        try:
            membership = org_services.invitation_accept(
                actor=Actor.from_request(request),
                token=token,
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            auth_login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop(INVITATION_SESSION_TOKEN, None)
            messages.success(request, f"Welcome to {invitation.organization.name}.")
            return redirect("organizations:detail", organization_id=invitation.organization_id)
    status = 422 if request.method == "POST" else 200
    return render(request, "accounts/invitation_accept.html", context, status=status)
