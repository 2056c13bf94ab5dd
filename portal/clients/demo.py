"""Demo credentials for `seed_demo`: the first run creates "Demo DMS"; later runs rotate it.

Every run returns a fresh secret; the previous one stays valid for the default 24 h window, so a
demo script started before a re-seed keeps working.
"""

from datetime import timedelta

from django.db import transaction

from portal.clients.models import ApiClient
from portal.clients.services import DEFAULT_ROTATION_WINDOW, client_create, client_secret_rotate
from portal.core.audit import Actor

DEMO_CLIENT_NAME = "Demo DMS"


@transaction.atomic
def demo_client_credentials(*, organization, window: timedelta = DEFAULT_ROTATION_WINDOW) -> dict:
    actor = Actor.system()
    client = ApiClient.objects.filter(organization=organization, name=DEMO_CLIENT_NAME).first()
    if client is None or client.status == ApiClient.Status.REVOKED:
        if client is not None:  # a revoked demo client keeps its name: give the new one a fresh row
            client.name = f"{DEMO_CLIENT_NAME} (revoked {client.revoked_at:%Y-%m-%d %H:%M})"
            client.save(update_fields=["name", "updated_at"])
        client, issued = client_create(
            actor=actor,
            organization=organization,
            name=DEMO_CLIENT_NAME,
            description="Created by seed_demo: a dealer management system calling the API.",
        )
    else:
        # Re-seeding during an overlap ends the oldest secret: the one from two runs ago.
        issued = client_secret_rotate(actor=actor, client=client, window=window, confirm_end_overlap=True)
    return {"clientId": client.client_id, "clientSecret": issued.plaintext}
