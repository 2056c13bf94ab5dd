"""`manage.py seed_demo [--json]`: idempotent demo data for `make run`, the browser tests and the docs.

Creates (or brings back to the documented state) the NT24 support user, the "Demo Motors Group"
organization with a signed DPA and every capability, three partners (two authorized), an admin, an
operator and a viewer, and the "Demo DMS" API client. Every run mints a fresh client secret.
"""

import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.clients.demo import demo_client_credentials
from portal.core.audit import Actor
from portal.organizations import services
from portal.organizations.capabilities import CAPABILITIES
from portal.organizations.models import (
    CapabilityGrant,
    DataProcessingAgreement,
    IntegrationOrganization,
    Membership,
    Partner,
    PartnerAuthorization,
)

SUPPORT = {"email": "support@nt24.example", "password": "demo-support-2026"}
ORGANIZATION = {"slug": "demo-motors", "name": "Demo Motors Group"}
PARTNERS = [
    {"legal_name": "Autohaus Nord GmbH", "country_code": "DE", "vat_number": "DE136695976", "authorized": True},
    {"legal_name": "Garage Central SA", "country_code": "BE", "vat_number": "BE0428759497", "authorized": True},
    {"legal_name": "Van Dijk Automotive BV", "country_code": "NL", "vat_number": "NL004495445B01", "authorized": False},
]
USERS = [
    {"email": "admin@demo-motors.example", "password": "demo-admin-2026", "role": "admin", "name": "Alex Admin"},
    {
        "email": "operator@demo-motors.example",
        "password": "demo-operator-2026",
        "role": "operator",
        "name": "Olga Operator",
    },
    {"email": "viewer@demo-motors.example", "password": "demo-viewer-2026", "role": "viewer", "name": "Victor Viewer"},
]


def demo_dpa_pdf() -> bytes:
    """A small, valid one-page PDF standing in for the signed agreement."""
    text = b"BT /F1 14 Tf 72 720 Td (NT24 Data Processing Agreement - demo, signed) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(text)).encode() + b" >>\nstream\n" + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _user(*, email: str, password: str, full_name: str = "", staff: bool = False) -> User:
    user = User.objects.filter(email__iexact=email).first() or User(email=email)
    user.full_name = full_name or user.full_name
    user.is_active = True
    user.is_staff = staff or user.is_staff
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def seed_demo() -> dict:
    support = _user(email=SUPPORT["email"], password=SUPPORT["password"], full_name="NT24 Support", staff=True)
    support.user_permissions.add(Permission.objects.get(codename="support", content_type__app_label="accounts"))
    actor = Actor(user=support)

    organization = IntegrationOrganization.objects.filter(slug=ORGANIZATION["slug"]).first()
    if organization is None:
        organization = services.organization_create(
            actor=actor,
            name=ORGANIZATION["name"],
            slug=ORGANIZATION["slug"],
            status=IntegrationOrganization.Status.ACTIVE,
            rate_limit_per_minute=600,
        )

    if not DataProcessingAgreement.objects.filter(organization=organization, revoked_at__isnull=True).exists():
        services.dpa_register(
            actor=actor,
            organization=organization,
            version="2026-01",
            signer_name="Dana Demo",
            signer_email="dana.demo@demo-motors.example",
            signed_at=timezone.now() - timedelta(days=1),
            document=ContentFile(demo_dpa_pdf(), name="dpa.pdf"),
        )

    partners = []
    for spec in PARTNERS:
        partner = Partner.objects.filter(vat_number=spec["vat_number"]).first()
        if partner is None:
            partner = services.partner_create(
                actor=actor,
                organization=organization,
                legal_name=spec["legal_name"],
                country_code=spec["country_code"],
                vat_number=spec["vat_number"],
            )
        active = PartnerAuthorization.objects.filter(
            organization=organization, partner=partner, revoked_at__isnull=True
        ).first()
        if spec["authorized"] and active is None:
            services.partner_authorize(actor=actor, organization=organization, partner=partner)
        elif not spec["authorized"] and active is not None:
            services.partner_authorization_revoke(
                actor=actor, authorization=active, reason="seed_demo: this demo partner stays unauthorized."
            )
        partners.append({"id": str(partner.pk), "name": partner.legal_name, "authorized": spec["authorized"]})

    granted = set(
        CapabilityGrant.objects.filter(organization=organization, revoked_at__isnull=True).values_list(
            "capability", flat=True
        )
    )
    for capability in CAPABILITIES:
        if capability.slug not in granted:
            services.capability_grant(
                actor=actor, organization=organization, capability=capability.slug, reason="Demo organization"
            )

    users = []
    for spec in USERS:
        user = _user(email=spec["email"], password=spec["password"], full_name=spec["name"])
        membership = Membership.objects.filter(organization=organization, user=user).first()
        if membership is None:
            services.membership_create(actor=actor, organization=organization, user=user, role=spec["role"])
        elif membership.role != spec["role"]:
            services.membership_role_change(actor=actor, membership=membership, role=spec["role"])
        users.append({"email": spec["email"], "password": spec["password"], "role": spec["role"]})

    client = demo_client_credentials(organization=organization)
    return {
        "baseUrl": settings.PORTAL_BASE_URL,
        "support": dict(SUPPORT),
        "organization": {"id": str(organization.pk), "slug": organization.slug, "name": organization.name},
        "partners": partners,
        "users": users,
        "client": client,
    }


class Command(BaseCommand):
    help = "Create or refresh the demo data (idempotent). --json prints the logins and a fresh API secret."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a summary.")

    def handle(self, *args, **options):
        data = seed_demo()
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        org = data["organization"]
        lines = [
            self.style.SUCCESS("Demo data is ready."),
            f"  Portal:        {data['baseUrl']}/",
            f"  NT24 support:  {data['support']['email']} / {data['support']['password']}",
            *(f"  {u['role']:<13} {u['email']} / {u['password']}" for u in data["users"]),
            f"  Organization:  {org['name']} ({org['slug']}, {org['id']})",
            *(
                f"  Partner:       {p['name']} {p['id']} ({'authorized' if p['authorized'] else 'not authorized'})"
                for p in data["partners"]
            ),
            f"  API client:    {data['client']['clientId']}",
            f"  Client secret: {data['client']['clientSecret']}  (new on every run; the previous one stays valid 24 h)",
        ]
        self.stdout.write("\n".join(lines))
