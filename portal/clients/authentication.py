"""Bearer-token authentication for /v1: one SHA-256 lookup, no slow hashing per request."""

from dataclasses import dataclass, field

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from portal.clients.credentials import ACCESS_TOKEN_PREFIX, credential_hash, has_valid_checksum
from portal.clients.models import AccessToken, ApiClient
from portal.clients.token_lookup import access_token_by_hash
from portal.core.problems import Problem


@dataclass
class ApiCaller:
    """What `request.auth` is on every /v1 call: the client, its organization and the token."""

    client: ApiClient
    token: AccessToken
    organization: object = field(init=False)

    def __post_init__(self):
        self.organization = self.client.organization


def _invalid(detail: str) -> Problem:
    return Problem("invalid-token", detail, headers={"WWW-Authenticate": 'Bearer realm="nt24", error="invalid_token"'})


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _invalid("Send an access token as `Authorization: Bearer <token>`.")
        raw = raw.strip()
        if not has_valid_checksum(raw, ACCESS_TOKEN_PREFIX):
            raise _invalid("The access token is malformed.")
        token = access_token_by_hash(credential_hash(raw))
        now = timezone.now()
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            raise _invalid("The access token is unknown, expired or revoked.")
        secret = token.secret
        if secret.revoked_at is not None or (secret.expires_at is not None and secret.expires_at <= now):
            raise _invalid("The client secret this token was minted with is no longer valid.")
        if token.client.status == ApiClient.Status.REVOKED:
            raise _invalid("The API client has been revoked.")
        return (None, ApiCaller(client=token.client, token=token))

    def authenticate_header(self, request):
        return 'Bearer realm="nt24"'
