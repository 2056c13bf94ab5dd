import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal.core.audit import Actor, audit_record
from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry
from portal.organizations import services
from portal.organizations.models import (
    CapabilityGrant,
    DataProcessingAgreement,
    IntegrationOrganization,
    MemberInvitation,
    Membership,
    Partner,
    PartnerAuthorization,
)
from tests.factories import MembershipFactory, OrganizationFactory, PartnerFactory, pilot_organization
from tests.organizations.conftest import HTMX

pytestmark = pytest.mark.django_db


def url(name, org=None, **kwargs):
    if org is not None:
        kwargs["organization_id"] = org.pk
    return reverse(f"organizations:{name}", kwargs=kwargs)


def is_fragment(response) -> bool:
    return b"<html" not in response.content


# Organization list --------------------------------------------------------------------------------


def test_list_full_page_and_htmx_partial(support_client, organization):
    page = support_client.get(url("list"))
    assert page.status_code == 200 and b"<html" in page.content
    assert organization.name in page.content.decode()
    partial = support_client.get(url("list"), {"q": organization.name}, **HTMX)
    assert partial.status_code == 200 and is_fragment(partial)
    assert 'id="org-results"' in partial.content.decode()


def test_list_filters_by_search_status_and_dpa(support_client):
    signed = pilot_organization()
    unsigned = pilot_organization(dpa=False)
    suspended = OrganizationFactory(name="Zeta Suspended", status="SUSPENDED")

    def names(**params):
        html = support_client.get(url("list"), params, **HTMX).content.decode()
        return {o.name for o in (signed, unsigned, suspended) if o.name in html}

    assert names(dpa="signed") == {signed.name}
    assert names(dpa="missing") == {unsigned.name, suspended.name}
    assert names(status="SUSPENDED") == {suspended.name}
    assert names(q="zeta") == {suspended.name}
    assert names(q=signed.slug) == {signed.name}


def test_list_is_keyset_paginated(support_client):
    for i in range(30):
        OrganizationFactory(name=f"Org {i:02d}")
    first = support_client.get(url("list"), **HTMX).content.decode()
    assert "Org 00" in first and "Org 24" in first and "Org 25" not in first
    cursor = first.split("cursor=")[1].split('"')[0]
    second = support_client.get(url("list") + "?cursor=" + cursor, **HTMX).content.decode()
    assert "Org 25" in second and "Org 29" in second and "Org 24" not in second
    assert support_client.get(url("list"), {"cursor": "garbage"}).status_code == 404


def test_list_query_count_is_pinned(support_client, django_assert_max_num_queries):
    for _ in range(20):
        org = pilot_organization(partners=2)
        MembershipFactory(organization=org)
    with django_assert_max_num_queries(8):
        response = support_client.get(url("list"))
    assert response.status_code == 200


# Create and edit ----------------------------------------------------------------------------------


def test_create_plain_post_redirects(support_client):
    response = support_client.post(
        url("create"),
        {
            "name": "Nord",
            "slug": "nord",
            "status": "ONBOARDING",
            "rate_limit_per_minute": 600,
            "brand_color": "#112233",
        },
    )
    org = IntegrationOrganization.objects.get(slug="nord")
    assert response.status_code == 302 and response["Location"] == url("detail", org)
    assert AuditEntry.objects.filter(action="organization.created", organization=org).exists()


def test_create_htmx_navigates_and_errors_inline(support_client):
    services.organization_create(actor=Actor(), name="Taken", slug="taken")
    bad = support_client.post(
        url("create"),
        {"name": "", "slug": "taken", "status": "ONBOARDING", "rate_limit_per_minute": 0, "brand_color": "#112233"},
        **HTMX,
    )
    assert bad.status_code == 422 and is_fragment(bad)
    html = bad.content.decode()
    assert 'class="field-error"' in html and "organization-form" in html
    good = support_client.post(
        url("create"),
        {"name": "Süd", "slug": "sued", "status": "ACTIVE", "rate_limit_per_minute": 900, "brand_color": "#112233"},
        **HTMX,
    )
    org = IntegrationOrganization.objects.get(slug="sued")
    assert good.status_code == 200 and good["HX-Redirect"] == url("detail", org)
    dup = support_client.post(
        url("create"),
        {"name": "Again", "slug": "taken", "status": "ACTIVE", "rate_limit_per_minute": 900, "brand_color": "#112233"},
        **HTMX,
    )
    assert dup.status_code == 422 and "already exists" in dup.content.decode()


