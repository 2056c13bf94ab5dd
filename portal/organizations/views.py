"""Support console and dealer pages for organizations: check access, call a service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from portal.core.audit import Actor
from portal.core.htmx import htmx_partial, render_page
from portal.core.pagination import keyset_page
from portal.organizations import services
from portal.organizations.access import (
    OrganizationAccess,
    access_capability_grant,
    access_dpa,
    access_member_invitation,
    access_membership,
    access_organization,
    access_partner_authorization,
    require_support,
)
from portal.organizations.capabilities import CAPABILITIES, CAPABILITIES_BY_SLUG
from portal.organizations.filters import OrganizationFilterSet
from portal.organizations.forms import (
    CapabilityGrantForm,
    DpaForm,
    InvitationForm,
    MembershipRoleForm,
    OrganizationForm,
    PartnerAuthorizeForm,
    PartnerCreateForm,
    RevokeForm,
    SuspensionForm,
)
from portal.organizations.models import IntegrationOrganization, Membership
from portal.organizations.policy import membership_is_last_admin
from portal.organizations.selectors import (
    organization_active_dpa,
    organization_capability_grants,
    organization_capability_history,
    organization_dpa_history,
    organization_list,
    organization_members,
    organization_partner_authorizations,
    organization_pending_invitations,
    partners_authorizable,
)

ORG_LIST_PAGE_SIZE = 25


# Helpers ---------------------------------------------------------------------------------------


def _add_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where the form has it, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _flash_oob(request) -> str:
    return render_to_string("components/flash_oob.html", request=request)


def _section(request, template: str, context: dict, *, status: int = 200):
    """After an HTMX action: the page's `section` partial plus the flash messages out of band."""
    html = render_to_string(f"{template}#section", context, request=request) + _flash_oob(request)
    return HttpResponse(html, status=status)


def _done(request, url: str):
    """Navigate after a successful create: a full page load (HX-Redirect) for HTMX, or a plain redirect.

    Not HX-Location: its follow-up request carries HX-Request and would get a partial as the whole body.
    """
    if htmx_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _org_context(access: OrganizationAccess, tab: str, **extra) -> dict:
    return {
        "access": access,
        "organization": access.organization,
        "current_organization": access.organization,
        "org_tab": tab,
        "nav_section": "organizations" if access.is_support else "",
        **extra,
    }


def _require_support_access(access: OrganizationAccess) -> None:
    """Support-only actions inside an organization: its members get 403 (they may see it, not change it)."""
    if not access.is_support:
        raise PermissionDenied


def _org_url(name: str, access: OrganizationAccess) -> str:
    return reverse(name, kwargs={"organization_id": access.organization.pk})


# Organization list and create (support) ---------------------------------------------------------


@login_required
@require_GET
def organization_list_view(request):
    require_support(request.user)
    filterset = OrganizationFilterSet(request.GET or None, queryset=organization_list(user=request.user))
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    try:
        page = keyset_page(qs, cursor=request.GET.get("cursor"), limit=ORG_LIST_PAGE_SIZE, ordering=("name", "id"))
    except ValidationError as exc:
        raise Http404 from exc
    params = request.GET.copy()
    params.pop("cursor", None)
    return render_page(
        request,
        "organizations/organization_list.html",
        {
            "filterset": filterset,
            "organizations": page.items,
            "next_cursor": page.next_cursor,
            "query": params.urlencode(),
            "is_first_page": not request.GET.get("cursor"),
            "nav_section": "organizations",
        },
        partial="results",
    )


@login_required
@require_http_methods(["GET", "POST"])
def organization_create(request):
    require_support(request.user)
    form = OrganizationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Organization “{organization.name}” was created. Next: register its DPA.")
            return _done(request, reverse("organizations:detail", kwargs={"organization_id": organization.pk}))
    status = 422 if request.method == "POST" else 200
    return render_page(
        request,
        "organizations/organization_create.html",
        {"form": form, "nav_section": "organizations"},
        partial="form",
        status=status,
    )


# Overview -------------------------------------------------------------------------------------


def _overview_context(access: OrganizationAccess, **extra) -> dict:
    organization = access.organization
    grants = organization_capability_grants(organization=organization)
    return _org_context(
        access,
        "overview",
        dpa=organization_active_dpa(organization=organization),
        authorizations=[
            a for a in organization_partner_authorizations(organization=organization) if a.revoked_at is None
        ],
        capabilities=[{"capability": c, "grant": grants.get(c.slug)} for c in CAPABILITIES],
        granted_count=len(grants),
        member_count=Membership.objects.filter(organization=organization).count(),
        **{"status_form": SuspensionForm() if access.is_support else None, **extra},
    )


