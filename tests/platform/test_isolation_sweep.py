"""Tenant isolation, swept over every URL the resolver knows (a new URL is covered the day it is added).

Two organizations, A and B, share a partner (both are authorized for it) and B owns one object of
every kind. Every member of A (admin, operator, viewer) and A's API client try every page and API
URL with B's objects: each answer must be a 404 (405 where the method does not exist at all), never
a success, a 403 that confirms the object exists, or a 500. Lists show none of B's objects. As a
control, the same URLs do reach B's objects for B's own API client and for NT24 support, so the
404s are about who asks, not about ids that do not exist.
"""

import re
import uuid
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from portal.clients.models import ApiClient
from portal.clients.services import access_token_issue, client_create
from portal.core.audit import Actor
from portal.core.models import AuditEntry
from portal.kyc import services as kyc_services
from portal.kyc.models import DocumentType
from portal.organizations import services as org_services
from portal.organizations.models import CapabilityGrant, DataProcessingAgreement, Membership, PartnerAuthorization
from portal.webhooks import services as webhook_services
from portal.webhooks.models import WebhookDelivery
from tests.factories import (
    MembershipFactory,
    PartnerAuthorizationFactory,
    SupportUserFactory,
    UserFactory,
    pilot_organization,
)
from tests.kyc.conftest import PDF_BYTES

PDF = PDF_BYTES  # a structurally valid PDF: KYC uploads are parsed, not only sniffed

# URLs that are not about one organization's objects: public pages, the caller's own account, tokens.
NOT_TENANT_SCOPED = {
    "home",
    "healthz",
    "readyz",
    "problem-list",
    "problem-detail",
    "api-docs",
    "api-redoc",
    "docs-index",
    "docs-page",
    "openapi",
    "oauth:token",
    "clients-api:me",  # the caller's own organization, by construction
    "webhooks-api:event-types",  # the public catalog
    "accounts:login",
    "accounts:logout",
    "accounts:password_change",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "accounts:security",
    "accounts:totp_start",
    "accounts:totp_remove",
    "accounts:two_factor",
    "accounts:invitation_accept",  # a single-use token, not an id
    "kyc-public:upload",  # the buyer's tokenized link
    "organization-logo",  # public on purpose: logos brand buyer e-mails and pages
}


@dataclass(frozen=True)
class Route:
    route: str
    name: str
    kwargs: tuple[tuple[str, str], ...]  # (name, converter)

    @property
    def namespace(self) -> str:
        return self.name.split(":")[0] if ":" in self.name else ""

    @property
    def is_api(self) -> bool:
        return self.route.startswith("v1/")


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), full_ns)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            kwargs = tuple(re.findall(r"<(?:(\w+):)?(\w+)>", route))
            yield Route(route, name, tuple((kw, conv or "str") for conv, kw in kwargs))


ROUTES = [route for route in _walk(get_resolver().url_patterns) if not route.route.startswith("admin/")]
SWEPT = [route for route in ROUTES if route.name not in NOT_TENANT_SCOPED]


def test_the_sweep_covers_every_tenant_url_and_every_exclusion_still_exists():
    names = {route.name for route in ROUTES}
    assert names >= NOT_TENANT_SCOPED, f"excluded URLs that no longer exist: {NOT_TENANT_SCOPED - names}"
    assert len(SWEPT) >= 80, len(SWEPT)
    assert any(route.is_api for route in SWEPT) and any(not route.is_api for route in SWEPT)