def test_edit_inline(support_client, organization):
    form = support_client.get(url("edit", organization), **HTMX)
    assert form.status_code == 200 and is_fragment(form) and 'id="org-settings"' in form.content.decode()
    assert support_client.get(url("edit", organization)).status_code == 200  # full page without JS
    data = {
        "name": "Renamed",
        "slug": organization.slug,
        "status": "ACTIVE",
        "rate_limit_per_minute": 60,
        "brand_color": "#000000",
    }
    bad = support_client.post(url("edit", organization), {**data, "brand_color": "black"}, **HTMX)
    assert bad.status_code == 422 and "hex colour" in bad.content.decode()
    ok = support_client.post(url("edit", organization), data, **HTMX)
    assert ok.status_code == 200 and "HX-Redirect" in ok
    organization.refresh_from_db()
    assert (organization.name, organization.status, organization.rate_limit_per_minute) == ("Renamed", "ACTIVE", 60)


def test_logo_must_be_an_image(support_client, organization, pdf_upload):
    data = {"name": "X", "slug": organization.slug, "status": "ACTIVE", "rate_limit_per_minute": 60}
    response = support_client.post(
        url("edit", organization), {**data, "brand_color": "#000000", "logo": pdf_upload("logo.png")}, **HTMX
    )
    assert response.status_code == 422 and "PNG or JPEG" in response.content.decode()


# Overview and onboarding --------------------------------------------------------------------------


def test_overview_shows_onboarding_checklist(support_client):
    org = OrganizationFactory()
    html = support_client.get(url("detail", org)).content.decode()
    assert 'data-step="dpa" data-state="todo"' in html
    assert 'data-step="endpoint" data-state="todo"' in html
    assert 'data-step="delivery" data-state="todo"' in html
    partial = support_client.get(url("detail", org), **HTMX)
    assert is_fragment(partial) and 'id="org-section"' in partial.content.decode()


# DPA ----------------------------------------------------------------------------------------------


def dpa_data(pdf, **extra):
    return {
        "version": "2026-02",
        "signer_name": "Dana Signer",
        "signer_email": "dana@example.com",
        "signed_at": "2026-11-01T10:00",
        "document": pdf,
        **extra,
    }


def test_dpa_register_htmx(support_client, pdf_upload):
    org = OrganizationFactory()
    bad = support_client.post(url("dpa_register", org), dpa_data(pdf_upload(content=b"hello")), **HTMX)
    assert bad.status_code == 422 and is_fragment(bad) and "not a PDF" in bad.content.decode()
    assert not DataProcessingAgreement.objects.exists()
    ok = support_client.post(url("dpa_register", org), dpa_data(pdf_upload()), **HTMX)
    assert ok.status_code == 200 and ok["HX-Redirect"] == url("dpa", org)
    dpa = DataProcessingAgreement.objects.get(organization=org)
    assert dpa.signed_at.isoformat().startswith("2026-11-01T10:00:00+00:00")
    page = support_client.get(url("dpa", org)).content.decode()
    assert "2026-02" in page and "DPA version 2026-02 is registered" in page


