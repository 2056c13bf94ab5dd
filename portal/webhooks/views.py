"""Webhooks pages: endpoints, health, secrets, delivery history and detail, replays, the event catalog."""

import json
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from portal.core.audit import Actor
from portal.core.htmx import htmx_partial, render_page
from portal.core.pagination import parse_limit
from portal.core.problems import Problem
from portal.organizations.access import access_organization, require_support
from portal.organizations.models import Membership
from portal.organizations.selectors import organization_capabilities, organization_partners
from portal.webhooks import selectors, services
from portal.webhooks.access import access_delivery, access_endpoint, access_replay_job
from portal.webhooks.events import EVENT_TYPES, example_payload
from portal.webhooks.forms import ConcurrencyForm, EndpointForm, RotateSecretForm
from portal.webhooks.policy import BREAKER_THRESHOLD
from portal.webhooks.signing import payload_body

OPERATOR, ADMIN = Membership.Role.OPERATOR, Membership.Role.ADMIN


def _ctx(access, tab="webhooks", **extra) -> dict:
    return {
        "access": access,
        "organization": access.organization,
        "current_organization": access.organization,
        "is_support": access.is_support,
        "org_tab": tab,
        **extra,
    }


def _redirect(request, url):
    if htmx_partial(request):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _endpoint_url(endpoint) -> str:
    return reverse(
        "webhooks:endpoint_detail", kwargs={"organization_id": endpoint.organization_id, "endpoint_id": endpoint.pk}
    )


def _form_error(form, exc) -> None:
    """Show a service's Problem or ValidationError on the form, next to the field it concerns."""
    if isinstance(exc, Problem):
        field = "url" if exc.problem.slug == "webhook-url-not-allowed" else None
        if exc.problem.slug == "wildcard-subscription-not-allowed":
            field = "subscriptions"
        form.add_error(field, exc.detail)
        return
    for field, errors in exc.message_dict.items():
        name = {"partnerIds": "partners"}.get(field, field)
        form.add_error(name if name in form.fields else None, errors)


# ------------------------------------------------------------------------------------ endpoints


