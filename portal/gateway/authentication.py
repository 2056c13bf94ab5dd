"""Bearer-token authentication for /v1 (rule 1): one SHA-256, then the in-process caller cache or one query.

A token found in the cache (portal/gateway/cache.py) is *provisional* until the gateway's budget
call confirms that nothing changed since it was read; the gateway reloads it otherwise."""

from dataclasses import dataclass, field

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from portal.clients.credentials import ACCESS_TOKEN_PREFIX, has_valid_checksum
from portal.clients.models import AccessToken, ApiClient
from portal.core.generation import generation_current
from portal.core.problems import Problem
from portal.core.tokens import token_hash
from portal.gateway.cache import caller_cached, caller_forget
from portal.gateway.token_lookup import access_token_by_hash


@dataclass
class ApiCaller:
    """What `request.auth` is on every /v1 call: the client, its organization and the token."""

    client: ApiClient
    token: AccessToken
    token_hash: str = ""
    # The gateway generation the rows were read under (None: not known, never cached).
    generation: int | None = None
    # True when the rows come from this process's cache and still need the generation check.
    cached: bool = False
    organization: object = field(init=False)

    def __post_init__(self):
        self.organization = self.client.organization


def _invalid(detail: str) -> Problem:
    return Problem("invalid-token", detail, headers={"WWW-Authenticate": 'Bearer realm="nt24", error="invalid_token"'})


def token_check(token: AccessToken | None, now) -> None:
    """Rule 1 on a token row (with its secret and client): 401 invalid-token unless it may call."""
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise _invalid("The access token is unknown, expired or revoked.")
    secret = token.secret
    if secret.revoked_at is not None or (secret.expires_at is not None and secret.expires_at <= now):
        raise _invalid("The client secret this token was minted with is no longer valid.")
    if token.client.status == ApiClient.Status.REVOKED:
        raise _invalid("The API client has been revoked.")


def caller_load(token_hash: str, now) -> ApiCaller:
    """The caller from the database, with the generation read before the rows (rule 1 applied)."""
    generation = generation_current()
    token = access_token_by_hash(token_hash)
    token_check(token, now)
    return ApiCaller(client=token.client, token=token, token_hash=token_hash, generation=generation)


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _invalid("Send an access token as `Authorization: Bearer <token>`.")
        raw = raw.strip()
        hashed = token_hash(raw)
        now = timezone.now()
        cached = caller_cached(hashed)  # only well-formed tokens are ever cached
        if cached is None:
            if not has_valid_checksum(raw, ACCESS_TOKEN_PREFIX):
                raise _invalid("The access token is malformed.")
            return (None, caller_load(hashed, now))
        generation, token = cached
        try:
            token_check(token, now)  # expiry by the clock is final; revocations raise the generation
        except Problem:
            caller_forget(hashed)
            raise
        caller = ApiCaller(client=token.client, token=token, token_hash=hashed, generation=generation, cached=True)
        return (None, caller)

    def authenticate_header(self, request):
        return 'Bearer realm="nt24"'
