"""What every /v1 operation shares in the OpenAPI schema: the gateway's problems (401/403/429), the
Idempotency-Key header, the RateLimit headers, and how the bearer token is documented (`Authorization:
Bearer` or the OAuth 2.0 client-credentials flow)."""

import django_filters
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from portal.core.api.schema import problem_responses


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.gateway.authentication.ApiTokenAuthentication"
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


CURSOR_PARAMS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The `nextCursor` of the previous page."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="1-200, default 50."),
]


def _filter_type(f: django_filters.Filter):
    if isinstance(f, django_filters.UUIDFilter):
        return OpenApiTypes.UUID
    if isinstance(f, django_filters.IsoDateTimeFilter | django_filters.DateTimeFilter):
        return OpenApiTypes.DATETIME
    if isinstance(f, django_filters.NumberFilter):
        return OpenApiTypes.NUMBER
    return OpenApiTypes.STR


def filterset_parameters(filterset_class, *, exclude=(), free_text=()) -> list[OpenApiParameter]:
    """The query parameters of a list operation, read from its FilterSet (declared order): a ChoiceFilter
    is an enum of its choices (unless named in `free_text`), the description is the filter's help_text."""
    parameters = []
    for name, f in filterset_class.base_filters.items():
        if name in exclude:
            continue
        enum = None
        if isinstance(f, django_filters.ChoiceFilter) and name not in free_text:
            enum = [value for value, _label in f.extra["choices"] if value != ""]
        parameters.append(OpenApiParameter(name, _filter_type(f), enum=enum, description=f.extra.get("help_text", "")))
    return parameters


GATEWAY_PROBLEMS = (
    "invalid-token",
    "organization-suspended",
    "client-paused",
    "dpa-not-accepted",
    "rate-limited",
    "internal-error",
)
IDEMPOTENCY_PROBLEMS = ("idempotency-key-reused", "idempotency-request-in-progress", "validation-error")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID is ideal), bare or as a quoted Structured-Field string. A retry with "
    "the same key and body replays the first response (header `Idempotent-Replayed: true`) for 24 h.",
)

RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "schema": {"type": "string"},
        "description": 'The organization\'s budget, e.g. `"org";q=600;w=60`.',
    },
    "RateLimit": {"schema": {"type": "string"}, "description": 'What is left, e.g. `"org";r=12;t=48`.'},
}


class GatewayAutoSchema(AutoSchema):
    """Adds what every IntegrationAPIView does to its operations, so views only document their own problems."""

    def _extra_problem_slugs(self) -> list[str]:
        slugs = list(GATEWAY_PROBLEMS)
        view = self.view
        kwarg = getattr(view, "partner_url_kwarg", None)
        if kwarg and any(f"{{{name}}}" in self.path for name in (kwarg, _camel(kwarg))):
            slugs.append("partner-not-authorized")
        if getattr(view, "required_capability", None) or getattr(view, "may_require_capability", False):
            slugs.append("capability-not-granted")
        if "{" in self.path:
            slugs.append("not-found")
        if self.method in ("POST", "PATCH"):
            slugs.extend(IDEMPOTENCY_PROBLEMS)
        elif any(p.get("in") == "query" for p in self._get_parameters()):
            slugs.append("validation-error")  # a bad query parameter (cursor, limit, filter) is a 422
        if self.method in ("POST", "PATCH", "PUT"):
            slugs.extend(("malformed-request", "unsupported-media-type"))
        return slugs

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method in ("POST", "PATCH"):
            params.append(IDEMPOTENCY_KEY_PARAMETER)
        return params

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in responses.items():
            if code.startswith("2"):
                response.setdefault("headers", {}).update(RATE_LIMIT_HEADERS)
        # A view declares `response_links = {("POST", 201): links_to(...)}`: what its responses lead to.
        for (method, code), links in getattr(self.view, "response_links", {}).items():
            if method == self.method:
                responses[str(code)]["links"] = {name: link.as_openapi() for name, link in links.items()}
        extra = problem_responses(*self._extra_problem_slugs())
        for (status, media_type), response in extra.items():
            code = str(status)
            rendered = self._get_response_for_code(response, code, [media_type], direction)
            if code in responses:
                existing = responses[code]
                existing.setdefault("content", {}).setdefault(media_type, rendered["content"][media_type])
                if rendered["description"] not in existing.get("description", ""):
                    existing["description"] = "; ".join(
                        filter(None, [existing.get("description"), rendered["description"]])
                    )
            else:
                responses[code] = rendered
        if "429" in responses:
            responses["429"].setdefault("headers", {}).update(
                {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."},
                    **RATE_LIMIT_HEADERS,
                }
            )
        return responses


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
