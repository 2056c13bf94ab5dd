from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.core.audit import Actor
from portal.core.audit_actions import AuditAction
from portal.core.models import AuditEntry
from portal.core.tokens import token_hash
from portal.organizations import services
from portal.organizations.models import (
    CapabilityGrant,
    DataProcessingAgreement,
    IntegrationOrganization,
    MemberInvitation,
    Membership,
    PartnerAuthorization,
)
from portal.organizations.selectors import organization_active_dpa, organization_capabilities, organization_partners
from tests.factories import MembershipFactory, OrganizationFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(support_user):
    return Actor(user=support_user, ip="203.0.113.9")


def actions(organization=None):
    qs = AuditEntry.objects.order_by("occurred_at")
    if organization is not None:
        qs = qs.filter(organization=organization)
    return list(qs.values_list("action", flat=True))


def test_organization_create_audits_and_normalizes(actor):
    org = services.organization_create(actor=actor, name=" Nord Autos ", slug="Nord-Autos", brand_color="#AABBCC")
    assert (org.name, org.slug, org.status, org.brand_color) == ("Nord Autos", "nord-autos", "ONBOARDING", "#aabbcc")
    entry = AuditEntry.objects.get(action="organization.created")
    assert entry.organization == org
    assert entry.actor_user == actor.user
    assert entry.ip_address == "203.0.113.9"
    assert entry.after["slug"] == "nord-autos"


def test_organization_slug_is_unique_by_constraint(actor):
    services.organization_create(actor=actor, name="A", slug="same")
    with pytest.raises(ValidationError) as exc:
        services.organization_create(actor=actor, name="B", slug="same")
    assert "slug" in exc.value.error_dict
    assert IntegrationOrganization.objects.filter(slug="same").count() == 1
    assert actions().count("organization.created") == 1


def test_organization_create_rejects_bad_colour(actor):
    with pytest.raises(ValidationError) as exc:
        services.organization_create(actor=actor, name="A", slug="a", brand_color="blue")
    assert "brand_color" in exc.value.error_dict
    assert not IntegrationOrganization.objects.exists()


def test_organization_update_records_only_changes(actor):
    org = services.organization_create(actor=actor, name="A", slug="a")
    services.organization_update(actor=actor, organization=org, status="ACTIVE", rate_limit_per_minute=1200, name="A")
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.before == {"status": "ONBOARDING", "rate_limit_per_minute": 600}
    assert entry.after == {"status": "ACTIVE", "rate_limit_per_minute": 1200}
    # A no-op update writes nothing.
    services.organization_update(actor=actor, organization=org, name="A")
    assert actions().count("organization.updated") == 1


def test_dpa_register_opens_gate_and_supersedes(actor, pdf_upload):
    org = OrganizationFactory()
    assert organization_active_dpa(organization=org) is None
    first = services.dpa_register(
        actor=actor,
        organization=org,
        version="2025-01",
        signer_name="Dana",
        signer_email="Dana@Example.com",
        signed_at=timezone.now() - timedelta(days=3),
        document=pdf_upload(),
    )
    assert first.registered_by == actor.user and first.signer_email == "dana@example.com"
    assert first.document.read(5) == b"%PDF-"
    second = services.dpa_register(
        actor=actor,
        organization=org,
        version="2026-01",
        signer_name="Dana",
        signer_email="dana@example.com",
        signed_at=timezone.now(),
        document=pdf_upload(),
    )
    first.refresh_from_db()
    assert first.revoked_at is not None and "Superseded" in first.revoke_reason
    assert organization_active_dpa(organization=org) == second
    assert actions(org) == ["dpa.registered", "dpa.superseded", "dpa.registered"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"GIF89a not a pdf", "not a PDF"), (b"%PDF-" + b"0" * (10 * 1024 * 1024), "10 MiB")],
)
def test_dpa_register_validates_pdf(actor, pdf_upload, content, message):
    org = OrganizationFactory()
    with pytest.raises(ValidationError) as exc:
        services.dpa_register(
            actor=actor,
            organization=org,
            version="1",
            signer_name="x",
            signer_email="x@example.com",
            signed_at=timezone.now(),
            document=pdf_upload(content=content),
        )
    assert message in str(exc.value.error_dict["document"])
    assert not DataProcessingAgreement.objects.exists()
    assert not AuditEntry.objects.exists()


