"""Delivery history latency with 1,000,000 deliveries in PostgreSQL: the page and GET /v1/webhooks/deliveries,
first, middle and last page (keyset cursors), plus filtered views. Server time, in process (no network).

    DATABASE_URL=postgres://… .venv/bin/python bench/history_latency.py [--rows 1000000] [--keep]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
os.environ["DEBUG"] = "0"  # production-like: cached templates, no query log
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from _report import report  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from portal.clients.services import access_token_issue, client_create  # noqa: E402
from portal.core.audit import Actor  # noqa: E402
from portal.core.pagination import _encode  # noqa: E402
from portal.organizations.models import Membership  # noqa: E402
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: E402
from tests import factories  # noqa: E402
from tests.factories import UserFactory, pilot_organization  # noqa: E402

TYPES = [
    "kyc.level.upgraded",
    "kyc.document.uploaded",
    "compliance.vies.completed",
    "buyer.created",
    "kyc.invitation.sent",
]


def load(rows: int):
    organization = pilot_organization()
    partner = organization.partner_authorizations.first().partner
    endpoints = [
        WebhookEndpoint.objects.create(
            organization=organization,
            url=f"https://hooks-{i}.example.com/nt24",
            subscriptions=["kyc.*", "compliance.*", "buyer.created"],
            secret="whsec_" + "A" * 43,
            secret_created_at=timezone.now(),
        )
        for i in range(3)
    ]
    start = timezone.now() - timezone.timedelta(days=25)
    step = (25 * 86400) / rows
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO webhooks_webhookevent (id, organization_id, partner_id, type, data, created_at, fanned_out_at)
            SELECT gen_random_uuid(), %(org)s, CASE WHEN g %% 2 = 0 THEN %(partner)s::uuid END,
                   (%(types)s::text[])[1 + g %% 5], jsonb_build_object('version', g, 'buyerId', gen_random_uuid()),
                   %(start)s::timestamptz + g * make_interval(secs => %(step)s),
                   %(start)s::timestamptz + g * make_interval(secs => %(step)s)
            FROM generate_series(1, %(rows)s) AS g
            """,
            {"org": organization.pk, "partner": partner.pk, "types": TYPES, "start": start, "step": step, "rows": rows},
        )
        cur.execute(
            """
            INSERT INTO webhooks_webhookdelivery (
                id, organization_id, endpoint_id, event_id, event_type, partner_id, status, attempt_count,
                created_at, first_attempt_at, last_attempt_at, next_attempt_at, last_status_code,
                last_failure_class, last_duration_ms)
            SELECT gen_random_uuid(), e.organization_id, (%(endpoints)s::uuid[])[1 + (n %% 3)], e.id, e.type,
                   e.partner_id,
                   CASE WHEN n %% 100 < 90 THEN 'SUCCEEDED' WHEN n %% 100 < 97 THEN 'FAILED' ELSE 'RETRYING' END,
                   CASE WHEN n %% 100 < 90 THEN 1 ELSE 3 END,
                   e.created_at, e.created_at, e.created_at + interval '1 second',
                   CASE WHEN n %% 100 >= 97 THEN e.created_at + interval '1 hour' END,
                   CASE WHEN n %% 100 < 90 THEN 200 WHEN n %% 100 < 95 THEN 500 WHEN n %% 100 < 97 THEN 404 END,
                   CASE WHEN n %% 100 < 90 THEN '' WHEN n %% 100 < 97 THEN 'http' ELSE 'timeout' END,
                   20 + n %% 200
            FROM (SELECT e.*, row_number() OVER (ORDER BY created_at) AS n FROM webhooks_webhookevent e
                  WHERE organization_id = %(org)s) e
            """,
            {"endpoints": [e.pk for e in endpoints], "org": organization.pk},
        )
        cur.execute("ANALYZE webhooks_webhookevent")
        cur.execute("ANALYZE webhooks_webhookdelivery")
    print(f"loaded {rows:,} events and deliveries in {time.perf_counter() - t0:.1f} s", flush=True)
    return organization, endpoints


