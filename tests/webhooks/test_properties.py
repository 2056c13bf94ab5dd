"""Hypothesis properties for subscription patterns and webhook URLs (the SSRF guard)."""

import ipaddress

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal.core.problems import Problem
from portal.webhooks import ssrf
from portal.webhooks.events import EVENT_SEGMENTS, EVENT_TYPES, EVENT_TYPES_BY_NAME, subscription_matches
from portal.webhooks.services import subscriptions_validate

EVENT_NAMES = [e.name for e in EVENT_TYPES]
VALID_SUBSCRIPTIONS = EVENT_NAMES + [f"{segment}.*" for segment in sorted(EVENT_SEGMENTS)]

# ---------------------------------------------------------------------------------- subscriptions


@given(st.lists(st.sampled_from(VALID_SUBSCRIPTIONS), min_size=1, max_size=12))
def test_catalog_subscriptions_are_accepted_deduplicated_and_in_order(subscriptions):
    cleaned = subscriptions_validate(subscriptions)
    assert cleaned == list(dict.fromkeys(subscriptions))


@given(st.sampled_from(VALID_SUBSCRIPTIONS), st.sampled_from(EVENT_NAMES))
def test_a_subscription_matches_exactly_its_type_or_its_segment(subscription, event_type):
    expected = (
        event_type.split(".", 1)[0] == subscription[:-2] if subscription.endswith(".*") else event_type == subscription
    )
    assert subscription_matches(subscription, event_type) is expected


@given(st.text(max_size=20).map(lambda rest: "*" + rest), st.lists(st.sampled_from(VALID_SUBSCRIPTIONS), max_size=3))
def test_any_root_wildcard_is_refused_with_its_own_problem(root, others):
    with pytest.raises(Problem) as excinfo:
        subscriptions_validate([*others, root])
    assert excinfo.value.problem.slug == "wildcard-subscription-not-allowed"


@given(st.text(min_size=1, max_size=30))
def test_anything_outside_the_catalog_is_a_validation_error(item):
    stripped = item.strip()
    if stripped in EVENT_TYPES_BY_NAME or (stripped.endswith(".*") and stripped[:-2] in EVENT_SEGMENTS):
        return
    if stripped.startswith("*"):
        return  # the root-wildcard property covers these
    with pytest.raises(ValidationError):
        subscriptions_validate([item])


# ---------------------------------------------------------------------------------- webhook URLs

PRIVATE_NETWORKS = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
]


@st.composite
def private_ipv4(draw):
    network = ipaddress.ip_network(draw(st.sampled_from(PRIVATE_NETWORKS)))
    offset = draw(st.integers(min_value=0, max_value=network.num_addresses - 1))
    return network[offset]


def _spellings(ip: ipaddress.IPv4Address) -> list[str]:
    """The ways a URL can spell one IPv4 address: dotted, decimal, hex, octal, IPv4-mapped IPv6."""
    number = int(ip)
    octets = str(ip).split(".")
    return [
        str(ip),
        str(number),
        hex(number),
        ".".join(f"0{int(o):o}" for o in octets),
        f"[::ffff:{ip}]",
    ]


@hypothesis_settings(max_examples=150)
@given(private_ipv4(), st.sampled_from(["https", "http"]), st.sampled_from(["", ":443", ":8080"]))
def test_every_spelling_of_a_non_public_ipv4_address_is_refused(ip, scheme, port):
    with override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOWED_NETWORKS=[]):
        for host in _spellings(ip):
            with pytest.raises(ssrf.UrlNotAllowed):
                ssrf.url_check(f"{scheme}://{host}{port}/hooks/nt24")


@given(st.ip_addresses(v=4))
def test_an_ipv4_literal_is_accepted_only_when_it_is_global(ip):
    with override_settings(WEBHOOK_ALLOW_HTTP=False, WEBHOOK_ALLOWED_NETWORKS=[]):
        try:
            target = ssrf.url_check(f"https://{ip}/hook")
        except ssrf.UrlNotAllowed:
            assert not ip.is_global or ip.is_multicast or ip.is_reserved or ssrf.address_blocked(ip)
        else:
            assert ip.is_global and not ip.is_multicast
            assert target.address == str(ip)


@given(st.ip_addresses(v=6))
def test_an_ipv6_literal_is_accepted_only_when_it_is_global_and_hides_no_ipv4(ip):
    with override_settings(WEBHOOK_ALLOW_HTTP=False, WEBHOOK_ALLOWED_NETWORKS=[]):
        try:
            ssrf.url_check(f"https://[{ip}]/hook")
        except ssrf.UrlNotAllowed:
            return
        assert ip.is_global and not ip.is_multicast and ip.ipv4_mapped is None
        assert not any(ip in ipaddress.ip_network(n) for n in ("64:ff9b::/96", "2002::/16", "fc00::/7"))


@given(
    st.sampled_from(["ftp", "file", "gopher", "ws", "javascript", "data"]),
    st.from_regex(r"[a-z]{1,10}", fullmatch=True),
)
def test_non_http_schemes_are_refused(scheme, host):
    with override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOWED_NETWORKS=[]), pytest.raises(ssrf.UrlNotAllowed):
        ssrf.url_check(f"{scheme}://{host}.example/hook")
