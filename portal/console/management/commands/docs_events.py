from django.core.management.base import BaseCommand

from portal.console.docs import DOCS_DIR, events_markdown


class Command(BaseCommand):
    help = "Write docs/events.md from the event catalog (portal/webhooks/events.py)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="exit 1 if docs/events.md is out of date")

    def handle(self, *args, check: bool, **options):
        path = DOCS_DIR / "events.md"
        wanted = events_markdown()
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != wanted:
                self.stderr.write("docs/events.md is out of date: run `python manage.py docs_events`.")
                raise SystemExit(1)
            return
        path.write_text(wanted, encoding="utf-8")
        self.stdout.write(f"Wrote {path}")
