"""The SSRF guard: the only place that decides whether a webhook URL may be called, and how to reach it.

A URL is checked when an endpoint is saved and again at connect time. At connect time the host is
resolved once, every address is checked, and the TCP connection goes to that checked address while
the Host header, SNI and certificate verification keep the hostname: a DNS answer that changes
between the check and the connection (rebinding) cannot redirect the request.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

# Networks no webhook may reach, beyond what `ipaddress` already flags as non-global.
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this" network
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, incl. 169.254.169.254 cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments (incl. Oracle metadata 192.0.0.192)
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. broadcast
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "::/128",
        "::1/128",
        "::ffff:0:0/96",  # IPv4-mapped
        "::/96",  # IPv4-compatible (deprecated)
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/32",  # Teredo
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "3fff::/20",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
        "fd00:ec2::254/128",  # AWS metadata over IPv6
    )
)

DNS_CACHE_SECONDS = 300


class UrlNotAllowed(Exception):
    """The URL or an address it resolves to is refused; `reason` is safe to show to the endpoint's owner."""

    def __init__(self, reason: str, *, failure_class: str = "blocked"):
        super().__init__(reason)
        self.reason = reason
        self.failure_class = failure_class


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked IP address the connection goes to


def _allowed_networks():
    return [ipaddress.ip_network(n, strict=False) for n in settings.WEBHOOK_ALLOWED_NETWORKS]


def address_blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True if no webhook may be sent to `ip` (unless an allowed network opens it for development)."""
    if any(ip.version == net.version and ip in net for net in _allowed_networks()):
        return False
    if any(ip.version == net.version and ip in net for net in BLOCKED_NETWORKS):
        return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_private


def url_parse(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL shape; refuses everything but plain http(s) URLs."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed("The URL is not valid.") from exc
    scheme = parts.scheme.lower()
    allowed_schemes = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if scheme not in allowed_schemes:
        raise UrlNotAllowed("Webhook URLs must use https.")
    if parts.username or parts.password:
        raise UrlNotAllowed("Webhook URLs must not carry credentials.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlNotAllowed("The URL has no host.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def host_resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlNotAllowed(f"The host {host} could not be resolved.", failure_class="dns") from exc
    addresses = []
    for info in infos:
        raw = info[4][0].split("%", 1)[0]
        addresses.append(ipaddress.ip_address(raw))
    if not addresses:
        raise UrlNotAllowed(f"The host {host} has no address.", failure_class="dns")
    return addresses


def url_check(url: str) -> Target:
    """Check a URL and every address its host resolves to; return the address to connect to."""
    scheme, host, port = url_parse(url)
    addresses = host_resolve(host, port)
    for ip in addresses:
        # An IPv4-mapped/compatible literal is judged by the IPv4 address it hides, and by its own range.
        mapped = getattr(ip, "ipv4_mapped", None)
        if address_blocked(ip) or (mapped is not None and address_blocked(mapped)):
            raise UrlNotAllowed(f"The host {host} resolves to a non-public address ({ip}).")
    return Target(scheme=scheme, host=host, port=port, address=str(addresses[0]))


def _connect(conn, address: str):
    try:
        sock = urllib3_connection.create_connection(
            (address, conn.port), conn.timeout, source_address=conn.source_address, socket_options=conn.socket_options
        )
    except TimeoutError as exc:
        raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out.") from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc
    return sock


def _pinned_pool_classes(address: str) -> dict:
    class PinnedHTTPConnection(HTTPConnection):
        def _new_conn(self):
            return _connect(self, address)

    class PinnedHTTPSConnection(HTTPSConnection):
        def _new_conn(self):
            return _connect(self, address)

    class PinnedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTPConnection

    class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPSConnection

    return {"http": PinnedHTTPConnectionPool, "https": PinnedHTTPSConnectionPool}


class PinnedAddressAdapter(HTTPAdapter):
    """A transport adapter that connects only to one checked address, keeping Host, SNI and cert checks."""

    def __init__(self, target: Target, **kwargs):
        self.target = target
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pinned_pool_classes(self.target.address)

    def send(self, request, **kwargs):
        scheme, host, port = url_parse(request.url)
        if (scheme, host, port) != (self.target.scheme, self.target.host, self.target.port):
            raise UrlNotAllowed("The request left the checked host.")
        return super().send(request, **kwargs)


def pinned_session(target: Target) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment may route around the guard
    adapter = PinnedAddressAdapter(target)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class SessionCache:
    """One keep-alive `requests.Session` per destination, kept per worker process; re-resolved every 5 min."""

    def __init__(self):
        self._entries: dict[tuple, tuple[requests.Session, Target, float]] = {}

    def session_for(self, url: str) -> tuple[requests.Session, Target]:
        key = url_parse(url)
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and now - entry[2] < DNS_CACHE_SECONDS:
            return entry[0], entry[1]
        if entry is not None:
            entry[0].close()
        target = url_check(url)
        session = pinned_session(target)
        self._entries[key] = (session, target, now)
        return session, target

    def forget(self, url: str) -> None:
        try:
            key = url_parse(url)
        except UrlNotAllowed:
            return
        entry = self._entries.pop(key, None)
        if entry is not None:
            entry[0].close()

    def clear(self) -> None:
        for session, _, _ in self._entries.values():
            session.close()
        self._entries.clear()


sessions = SessionCache()
