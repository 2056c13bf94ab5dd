"""How the bearer token is documented: `Authorization: Bearer` or the OAuth 2.0 client-credentials flow."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.clients.authentication.ApiTokenAuthentication"
    name = ["bearerAuth", "oauth2"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"oauth2": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "opaque (nt24_at_…)",
                "description": "An access token from POST /oauth/token, valid for one hour.",
            },
            {
                "type": "oauth2",
                "description": "OAuth 2.0 client credentials (RFC 6749 §4.4) with your client id and secret.",
                "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
            },
        ]