@login_required
def endpoint_list(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    endpoints = list(selectors.endpoint_list(organization=access.organization))
    return render_page(
        request,
        "webhooks/endpoint_list.html",
        _ctx(
            access,
            endpoints=endpoints,
            has_capability="webhooks" in organization_capabilities(organization=access.organization),
            can_manage=access.has_role(OPERATOR),
        ),
    )


def _endpoint_form_page(request, access, *, endpoint=None):
    partners = list(organization_partners(organization=access.organization))
    initial = None
    if endpoint is not None:
        initial = {
            "url": endpoint.url,
            "description": endpoint.description,
            "subscriptions": endpoint.subscriptions,
            "partners": [str(p.pk) for p in endpoint.partners.all()],
        }
    form = EndpointForm(request.POST or None, initial=initial, partners=partners)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = Actor.from_request(request)
        try:
            if endpoint is None:
                endpoint = services.endpoint_create(
                    actor=actor,
                    organization=access.organization,
                    url=data["url"],
                    description=data["description"],
                    subscriptions=data["subscriptions"],
                    partner_ids=data["partners"],
                )
                messages.success(request, "Endpoint created. Reveal its signing secret to verify deliveries.")
            else:
                services.endpoint_update(
                    actor=actor,
                    endpoint=endpoint,
                    url=data["url"],
                    description=data["description"],
                    subscriptions=data["subscriptions"],
                    partner_ids=data["partners"],
                )
                messages.success(request, "Endpoint saved.")
            return _redirect(request, _endpoint_url(endpoint))
        except (Problem, ValidationError) as exc:
            _form_error(form, exc)
    return render_page(
        request,
        "webhooks/endpoint_form.html",
        _ctx(
            access,
            form=form,
            endpoint=endpoint,
            coverage=selectors.wildcard_coverage([c for c, _ in form.fields["subscriptions"].choices[0][1]]),
        ),
        partial="form",
        status=422 if request.method == "POST" else 200,
    )


@login_required
def endpoint_create(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    return _endpoint_form_page(request, access)


@login_required
def endpoint_edit(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    return _endpoint_form_page(request, access, endpoint=endpoint)


@login_required
def endpoint_detail(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    return render(request, "webhooks/endpoint_detail.html", _endpoint_detail_context(access, endpoint))


def _endpoint_detail_context(access, endpoint, **extra) -> dict:
    """Everything the full endpoint page shows; the reveal without HTMX adds the secrets to it."""
    recent = selectors.delivery_page(
        filterset=selectors.delivery_filterset(organization=access.organization, data={"endpointId": str(endpoint.pk)}),
        cursor=None,
        limit=10,
    ).items
    return _ctx(
        access,
        endpoint=endpoint,
        health=selectors.endpoint_health(endpoint=endpoint),
        coverage=selectors.wildcard_coverage(endpoint.subscriptions),
        recent=recent,
        rotate_form=RotateSecretForm(),
        concurrency_form=ConcurrencyForm(initial={"max_concurrency": endpoint.max_concurrency}),
        breaker_threshold=BREAKER_THRESHOLD,
        can_manage=access.has_role(OPERATOR),
        can_admin=access.has_role(ADMIN),
        **extra,
    )


@login_required
@require_POST
def endpoint_delete(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    services.endpoint_delete(actor=Actor.from_request(request), endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return _redirect(request, reverse("webhooks:endpoint_list", kwargs={"organization_id": organization_id}))


@login_required
@require_POST
def endpoint_toggle(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    enable = request.POST.get("enabled") == "1"
    services.endpoint_update(actor=Actor.from_request(request), endpoint=endpoint, enabled=enable)
    messages.success(request, "Endpoint enabled." if enable else "Endpoint disabled; nothing is sent to it.")
    return _redirect(request, _endpoint_url(endpoint))


@login_required
@require_POST
def endpoint_reenable(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    count = services.endpoint_reenable_and_replay_missed(actor=Actor.from_request(request), endpoint=endpoint)
    messages.success(request, f"Endpoint enabled; {count} missed event(s) queued for delivery.")
    return _redirect(request, _endpoint_url(endpoint))


@login_required
@require_POST
def endpoint_secret(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=ADMIN)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    secrets = services.endpoint_secret_reveal(actor=Actor.from_request(request), endpoint=endpoint)
    if htmx_partial(request):
        context = _ctx(access, endpoint=endpoint, secrets=secrets)
    else:  # without JavaScript: the whole page, with the secret the audit entry says was shown
        context = _endpoint_detail_context(access, endpoint, secrets=secrets)
    response = render_page(request, "webhooks/endpoint_detail.html", context, partial="secret")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def endpoint_concurrency(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=ADMIN)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    form = ConcurrencyForm(request.POST)
    if form.is_valid():
        value = form.cleaned_data["max_concurrency"]
        services.endpoint_update(actor=Actor.from_request(request), endpoint=endpoint, max_concurrency=value)
        messages.success(request, f"At most {value} requests to this endpoint are in flight at once.")
    else:
        messages.error(request, "Requests at once must be a whole number from 1 to 50; nothing was changed.")
    return _redirect(request, _endpoint_url(endpoint))


@login_required
@require_POST
def endpoint_rotate(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=ADMIN)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    form = RotateSecretForm(request.POST)
    if form.is_valid():
        services.endpoint_secret_rotate(
            actor=Actor.from_request(request),
            endpoint=endpoint,
            overlap=timedelta(hours=form.cleaned_data["overlap_hours"]),
        )
        messages.success(
            request,
            f"Secret rotated. The previous secret keeps signing for {form.cleaned_data['overlap_hours']} h.",
        )
    else:
        messages.error(request, "The overlap must be between 0 and 168 hours.")
    return _redirect(request, _endpoint_url(endpoint))


@login_required
@require_POST
def endpoint_test(request, organization_id, endpoint_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    try:
        delivery = services.endpoint_send_test(actor=Actor.from_request(request), endpoint=endpoint)
    except Problem as exc:
        return render_page(
            request,
            "webhooks/endpoint_detail.html",
            _ctx(access, endpoint=endpoint, test_error=exc.detail),
            partial="test_outcome",
        )
    return _test_outcome(request, access, endpoint, delivery.pk)


def _test_outcome(request, access, endpoint, delivery_id):
    delivery = access_delivery(organization=access.organization, delivery_id=delivery_id)
    if not htmx_partial(request):
        # Without JavaScript the delivery's own page shows the outcome.
        return HttpResponseRedirect(
            reverse(
                "webhooks:delivery_detail",
                kwargs={"organization_id": access.organization.pk, "delivery_id": delivery.pk},
            )
        )
    attempt = delivery.attempts.order_by("-number").first()
    ctx = _ctx(access, endpoint=endpoint, test_delivery=delivery, test_attempt=attempt)
    response = render(request, "webhooks/endpoint_detail.html#test_outcome", ctx)
    if attempt is not None:
        return HttpResponseStopPolling(response.content)
    return response


@login_required
def endpoint_test_outcome(request, organization_id, endpoint_id, delivery_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    endpoint = access_endpoint(organization=access.organization, endpoint_id=endpoint_id)
    return _test_outcome(request, access, endpoint, delivery_id)


# ------------------------------------------------------------------------------------ deliveries


@login_required
def delivery_list(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    filterset = selectors.delivery_filterset(organization=access.organization, data=request.GET, with_choices=True)
    page, error = None, None
    if filterset.is_valid():
        try:
            page = selectors.delivery_page(
                filterset=filterset, cursor=request.GET.get("cursor"), limit=parse_limit(request.GET.get("limit"))
            )
        except ValidationError as exc:
            error = "; ".join(exc.messages)
    query = request.GET.copy()
    query.pop("cursor", None)
    return render_page(
        request,
        "webhooks/delivery_list.html",
        _ctx(
            access,
            tab="deliveries",
            filterset=filterset,
            page=page,
            error=error,
            query=query.urlencode(),
            paged=bool(request.GET.get("cursor")),
            can_manage=access.has_role(OPERATOR),
        ),
        partial="results",
    )


@login_required
def delivery_detail(request, organization_id, delivery_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    delivery = access_delivery(organization=access.organization, delivery_id=delivery_id)
    attempts = selectors.delivery_attempts(delivery=delivery)
    body = payload_body(delivery.event.payload())
    last = attempts[-1] if attempts else None
    timestamp = last.request_headers.get("webhook-timestamp", "") if last else "<timestamp>"
    debugger = {
        "id": delivery.event.webhook_id,
        "timestamp": timestamp,
        "signed": f"{delivery.event.webhook_id}.{timestamp}.{body}",
        "signature": last.request_headers.get("webhook-signature", "") if last else "",
    }
    return render(
        request,
        "webhooks/delivery_detail.html",
        _ctx(
            access,
            tab="deliveries",
            delivery=delivery,
            attempts=attempts,
            body=body,
            debugger=debugger,
            replays=list(delivery.replays.order_by("-created_at").only("id", "created_at", "status")[:20]),
            can_manage=access.has_role(OPERATOR),
        ),
    )


@login_required
@require_POST
def delivery_replay(request, organization_id, delivery_id):
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    delivery = access_delivery(organization=access.organization, delivery_id=delivery_id)
    try:
        replay = services.delivery_replay(actor=Actor.from_request(request), delivery=delivery)
    except Problem as exc:
        messages.error(request, exc.detail)
        return _redirect(
            request,
            reverse(
                "webhooks:delivery_detail", kwargs={"organization_id": organization_id, "delivery_id": delivery.pk}
            ),
        )
    messages.success(request, "Replay queued: a new delivery of the same event (same webhook-id).")
    return _redirect(
        request,
        reverse("webhooks:delivery_detail", kwargs={"organization_id": organization_id, "delivery_id": replay.pk}),
    )


# ------------------------------------------------------------------------------------ bulk replay


@login_required
def replay_create(request, organization_id):
    """GET: the dry-run count for the filters in the query string; POST: start the job."""
    access = access_organization(user=request.user, organization_id=organization_id, min_role=OPERATOR)
    data = request.POST if request.method == "POST" else request.GET
    filterset = selectors.delivery_filterset(organization=access.organization, data=data, with_choices=True)
    count, error = None, None
    if filterset.is_valid():
        created_after = filterset.form.cleaned_data.get("createdAfter")
        try:
            if request.method == "POST":
                job = services.replay_job_create(
                    actor=Actor.from_request(request),
                    organization=access.organization,
                    filters=filterset.active_filters,
                    queryset=filterset.qs,
                    created_after=created_after,
                )
                return _redirect(
                    request,
                    reverse("webhooks:replay_detail", kwargs={"organization_id": organization_id, "replay_id": job.pk}),
                )
            count = services.replay_dry_run(queryset=filterset.qs, created_after=created_after)
        except Problem as exc:
            error = exc.detail
    return render_page(
        request,
        "webhooks/replay_create.html",
        _ctx(access, tab="deliveries", filterset=filterset, count=count, error=error),
        status=409 if error else 200,
    )


@login_required
def replay_detail(request, organization_id, replay_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    job = access_replay_job(organization=access.organization, replay_id=replay_id)
    response = render_page(
        request, "webhooks/replay_detail.html", _ctx(access, tab="deliveries", job=job), partial="progress"
    )
    if job.is_finished and htmx_partial(request):
        return HttpResponseStopPolling(response.content)
    return response


# ------------------------------------------------------------------------------------ catalog


@login_required
def event_catalog(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    events = [{"type": e, "example": json.dumps(example_payload(e), indent=2)} for e in EVENT_TYPES]
    return render(request, "webhooks/event_catalog.html", _ctx(access, events=events))


# Support console ------------------------------------------------------------------------------


@login_required
@require_GET
def operations_page(request):
    """Webhook operations across every organization (support only); polled while there is a backlog."""
    require_support(request.user)
    operations = selectors.webhook_operations()
    context = {"ops": operations, "nav_section": "webhook_operations"}
    if not htmx_partial(request):
        return render(request, "webhooks/operations.html", context)
    html = render_to_string("webhooks/operations.html#summary", context, request=request)
    # The backlog is gone: swap in the final state and stop polling (HTTP 286).
    return HttpResponse(html) if operations.has_backlog else HttpResponseStopPolling(html)
