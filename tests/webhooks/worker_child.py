"""A delivery worker in its own process, for the SIGKILL test: `setup <url>` then `send`, or `recover`."""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

import django

django.setup()

from datetime import timedelta  # noqa: E402

import time_machine  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.core.audit import Actor  # noqa: E402
from portal.webhooks import engine  # noqa: E402
from portal.webhooks.models import WebhookDelivery  # noqa: E402
from portal.webhooks.outbox import event_emit  # noqa: E402
from portal.webhooks.services import endpoint_create, event_fan_out  # noqa: E402
from tests.factories import pilot_organization  # noqa: E402


def main(command: str, *args: str) -> None:
    if command == "setup":
        call_command("migrate", verbosity=0)
        organization = pilot_organization()
        endpoint_create(actor=Actor.system(), organization=organization, url=args[0], subscriptions=["kyc.*"])
        with transaction.atomic():
            event = event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 3})
        event_fan_out(event_id=event.pk)
        print(json.dumps({"eventId": event.webhook_id}), flush=True)
    elif command == "send":
        # Claims the batch and starts sending; the receiver SIGKILLs this process mid-request.
        engine.deliveries_dispatch(budget_seconds=10)
        print("not killed", flush=True)
    elif command == "recover":
        later = timezone.now() + timedelta(seconds=engine.LEASE_SECONDS + 1)
        with time_machine.travel(later, tick=False):
            sent = engine.deliveries_dispatch(budget_seconds=10)
        deliveries = list(WebhookDelivery.objects.values("status", "attempt_count", "lease_token"))
        print(json.dumps({"sent": sent, "deliveries": deliveries}, default=str), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
