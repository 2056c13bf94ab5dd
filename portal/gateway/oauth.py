"""POST /oauth/token: OAuth 2.0 client credentials (RFC 6749 §4.4) with RFC 6749 §5.2 error bodies."""

import base64
import binascii
from urllib.parse import unquote_plus

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.clients.selectors import client_credentials_verify
from portal.clients.services import access_token_issue, client_token_lockout_record
from portal.core.audit import Actor
from portal.gateway.oauth_throttle import token_failure_record, token_lockout_seconds, token_rate

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=["client_credentials"])
    client_id = serializers.CharField(required=False, help_text="Unless sent with HTTP Basic authentication.")
    client_secret = serializers.CharField(required=False, help_text="Unless sent with HTTP Basic authentication.")
    scope = serializers.CharField(required=False, help_text="Ignored: a token carries the organization's scope.")


class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField()


class OAuthErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(
        choices=["invalid_request", "invalid_client", "unsupported_grant_type", "unauthorized_client"]
    )
    error_description = serializers.CharField(required=False)


class OAuthError(Exception):
    def __init__(
        self, error: str, description: str, *, status: int = 400, basic: bool = False, retry_after: int | None = None
    ):
        self.error, self.description, self.status, self.basic = error, description, status, basic
        self.retry_after = retry_after
        super().__init__(description)


def _refuse_nul(*values) -> None:
    # PostgreSQL refuses NUL in text; no client id or secret holds one.
    if any(isinstance(value, str) and "\x00" in value for value in values):
        raise OAuthError("invalid_request", "The client credentials must not contain NUL characters.")


def _locked_out(retry: int) -> OAuthError:
    return OAuthError(
        "too_many_attempts",
        f"Too many failed authentications for this client; retry in {retry} s.",
        status=429,
        retry_after=retry,
    )


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", status=401, basic=True) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", status=401, basic=True)
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    _refuse_nul(client_id, secret)
    return client_id, secret


class TokenView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [FormParser, MultiPartParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="oauth_token",
        summary="Get an access token",
        description="OAuth 2.0 client credentials grant. Authenticate the client with HTTP Basic "
        "(`client_id:client_secret`) or with `client_id` and `client_secret` in the form body (not both). "
        "The token is opaque (`nt24_at_…`) and valid for one hour; request a new one when it expires.",
        tags=["oauth"],
        auth=[{"basicAuth": []}, {}],
        request={"application/x-www-form-urlencoded": TokenRequestSerializer},
        responses={
            200: OpenApiResponse(
                TokenResponseSerializer,
                examples=[
                    OpenApiExample(
                        "token",
                        value={"access_token": "nt24_at_3xAmpLe…", "token_type": "Bearer", "expires_in": 3600},
                    )
                ],
            ),
            400: OpenApiResponse(OAuthErrorSerializer, description="invalid_request or unsupported_grant_type"),
            401: OpenApiResponse(OAuthErrorSerializer, description="invalid_client"),
            429: OpenApiResponse(
                OAuthErrorSerializer,
                description="too_many_attempts: 10 failed authentications of this client id in 5 minutes; "
                "every request for it is refused until Retry-After, even with the right secret.",
            ),
        },
    )
    def post(self, request):
        try:
            return self._issue(request)
        except OAuthError as exc:
            return self._error(exc)

    def _issue(self, request):
        try:
            data = request.data
        except (drf_exceptions.UnsupportedMediaType, drf_exceptions.ParseError) as exc:
            raise OAuthError("invalid_request", "Send the parameters as application/x-www-form-urlencoded.") from exc
        header = request.META.get("HTTP_AUTHORIZATION", "")
        basic = _basic_credentials(header) if header else None
        form_id, form_secret = data.get("client_id"), data.get("client_secret")
        _refuse_nul(form_id, form_secret, data.get("grant_type"))
        if basic is not None and (form_secret or (form_id and form_id != basic[0])):
            raise OAuthError("invalid_request", "Use one client authentication method: HTTP Basic or the form body.")
        grant_type = data.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "The grant_type parameter is missing.")
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", "Only the client_credentials grant is supported.")
        if basic is None and (not form_id or not form_secret):
            raise OAuthError(
                "invalid_client",
                "Authenticate the client with HTTP Basic or client_id and client_secret.",
                status=401,
                basic=True,
            )
        client_id, client_secret = basic if basic is not None else (form_id, form_secret)
        retry = token_lockout_seconds(client_id=client_id)
        if retry is not None:
            raise _locked_out(retry)
        verified = client_credentials_verify(client_id=client_id, client_secret=client_secret)
        if verified is None:
            if token_failure_record(client_id=client_id):
                client_token_lockout_record(
                    actor=Actor.from_request(request),
                    client_id=client_id,
                    rate=str(token_rate()),
                    lockout_seconds=token_lockout_seconds(client_id=client_id),
                )
            raise OAuthError(
                "invalid_client",
                "Unknown client, or a wrong, expired or revoked secret.",
                status=401,
                basic=basic is not None,
            )
        client, secret = verified
        if client.organization.is_suspended:
            raise OAuthError(
                "invalid_client",
                "The client's organization is suspended by NT24 support; no token is issued until it is reactivated.",
                status=401,
                basic=basic is not None,
            )
        issued = access_token_issue(client=client, secret=secret)
        return Response(
            {"access_token": issued.plaintext, "token_type": "Bearer", "expires_in": issued.expires_in},
            headers=NO_STORE,
        )

    def _error(self, exc: OAuthError) -> Response:
        headers = dict(NO_STORE)
        if exc.status == 401:
            # RFC 6749 §5.2: a 401 carries the scheme the client should use.
            headers["WWW-Authenticate"] = 'Basic realm="nt24", charset="UTF-8"'
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return Response({"error": exc.error, "error_description": exc.description}, status=exc.status, headers=headers)

    def handle_exception(self, exc):
        if isinstance(exc, drf_exceptions.MethodNotAllowed):
            response = Response(
                {"error": "invalid_request", "error_description": "Use POST."}, status=405, headers=NO_STORE
            )
            response["Allow"] = "POST"
            return response
        return super().handle_exception(exc)
