from portal.core import views
from portal.core.token_links import is_token_link


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


class TokenLinkMiddleware:
    """Responses on a link that carries a secret in its path (portal/core/token_links.py) are never stored
    by a cache or the browser, and never leak the URL as a Referer to the assets or links they load."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_token_link(request.path_info):
            response["Cache-Control"] = "no-store"
            response["Referrer-Policy"] = "no-referrer"  # SecurityMiddleware only sets it when absent
        return response
