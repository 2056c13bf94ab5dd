from portal.core import views


class HealthProbeMiddleware:
    """Answer /healthz, /readyz (and token-authenticated /metrics) before host validation, HTTPS redirects
    and sessions.

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
        # A Prometheus scrape (bearer token) of the container's own address, like a probe; a support
        # session's look at /metrics goes through the whole stack instead.
        if request.path_info == "/metrics" and request.method == "GET" and "HTTP_AUTHORIZATION" in request.META:
            return views.metrics(request)
        return self.get_response(request)