def _organization_status_action(request, organization_id, *, suspend: bool):
    """Suspend or reactivate (support only, a reason required): a dialog on the overview, a page without JS."""
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    form = SuspensionForm(request.POST)
    if form.is_valid():
        action = services.organization_suspend if suspend else services.organization_reactivate
        try:
            action(actor=Actor.from_request(request), organization=access.organization, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                "The organization is suspended: its clients get no token and every API call answers 403."
                if suspend
                else "The organization is active again: its clients can call the API.",
            )
            return _done(request, _org_url("organizations:detail", access))
    access.organization.refresh_from_db()
    context = _overview_context(access, status_form=form)
    if htmx_partial(request):
        return render(request, "organizations/organization_detail.html#status-form", context, status=422)
    return render(request, "organizations/organization_status.html", context, status=422)


@login_required
@require_POST
def organization_suspend(request, organization_id):
    return _organization_status_action(request, organization_id, suspend=True)


@login_required
@require_POST
def organization_reactivate(request, organization_id):
    return _organization_status_action(request, organization_id, suspend=False)


@login_required
@require_GET
def organization_detail(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    return render_page(request, "organizations/organization_detail.html", _overview_context(access), partial="section")


@login_required
@require_http_methods(["GET", "POST"])
def organization_edit(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    organization = access.organization
    if request.method == "GET":
        form = OrganizationForm.for_organization(organization)
        if htmx_partial(request):
            return render(
                request,
                "organizations/organization_detail.html#settings_form",
                {**_org_context(access, "overview"), "form": form},
            )
        return render(
            request, "organizations/organization_edit.html", {**_org_context(access, "overview"), "form": form}
        )
    form = OrganizationForm(request.POST, request.FILES, suspended=organization.is_suspended)
    if form.is_valid():
        try:
            organization = services.organization_update(
                actor=Actor.from_request(request), organization=organization, **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Organization settings saved.")
            return _done(request, reverse("organizations:detail", kwargs={"organization_id": organization.pk}))
    context = {**_org_context(access, "overview"), "form": form}
    if htmx_partial(request):
        return render(request, "organizations/organization_detail.html#settings_form", context, status=422)
    return render(request, "organizations/organization_edit.html", context, status=422)


# DPA ------------------------------------------------------------------------------------------


def _dpa_context(access: OrganizationAccess, *, form=None, revoke_form=None) -> dict:
    organization = access.organization
    history = list(organization_dpa_history(organization=organization))
    active = next((d for d in history if d.revoked_at is None), None)
    if access.is_support:
        form = form or DpaForm(initial={"signed_at": timezone.now().replace(second=0, microsecond=0)})
        revoke_form = revoke_form or RevokeForm()
    return _org_context(access, "dpa", dpa=active, history=history, form=form, revoke_form=revoke_form)


@login_required
@require_GET
def dpa_page(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    return render_page(request, "organizations/organization_dpa.html", _dpa_context(access), partial="section")


@login_required
@require_POST
def dpa_register(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    form = DpaForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            dpa = services.dpa_register(
                actor=Actor.from_request(request), organization=access.organization, **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"DPA version {dpa.version} is registered: the API gate is open.")
            return _done(request, _org_url("organizations:dpa", access))
    return _respond_invalid(request, "organizations/organization_dpa.html", _dpa_context(access, form=form))


@login_required
@require_POST
def dpa_revoke(request, organization_id, dpa_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    dpa = access_dpa(access=access, dpa_id=dpa_id)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.dpa_revoke(actor=Actor.from_request(request), dpa=dpa, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.warning(request, "The DPA was revoked: API calls are rejected with 403 dpa-not-accepted.")
            return _respond_ok(request, "organizations/organization_dpa.html", _dpa_context(access), access, "dpa")
    return _respond_invalid(request, "organizations/organization_dpa.html", _dpa_context(access, revoke_form=form))


@login_required
@require_GET
def dpa_document(request, organization_id, dpa_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=Membership.Role.ADMIN)
    dpa = access_dpa(access=access, dpa_id=dpa_id)
    if not dpa.document:
        raise Http404
    return FileResponse(
        dpa.document.open("rb"),
        as_attachment=True,
        filename=f"{access.organization.slug}-dpa-{dpa.version}.pdf",
        content_type="application/pdf",
    )


def _respond_ok(request, template: str, context: dict, access: OrganizationAccess, tab_url: str):
    """After a row action: swap the section (HTMX) or redirect back to the tab (plain form)."""
    if htmx_partial(request):
        return _section(request, template, context)
    return redirect(_org_url(f"organizations:{tab_url}", access))


def _respond_invalid(request, template: str, context: dict):
    if htmx_partial(request):
        return _section(request, template, context, status=422)
    return render(request, template, context, status=422)


# Partners -------------------------------------------------------------------------------------


def _partners_context(access: OrganizationAccess, *, authorize_form=None, create_form=None, revoke_form=None):
    organization = access.organization
    if access.is_support:
        authorize_form = authorize_form or PartnerAuthorizeForm(
            partners=partners_authorizable(organization=organization)
        )
        create_form = create_form or PartnerCreateForm()
    authorizations = list(organization_partner_authorizations(organization=organization))
    return _org_context(
        access,
        "partners",
        active=[a for a in authorizations if a.revoked_at is None],
        revoked=[a for a in authorizations if a.revoked_at is not None],
        authorize_form=authorize_form,
        create_form=create_form,
        revoke_form=revoke_form,
    )


@login_required
@require_GET
def partners_page(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    return render_page(
        request, "organizations/organization_partners.html", _partners_context(access), partial="section"
    )


@login_required
@require_POST
def partner_authorize(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    form = PartnerAuthorizeForm(request.POST, partners=partners_authorizable(organization=access.organization))
    template = "organizations/organization_partners.html"
    if form.is_valid():
        partner = form.cleaned_data["partner"]
        try:
            services.partner_authorize(
                actor=Actor.from_request(request), organization=access.organization, partner=partner
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{partner.legal_name} is authorized.")
            return _respond_ok(request, template, _partners_context(access), access, "partners")
    return _respond_invalid(request, template, _partners_context(access, authorize_form=form))


@login_required
@require_POST
def partner_create(request, organization_id):
    """Create a partner (seller) and authorize it for this organization in one step."""
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    form = PartnerCreateForm(request.POST)
    template = "organizations/organization_partners.html"
    if form.is_valid():
        actor = Actor.from_request(request)
        try:
            partner = services.partner_create(actor=actor, organization=access.organization, **form.cleaned_data)
            services.partner_authorize(actor=actor, organization=access.organization, partner=partner)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{partner.legal_name} was created and authorized.")
            return _done(request, _org_url("organizations:partners", access))
    return _respond_invalid(request, template, _partners_context(access, create_form=form))


@login_required
@require_POST
def partner_authorization_revoke(request, organization_id, authorization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    authorization = access_partner_authorization(access=access, authorization_id=authorization_id)
    form = RevokeForm(request.POST)
    template = "organizations/organization_partners.html"
    if form.is_valid():
        try:
            services.partner_authorization_revoke(
                actor=Actor.from_request(request), authorization=authorization, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.warning(request, f"{authorization.partner.legal_name} is no longer authorized.")
            return _respond_ok(request, template, _partners_context(access), access, "partners")
    form.revoke_target = authorization.pk
    return _respond_invalid(request, template, _partners_context(access, revoke_form=form))


# Capabilities ---------------------------------------------------------------------------------


def _capabilities_context(access: OrganizationAccess, *, error_for: str | None = None, error_form=None) -> dict:
    grants = organization_capability_grants(organization=access.organization)
    rows = []
    for capability in CAPABILITIES:
        grant = grants.get(capability.slug)
        form = None
        if access.is_support:
            if error_for == capability.slug and error_form is not None:
                form = error_form
            elif grant is None:
                form = CapabilityGrantForm(prefix=capability.slug)
            else:
                form = RevokeForm(prefix=capability.slug)
        rows.append({"capability": capability, "grant": grant, "form": form})
    return _org_context(
        access,
        "capabilities",
        rows=rows,
        history=organization_capability_history(organization=access.organization),
    )


@login_required
@require_GET
def capabilities_page(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    return render_page(
        request, "organizations/organization_capabilities.html", _capabilities_context(access), partial="section"
    )


@login_required
@require_POST
def capability_grant(request, organization_id, capability):
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    if capability not in CAPABILITIES_BY_SLUG:
        raise Http404
    form = CapabilityGrantForm(request.POST, prefix=capability)
    template = "organizations/organization_capabilities.html"
    if form.is_valid():
        try:
            services.capability_grant(
                actor=Actor.from_request(request),
                organization=access.organization,
                capability=capability,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{CAPABILITIES_BY_SLUG[capability].title} granted.")
            return _respond_ok(request, template, _capabilities_context(access), access, "capabilities")
    return _respond_invalid(request, template, _capabilities_context(access, error_for=capability, error_form=form))


@login_required
@require_POST
def capability_revoke(request, organization_id, grant_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    _require_support_access(access)
    grant = access_capability_grant(access=access, grant_id=grant_id)
    form = RevokeForm(request.POST, prefix=grant.capability)
    template = "organizations/organization_capabilities.html"
    if form.is_valid():
        try:
            services.capability_revoke(
                actor=Actor.from_request(request), grant=grant, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.warning(request, f"{CAPABILITIES_BY_SLUG[grant.capability].title} revoked.")
            return _respond_ok(request, template, _capabilities_context(access), access, "capabilities")
    return _respond_invalid(
        request, template, _capabilities_context(access, error_for=grant.capability, error_form=form)
    )


# Members and invitations ----------------------------------------------------------------------


def _members_context(access: OrganizationAccess, *, invite_form=None, row_errors: dict | None = None) -> dict:
    organization = access.organization
    members = list(organization_members(organization=organization))
    admin_count = sum(1 for m in members if m.role == Membership.Role.ADMIN)
    if access.is_admin:
        invite_form = invite_form or InvitationForm()
    return _org_context(
        access,
        "members",
        members=members,
        last_admin_ids={m.pk for m in members if membership_is_last_admin(membership=m, admin_count=admin_count)},
        invitations=list(organization_pending_invitations(organization=organization)) if access.is_admin else [],
        invite_form=invite_form,
        role_choices=Membership.Role.choices,
        row_errors=row_errors or {},
        now=timezone.now(),
    )


@login_required
@require_GET
def members_page(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    return render_page(request, "organizations/organization_members.html", _members_context(access), partial="section")


@login_required
@require_POST
def invitation_create(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=Membership.Role.ADMIN)
    form = InvitationForm(request.POST)
    template = "organizations/organization_members.html"
    if form.is_valid():
        try:
            issued = services.invitation_create(
                actor=Actor.from_request(request), organization=access.organization, **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if issued.invitation.send_error:
                messages.error(request, _SEND_FAILED.format(email=issued.invitation.email))
            else:
                messages.success(
                    request, f"Invitation sent to {issued.invitation.email}; the link is valid for 7 days."
                )
            return _respond_ok(request, template, _members_context(access), access, "members")
    return _respond_invalid(request, template, _members_context(access, invite_form=form))


_SEND_FAILED = "The invitation for {email} is saved, but its e-mail could not be sent; resend it shortly."


def _members_action(request, access: OrganizationAccess, action, *, success: str, row_key=None, failure=None):
    template = "organizations/organization_members.html"
    try:
        result = action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        if htmx_partial(request):
            return _section(request, template, _members_context(access, row_errors={row_key: exc.messages}), status=422)
        return redirect(_org_url("organizations:members", access))
    problem = failure(result) if failure is not None else None
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, success)
    return _respond_ok(request, template, _members_context(access), access, "members")


@login_required
@require_POST
def membership_role(request, organization_id, membership_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=Membership.Role.ADMIN)
    membership = access_membership(access=access, membership_id=membership_id)
    form = MembershipRoleForm(request.POST)
    role = form.cleaned_data["role"] if form.is_valid() else ""
    return _members_action(
        request,
        access,
        lambda: services.membership_role_change(actor=Actor.from_request(request), membership=membership, role=role),
        success=f"{membership.user.email} is now {role}.",
        row_key=membership.pk,
    )


@login_required
@require_POST
def membership_remove(request, organization_id, membership_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=Membership.Role.ADMIN)
    membership = access_membership(access=access, membership_id=membership_id)
    return _members_action(
        request,
        access,
        lambda: services.membership_remove(actor=Actor.from_request(request), membership=membership),
        success=f"{membership.user.email} was removed from the organization.",
        row_key=membership.pk,
    )


@login_required
@require_POST
def invitation_resend(request, organization_id, invitation_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=Membership.Role.ADMIN)
    invitation = access_member_invitation(access=access, invitation_id=invitation_id)
    return _members_action(
        request,
        access,
        lambda: services.invitation_resend(actor=Actor.from_request(request), invitation=invitation),
        success=f"A new invitation link was sent to {invitation.email}.",
        row_key=invitation.pk,
        failure=lambda issued: _SEND_FAILED.format(email=invitation.email) if issued.invitation.send_error else None,
    )


@login_required
@require_POST
def invitation_revoke(request, organization_id, invitation_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=Membership.Role.ADMIN)
    invitation = access_member_invitation(access=access, invitation_id=invitation_id)
    return _members_action(
        request,
        access,
        lambda: services.invitation_revoke(actor=Actor.from_request(request), invitation=invitation),
        success=f"The invitation for {invitation.email} was revoked.",
        row_key=invitation.pk,
    )


# Logos ----------------------------------------------------------------------------------------


@require_GET
def organization_logo(request, name: str):
    """An organization's current logo (public: it brands buyer e-mails and pages); nothing else in media."""
    organization = IntegrationOrganization.objects.filter(logo=f"logos/{name}").only("logo").first()
    if organization is None:
        raise Http404
    with organization.logo.open("rb") as handle:
        head = handle.read(8)
    content_type = "image/png" if head.startswith(b"\x89PNG") else "image/jpeg"
    response = FileResponse(organization.logo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=3600"
    return response