def test_dpa_revoke_closes_gate_and_needs_reason(actor, organization):
    dpa = organization_active_dpa(organization=organization)
    with pytest.raises(ValidationError):
        services.dpa_revoke(actor=actor, dpa=dpa, reason="  ")
    services.dpa_revoke(actor=actor, dpa=dpa, reason="Contract ended")
    assert organization_active_dpa(organization=organization) is None
    entry = AuditEntry.objects.get(action="dpa.revoked")
    assert entry.after == {"active": False, "reason": "Contract ended"}
    with pytest.raises(ValidationError):
        services.dpa_revoke(actor=actor, dpa=dpa, reason="again")


def test_dpa_revoke_recloses_the_api_gate(organization, support_user):
    from types import SimpleNamespace

    from portal.core.problems import Problem
    from portal.gateway.views import gateway_check_dpa

    caller = SimpleNamespace(organization=organization)
    gateway_check_dpa(caller)  # open while the DPA is active
    services.dpa_revoke(
        actor=Actor(user=support_user), dpa=organization_active_dpa(organization=organization), reason="test"
    )
    with pytest.raises(Problem) as exc:
        gateway_check_dpa(caller)
    assert exc.value.problem.slug == "dpa-not-accepted"


def test_partner_create_normalizes_vat(actor):
    partner = services.partner_create(
        actor=actor, legal_name="Autohaus", country_code="de", vat_number="de 136 695 976"
    )
    assert (partner.country_code, partner.vat_number) == ("DE", "DE136695976")
    with pytest.raises(ValidationError) as exc:
        services.partner_create(actor=actor, legal_name="Dup", country_code="DE", vat_number="DE136695976")
    assert "already exists" in str(exc.value)


@pytest.mark.parametrize(
    ("country", "vat", "field"),
    [("DE", "DE123", "vat_number"), ("FR", "DE136695976", "vat_number"), ("D", "DE136695976", "country_code")],
)
def test_partner_create_rejects_bad_input(actor, country, vat, field):
    with pytest.raises(ValidationError) as exc:
        services.partner_create(actor=actor, legal_name="X", country_code=country, vat_number=vat)
    assert field in exc.value.error_dict


def test_greek_vat_prefix_matches_gr(actor):
    partner = services.partner_create(
        actor=actor, legal_name="Athens Cars", country_code="GR", vat_number="EL094259216"
    )
    assert partner.vat_number == "EL094259216"


def test_partner_authorize_and_revoke(actor):
    org = OrganizationFactory()
    partner = PartnerFactory()
    authorization = services.partner_authorize(actor=actor, organization=org, partner=partner)
    assert list(organization_partners(organization=org)) == [partner]
    with pytest.raises(ValidationError):
        services.partner_authorize(actor=actor, organization=org, partner=partner)
    with pytest.raises(ValidationError):
        services.partner_authorization_revoke(actor=actor, authorization=authorization, reason="")
    services.partner_authorization_revoke(actor=actor, authorization=authorization, reason="Left the group")
    assert not organization_partners(organization=org).exists()
    # Re-authorizing after a revocation is allowed (new row, history kept).
    services.partner_authorize(actor=actor, organization=org, partner=partner)
    assert PartnerAuthorization.objects.filter(organization=org, partner=partner).count() == 2
    assert actions(org) == [
        AuditAction.PARTNER_AUTHORIZATION_CREATED,
        AuditAction.PARTNER_AUTHORIZATION_REVOKED,
        AuditAction.PARTNER_AUTHORIZATION_CREATED,
    ]


def test_capability_grant_and_revoke(actor):
    org = OrganizationFactory()
    grant = services.capability_grant(actor=actor, organization=org, capability="kycLevelB", reason="pilot")
    assert organization_capabilities(organization=org) == {"kycLevelB"}
    with pytest.raises(ValidationError):
        services.capability_grant(actor=actor, organization=org, capability="kycLevelB")
    with pytest.raises(ValidationError):
        services.capability_grant(actor=actor, organization=org, capability="teleport")
    services.capability_revoke(actor=actor, grant=grant, reason="pilot over")
    assert organization_capabilities(organization=org) == set()
    assert CapabilityGrant.objects.get(pk=grant.pk).revoke_reason == "pilot over"
    assert actions(org) == ["capability.granted", "capability.revoked"]


