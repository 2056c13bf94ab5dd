"""Buyer pages: list per partner with compliance badges, detail with rollup, documents, invitations, VIES."""

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from portal.core.audit import Actor, audit_record
from portal.core.audit_actions import AuditAction
from portal.core.htmx import htmx_partial, render_page
from portal.core.pagination import keyset_page
from portal.core.problems import Problem
from portal.kyc import services
from portal.kyc.access import access_buyer, access_kyc_document, access_self_service_invitation
from portal.kyc.file_types import download_filename
from portal.kyc.forms import BuyerCreateForm, InvitationForm
from portal.kyc.models import DocumentType, ViesResult
from portal.kyc.selectors import buyer_list as select_buyers
from portal.kyc.selectors import buyer_rollup, document_history, invitation_list
from portal.organizations.access import access_organization
from portal.organizations.capabilities import CapabilitySlug
from portal.organizations.models import Membership
from portal.organizations.selectors import organization_capabilities, organization_partners

OPERATOR = Membership.Role.OPERATOR
DETAIL = "kyc/buyer_detail.html"


def _org_context(access) -> dict:
    return {
        "access": access,
        "organization": access.organization,
        "current_organization": access.organization,
        "org_tab": "buyers",
        "can_operate": access.is_operator,
    }


@login_required
@require_GET
def buyer_list(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    organization = access.organization
    partners = list(organization_partners(organization=organization))
    partner_id = request.GET.get("partner") or ""
    selected_partner = next((p for p in partners if str(p.pk) == partner_id), None)
    filterset = select_buyers(access=replace(access, partner=selected_partner), filters=request.GET)
    none = filterset.queryset.none()
    error = None
    try:
        page = keyset_page(filterset.qs if filterset.is_valid() else none, cursor=request.GET.get("cursor"))
    except ValidationError:
        page = keyset_page(none, cursor=None)
        error = "The page link is no longer valid; showing the first page."
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        **_org_context(access),
        "filterset": filterset,
        "partners": partners,
        "selected_partner": selected_partner,
        "page": page,
        "query": params.urlencode(),
        "error": error,
        "form": BuyerCreateForm(organization=organization) if access.is_operator else None,
    }
    return render_page(request, "kyc/buyer_list.html", context, partial="results")