@pytest.fixture
def world(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # nothing is sent anywhere: B's objects only have to exist
    system = Actor.system()
    a = pilot_organization(capabilities=("webhooks", "kycSelfServiceInvitations", "kycLevelB"))
    b = pilot_organization(capabilities=("webhooks", "kycSelfServiceInvitations", "kycLevelB"))
    shared = a.partner_authorizations.first().partner
    b_own_partner = b.partner_authorizations.first().partner
    support = SupportUserFactory()
    PartnerAuthorizationFactory(organization=b, partner=shared, authorized_by=support)

    b_admin = UserFactory()
    b_membership = MembershipFactory(organization=b, user=b_admin, role=Membership.Role.ADMIN)
    b_member_invitation = org_services.invitation_create(
        actor=Actor(user=support), organization=b, email="new.member@b.example", role=Membership.Role.VIEWER
    ).invitation
    b_client, issued = client_create(actor=system, organization=b, name="B's DMS")
    b_endpoint = webhook_services.endpoint_create(
        actor=system, organization=b, url="http://127.0.0.1:9/b-receiver", subscriptions=["kyc.*"]
    )
    b_delivery = webhook_services.endpoint_send_test(actor=system, endpoint=b_endpoint)
    b_replay = webhook_services.replay_job_create(
        actor=system,
        organization=b,
        filters={"endpoint": str(b_endpoint.pk)},
        queryset=WebhookDelivery.objects.filter(endpoint=b_endpoint),
    )
    b_buyer, _ = kyc_services.buyer_upsert(
        actor=system, organization=b, partner=shared, vat_number="DE136695976", name="Isolation Buyer of B"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    b_document = kyc_services.document_upload(
        actor=system,
        buyer=b_buyer,
        document_type=DocumentType.TRADE_REGISTER_EXTRACT,
        upload=SimpleUploadedFile("extract.pdf", PDF, content_type="application/pdf"),
        source="API",
    )
    b_kyc_invitation, _ = kyc_services.invitation_create(actor=system, buyer=b_buyer, email="buyer@b.example")

    members = {}
    for role in (Membership.Role.ADMIN, Membership.Role.OPERATOR, Membership.Role.VIEWER):
        user = UserFactory()
        MembershipFactory(organization=a, user=user, role=role)
        members[role] = user
    a_client, a_issued = client_create(actor=system, organization=a, name="A's DMS")

    objects = {
        "dpa_id": DataProcessingAgreement.objects.filter(organization=b).first().pk,
        "authorization_id": PartnerAuthorization.objects.filter(organization=b, partner=b_own_partner).first().pk,
        "grant_id": CapabilityGrant.objects.filter(organization=b).first().pk,
        "capability": "webhooks",
        "membership_id": b_membership.pk,
        "organizations:invitation_id": b_member_invitation.pk,
        "kyc:invitation_id": b_kyc_invitation.pk,
        "kyc-api:invitation_id": b_kyc_invitation.pk,
        "client_pk": b_client.pk,
        "secret_pk": b_client.secrets.first().pk,
        "endpoint_id": b_endpoint.pk,
        "delivery_id": b_delivery.pk,
        "replay_id": b_replay.pk,
        "buyer_id": b_buyer.pk,
        "document_id": b_document.pk,
    }
    return {
        "a": a,
        "b": b,
        "shared_partner": shared,
        "b_own_partner": b_own_partner,
        "support": support,
        "members": members,
        "objects": objects,
        "b_client": b_client,
        "b_secret": issued.plaintext,
        "a_client": a_client,
        "a_secret": a_issued.plaintext,
        "b_ids": {str(value) for key, value in objects.items() if key != "capability"} | {str(b.pk)},
    }


def _fill(route: Route, world, *, organization, random_ids: bool = False) -> str | None:
    """The route's path with B's objects in it (or ids that exist nowhere); None for a plain list URL."""
    path = "/" + route.route
    has_object = False
    for kwarg, _converter in route.kwargs:
        if kwarg == "organization_id":
            value = organization.pk
        elif kwarg == "seller_id":
            value = world["shared_partner"].pk
        else:
            key = f"{route.namespace}:{kwarg}" if f"{route.namespace}:{kwarg}" in world["objects"] else kwarg
            assert key in world["objects"], f"teach the isolation sweep about <{kwarg}> in {route.route} ({route.name})"
            value = world["objects"][key]
            if random_ids and kwarg != "capability":
                value = uuid.uuid4()
            has_object = True
        path = re.sub(rf"<(?:\w+:)?{kwarg}>", str(value), path, count=1)
    if organization == world["b"] and any(kw == "organization_id" for kw, _ in route.kwargs):
        has_object = True
    return path if has_object else None


def _hidden(status: int) -> bool:
    return status in (404, 405)


def _leak(route: Route, client, world, *, organization, api: bool) -> str | None:
    """Why this URL gives B's objects away, or None.

    Under B's organization URL an outsider gets 404 (405 for a method that does not exist). Under the
    caller's own organization URL the answer for B's object must be exactly the answer for an id that
    exists nowhere (a 403 for a role that is too low is fine: it says nothing about B).
    """
    path = _fill(route, world, organization=organization)
    if path is None:
        return None
    answers = _try_everything(client, path, api=api)
    if any(status < 400 or status >= 500 for status in answers.values()):
        return f"{route.name} {path}: {answers}"
    if organization == world["b"] and not (all(map(_hidden, answers.values())) and 404 in answers.values()):
        return f"{route.name} {path}: {answers} (an outsider must get 404)"
    nowhere = _try_everything(client, _fill(route, world, organization=organization, random_ids=True), api=api)
    if answers != nowhere:
        return f"{route.name} {path}: {answers}, but {nowhere} for ids that exist nowhere"
    return None


def _try_everything(client, path: str, *, api: bool) -> dict[str, int]:
    answers = {}
    for method in ("get", "post", "patch", "delete") if api else ("get", "post"):
        kwargs = {"format": "json", "data": {}} if api else {}
        answers[method.upper()] = getattr(client, method)(path, **kwargs).status_code
    return answers


@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_a_member_of_another_organization_reaches_no_page_of_b(world, role):
    client = Client()
    client.force_login(world["members"][role])
    leaks = []
    for route in (r for r in SWEPT if not r.is_api):
        for organization in (world["b"], world["a"]):  # B's URL, and B's objects under A's own URL
            leak = _leak(route, client, world, organization=organization, api=False)
            if leak:
                leaks.append(leak)
    assert not leaks, f"{role} of A reaches B:\n  " + "\n  ".join(leaks)
    assert not AuditEntry.objects.filter(organization=world["b"], actor_user=world["members"][role]).exists()


def test_list_pages_of_a_show_nothing_of_b(world):
    client = Client()
    client.force_login(world["members"]["admin"])
    checked = 0
    for route in (r for r in SWEPT if not r.is_api and [kw for kw, _ in r.kwargs] == ["organization_id"]):
        response = client.get("/" + route.route.replace("<uuid:organization_id>", str(world["a"].pk)))
        if response.status_code != 200 or not response.get("Content-Type", "").startswith(("text/", "application/")):
            continue
        content = b"".join(response.streaming_content) if response.streaming else response.content
        body = content.decode(errors="replace")
        shown = [value for value in world["b_ids"] if value in body]
        assert not shown, f"{route.name} shows B's ids {shown}"
        assert "Isolation Buyer of B" not in body and "B's DMS" not in body, route.name
        checked += 1
    assert checked >= 10, checked


def _bearer(client_obj: ApiClient, secret: str) -> APIClient:
    token = access_token_issue(client=client_obj, secret=client_obj.secrets.first())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.plaintext}")
    return api


def test_an_api_client_of_another_organization_reaches_no_object_of_b(world):
    api = _bearer(world["a_client"], world["a_secret"])
    leaks = []
    for route in (r for r in SWEPT if r.is_api):
        leak = _leak(route, api, world, organization=world["a"], api=True)
        if leak:
            leaks.append(leak)
        elif _fill(route, world, organization=world["a"]) is not None:
            answers = _try_everything(api, _fill(route, world, organization=world["a"]), api=True)
            if not (all(map(_hidden, answers.values())) and 404 in answers.values()):
                leaks.append(f"{route.name}: {answers} (another organization's object must be a 404)")
    assert not leaks, "A's API client reaches B:\n  " + "\n  ".join(leaks)
    assert not AuditEntry.objects.filter(organization=world["b"], actor_client=world["a_client"]).exists()


def test_api_lists_of_a_show_nothing_of_b(world):
    api = _bearer(world["a_client"], world["a_secret"])
    checked = 0
    for route in (r for r in SWEPT if r.is_api):
        if _fill(route, world, organization=world["a"]) is not None:
            continue
        path = "/" + re.sub(r"<uuid:seller_id>", str(world["shared_partner"].pk), route.route)
        response = api.get(path)
        if response.status_code == 405:  # a collection that only takes POST (bulk replays)
            continue
        assert response.status_code == 200, f"{route.name}: {response.status_code}"
        body = response.content.decode()
        shown = [value for value in world["b_ids"] if value in body]
        assert not shown, f"{route.name} lists B's ids {shown}"
        checked += 1
    assert checked >= 4, checked


def test_a_seller_authorized_only_for_b_is_indistinguishable_from_an_unknown_one(world):
    api = _bearer(world["a_client"], world["a_secret"])
    b_only = api.get(f"/v1/partners/{world['b_own_partner'].pk}/buyers")
    unknown = api.get(f"/v1/partners/{uuid.uuid4()}/buyers")
    assert b_only.status_code == unknown.status_code == 403
    assert b_only.json()["type"] == unknown.json()["type"]
    assert b_only.json()["type"].endswith("/partner-not-authorized")


def test_control_the_same_urls_reach_b_for_b_and_for_support(world):
    """Without this, a sweep of ids that exist nowhere would pass too."""
    api = _bearer(world["b_client"], world["b_secret"])
    support = Client()
    support.force_login(world["support"])
    reached = {"api": 0, "pages": 0}
    for route in SWEPT:
        if route.is_api:
            path = _fill(route, world, organization=world["b"])
            if path is not None and api.get(path).status_code == 200:
                reached["api"] += 1
        else:
            path = _fill(route, world, organization=world["b"])
            if path is not None and support.get(path).status_code == 200:
                reached["pages"] += 1
    assert reached["api"] >= 8, reached
    assert reached["pages"] >= 20, reached