def cursor_at(organization, offset: int) -> str:
    row = (
        WebhookDelivery.objects.filter(organization=organization)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[offset]
    )
    return _encode(list(row))


def measure(fn, runs: int) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = fn()
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.content[:300]
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def fresh_factory_sequences() -> None:
    # The bench database outlives runs: start the factories' unique slugs, e-mails and VAT numbers afresh.
    start = int(time.time() * 1000) % 10**9
    for factory in (factories.OrganizationFactory, factories.PartnerFactory, factories.UserFactory):
        factory.reset_sequence(start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="leave the rows in the database")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("history_latency needs PostgreSQL: set DATABASE_URL=postgres://…")
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    fresh_factory_sequences()
    organization, endpoints = load(args.rows)
    try:
        user = UserFactory()
        Membership.objects.create(organization=organization, user=user, role="viewer")
        page = Client()
        page.force_login(user)
        client, issued = client_create(actor=Actor.system(), organization=organization, name="bench")
        token = access_token_issue(client=client, secret=issued.secret)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.plaintext}")
        page_url = reverse("webhooks:delivery_list", kwargs={"organization_id": organization.pk})
        api_url = "/v1/webhooks/deliveries"
        cursors = {
            "first": None,
            "middle": cursor_at(organization, args.rows // 2),
            "last": cursor_at(organization, args.rows - 51),
        }
        for label, cursor in cursors.items():
            params = {"cursor": cursor} if cursor else {}
            median, p95 = measure(lambda p=params: page.get(page_url, p), args.runs)
            print(f"page {label:6}: median {median:6.1f} ms  p95 {p95:6.1f} ms")
            report(
                f"history page, {label} page, {args.rows:,} deliveries",
                median,
                "ms",
                baseline=100,
                baseline_label="target",
                higher_is_better=False,
                notes=f"median of {args.runs}; p95 {p95:.1f} ms",
            )
            median, p95 = measure(lambda p=params: api.get(api_url, p), args.runs)
            print(f"API  {label:6}: median {median:6.1f} ms  p95 {p95:6.1f} ms")
            report(
                f"GET /v1/webhooks/deliveries, {label} page, {args.rows:,} deliveries",
                median,
                "ms",
                baseline=100,
                baseline_label="target",
                higher_is_better=False,
                notes=f"median of {args.runs}; p95 {p95:.1f} ms",
            )
        filtered = {
            "status=FAILED": {"status": "FAILED"},
            "eventType=compliance.vies.completed": {"eventType": "compliance.vies.completed"},
            "endpointId": {"endpointId": str(endpoints[1].pk)},
            "statusClass=4xx": {"statusClass": "4xx"},
            "partnerId": {"partnerId": str(organization.partner_authorizations.first().partner_id)},
        }
        for label, params in filtered.items():
            median, p95 = measure(lambda p=params: api.get(api_url, p), args.runs)
            print(f"API  {label:38}: median {median:6.1f} ms  p95 {p95:6.1f} ms")
            report(
                f"GET /v1/webhooks/deliveries?{label}, first page",
                median,
                "ms",
                baseline=100,
                baseline_label="target",
                higher_is_better=False,
                notes=f"median of {args.runs}",
            )
        some = WebhookDelivery.objects.filter(organization=organization).values_list("event_id", flat=True)[
            args.rows // 3
        ]
        median, _ = measure(lambda: api.get(api_url, {"eventId": f"msg_{some.hex}"}), args.runs)
        print(f"API  eventId lookup: median {median:6.1f} ms")
        report(
            "GET /v1/webhooks/deliveries?eventId=…",
            median,
            "ms",
            baseline=100,
            baseline_label="target",
            higher_is_better=False,
        )
    finally:
        if not args.keep:
            t0 = time.perf_counter()
            with connection.cursor() as cur:
                cur.execute("DELETE FROM webhooks_webhookdelivery WHERE organization_id = %s", [organization.pk])
                cur.execute("DELETE FROM webhooks_webhookevent WHERE organization_id = %s", [organization.pk])
            print(f"cleaned up in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
