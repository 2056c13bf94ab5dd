"""factory-boy factories shared by every app's tests."""

import factory
from django.contrib.auth.models import Permission
from django.utils import timezone

from portal.accounts.models import User
from portal.organizations.models import (
    CapabilityGrant,
    DataProcessingAgreement,
    IntegrationOrganization,
    Membership,
    Partner,
    PartnerAuthorization,
)

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SupportUserFactory(UserFactory):
    is_staff = True
    email = factory.Sequence(lambda n: f"support{n}@nt24.example")

    @factory.post_generation
    def support_permission(obj, create, extracted, **kwargs):
        if create:
            obj.user_permissions.add(Permission.objects.get(codename="support", content_type__app_label="accounts"))


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntegrationOrganization

    name = factory.Sequence(lambda n: f"Dealer Group {n}")
    slug = factory.Sequence(lambda n: f"dealer-group-{n}")
    status = IntegrationOrganization.Status.ACTIVE


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    legal_name = factory.Sequence(lambda n: f"Autohaus {n} GmbH")
    country_code = "DE"
    vat_number = factory.Sequence(lambda n: f"DE{100000000 + n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ADMIN


class DpaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataProcessingAgreement

    organization = factory.SubFactory(OrganizationFactory)
    version = "2026-01"
    signer_name = "Dana Signer"
    signer_email = "dana@example.com"
    signed_at = factory.LazyFunction(timezone.now)
    registered_by = factory.SubFactory(SupportUserFactory)
    registered_at = factory.LazyFunction(timezone.now)


class PartnerAuthorizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerAuthorization

    organization = factory.SubFactory(OrganizationFactory)
    partner = factory.SubFactory(PartnerFactory)
    authorized_by = factory.SubFactory(SupportUserFactory)
    authorized_at = factory.LazyFunction(timezone.now)


class CapabilityGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CapabilityGrant

    organization = factory.SubFactory(OrganizationFactory)
    capability = "webhooks"
    granted_by = factory.SubFactory(SupportUserFactory)
    granted_at = factory.LazyFunction(timezone.now)


def pilot_organization(*, capabilities=("webhooks", "kycSelfServiceInvitations", "kycLevelB"), partners=1, dpa=True):
    """An organization ready for API calls: DPA registered, partners authorized, capabilities granted."""
    organization = OrganizationFactory()
    support = SupportUserFactory()
    if dpa:
        DpaFactory(organization=organization, registered_by=support)
    for _ in range(partners):
        PartnerAuthorizationFactory(organization=organization, authorized_by=support)
    for capability in capabilities:
        CapabilityGrantFactory(organization=organization, capability=capability, granted_by=support)
    return organization


def budgeted_organization(limit: int):
    """A pilot organization whose API budget is `limit` requests per minute, none spent yet."""
    from portal.gateway.ratelimit import organization_budget_reset

    organization = pilot_organization()
    organization.rate_limit_per_minute = limit
    organization.save()
    organization_budget_reset(organization=organization)
    return organization
