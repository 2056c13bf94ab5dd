"""The demo organization's API client for `seed_demo`: every run hands out a fresh, working secret."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from portal.clients.models import ApiClient, ClientSecret
from portal.clients.services import _secret_create, client_create
from portal.core.audit import Actor, audit_record

DEMO_CLIENT_NAME = "Demo DMS"
ROTATION_WINDOW = timedelta(hours=24)


@transaction.atomic
def demo_client_credentials(*, organization) -> dict:
    """{"clientId", "clientSecret"}: creates "Demo DMS" once; later runs mint a new secret and give
    the previous ones the usual 24 h rotation window."""
    client = ApiClient.objects.select_for_update().filter(organization=organization, name=DEMO_CLIENT_NAME).first()
    if client is None:
        client, issued = client_create(
            actor=Actor.system(),
            organization=organization,
            name=DEMO_CLIENT_NAME,
            description="The demo integrator's dealer management system (created by seed_demo).",
        )
        return {"clientId": client.client_id, "clientSecret": issued.plaintext}
    now = timezone.now()
    ClientSecret.objects.filter(client=client, revoked_at__isnull=True, expires_at__isnull=True).update(
        expires_at=now + ROTATION_WINDOW, updated_at=now
    )
    issued = _secret_create(client=client)
    audit_record(
        actor=Actor.system(),
        organization=organization,
        action="client.secret_rotated",
        target=client,
        after={"secret": f"…{issued.secret.last_four}", "previousValidFor": "24h"},
    )
    return {"clientId": client.client_id, "clientSecret": issued.plaintext}
