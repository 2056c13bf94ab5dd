"""The guides in docs/*.md, rendered in the portal at /docs/ (the files are the single source)."""

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import markdown
from django.conf import settings
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from portal.webhooks.events import EVENT_TYPES, example_payload

DOCS_DIR = Path(settings.BASE_DIR) / "docs"


@dataclass(frozen=True)
class DocPage:
    slug: str
    title: str
    summary: str
    audience: str

    @property
    def path(self) -> Path:
        return DOCS_DIR / f"{self.slug}.md"


DOC_PAGES: tuple[DocPage, ...] = (
    DocPage(
        "quickstart",
        "Integrator quickstart",
        "Token, /v1/me, a first buyer and a verified webhook, with Python, Node.js and Java snippets.",
        "integrators",
    ),
    DocPage("events", "Webhook event catalog", "Every event type with an example payload.", "integrators"),
    DocPage(
        "rotation",
        "Rotating secrets",
        "Client secrets and webhook signing secrets, without downtime.",
        "integrators and support",
    ),
    DocPage(
        "operator-guide",
        "Operator guide for NT24 support",
        "Onboarding a pilot, day-to-day support and incidents.",
        "NT24 support",
    ),
    DocPage(
        "operations", "Operations", "Running the portal: container, compose, health checks, settings.", "operators"
    ),
)
DOC_PAGES_BY_SLUG = {page.slug: page for page in DOC_PAGES}

# Links between the Markdown files ("rotation.md#api-client-secrets") become portal links.
_MD_LINK = re.compile(r'href="(?:\./)?([a-z0-9-]+)\.md(#[^"]*)?"')


def _portal_links(html: str) -> str:
    def replace(match: re.Match) -> str:
        slug, anchor = match.group(1), match.group(2) or ""
        if slug not in DOC_PAGES_BY_SLUG:
            return match.group(0)
        return f'href="{reverse("docs-page", kwargs={"slug": slug})}{anchor}"'

    return _MD_LINK.sub(replace, html)


@lru_cache(maxsize=32)
def _render(path: Path, mtime: float) -> tuple[str, str]:
    converter = markdown.Markdown(extensions=["fenced_code", "tables", "toc", "attr_list", "sane_lists"])
    html = converter.convert(path.read_text(encoding="utf-8"))
    return _portal_links(html), converter.toc


def doc_render(page: DocPage) -> tuple[SafeString, SafeString]:
    """The page's HTML and its table of contents. The files are ours (reviewed like code), not user input."""
    html, toc = _render(page.path, page.path.stat().st_mtime)
    return mark_safe(html), mark_safe(toc)  # noqa: S308 - trusted repository content


def events_markdown() -> str:
    """docs/events.md, generated from the catalog (`manage.py docs_events`; a test keeps the file current)."""
    segments = ", ".join(f"`{segment}.*`" for segment in sorted({event.segment for event in EVENT_TYPES}))
    lines = [
        "# Webhook event catalog",
        "",
        "<!-- Generated from portal/webhooks/events.py by `python manage.py docs_events`: do not edit. -->",
        "",
        'Every delivery is a JSON body `{"id", "type", "createdAt", "organizationId", "partnerId", "data"}`,',
        "signed per [Standard Webhooks](https://www.standardwebhooks.com/) (`webhook-id`, `webhook-timestamp`,",
        "`webhook-signature`). `data.version` is the resource's state version: deliveries can arrive out of",
        "order, so keep the highest version you have processed and ignore older ones. Subscribe to event",
        f"types one by one or by segment ({segments}); a root `*` is refused. Verification code is in the",
        "[quickstart](quickstart.md#5-receive-and-verify-a-webhook); the same catalog is served at",
        "`GET /v1/webhooks/event-types`.",
        "",
        "| event type | when |",
        "|---|---|",
        *(f"| [`{event.name}`](#{event.name.replace('.', '')}) | {event.description} |" for event in EVENT_TYPES),
    ]
    for event in EVENT_TYPES:
        lines += [
            "",
            f"## `{event.name}`",
            "",
            event.description,
            "",
            "```json",
            json.dumps(example_payload(event), indent=2, ensure_ascii=False),
            "```",
        ]
    return "\n".join(lines) + "\n"
