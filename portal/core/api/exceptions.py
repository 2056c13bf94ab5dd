"""Every /v1 error, rendered as RFC 9457 application/problem+json from the problem catalog."""

import logging
import uuid

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from portal.core.problems import PROBLEMS_BY_SLUG, Problem, problem_type_uri

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_body(slug: str, *, detail: str | None, instance: str, extensions: dict | None = None) -> dict:
    problem = PROBLEMS_BY_SLUG[slug]
    body = {
        "type": problem_type_uri(slug),
        "title": problem.title,
        "status": problem.status,
        "detail": detail or problem.title,
        "instance": instance,
    }
    body.update(extensions or {})
    return body


def problem_response(slug: str, *, request=None, detail: str | None = None, headers=None, **extensions):
    """A plain Django response, for middleware and views outside DRF (e.g. /oauth/token, 404 handler)."""
    instance = request.path if request is not None else ""
    body = problem_body(slug, detail=detail, instance=instance, extensions=extensions)
    response = JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _field_errors(detail, prefix: str = "") -> list[dict]:
    """Flatten DRF's nested error detail into [{"field": "a.b", "message": ..., "code": ...}]."""
    errors: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            errors.extend(_field_errors(value, f"{prefix}.{name}" if prefix and name else (name or prefix)))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            for item in detail:
                errors.append({"field": prefix or None, "message": str(item), "code": getattr(item, "code", "invalid")})
        else:
            for index, item in enumerate(detail):
                errors.extend(_field_errors(item, f"{prefix}[{index}]" if prefix else f"[{index}]"))
    else:
        errors.append({"field": prefix or None, "message": str(detail), "code": getattr(detail, "code", "invalid")})
    return errors


def validation_problem(errors: list[dict]) -> tuple[str, str, dict]:
    first = errors[0] if errors else {"field": None, "message": "Invalid input."}
    where = f"{first['field']}: " if first.get("field") else ""
    return "validation-error", f"{where}{first['message']}", {"errors": errors}


def _classify(exc) -> tuple[str, str | None, dict, dict]:
    """Map an exception to (slug, detail, extensions, headers)."""
    if isinstance(exc, Problem):
        return exc.problem.slug, exc.detail, dict(exc.extensions), dict(exc.headers)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        slug, message, ext = validation_problem(_field_errors(detail))
        return slug, message, ext, {}
    if isinstance(exc, drf_exceptions.ValidationError):
        slug, message, ext = validation_problem(_field_errors(exc.detail))
        return slug, message, ext, {}
    if isinstance(exc, drf_exceptions.ParseError):
        return "malformed-request", str(exc.detail), {}, {}
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return "unsupported-media-type", str(exc.detail), {}, {}
    if isinstance(exc, drf_exceptions.NotAcceptable):
        return "not-acceptable", str(exc.detail), {}, {}
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return "method-not-allowed", str(exc.detail), {}, {}
    if isinstance(exc, Http404 | drf_exceptions.NotFound):
        return "not-found", "The resource does not exist or is not visible to you.", {}, {}
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return "invalid-token", str(exc.detail), {}, {"WWW-Authenticate": 'Bearer realm="nt24"'}
    if isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait or 1)
        return "rate-limited", str(exc.detail), {}, {"Retry-After": str(wait)}
    if isinstance(exc, PermissionDenied | drf_exceptions.PermissionDenied):
        # Permission failures that are not a catalog problem are hidden as a 404.
        return "not-found", "The resource does not exist or is not visible to you.", {}, {}
    if isinstance(exc, RequestDataTooBig):
        return "payload-too-large", "The request body is larger than the server accepts.", {}, {}
    if isinstance(exc, drf_exceptions.APIException) and exc.status_code == 413:
        return "payload-too-large", str(exc.detail), {}, {}
    return "internal-error", None, {}, {}


def problem_exception_handler(exc, context):
    request = context.get("request")
    slug, detail, extensions, headers = _classify(exc)
    if slug == "internal-error":
        error_id = str(uuid.uuid4())
        logger.exception("Unhandled API error %s", error_id, exc_info=exc)
        extensions["errorId"] = error_id
    instance = request.path if request is not None else ""
    body = problem_body(slug, detail=detail, instance=instance, extensions=extensions)
    response = Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    return response
