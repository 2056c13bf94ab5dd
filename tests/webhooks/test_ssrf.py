"""The SSRF guard: a corpus of hostile URLs refused at save time and at connect time, and address pinning."""

import socket

import pytest
from django.db import transaction

from portal.core.audit import Actor
from portal.core.problems import Problem
from portal.webhooks import engine, ssrf
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.outbox import event_emit
from portal.webhooks.services import endpoint_create, event_fan_out

# Names that the monkeypatched resolver answers with a hostile address.
HOSTILE_NAMES = {
    "internal.example.com": "10.0.0.5",
    "loopback.example.com": "127.0.0.1",
    "metadata.example.com": "169.254.169.254",
    "cgnat.example.com": "100.64.1.1",
    "rfc1918.example.com": "192.168.1.10",
    "v6-loopback.example.com": "::1",
    "v6-ula.example.com": "fd12:3456:789a::1",
    "v6-mapped.example.com": "::ffff:10.0.0.1",
    "nat64.example.com": "64:ff9b::a00:1",
    "sixtofour.example.com": "2002:a00:1::1",
}

CORPUS = [
    "https://127.0.0.1/hook",
    "https://127.1/hook",
    "https://0.0.0.0/hook",
    "https://0/hook",
    "https://2130706433/hook",  # decimal 127.0.0.1
    "https://017700000001/hook",  # octal 127.0.0.1
    "https://0177.0.0.1/hook",  # octal first octet
    "https://0x7f.0.0.1/hook",  # hex first octet
    "https://0x7f000001/hook",  # hex 127.0.0.1
    "https://3232235777/hook",  # decimal 192.168.1.1
    "https://0xa9fea9fe/hook",  # hex 169.254.169.254
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://[0:0:0:0:0:ffff:169.254.169.254]/hook",
    "https://[fd00:ec2::254]/hook",
    "https://[fc00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://[2001:db8::1]/hook",  # documentation
    "https://[ff02::1]/hook",  # multicast
    "https://10.1.2.3/hook",
    "https://172.16.0.1/hook",
    "https://192.168.0.1/hook",
    "https://100.64.0.1/hook",  # CGNAT
    "https://100.100.100.200/hook",  # Alibaba metadata
    "https://192.0.0.192/hook",  # Oracle metadata
    "https://192.0.2.10/hook",  # documentation
    "https://198.51.100.7/hook",  # documentation
    "https://203.0.113.9/hook",  # documentation
    "https://198.18.0.1/hook",  # benchmarking
    "https://224.0.0.1/hook",  # multicast
    "https://240.0.0.1/hook",  # reserved
    "https://255.255.255.255/hook",
    "http://example.com/hook",  # plain http
    "ftp://example.com/hook",
    "https://user:pass@example.com/hook",
    "https:///hook",
    "https://localhost/hook",
    *[f"https://{name}/hook" for name in HOSTILE_NAMES],
]


@pytest.fixture
def production_guard(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host in HOSTILE_NAMES:
            address = HOSTILE_NAMES[host]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port or 443))]
        if host in ("example.com", "public.example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("url", CORPUS)
def test_hostile_url_refused(production_guard, url):
    with pytest.raises(ssrf.UrlNotAllowed):
        ssrf.url_check(url)


@pytest.mark.django_db
@pytest.mark.parametrize("url", CORPUS[:5] + CORPUS[-4:])
def test_hostile_url_refused_when_saving_an_endpoint(production_guard, organization, url):
    with pytest.raises(Problem) as exc:
        endpoint_create(actor=Actor.system(), organization=organization, url=url, subscriptions=["kyc.*"])
    assert exc.value.problem.slug == "webhook-url-not-allowed"


def test_public_https_url_allowed(production_guard):
    target = ssrf.url_check("https://public.example.com/hooks")
    assert target.address == "93.184.215.14" and target.host == "public.example.com" and target.port == 443


def test_mixed_answers_are_refused(production_guard, monkeypatch):
    def answers(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", answers)
    with pytest.raises(ssrf.UrlNotAllowed):
        ssrf.url_check("https://split.example.com/")


@pytest.mark.django_db
def test_checked_again_at_connect_time(
    settings, organization, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """Saved while the name resolved to an allowed address; by delivery time it resolves to metadata."""
    real = socket.getaddrinfo
    answer = {"ip": "127.0.0.1"}

    def resolver(host, port, *args, **kwargs):
        if host == "hooks.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["ip"], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = receiver.server.server_address[1]
    endpoint = endpoint_create(
        actor=Actor.system(),
        organization=organization,
        url=f"http://hooks.example.test:{port}/h",
        subscriptions=["kyc.*"],
    )
    answer["ip"] = "169.254.169.254"
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 1})
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    attempt = delivery.attempts.get()
    assert attempt.failure_class == "blocked" and delivery.status == "RETRYING"
    assert receiver.requests == []


@pytest.mark.django_db
def test_connection_goes_to_the_checked_address_not_a_second_lookup(organization, receiver, monkeypatch):
    """DNS rebinding: the first answer is checked and pinned; a later, different answer is never used."""
    real = socket.getaddrinfo
    calls = []

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example.test":
            calls.append(host)
            ip = "127.0.0.1" if len(calls) <= 2 else "10.9.9.9"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kwargs)

    port = receiver.server.server_address[1]
    url = f"http://rebind.example.test:{port}/h"
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    ssrf.checked_addresses.clear()
    endpoint = endpoint_create(actor=Actor.system(), organization=organization, url=url, subscriptions=["kyc.*"])
    with transaction.atomic():
        event = event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 1})
    event_fan_out(event_id=event.pk)
    assert engine.deliveries_dispatch(budget_seconds=5) == 1
    # One lookup when saved, one at connect time; the connection uses that answer, never a third lookup.
    assert calls == ["rebind.example.test", "rebind.example.test"]
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["Host"] == f"rebind.example.test:{port}"
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "SUCCEEDED"


def test_allowed_networks_open_local_receivers_only(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert ssrf.url_check("http://127.0.0.1:8080/").address == "127.0.0.1"
    with pytest.raises(ssrf.UrlNotAllowed):
        ssrf.url_check("http://[::ffff:127.0.0.1]:8080/")
    with pytest.raises(ssrf.UrlNotAllowed):
        ssrf.url_check("http://10.0.0.1/")
