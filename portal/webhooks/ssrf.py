"""The SSRF guard: the only place that decides whether a webhook URL may be called, and how to reach it.

A URL is checked when an endpoint is saved and again at connect time. At connect time the delivery
client's resolver (`GuardedResolver`) looks the host up once, checks every address, and the TCP
connection goes to those checked addresses while the Host header, SNI and certificate verification
keep the hostname: a DNS answer that changes between the check and the connection (rebinding)
cannot redirect the request. IP-literal hosts never reach a resolver and are checked by
`literal_check` before each request.
"""

import asyncio
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from django.conf import settings

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


def addresses_check(host: str, addresses: list) -> None:
    for ip in addresses:
        # An IPv4-mapped/compatible literal is judged by the IPv4 address it hides, and by its own range.
        mapped = getattr(ip, "ipv4_mapped", None)
        if address_blocked(ip) or (mapped is not None and address_blocked(mapped)):
            raise UrlNotAllowed(f"The host {host} resolves to a non-public address ({ip}).")


def url_check(url: str) -> Target:
    """Check a URL and every address its host resolves to; return the address to connect to."""
    scheme, host, port = url_parse(url)
    addresses = host_resolve(host, port)
    addresses_check(host, addresses)
    return Target(scheme=scheme, host=host, port=port, address=str(addresses[0]))


def literal_check(host: str) -> bool:
    """For a host that is an IP literal (the async client connects to it without a lookup): refuse a blocked
    one. True when the host was a literal."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    addresses_check(host, [ip])
    return True


class CheckedAddresses:
    """Checked lookups per (host, port), kept per worker process for 5 minutes; thread-safe."""

    def __init__(self):
        self._entries: dict[tuple[str, int], tuple[list[ResolveResult], float]] = {}
        self._lock = threading.Lock()

    def get(self, host: str, port: int) -> list[ResolveResult] | None:
        with self._lock:
            entry = self._entries.get((host, port))
        if entry is None or time.monotonic() - entry[1] >= DNS_CACHE_SECONDS:
            return None
        return entry[0]

    def put(self, host: str, port: int, results: list[ResolveResult]) -> None:
        with self._lock:
            self._entries[(host, port)] = (results, time.monotonic())

    def forget(self, host: str, port: int) -> None:
        with self._lock:
            self._entries.pop((host, port), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


checked_addresses = CheckedAddresses()


def checked_lookup(host: str, port: int) -> list[ResolveResult]:
    """Resolve once and check every address; what aiohttp's connector then connects to."""
    addresses = host_resolve(host, port)
    addresses_check(host, addresses)
    return [
        {
            "hostname": host,
            "host": str(ip),
            "port": port,
            "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
            "proto": 0,
            "flags": socket.AI_NUMERICHOST,
        }
        for ip in addresses
    ]


class GuardedResolver(AbstractResolver):
    """The delivery client's resolver, consulted for every new connection (the connector's own DNS cache is
    off). It returns only checked addresses, and aiohttp connects to exactly those while keeping the
    hostname for Host, SNI and the certificate check: the address checked is the address connected to."""

    def __init__(self, cache: CheckedAddresses | None = None):
        self.cache = cache or checked_addresses

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        results = self.cache.get(host, port)
        if results is None:
            results = await asyncio.get_running_loop().run_in_executor(None, checked_lookup, host, port)
            self.cache.put(host, port, results)
        return results

    async def close(self) -> None:
        pass
