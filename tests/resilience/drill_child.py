"""The business side of a fault drill, in its own process: `emit <organization_id> <count> <first>`, or
`vies <buyer_id> …` (one VIES check task per buyer, as the API enqueues it).

Each event is written by `event_emit` in its own transaction, exactly as a business service does, so
its fan-out task goes through the real broker after commit (the test process runs Celery eagerly); tasks
are routed by the settings' task routes, as in production.
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

import django

django.setup()

from django.db import transaction  # noqa: E402

from portal.organizations.models import IntegrationOrganization  # noqa: E402
from portal.webhooks.outbox import event_emit  # noqa: E402


def vies(*buyer_ids: str) -> None:
    from portal.kyc.tasks import vies_check

    for buyer_id in buyer_ids:
        vies_check.delay(buyer_id)
    print(f"enqueued {len(buyer_ids)} VIES checks", flush=True)


def main(command: str, organization_id: str, count: str, first: str = "0") -> None:
    assert command == "emit", command
    organization = IntegrationOrganization.objects.get(pk=organization_id)
    for seq in range(int(first), int(first) + int(count)):
        with transaction.atomic():
            event_emit(organization=organization, event_type="kyc.level.upgraded", data={"version": 1, "seq": seq})
    print(f"emitted {count}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "vies":
        vies(*sys.argv[2:])
    else:
        main(*sys.argv[1:])
