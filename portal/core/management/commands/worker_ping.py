import json
import time
import uuid

from django.core.management.base import BaseCommand, CommandError

from portal.core.tasks import health_ping


class Command(BaseCommand):
    help = "Send a health ping through the broker and wait for a Celery worker to answer it."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")

    def handle(self, *args, timeout: float, **options):
        nonce = uuid.uuid4().hex
        started = time.monotonic()
        try:
            # An unanswered ping expires, so a worker started later does not answer a question nobody asks.
            reply = health_ping.apply_async(args=[nonce], expires=timeout).get(timeout=timeout)
        except Exception as exc:
            raise CommandError(f"no worker answered within {timeout:g} s ({exc.__class__.__name__})") from exc
        if reply.get("nonce") != nonce:
            raise CommandError(f"unexpected answer: {reply!r}")
        reply["roundTripMs"] = round((time.monotonic() - started) * 1000, 1)
        self.stdout.write(json.dumps(reply))
