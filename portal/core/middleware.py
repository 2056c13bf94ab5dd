from portal.core import views


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
