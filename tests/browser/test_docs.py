"""The guides in a real browser: readable, navigable, no console errors or CSP violations."""

import re

from playwright.sync_api import expect

from portal.console.docs import DOC_PAGES


def test_an_integrator_reads_the_guides(page, shot):
    page.goto("/docs/")
    expect(page.get_by_role("heading", name="Documentation")).to_be_visible()
    shot("docs-index")

    page.get_by_role("link", name="Integrator quickstart").first.click()
    expect(page).to_have_url(re.compile(r"/docs/quickstart/$"))
    expect(page.get_by_role("heading", name="Integrator quickstart", level=1)).to_be_visible()
    expect(page.locator("pre code.language-python").first).to_contain_text("client_credentials")
    shot("quickstart")

    # The table of contents jumps within the page; the guide links move between pages.
    page.get_by_role("complementary", name="On this page").get_by_role(
        "link", name=re.compile("Create a buyer")
    ).click()
    expect(page).to_have_url(re.compile(r"#3-create-a-buyer$"))
    page.locator("article").get_by_role("link", name="Rotating secrets").first.click()
    expect(page).to_have_url(re.compile(r"/docs/rotation/$"))
    shot("rotation")

    for doc in DOC_PAGES:
        page.goto(f"/docs/{doc.slug}/")
        expect(page.locator("h1").first).to_be_visible()


def test_guides_read_well_on_a_phone(page, shot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/docs/quickstart/")
    expect(page.get_by_role("heading", name="Integrator quickstart", level=1)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    shot("quickstart-phone")
