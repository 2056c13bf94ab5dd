import ipaddress
from functools import lru_cache

from django.conf import settings

from portal.core import views
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
