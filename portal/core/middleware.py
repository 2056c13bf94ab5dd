import ipaddress
from functools import lru_cache
from urllib.parse import parse_qsl

from django.conf import settings

from portal.core import views
from portal.core.api.exceptions import problem_response
from portal.core.errors import API_PREFIXES, page_not_found
from portal.core.token_links import is_token_link


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple | None:
    """The trusted proxies as networks; None means any peer ("*")."""
    if "*" in entries:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _parse_address(value: str) -> str | None:
    """An IP address from one X-Forwarded-For element (bare, `v4:port` or `[v6]:port`), normalized; else None."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _within(address: str, networks: tuple) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip.version == network.version and ip in network for network in networks)


def forwarded_client_address(meta, *, hops: int, trusted: tuple[str, ...]) -> str | None:
    """The client's address as the trusted proxies saw it, or None when they are not to be believed.

    Each proxy appends its peer to X-Forwarded-For, so the `hops`-th value from the right was written by
    our outermost proxy; anything left of it came from the client and may be forged.
    """
    if hops <= 0:
        return None
    raw_peer = meta.get("REMOTE_ADDR", "")
    peer = _parse_address(raw_peer)
    networks = _networks(trusted)
    # Like gunicorn, a peer without an IP address (a UNIX socket) is a local proxy.
    if raw_peer and (peer is None or (networks is not None and not _within(peer, networks))):
        return None
    chain = [item for item in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if item.strip()]
    if not chain:
        return None
    # A shorter chain means a hop was skipped (a client reached an inner proxy): its left end is still ours.
    return _parse_address(chain[-min(hops, len(chain))])


class TrustedProxyMiddleware:
    """Behind TRUSTED_PROXY_COUNT reverse proxies, REMOTE_ADDR becomes the client's own address.

    Runs first, so axes, the rate limits and the audit log all read the client; the proxy's address is
    kept in NT24_PROXY_ADDR. With no trusted proxy (the default) X-Forwarded-For is ignored.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.TRUSTED_PROXY_COUNT > 0:
            client = forwarded_client_address(
                request.META, hops=settings.TRUSTED_PROXY_COUNT, trusted=tuple(settings.TRUSTED_PROXY_NETWORKS)
            )
            if client is not None:
                request.META["NT24_PROXY_ADDR"] = request.META.get("REMOTE_ADDR", "")
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)


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
