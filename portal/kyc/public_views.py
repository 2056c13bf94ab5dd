"""The buyer's upload page at the self-service link: no login, branded, in the buyer's language."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_http_methods

from portal.core.audit import client_ip
from portal.core.htmx import htmx_partial
from portal.core.problems import Problem
from portal.kyc import services
from portal.kyc.emails import brand_color, brand_logo_url
from portal.kyc.models import DocumentType, KycDocument, SelfServiceInvitation
from portal.kyc.policy import (
    MAX_DOCUMENT_BYTES,
    REQUIRED_DOCUMENTS,
    max_documents_per_invitation,
    upload_request_too_large,
)
from portal.kyc.ratelimit import public_link_allowed, public_link_miss
from portal.kyc.selectors import buyer_rollup

TEMPLATE = "kyc/public_upload.html"


def _language(request, invitation) -> str:
    chosen = request.GET.get("lang")
    languages = dict(settings.LANGUAGES)
    if chosen in languages:
        return chosen
    if invitation is not None and invitation.locale in languages:
        return invitation.locale
    return translation.get_language_from_request(request) or settings.LANGUAGE_CODE


def _context(invitation, language: str, **extra) -> dict:
    context = {"LANGUAGE_CODE": language, "invitation": invitation, "languages": settings.LANGUAGES, **extra}
    if invitation is not None:
        buyer = invitation.buyer
        rollup = buyer_rollup(buyer=buyer)
        present = {d.type for d in rollup.present}
        required = REQUIRED_DOCUMENTS[buyer.kyc_level]
        received = list(
            KycDocument.objects.filter(invitation=invitation, source=KycDocument.Source.SELF_SERVICE).order_by(
                "-created_at"
            )
        )
        limit = max_documents_per_invitation()
        context.update(
            {
                "buyer": buyer,
                "partner_name": buyer.partner.legal_name,
                "organization": invitation.organization,
                "brand_color": brand_color(invitation.organization),
                "logo_url": brand_logo_url(invitation.organization),
                "checklist": [{"type": t, "label": DocumentType(t).label, "done": t in present} for t in required],
                "upload_types": [(t, DocumentType(t).label) for t in (*required, DocumentType.OTHER)],
                "received": received,
                "document_limit": limit,
                "limit_reached": len(received) >= limit,  # every document of a link is a self-service one
                "max_mib": MAX_DOCUMENT_BYTES // (1024 * 1024),
                "all_done": not rollup.missing,
            }
        )
    return context


def _state_page(request, invitation, state: str, language: str, status: int):
    with translation.override(language):
        return render(request, "kyc/public_state.html", _context(invitation, language, state=state), status=status)


@require_http_methods(["GET", "POST"])
def upload_page(request, token: str):
    ip = client_ip(request)
    language = _language(request, None)
    if not public_link_allowed(ip):
        with translation.override(language):
            response = render(
                request, "kyc/public_state.html", _context(None, language, state="rate_limited"), status=429
            )
        response["Retry-After"] = "600"
        return response
    invitation = services.invitation_for_token(token=token)
    if invitation is None:
        public_link_miss(ip)
        return _state_page(request, None, "invalid", language, 404)
    language = _language(request, invitation)
    invitation = services.invitation_open(invitation=invitation)
    if invitation.status == SelfServiceInvitation.Status.REVOKED:
        return _state_page(request, invitation, "revoked", language, 410)
    if invitation.status == SelfServiceInvitation.Status.EXPIRED:
        return _state_page(request, invitation, "expired", language, 410)
    if invitation.status == SelfServiceInvitation.Status.COMPLETED and request.method == "GET":
        return _state_page(request, invitation, "completed", language, 200)
    error = None
    status = 200
    if request.method == "POST" and upload_request_too_large(request):
        error, status = "payload-too-large", 413
    elif request.method == "POST":
        try:
            services.self_service_upload(
                invitation=invitation,
                document_type=request.POST.get("type", ""),
                upload=request.FILES.get("file"),
                ip=ip,
            )
        except Problem as exc:
            error, status = exc.problem.slug, exc.status
        except ValidationError as exc:
            error, status = ("invalid_type" if "type" in getattr(exc, "message_dict", {}) else "no_file"), 422
        invitation.refresh_from_db()
        if invitation.status == SelfServiceInvitation.Status.REVOKED:
            return _state_page(request, invitation, "revoked", language, 410)
        if invitation.status == SelfServiceInvitation.Status.EXPIRED:
            return _state_page(request, invitation, "expired", language, 410)
        if invitation.status == SelfServiceInvitation.Status.COMPLETED and error == "invitation-not-active":
            return _state_page(request, invitation, "completed", language, 200)
    with translation.override(language):
        context = _context(invitation, language, error=error, uploaded=request.method == "POST" and not error)
        if htmx_partial(request):
            # HTMX swaps 2xx only: the error is shown inline in the fragment.
            return render(request, f"{TEMPLATE}#progress", context)
        return render(request, TEMPLATE, context, status=status)