def test_dpa_revoke_htmx_swaps_section_with_flash(support_client, organization):
    dpa = DataProcessingAgreement.objects.get(organization=organization)
    empty = support_client.post(url("dpa_revoke", organization, dpa_id=dpa.pk), {"reason": ""}, **HTMX)
    assert empty.status_code == 422 and "This field is required" in empty.content.decode()
    response = support_client.post(url("dpa_revoke", organization, dpa_id=dpa.pk), {"reason": "Ended"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and is_fragment(response)
    assert 'id="org-section"' in html and 'hx-swap-oob="true"' in html and "dpa-not-accepted" in html
    dpa.refresh_from_db()
    assert dpa.revoke_reason == "Ended"


def test_dpa_document_download(client, organization, admin_user, viewer_user, support_user, pdf_upload):
    dpa = services.dpa_register(
        actor=Actor(user=support_user),
        organization=organization,
        version="9",
        signer_name="x",
        signer_email="x@example.com",
        signed_at=timezone.now(),
        document=pdf_upload(),
    )
    client.force_login(admin_user)
    response = client.get(url("dpa_document", organization, dpa_id=dpa.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    client.force_login(viewer_user)
    assert client.get(url("dpa_document", organization, dpa_id=dpa.pk)).status_code == 403


# Partners -----------------------------------------------------------------------------------------


def test_partner_create_and_authorize(support_client):
    org = OrganizationFactory()
    bad = support_client.post(
        url("partner_create", org), {"legal_name": "X", "country_code": "DE", "vat_number": "DE1"}, **HTMX
    )
    assert bad.status_code == 422 and "not a valid EU VAT number" in bad.content.decode()
    ok = support_client.post(
        url("partner_create", org),
        {"legal_name": "Autohaus", "country_code": "DE", "vat_number": "DE 136 695 976"},
        **HTMX,
    )
    assert ok.status_code == 200 and "HX-Redirect" in ok
    partner = Partner.objects.get(vat_number="DE136695976")
    assert PartnerAuthorization.objects.filter(organization=org, partner=partner, revoked_at__isnull=True).exists()


def test_partner_authorize_existing_and_revoke(support_client):
    org = OrganizationFactory()
    partner = PartnerFactory()
    response = support_client.post(url("partner_authorize", org), {"partner": partner.pk}, **HTMX)
    assert response.status_code == 200 and partner.legal_name in response.content.decode()
    authorization = PartnerAuthorization.objects.get(organization=org, partner=partner)
    again = support_client.post(url("partner_authorize", org), {"partner": partner.pk}, **HTMX)
    assert again.status_code == 422  # no longer among the authorizable partners
    revoke_url = url("partner_authorization_revoke", org, authorization_id=authorization.pk)
    assert support_client.post(revoke_url, {"reason": ""}, **HTMX).status_code == 422
    done = support_client.post(revoke_url, {"reason": "Sold"}, **HTMX)
    assert done.status_code == 200 and "Revoked authorizations" in done.content.decode()
    plain = support_client.post(url("partner_authorize", org), {"partner": partner.pk})
    assert plain.status_code == 302 and plain["Location"] == url("partners", org)


# Capabilities -------------------------------------------------------------------------------------


def test_capability_grant_and_revoke(support_client):
    org = OrganizationFactory()
    response = support_client.post(
        url("capability_grant", org, capability="kycLevelB"), {"kycLevelB-reason": "pilot"}, **HTMX
    )
    assert response.status_code == 200 and is_fragment(response)
    grant = CapabilityGrant.objects.get(organization=org, capability="kycLevelB", revoked_at__isnull=True)
    assert grant.reason == "pilot"
    assert support_client.post(url("capability_grant", org, capability="nope"), **HTMX).status_code == 404
    revoke_url = url("capability_revoke", org, grant_id=grant.pk)
    bad = support_client.post(revoke_url, {"kycLevelB-reason": ""}, **HTMX)
    assert bad.status_code == 422 and "This field is required" in bad.content.decode()
    ok = support_client.post(revoke_url, {"kycLevelB-reason": "ended"}, **HTMX)
    assert ok.status_code == 200 and "Revoked grants" in ok.content.decode()


# Members ------------------------------------------------------------------------------------------


def test_admin_invites_and_manages_members(client, organization, admin_user, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    page = client.get(url("members", organization)).content.decode()
    assert "invite-form" in page
    bad = client.post(url("invitation_create", organization), {"email": "nope", "role": "viewer"}, **HTMX)
    assert bad.status_code == 422 and "valid email" in bad.content.decode().lower()
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(
            url("invitation_create", organization), {"email": "new@example.com", "role": "operator"}, **HTMX
        )
    assert ok.status_code == 200 and "new@example.com" in ok.content.decode()
    assert len(mail.outbox) == 1
    invitation = MemberInvitation.objects.get(email="new@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("invitation_resend", organization, invitation_id=invitation.pk), **HTMX)
    assert len(mail.outbox) == 2
    revoked = client.post(url("invitation_revoke", organization, invitation_id=invitation.pk), **HTMX)
    assert revoked.status_code == 200 and "No pending invitations" in revoked.content.decode()


def test_last_admin_error_is_inline(client, organization, admin_user):
    client.force_login(admin_user)
    membership = Membership.objects.get(user=admin_user)
    response = client.post(
        url("membership_role", organization, membership_id=membership.pk), {"role": "viewer"}, **HTMX
    )
    assert response.status_code == 422 and "at least one admin" in response.content.decode()
    other = MembershipFactory(organization=organization, role="viewer")
    ok = client.post(url("membership_role", organization, membership_id=other.pk), {"role": "admin"}, **HTMX)
    assert ok.status_code == 200
    removed = client.post(url("membership_remove", organization, membership_id=other.pk), **HTMX)
    assert removed.status_code == 200 and f'id="member-{other.pk}"' not in removed.content.decode()
    assert not Membership.objects.filter(pk=other.pk).exists()


def test_viewer_sees_read_only_pages(client, organization, viewer_user):
    client.force_login(viewer_user)
    for name in ("detail", "dpa", "partners", "capabilities", "members"):
        html = client.get(url(name, organization)).content.decode()
        assert "<form" not in html.split('id="main"')[1].split("</main>")[0], name
    assert client.get(url("audit", organization)).status_code == 403


# Audit --------------------------------------------------------------------------------------------


STEPS = (AuditAction.DPA_REGISTERED, AuditAction.DPA_SUPERSEDED, AuditAction.DPA_REVOKED)


def test_audit_page_filters_and_paginates(client, organization, admin_user, support_user):
    actor = Actor(user=support_user)
    for i in range(60):
        audit_record(actor=actor, organization=organization, action=STEPS[i % 3], target=organization)
    audit_record(
        actor=Actor(),
        organization=organization,
        action=AuditAction.CAPABILITY_GRANTED,
        target_label="x",
        target_type="x.Y",
    )
    other = OrganizationFactory()
    audit_record(actor=actor, organization=other, action=AuditAction.ORGANIZATION_SUSPENDED, target=other)
    client.force_login(admin_user)
    page = client.get(url("audit", organization)).content.decode()
    assert AuditAction.DPA_REGISTERED in page and AuditAction.ORGANIZATION_SUSPENDED not in page and "Older" in page
    filtered = client.get(url("audit", organization), {"action": "capability."}, **HTMX)
    assert is_fragment(filtered) and AuditAction.CAPABILITY_GRANTED in filtered.content.decode()
    assert "dpa." not in filtered.content.decode()
    by_actor = client.get(url("audit", organization), {"actor": "system"}, **HTMX).content.decode()
    assert AuditAction.CAPABILITY_GRANTED in by_actor and "dpa." not in by_actor
    future = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert (
        "No audit entries match" in client.get(url("audit", organization), {"occurred_after": future}).content.decode()
    )


def test_audit_page_query_count_is_pinned(client, organization, admin_user, django_assert_max_num_queries):
    for _i in range(50):
        audit_record(
            actor=Actor(user=admin_user),
            organization=organization,
            action=AuditAction.ORGANIZATION_UPDATED,
            target=organization,
        )
    client.force_login(admin_user)
    with django_assert_max_num_queries(10):
        assert client.get(url("audit", organization)).status_code == 200


def test_audit_csv_export_streams_filtered_rows(client, organization, admin_user):
    audit_record(
        actor=Actor(user=admin_user, ip="198.51.100.7"),
        organization=organization,
        action=AuditAction.DPA_REGISTERED,
        after={"k": 1},
    )
    audit_record(actor=Actor(user=admin_user), organization=organization, action=AuditAction.MEMBERSHIP_CREATED)
    client.force_login(admin_user)
    response = client.get(url("audit_export", organization), {"action": "dpa."})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["occurred_at", "organization", "actor", "action"]
    assert [r[3] for r in rows[1:]] == [AuditAction.DPA_REGISTERED]
    assert rows[1][7] == "198.51.100.7" and rows[1][9] == '{"k": 1}'


def test_support_audit_sees_every_organization(support_client, django_assert_max_num_queries):
    orgs = [OrganizationFactory() for _ in range(3)]
    for org in orgs:
        for _ in range(10):
            audit_record(actor=Actor(), organization=org, action=AuditAction.ORGANIZATION_UPDATED, target=org)
    with django_assert_max_num_queries(10):
        html = support_client.get(url("audit_global")).content.decode()
    assert all(org.name in html for org in orgs)
    only_one = support_client.get(url("audit_global"), {"organization": orgs[0].pk}, **HTMX).content.decode()
    assert orgs[0].name in only_one and orgs[1].name not in only_one.split("<tbody>")[1]
    export = support_client.get(url("audit_global_export"))
    assert len(b"".join(export.streaming_content).decode().strip().splitlines()) == 31


def test_audit_page_shows_changes_as_a_diff(client, organization, admin_user):
    audit_record(
        actor=Actor(user=admin_user),
        organization=organization,
        action="organization.updated",
        target=organization,
        before={"status": "ONBOARDING"},
        after={"status": "ACTIVE", "note": {"k": 1}},
    )
    client.force_login(admin_user)
    html = client.get(url("audit", organization)).content.decode()
    assert "<dt>status</dt><dd><del>ONBOARDING</del> → <ins>ACTIVE</ins></dd>" in html
    assert "<dt>note</dt><dd>{&quot;k&quot;: 1}</dd>" in html


def test_audit_diff_shows_unchanged_values_plainly(client, organization, admin_user):
    audit_record(
        actor=Actor(user=admin_user),
        organization=organization,
        action="capability.revoked",
        before={"capability": "kycLevelB", "active": True},
        after={"capability": "kycLevelB", "active": False},
    )
    client.force_login(admin_user)
    html = client.get(url("audit", organization)).content.decode()
    assert "<dt>capability</dt><dd>kycLevelB</dd>" in html
    assert "<dt>active</dt><dd><del>true</del> → <ins>false</ins></dd>" in html


@pytest.mark.parametrize(("name", "limit"), [("detail", 18), ("partners", 12), ("capabilities", 12), ("members", 12)])
def test_organization_pages_query_counts_are_pinned(support_client, name, limit, django_assert_max_num_queries):
    org = pilot_organization(partners=15, capabilities=("webhooks", "kycLevelB", "kycSelfServiceInvitations"))
    actor = Actor()
    for authorization in list(org.partner_authorizations.all())[:5]:
        authorization.revoked_at = timezone.now()
        authorization.save()
    for _ in range(15):
        MembershipFactory(organization=org, role="viewer")
    for i in range(5):
        audit_record(actor=actor, organization=org, action=AuditAction.ORGANIZATION_UPDATED)
        MemberInvitation.objects.create(
            organization=org,
            email=f"p{i}@example.com",
            role="viewer",
            token_hash=f"{i:064d}",
            expires_at=timezone.now() + timedelta(days=1),
            invited_by=Membership.objects.filter(organization=org).first().user,
        )
    with django_assert_max_num_queries(limit):
        assert support_client.get(url(name, org)).status_code == 200


def test_member_of_two_organizations_switches_between_them(client, organization, admin_user):
    second = pilot_organization()
    MembershipFactory(organization=second, user=admin_user, role="viewer")
    client.force_login(admin_user)
    html = client.get(url("detail", second)).content.decode()
    switcher = html.split('class="menu org-switcher"')[1].split("</details>")[0]
    assert organization.name in switcher and second.name in switcher
    assert f'href="{url("detail", second)}" aria-current="true"' in switcher
    assert "your role: viewer" in html


def test_audit_tab_is_shown_to_admins_and_support_only(client, organization, admin_user, viewer_user, support_user):
    audit_href = f'href="{url("audit", organization)}"'
    for user, visible in ((support_user, True), (admin_user, True), (viewer_user, False)):
        client.force_login(user)
        assert (audit_href in client.get(url("detail", organization)).content.decode()) is visible, user


PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


def test_logo_upload_is_shown_and_served_publicly(support_client, client, organization):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"name": "X", "slug": organization.slug, "status": "ACTIVE", "rate_limit_per_minute": 60}
    logo = SimpleUploadedFile("brand.png", PNG_1X1, "image/png")
    response = support_client.post(url("edit", organization), {**data, "brand_color": "#000000", "logo": logo})
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.logo.name.startswith("logos/")
    assert f'src="{organization.logo.url}"' in support_client.get(url("detail", organization)).content.decode()
    served = client.get(organization.logo.url)  # anonymous: it brands buyer e-mails
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG_1X1
    assert client.get("/media/logos/not-a-logo.png").status_code == 404
    assert client.get("/media/dpa/anything.pdf").status_code == 404


def test_audit_filters_by_target_type(client, organization, admin_user, support_user):
    services.capability_grant(
        actor=Actor(user=support_user), organization=organization, capability="allowMultiVinOrders"
    )
    audit_record(actor=Actor(), organization=organization, action=AuditAction.ORGANIZATION_UPDATED, target=organization)
    client.force_login(admin_user)
    page = client.get(url("audit", organization)).content.decode()
    assert '<option value="organizations.CapabilityGrant">' in page
    html = client.get(url("audit", organization), {"target_type": "organizations.CapabilityGrant"}, **HTMX)
    assert (
        "capability.granted" in html.content.decode() and AuditAction.ORGANIZATION_UPDATED not in html.content.decode()
    )
