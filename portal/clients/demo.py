"""The demo organization's API client for `seed_demo`: every run hands out a fresh, working secret."""

from datetime import timedelta

from django.db import transaction

from portal.clients.models import ApiClient
from portal.clients.services import client_create, client_secret_rotate
from portal.core.audit import Actor

DEMO_CLIENT_NAME = "Demo DMS"
ROTATION_WINDOW = timedelta(hours=24)


@transaction.atomic
def demo_client_credentials(*, organization) -> dict:
    """{"clientId", "clientSecret"}: creates "Demo DMS" once; later runs rotate its secret and leave
    the previous one valid for the usual 24 h rotation window."""
    client = ApiClient.objects.select_for_update().filter(organization=organization, name=DEMO_CLIENT_NAME).first()
    if client is None:
        client, issued = client_create(
            actor=Actor.system(),
            organization=organization,
            name=DEMO_CLIENT_NAME,
            description="The demo integrator's dealer management system (created by seed_demo).",
        )
        return {"clientId": client.client_id, "clientSecret": issued.plaintext}
    # At most two secrets are valid: an older one still in its window ends now (seed runs can be minutes apart).
    issued = client_secret_rotate(actor=Actor.system(), client=client, window=ROTATION_WINDOW, confirm_end_overlap=True)
    return {"clientId": client.client_id, "clientSecret": issued.plaintext}
