"""The guides under /docs/: rendered from docs/*.md, public, linked to each other and from the README."""

import re
from pathlib import Path

import pytest

from portal.console.docs import DOC_PAGES, DOCS_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_docs_index_lists_every_guide_for_anonymous_visitors(client):
    response = client.get("/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    for page in DOC_PAGES:
        assert f'href="/docs/{page.slug}/"' in body
        assert page.title in body


@pytest.mark.django_db
@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.slug)
def test_each_guide_renders_from_its_markdown_file(client, page):
    response = client.get(f"/docs/{page.slug}/")
    assert response.status_code == 200
    body = response.content.decode()
    first_heading = re.search(r"^# (.+)$", page.path.read_text(), re.MULTILINE).group(1)
    assert re.search(rf"<h1[^>]*>{re.escape(first_heading)}</h1>", body)
    # Links between guides point into the portal, not at .md files.
    for slug in re.findall(r'href="([a-z-]+)\.md', body):
        assert slug not in {p.slug for p in DOC_PAGES}, f"unconverted link to {slug}.md"
    assert 'aria-current="page"' in body


@pytest.mark.django_db
def test_code_blocks_are_escaped_not_executed(client):
    body = client.get("/docs/quickstart/").content.decode()
    assert '<pre><code class="language-python">' in body
    assert "&quot;grant_type&quot;" in body


@pytest.mark.django_db
def test_unknown_guide_is_404(client):
    assert client.get("/docs/no-such-guide/").status_code == 404


def test_every_markdown_guide_is_published():
    published = {page.path.name for page in DOC_PAGES}
    on_disk = {path.name for path in DOCS_DIR.glob("*.md")} - {"decisions.md"}
    assert on_disk <= published, f"guides not in DOC_PAGES: {on_disk - published}"


def test_relative_links_in_readme_and_guides_point_at_files_that_exist():
    for document in [ROOT / "README.md", *DOCS_DIR.glob("*.md"), ROOT / "bench" / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to missing {target}"


@pytest.mark.django_db
def test_event_catalog_page_is_rendered_from_the_catalog(client):
    from portal.webhooks.events import EVENT_TYPES, example_payload

    body = client.get("/docs/events/").content.decode()
    for event in EVENT_TYPES:
        assert f'id="{event.name}"' in body
        assert event.description.replace("'", "&#x27;") in body
        assert example_payload(event)["data"]["version"] is not None
        assert f"&quot;type&quot;: &quot;{event.name}&quot;" in body


def test_docs_events_md_is_generated_from_the_current_catalog():
    from portal.console.docs import events_markdown

    assert (DOCS_DIR / "events.md").read_text() == events_markdown(), "run `python manage.py docs_events`"
