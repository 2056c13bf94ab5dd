"""The console's pages: home, the docs and problem pages, and the audit log (per organization and support-wide)."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.console.docs import DOC_PAGES, DOC_PAGES_BY_SLUG, doc_render
from portal.console.selectors import audit_list
from portal.core.audit_actions import AuditAction
from portal.core.csvsafe import csv_rows
from portal.core.htmx import render_page
from portal.core.pagination import keyset_page
from portal.core.problems import PROBLEM_TYPES, PROBLEMS_BY_SLUG
from portal.organizations.access import access_organization, require_support
from portal.organizations.models import Membership
from portal.organizations.selectors import organization_list_for_user
from portal.webhooks.events import EVENT_TYPES, example_payload

AUDIT_PAGE_SIZE = 50


def home(request):
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if request.user.is_support:
        return redirect("organizations:list")
    organization = organization_list_for_user(user=request.user).first()
    if organization is None:
        return render(request, "core/no_organization.html")
    return redirect("organizations:detail", organization_id=organization.pk)


def problem_list(request):
    return render(request, "core/problem_list.html", {"problems": PROBLEM_TYPES})


def problem_detail(request, slug: str):
    problem = PROBLEMS_BY_SLUG.get(slug)
    if problem is None:
        raise Http404
    return render(request, "core/problem_detail.html", {"problem": problem, "problems": PROBLEM_TYPES})


def _docs_nav():
    return {"doc_pages": DOC_PAGES, "nav_section": "docs"}


def docs_index(request):
    return render(request, "core/docs_index.html", _docs_nav())


def audit_action_list(request):
    """The AuditAction catalog, so every name in an audit log reads as a sentence."""
    return render(request, "core/audit_action_list.html", {**_docs_nav(), "audit_actions": list(AuditAction)})


def docs_page(request, slug: str):
    page = DOC_PAGES_BY_SLUG.get(slug)
    if page is None:
        raise Http404
    if slug == "events":
        return docs_events(request)
    html, toc = doc_render(page)
    return render(request, "core/docs_page.html", {**_docs_nav(), "page": page, "html": html, "toc": toc})


def docs_events(request):
    """The event catalog, rendered from portal/webhooks/events.py (the same catalog the API serves)."""
    events = [
        {"event": event, "example": json.dumps(example_payload(event), indent=2, ensure_ascii=False)}
        for event in EVENT_TYPES
    ]
    segments = sorted({event.segment for event in EVENT_TYPES})
    return render(
        request,
        "core/docs_events.html",
        {**_docs_nav(), "page": DOC_PAGES_BY_SLUG["events"], "events": events, "segments": segments},
    )


# Audit log ------------------------------------------------------------------------------------


def _audit_page(request, *, filterset, template: str, context: dict):
    qs = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    try:
        page = keyset_page(
            qs, cursor=request.GET.get("cursor"), limit=AUDIT_PAGE_SIZE, ordering=("-occurred_at", "-id")
        )
    except ValidationError as exc:
        raise Http404 from exc
    params = request.GET.copy()
    params.pop("cursor", None)
    return render_page(
        request,
        template,
        {
            **context,
            "filterset": filterset,
            "entries": page.items,
            "next_cursor": page.next_cursor,
            "query": params.urlencode(),
            "is_first_page": not request.GET.get("cursor"),
        },
        partial="results",
    )


def _audit_csv(filterset, filename: str) -> StreamingHttpResponse:
    if not filterset.is_valid():
        raise Http404
    header = [
        "occurred_at",
        "organization",
        "actor",
        "action",
        "target_type",
        "target_id",
        "target",
        "ip",
        "before",
        "after",
    ]
    rows = (
        [
            entry.occurred_at.isoformat(),
            entry.organization.slug if entry.organization else "",
            entry.actor_label,
            entry.action,
            entry.target_type,
            entry.target_id,
            entry.target_label,
            entry.ip_address or "",
            "" if entry.before is None else _json(entry.before),
            "" if entry.after is None else _json(entry.after),
        ]
        for entry in filterset.qs.iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@login_required
@require_GET
def audit_page(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=Membership.Role.ADMIN)
    filterset = audit_list(access=access, filters=request.GET)
    return _audit_page(
        request,
        filterset=filterset,
        template="organizations/organization_audit.html",
        context={
            "access": access,
            "organization": access.organization,
            "current_organization": access.organization,
            "org_tab": "audit",
            "nav_section": "organizations" if access.is_support else "",
            "export_url": reverse("organizations:audit_export", kwargs={"organization_id": access.organization.pk}),
        },
    )


@login_required
@require_GET
def audit_export(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=Membership.Role.ADMIN)
    filterset = audit_list(access=access, filters=request.GET)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return _audit_csv(filterset, f"audit-{access.organization.slug}-{stamp}.csv")


@login_required
@require_GET
def support_audit_page(request):
    require_support(request.user)
    filterset = audit_list(access=None, filters=request.GET)
    return _audit_page(
        request,
        filterset=filterset,
        template="organizations/support_audit.html",
        context={"nav_section": "audit", "export_url": reverse("organizations:audit_global_export")},
    )


@login_required
@require_GET
def support_audit_export(request):
    require_support(request.user)
    filterset = audit_list(access=None, filters=request.GET)
    return _audit_csv(filterset, f"audit-all-{timezone.now():%Y%m%d-%H%M}.csv")
