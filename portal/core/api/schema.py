"""OpenAPI helpers: the reusable `Problem` component, problem responses with examples, response links,
and the gateway's auto schema that documents the rules every /v1 view shares (401/403/429, Idempotency-Key)."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from portal.core.problems import PROBLEMS_BY_SLUG

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Dotted path of the field, or null for the whole body.")
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; `type` resolves to the public error reference."""

    type = serializers.URLField(help_text="URI of the problem type; it resolves to its page under /problems/.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(help_text="The request path that failed.")
    errors = ProblemFieldErrorSerializer(many=True, required=False, help_text="validation-error: one per field.")
    capability = serializers.CharField(required=False, help_text="capability-not-granted: the missing flag.")
    sellerId = serializers.CharField(required=False, help_text="partner-not-authorized: the refused partner.")
    pausedUntil = serializers.DateTimeField(required=False, allow_null=True)
    differs = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="idempotency-key-reused: what differs from the key's first request (method, path or body).",
    )
    errorId = serializers.CharField(required=False, help_text="internal-error: quote it to support.")


def _example_body(slug: str, path: str = "/v1/me") -> dict:
    from portal.core.problems import problem_type_uri

    problem = PROBLEMS_BY_SLUG[slug]
    body = {
        "type": problem_type_uri(slug),
        "title": problem.title,
        "status": problem.status,
        "detail": problem.when.split(". ")[0].rstrip(".") + ".",
        "instance": path,
    }
    if slug == "capability-not-granted":
        body["capability"] = "webhooks"
    if slug == "partner-not-authorized":
        body["sellerId"] = "5f0c7a4e-1b2d-4c3e-9f8a-7b6c5d4e3f21"
    if slug == "validation-error":
        body["errors"] = [{"field": "url", "message": "Enter a valid URL.", "code": "invalid"}]
    return body


def problem_responses(*slugs: str) -> dict:
    """`@extend_schema(responses={200: X, **problem_responses("not-found", "validation-error")})`."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for slug in slugs:
        by_status[PROBLEMS_BY_SLUG[slug].status].append(slug)
    responses = {}
    for status, group in sorted(by_status.items()):
        responses[(status, PROBLEM_MEDIA_TYPE)] = OpenApiResponse(
            response=ProblemSerializer,
            description=" or ".join(f"`{slug}`" for slug in group),
            examples=[
                OpenApiExample(slug, value=_example_body(slug), response_only=True, status_codes=[str(status)])
                for slug in group
            ],
        )
    return responses


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


# Runtime expressions of OpenAPI links: where a linked operation takes its parameters from.
BODY_ID = "$response.body#/id"
FIRST_ITEM_ID = "$response.body#/data/0/id"


def request_path(name: str) -> str:
    return f"$request.path.{name}"


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: the operation a response leads to and where each of its parameters comes from."""

    operation_id: str
    parameters: Mapping[str, str]

    def as_openapi(self) -> dict:
        return {"operationId": self.operation_id, "parameters": dict(self.parameters)}


def links_to(*operation_ids: str, **parameters: str) -> dict[str, Link]:
    """`links_to("buyers_retrieve", "buyers_update", seller_id=request_path("seller_id"), buyer_id=BODY_ID)`."""
    return {operation_id: Link(operation_id, parameters) for operation_id in operation_ids}


class GatewayAutoSchema(AutoSchema):
    """Adds what every IntegrationAPIView does to its operations, so views only document their own problems."""

    def _extra_problem_slugs(self) -> list[str]:
        slugs = list(GATEWAY_PROBLEMS)
        view = self.view
        kwarg = getattr(view, "partner_url_kwarg", None)
        if kwarg and any(f"{{{name}}}" in self.path for name in (kwarg, _camel(kwarg))):
            slugs.append("partner-not-authorized")
        if getattr(view, "required_capability", None) or type(view).get_required_capability is not getattr(
            _gateway_base(), "get_required_capability", None
        ):
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


def _gateway_base():
    from portal.clients.api.gateway import IntegrationAPIView

    return IntegrationAPIView
