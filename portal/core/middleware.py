from urllib.parse import parse_qsl

from portal.core import views
from portal.core.api.exceptions import problem_response
from portal.core.errors import API_PREFIXES, page_not_found


class HealthProbeMiddleware:
    """Answer /healthz and /readyz before host validation, HTTPS redirects and sessions.

    Probes (Docker HEALTHCHECK, a load balancer) call the container by its IP, which is not in
    ALLOWED_HOSTS and is plain HTTP; they must still get an honest answer.
    """

    probes = {"/healthz": views.healthz, "/readyz": views.readyz}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = self.probes.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)


class RequestGuardMiddleware:
    """Inputs no view may see, and API answers that must be problem+json in every mode.

    - A NUL (U+0000) in the path is a 404 anywhere (no such resource can exist; PostgreSQL refuses NUL in
      text); in the query string under /v1 and /oauth it is a 422 validation-error problem (pages' forms
      refuse it themselves).
    - An unmatched /v1 or /oauth path is a not-found problem even under DEBUG, where Django would render
      its HTML technical 404 instead of calling handler404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:
            return page_not_found(request)
        api = request.path.startswith(API_PREFIXES)
        name = _query_nul_parameter(request.META.get("QUERY_STRING", "")) if api else None
        if name is not None:
            # A bad query parameter is a 422 everywhere in the API (cursor, limit, filters).
            message = "Null characters are not allowed."
            return problem_response(
                "validation-error",
                request=request,
                detail=f"{name}: {message}" if name else message,
                errors=[{"field": name or None, "message": message, "code": "null_characters_not_allowed"}],
            )
        response = self.get_response(request)
        if api and response.status_code == 404 and "json" not in response.get("Content-Type", ""):
            return page_not_found(request)
        return response


def _query_nul_parameter(query_string: str) -> str | None:
    """The name of the first query parameter holding a NUL ('' for a bad name), or None."""
    if "%00" not in query_string and "\x00" not in query_string:
        return None
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if "\x00" in key:
            return ""
        if "\x00" in value:
            return key
    return None
