from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts import services
from portal.accounts.forms import InvitationAcceptForm, LoginForm, TotpForm
from portal.accounts.models import User
from portal.core.audit import Actor
from portal.organizations import services as org_services


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:security")

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@login_required
def security(request):
    confirmed = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    pending = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    form = TotpForm(request.POST or None)
    if request.method == "POST" and pending and form.is_valid():
        if services.totp_device_confirm(
            actor=Actor.from_request(request), device=pending, token=form.cleaned_data["token"]
        ):
            otp_login(request, pending)
            messages.success(request, "Two-factor authentication is on.")
            return redirect("accounts:security")
        form.add_error("token", "That code is not valid. Check the time on your phone and try again.")
    qr_svg = None
    if pending:
        qr_svg = segno.make(pending.config_url, error="m").svg_data_uri(scale=4)
    return render(
        request,
        "accounts/security.html",
        {"confirmed": confirmed, "pending": pending, "form": form, "qr_svg": qr_svg},
    )


@login_required
@require_POST
def totp_start(request):
    services.totp_device_start(user=request.user)
    return redirect("accounts:security")


@login_required
@require_POST
def totp_remove(request):
    services.totp_device_remove(actor=Actor.from_request(request), user=request.user)
    messages.success(request, "Two-factor authentication was turned off.")
    return redirect("accounts:security")


@login_required
def two_factor(request):
    """Step-up: enter the TOTP code; staff must pass it when REQUIRE_STAFF_2FA is on."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
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


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    """The e-mailed link: join the organization, creating the account (set a password) if there is none."""
    invitation = org_services.invitation_by_token(token=token)
    if invitation is None:
        raise Http404
    context = {"invitation": invitation, "organization": invitation.organization, "token": token}
    if not org_services.invitation_is_active(invitation):
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
            messages.success(request, f"Welcome to {invitation.organization.name}.")
            return redirect("organizations:detail", organization_id=invitation.organization_id)
        return render(request, "accounts/invitation_accept.html", context)
    if User.objects.filter(email__iexact=invitation.email).exists():
        context["login_url"] = f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}"
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
            messages.success(request, f"Welcome to {invitation.organization.name}.")
            return redirect("organizations:detail", organization_id=invitation.organization_id)
    status = 422 if request.method == "POST" else 200
    return render(request, "accounts/invitation_accept.html", context, status=status)