def test_last_admin_cannot_be_demoted_or_removed(actor):
    org = OrganizationFactory()
    only_admin = MembershipFactory(organization=org, role="admin")
    with pytest.raises(ValidationError):
        services.membership_role_change(actor=actor, membership=only_admin, role="viewer")
    with pytest.raises(ValidationError):
        services.membership_remove(actor=actor, membership=only_admin)
    second = MembershipFactory(organization=org, role="operator")
    services.membership_role_change(actor=actor, membership=second, role="admin")
    services.membership_role_change(actor=actor, membership=only_admin, role="viewer")
    services.membership_remove(actor=actor, membership=only_admin)
    assert list(Membership.objects.filter(organization=org).values_list("role", flat=True)) == ["admin"]
    assert actions(org) == ["membership.role_changed", "membership.role_changed", "membership.removed"]


def test_invitation_lifecycle(actor, django_capture_on_commit_callbacks):
    org = OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.invitation_create(actor=actor, organization=org, email="New@Example.com", role="operator")
    invitation = issued.invitation
    assert invitation.email == "new@example.com"
    assert invitation.token_hash == token_hash(issued.token)
    assert issued.token not in invitation.token_hash
    assert timedelta(days=6, hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=7)
    assert len(mail.outbox) == 1 and issued.url in mail.outbox[0].body
    assert mail.outbox[0].to == ["new@example.com"]

    with pytest.raises(ValidationError):
        services.invitation_create(actor=actor, organization=org, email="new@example.com", role="viewer")

    with django_capture_on_commit_callbacks(execute=True):
        resent = services.invitation_resend(actor=actor, invitation=invitation)
    assert resent.token != issued.token and len(mail.outbox) == 2
    with pytest.raises(ValidationError):
        services.invitation_accept(actor=Actor(), token=issued.token, password="a-long-password-1")

    membership = services.invitation_accept(actor=Actor(), token=resent.token, password="a-long-password-1")
    assert membership.role == "operator" and membership.user.email == "new@example.com"
    assert membership.user.check_password("a-long-password-1")
    with pytest.raises(ValidationError):  # single use
        services.invitation_accept(actor=Actor(), token=resent.token, user=membership.user)
    assert actions(org) == [
        AuditAction.MEMBER_INVITATION_CREATED,
        AuditAction.MEMBER_INVITATION_RESENT,
        "user.created",
        AuditAction.MEMBER_INVITATION_ACCEPTED,
    ]


def test_invitation_expires_and_revokes(actor, time_machine):
    org = OrganizationFactory()
    issued = services.invitation_create(actor=actor, organization=org, email="a@example.com", role="viewer")
    user = UserFactory(email="a@example.com")
    time_machine.move_to(timezone.now() + timedelta(days=7, minutes=1))
    with pytest.raises(ValidationError):
        services.invitation_accept(actor=Actor(), token=issued.token, user=user)
    # An expired invitation no longer blocks a new one.
    second = services.invitation_create(actor=actor, organization=org, email="a@example.com", role="viewer")
    services.invitation_revoke(actor=actor, invitation=second.invitation)
    with pytest.raises(ValidationError):
        services.invitation_accept(actor=Actor(), token=second.token, user=user)
    assert MemberInvitation.objects.get(pk=second.invitation.pk).revoked_at is not None
    assert not Membership.objects.filter(user=user).exists()


def test_invitation_attaches_logged_in_user_with_matching_email(actor):
    org = OrganizationFactory()
    user = UserFactory(email="existing@example.com")
    other = UserFactory()
    issued = services.invitation_create(actor=actor, organization=org, email="existing@example.com", role="admin")
    with pytest.raises(ValidationError):
        services.invitation_accept(actor=Actor(user=other), token=issued.token, user=other)
    with pytest.raises(ValidationError):  # the account exists: it must log in, not be re-created
        services.invitation_accept(actor=Actor(), token=issued.token, password="a-long-password-1")
    membership = services.invitation_accept(actor=Actor(user=user), token=issued.token, user=user)
    assert membership.user == user and membership.role == "admin"


def test_invitation_for_existing_member_is_refused(actor, organization, admin_user):
    with pytest.raises(ValidationError) as exc:
        services.invitation_create(actor=actor, organization=organization, email=admin_user.email, role="viewer")
    assert "already a member" in str(exc.value)
