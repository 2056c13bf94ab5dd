import json
import time
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.core.tasks import health_ping


class Command(BaseCommand):
    help = (
        "Send a health ping through the broker to every Celery queue (or the ones named) and wait until a "
        "worker has answered on each, so every kind of work has a consumer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for all the answers")
        parser.add_argument(
            "--queue", action="append", dest="queues", help="ping only this queue (repeatable); default: every queue"
        )

    def handle(self, *args, timeout: float, queues: list[str] | None, **options):
        declared = [queue.name for queue in settings.CELERY_TASK_QUEUES]
        queues = queues or declared
        unknown = sorted(set(queues) - set(declared))
        if unknown:
            raise CommandError(f"unknown queue(s): {', '.join(unknown)}; declared: {', '.join(declared)}")
        started = time.monotonic()
        deadline = started + timeout
        # All pings go out at once; an unanswered one expires, so a worker started later does not answer a
        # question nobody asks.
        sent = {}
        for queue in queues:
            nonce = uuid.uuid4().hex
            sent[queue] = (nonce, health_ping.apply_async(args=[nonce], queue=queue, expires=timeout))
        answers: dict[str, dict] = {}
        for queue, (nonce, result) in sent.items():
            try:
                reply = result.get(timeout=max(deadline - time.monotonic(), 0.1))
            except Exception as exc:
                missing = [q for q in queues if q not in answers]
                raise CommandError(
                    f"no worker answered on queue(s) {', '.join(missing)} within {timeout:g} s "
                    f"({exc.__class__.__name__})"
                ) from exc
            if reply.get("nonce") != nonce:
                raise CommandError(f"unexpected answer on {queue}: {reply!r}")
            reply["roundTripMs"] = round((time.monotonic() - started) * 1000, 1)
            answers[queue] = reply
        databases = {reply["database"] for reply in answers.values()}
        summary = {
            "nonce": answers[queues[0]]["nonce"],
            "worker": answers[queues[0]]["worker"],
            "database": "ok" if databases == {"ok"} else ",".join(sorted(databases - {"ok"})),
            # The slowest queue's answer: how long until every kind of work had a consumer.
            "roundTripMs": max(reply["roundTripMs"] for reply in answers.values()),
            "queues": {
                queue: {k: reply[k] for k in ("worker", "database", "roundTripMs")} for queue, reply in answers.items()
            },
        }
        self.stdout.write(json.dumps(summary))
