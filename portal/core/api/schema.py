"""OpenAPI helpers: the reusable `Problem` component, problem responses with examples and response links.
The gateway's auto schema (the rules every /v1 view shares) is portal/gateway/schema.py."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
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
