"""API client pages: thin views over the same services the API uses; secrets are shown exactly once."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from portal.clients import services
from portal.clients.access import access_client, access_client_secret, can_manage_clients, can_rotate_secrets, require
from portal.clients.forms import ClientCreateForm, ClientPauseForm, SecretRotateForm
from portal.clients.models import ApiClient
from portal.clients.selectors import client_list_for_organization, client_usage_24h
from portal.core.audit import Actor
from portal.core.htmx import htmx_partial, render_page
from portal.core.models import AuditEntry
from portal.gateway.ratelimit import organization_budget_peek
from portal.organizations.access import access_organization

CHART_WIDTH = 240


def _sparkline(points) -> list[dict]:
    """Bars for components/sparkline.html: one per hour, 429s drawn in red on top of the requests."""
    peak = max((p.requests for p in points), default=0) or 1
    width = CHART_WIDTH / max(len(points), 1)
    bars = []
    for i, p in enumerate(points):
        height = round(46 * p.requests / peak, 2) if p.requests else 0
        label = f"{p.hour:%H}:00 UTC"
        bars.append(
            {
                "x": round(i * width + 1, 2),
                "y": round(48 - height, 2),
                "w": round(width - 2, 2),
                "h": height,
                "label": label,
                "value": f"{p.requests} requests, {p.rate_limited} rate-limited (429)",
                "bad": p.rate_limited > 0,
            }
        )
    return bars


def _usage_summary(points) -> dict:
    return {
        "requests": sum(p.requests for p in points),
        "rate_limited": sum(p.rate_limited for p in points),
        "pauses": sum(p.pauses for p in points),
        "bars": _sparkline(points),
    }


def _secret_rows(client: ApiClient, now) -> list[dict]:
    rows = []
    for secret in client.secrets.all():
        if secret.revoked_at is not None:
            state, badge = "revoked", "badge-red"
        elif secret.expires_at is None:
            state, badge = "current", "badge-green"
        elif secret.expires_at > now:
            state, badge = "in rotation window", "badge-amber"
        else:
            state, badge = "expired", "badge-gray"
        rows.append(
            {"secret": secret, "state": state, "badge": badge, "valid": state in ("current", "in rotation window")}
        )
    return rows


def _overlap(rows: list[dict]) -> dict | None:
    old = [r["secret"] for r in rows if r["state"] == "in rotation window"]
    new = [r["secret"] for r in rows if r["state"] == "current"]
    if not old:
        return None
    return {"old": old[0], "new": new[0] if new else None}


def _org_context(access, **extra) -> dict:
    return {
        "access": access,
        "organization": access.organization,
        "current_organization": access.organization,
        "org_tab": "clients",
        "can_manage": can_manage_clients(access),
        "can_rotate": can_rotate_secrets(access),
        **extra,
    }


@login_required
def client_list(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    context = _list_context(access, ClientCreateForm())
    return render_page(request, "clients/client_list.html", context, partial="client-table")


def _list_context(access, form) -> dict:
    clients = list(client_list_for_organization(organization=access.organization))
    usage = client_usage_24h(clients=clients)
    now = timezone.now()
    rows = [
        {
            "client": c,
            "secrets": [r for r in _secret_rows(c, now) if r["valid"]],
            "usage": _usage_summary(usage[c.pk]),
        }
        for c in clients
    ]
    return _org_context(access, rows=rows, form=form, budget=organization_budget_peek(organization=access.organization))


@never_cache
@login_required
@require_POST
def client_create(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    require(can_manage_clients(access))
    form = ClientCreateForm(request.POST)
    if form.is_valid():
        try:
            client, issued = services.client_create(
                actor=Actor.from_request(request),
                organization=access.organization,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            context = _org_context(access, client=client, plaintext=issued.plaintext, created=True)
            return _secret_once(request, context)
    # Re-rendered forms answer 200 so HTMX swaps them in (it ignores 4xx bodies by default).
    return render_page(request, "clients/client_list.html", _list_context(access, form), partial="create-form")


def _add_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _secret_once(request, context):
    """The only response that ever contains the secret: not cached anywhere, never in a URL or a message."""
    response = render_page(request, "clients/client_secret_once.html", context, partial="secret")
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@login_required
def client_detail(request, organization_id, client_pk):
    access, client = access_client(user=request.user, organization_id=organization_id, client_pk=client_pk)
    return render_page(request, "clients/client_detail.html", _detail_context(access, client), partial="secrets")


def _detail_context(access, client, **extra) -> dict:
    now = timezone.now()
    rows = _secret_rows(client, now)
    usage = client_usage_24h(clients=[client])[client.pk]
    secret_ids = [str(r["secret"].pk) for r in rows]
    audit = AuditEntry.objects.filter(
        organization=client.organization, target_id__in=[str(client.pk), *secret_ids]
    ).order_by("-occurred_at")[:15]
    active_tokens = client.tokens.filter(revoked_at__isnull=True, expires_at__gt=now).count()
    return _org_context(
        access,
        client=client,
        secret_rows=rows,
        overlap=_overlap(rows),
        usage=_usage_summary(usage),
        audit=audit,
        active_tokens=active_tokens,
        rotate_form=extra.pop("rotate_form", None) or SecretRotateForm(),
        pause_form=extra.pop("pause_form", None) or ClientPauseForm(),
        now=now,
        windows=[{"hours": h, "until": now + timedelta(hours=h)} for h in services.ROTATION_WINDOWS_HOURS],
        **extra,
    )


@never_cache
@login_required
@require_POST
def client_rotate(request, organization_id, client_pk):
    access, client = access_client(user=request.user, organization_id=organization_id, client_pk=client_pk)
    require(can_rotate_secrets(access))
    form = SecretRotateForm(request.POST)
    if form.is_valid():
        try:
            issued = services.client_secret_rotate(
                actor=Actor.from_request(request),
                client=client,
                window=timedelta(hours=form.cleaned_data["window"]),
                confirm_end_overlap=form.cleaned_data["confirm_end_overlap"],
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            client.refresh_from_db()
            context = _org_context(
                access,
                client=client,
                plaintext=issued.plaintext,
                created=False,
                window_hours=form.cleaned_data["window"],
                old_valid_until=timezone.now() + timedelta(hours=form.cleaned_data["window"]),
            )
            return _secret_once(request, context)
    context = _detail_context(access, client, rotate_form=form)
    return render_page(request, "clients/client_detail.html", context, partial="rotate-form")


def _action(request, organization_id, client_pk, *, check, run, success: str):
    access, client = access_client(user=request.user, organization_id=organization_id, client_pk=client_pk)
    require(check(access))
    try:
        run(Actor.from_request(request), client)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return redirect("clients:detail", organization_id=organization_id, client_pk=client.pk)


@login_required
@require_POST
def client_overlap_end(request, organization_id, client_pk):
    return _action(
        request,
        organization_id,
        client_pk,
        check=can_rotate_secrets,
        run=lambda actor, client: services.client_secret_overlap_end(actor=actor, client=client),
        success="The rotation overlap has ended: only the new secret works now.",
    )


@login_required
@require_POST
def client_secret_revoke(request, organization_id, client_pk, secret_pk):
    def run(actor, client):
        services.client_secret_revoke(actor=actor, secret=access_client_secret(client=client, secret_pk=secret_pk))

    return _action(
        request,
        organization_id,
        client_pk,
        check=can_manage_clients,
        run=run,
        success="The secret is revoked; tokens minted with it no longer work.",
    )


@login_required
@require_POST
def client_revoke(request, organization_id, client_pk):
    return _action(
        request,
        organization_id,
        client_pk,
        check=can_manage_clients,
        run=lambda actor, client: services.client_revoke(actor=actor, client=client),
        success="The client is revoked: its secrets and tokens no longer work.",
    )


@login_required
@require_POST
def client_unpause(request, organization_id, client_pk):
    return _action(
        request,
        organization_id,
        client_pk,
        check=lambda access: access.is_support,
        run=lambda actor, client: services.client_unpause(actor=actor, client=client),
        success="The client is unpaused.",
    )


@login_required
@require_POST
def client_pause(request, organization_id, client_pk):
    access, client = access_client(user=request.user, organization_id=organization_id, client_pk=client_pk)
    require(access.is_support)
    form = ClientPauseForm(request.POST)
    if form.is_valid():
        try:
            services.client_pause(
                actor=Actor.from_request(request),
                client=client,
                minutes=form.cleaned_data["minutes"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            if not htmx_partial(request):  # e.g. paused meanwhile: the page shows the flash and the new state
                messages.error(request, " ".join(exc.messages))
                return redirect("clients:detail", organization_id=organization_id, client_pk=client.pk)
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "The client is paused: its calls get 403 client-paused.")
            url = reverse("clients:detail", kwargs={"organization_id": organization_id, "client_pk": client.pk})
            return HttpResponseClientRedirect(url) if htmx_partial(request) else redirect(url)
    client.refresh_from_db()
    context = _detail_context(access, client, pause_form=form)
    return render_page(request, "clients/client_detail.html", context, partial="pause-form", status=422)