@login_required
@require_POST
def buyer_create(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    form = BuyerCreateForm(request.POST, organization=access.organization)
    if form.is_valid():
        data = form.cleaned_data
        try:
            buyer, created = services.buyer_upsert(
                actor=Actor.from_request(request),
                organization=access.organization,
                partner=data["partner"],
                vat_number=data["vat_number"],
                name=data["name"],
                email=data["email"],
                kyc_level=data["kyc_level"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        except Problem as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Buyer created." if created else "A buyer with this VAT number existed; updated.")
            url = reverse("kyc:buyer_detail", kwargs={"organization_id": organization_id, "buyer_id": buyer.pk})
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    html = render_to_string("kyc/buyer_list.html#create", {**_org_context(access), "form": form}, request=request)
    return HttpResponse(html, status=200 if request.htmx else 422)


FIELD_NAMES = {
    "vatNumber": "vat_number",
    "countryCode": "vat_number",
    "kycLevel": "kyc_level",
    "name": "name",
    "email": "email",
    "expiresInDays": "expires_in_days",
    "locale": "locale",
}


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
        target = FIELD_NAMES.get(field)
        for message in errors:
            form.add_error(target if target in form.fields else None, message)


def _detail_context(request, access, buyer, **extra) -> dict:
    capabilities = organization_capabilities(organization=access.organization)
    rollup = buyer_rollup(buyer=buyer)
    present = {d.type: d for d in rollup.present}
    invitations = list(invitation_list(buyer=buyer)[:20])
    return {
        **_org_context(access),
        "buyer": buyer,
        "rollup": rollup,
        "rollup_items": [
            {"type": t, "label": DocumentType(t).label, "document": present.get(t)} for t in rollup.required
        ],
        "history": document_history(buyer=buyer),
        "invitations": invitations,
        "invitation_form": extra.pop("invitation_form", None)
        or InvitationForm(initial={"email": buyer.email, "expires_in_days": 7}),
        "can_invite": access.is_operator and CapabilitySlug.KYC_SELF_SERVICE_INVITATIONS in capabilities,
        "can_upgrade": access.is_operator and CapabilitySlug.KYC_LEVEL_B in capabilities and buyer.kyc_level == "A",
        "invitations_live": any(i.is_active for i in invitations),
        "vies_pending": buyer.vies_result == ViesResult.PENDING,
        **extra,
    }


@login_required
@require_GET
def buyer_detail(request, organization_id, buyer_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    buyer = access_buyer(access=access, buyer_id=buyer_id)
    return render(request, DETAIL, _detail_context(request, access, buyer))


@login_required
@require_GET
def buyer_vies(request, organization_id, buyer_id):
    """Polled while VIES is PENDING; a final answer is swapped in and stops the polling (HTTP 286)."""
    access = access_organization(user=request.user, organization_id=organization_id)
    buyer = access_buyer(access=access, buyer_id=buyer_id)
    context = _detail_context(request, access, buyer)
    html = render_to_string(f"{DETAIL}#vies", context, request=request)
    if buyer.vies_result == ViesResult.PENDING:
        return HttpResponse(html)
    html += render_to_string(f"{DETAIL}#rollup", {**context, "oob": True}, request=request)
    return HttpResponseStopPolling(html)


@login_required
@require_GET
def buyer_invitations(request, organization_id, buyer_id):
    """Polled while an invitation is live, so SENT → OPENED → COMPLETED shows up without a reload."""
    access = access_organization(user=request.user, organization_id=organization_id)
    buyer = access_buyer(access=access, buyer_id=buyer_id)
    context = _detail_context(request, access, buyer)
    html = render_to_string(f"{DETAIL}#invitation_rows", context, request=request)
    if context["invitations_live"]:
        return HttpResponse(html)
    return HttpResponseStopPolling(html)


def _after_action(request, access, buyer, partials: tuple[str, ...], **extra):
    """HTMX: the changed partials (the first one in place, the rest out of band) plus flash; else a redirect."""
    if not htmx_partial(request):
        return redirect("kyc:buyer_detail", organization_id=access.organization.pk, buyer_id=buyer.pk)
    buyer.refresh_from_db()
    context = _detail_context(request, access, buyer, **extra)
    html = render_to_string(f"{DETAIL}#{partials[0]}", context, request=request)
    for name in partials[1:]:
        html += render_to_string(f"{DETAIL}#{name}", {**context, "oob": True}, request=request)
    html += render_to_string("components/flash_oob.html", {}, request=request)
    return HttpResponse(html)


def _problem_message(request, exc: Exception) -> None:
    if isinstance(exc, Problem):
        messages.error(request, exc.detail)
    elif isinstance(exc, ValidationError):
        messages.error(request, " ".join(exc.messages))


@login_required
@require_POST
def buyer_upgrade(request, organization_id, buyer_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    buyer = access_buyer(access=access, buyer_id=buyer_id)
    try:
        services.buyer_update(actor=Actor.from_request(request), buyer=buyer, changes={"kyc_level": "B"})
        messages.success(request, "Upgraded to KYC level B.")
    except (Problem, ValidationError) as exc:
        _problem_message(request, exc)
    if htmx_partial(request):
        return HttpResponseClientRedirect(
            reverse("kyc:buyer_detail", kwargs={"organization_id": organization_id, "buyer_id": buyer_id})
        )
    return redirect("kyc:buyer_detail", organization_id=organization_id, buyer_id=buyer_id)


@login_required
@require_POST
def document_archive(request, organization_id, buyer_id, document_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    document = access_kyc_document(access=access, buyer_id=buyer_id, document_id=document_id)
    buyer = document.buyer
    services.document_archive(actor=Actor.from_request(request), document=document)
    messages.success(request, f"Archived {document.filename}.")
    return _after_action(request, access, buyer, ("documents", "rollup"))


@login_required
@require_GET
def document_download(request, organization_id, buyer_id, document_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    document = access_kyc_document(access=access, buyer_id=buyer_id, document_id=document_id)
    audit_record(
        actor=Actor.from_request(request),
        action=AuditAction.KYC_DOCUMENT_DOWNLOADED,
        target=document,
        organization=access.organization,
        target_label=f"{document.type} {document.filename}",
    )
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=download_filename(document.filename, document.content_type),
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def invitation_send(request, organization_id, buyer_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    buyer = access_buyer(access=access, buyer_id=buyer_id)
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            services.invitation_create(
                actor=Actor.from_request(request),
                buyer=buyer,
                email=form.cleaned_data["email"],
                locale=form.cleaned_data["locale"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        except Problem as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Invitation sent.")
            return _after_action(request, access, buyer, ("invitations",))
    if not htmx_partial(request):
        return render(request, DETAIL, _detail_context(request, access, buyer, invitation_form=form), status=422)
    return _after_action(request, access, buyer, ("invitations",), invitation_form=form)


def _invitation_action(request, organization_id, buyer_id, invitation_id, action):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    invitation = access_self_service_invitation(access=access, buyer_id=buyer_id, invitation_id=invitation_id)
    buyer = invitation.buyer
    try:
        if action == "resend":
            services.invitation_resend(actor=Actor.from_request(request), invitation=invitation)
            messages.success(request, "A new link was sent; the previous one no longer works.")
        else:
            services.invitation_revoke(actor=Actor.from_request(request), invitation=invitation)
            messages.success(request, "Invitation revoked.")
    except (Problem, ValidationError) as exc:
        _problem_message(request, exc)
    return _after_action(request, access, buyer, ("invitations",))


@login_required
@require_POST
def invitation_resend(request, organization_id, buyer_id, invitation_id):
    return _invitation_action(request, organization_id, buyer_id, invitation_id, "resend")


@login_required
@require_POST
def invitation_revoke(request, organization_id, buyer_id, invitation_id):
    return _invitation_action(request, organization_id, buyer_id, invitation_id, "revoke")
