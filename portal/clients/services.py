from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from portal.clients.credentials import (
    credential_hash,
    new_access_token,
    new_client_id,
    new_client_secret,
)
from portal.clients.models import AccessToken, ApiClient, ClientSecret
from portal.core.audit import Actor, audit_record

ACCESS_TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class IssuedSecret:
    """A secret in plain text: returned once to be shown once, never stored."""

    secret: ClientSecret
    plaintext: str


def _secret_create(*, client: ApiClient, created_by=None) -> IssuedSecret:
    plaintext = new_client_secret()
    secret = ClientSecret.objects.create(
        client=client, secret_hash=credential_hash(plaintext), last_four=plaintext[-4:], created_by=created_by
    )
    return IssuedSecret(secret=secret, plaintext=plaintext)


@transaction.atomic
def client_create(*, actor: Actor, organization, name: str, description: str = "") -> tuple[ApiClient, IssuedSecret]:
    client = ApiClient.objects.create(
        organization=organization,
        client_id=new_client_id(),
        name=name,
        description=description,
        created_by=actor.user,
    )
    issued = _secret_create(client=client, created_by=actor.user)
    audit_record(
        actor=actor,
        organization=organization,
        action="client.created",
        target=client,
        after={"name": name, "clientId": client.client_id, "secret": f"…{issued.secret.last_four}"},
    )
    return client, issued


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    plaintext: str
    expires_in: int


def access_token_issue(*, client: ApiClient, secret: ClientSecret) -> IssuedToken:
    plaintext = new_access_token()
    now = timezone.now()
    token = AccessToken.objects.create(
        client=client, secret=secret, token_hash=credential_hash(plaintext), expires_at=now + ACCESS_TOKEN_LIFETIME
    )
    return IssuedToken(token=token, plaintext=plaintext, expires_in=int(ACCESS_TOKEN_LIFETIME.total_seconds()))
