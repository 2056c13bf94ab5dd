"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

Fixtures
- `page`: a fresh browser context and page on `live_server` (relative URLs work: `page.goto("/organizations/")`).
  Every console error (CSP violations included), uncaught page error, failed request and HTTP error
  response is collected; the test fails at teardown if any was seen. A test that provokes one on purpose
  says so with `@pytest.mark.allow_browser_errors(r"regex", ...)` (matched against the messages).
- `login(user, password=DEFAULT_PASSWORD)`: logs `user` in through the login form (`via_form=False`
  puts a session cookie in the context instead, for tests that are not about logging in).
- `shot(name)`: a full-page screenshot in `artifacts/browser/<test name>/NN-<name>.png` (git-ignored).

Never downloads a browser: it launches /usr/bin/chromium (`apt-get install chromium`), which
`make test` and `.ci/run` install when it is missing.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import sync_playwright

from tests.factories import DEFAULT_PASSWORD

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make from that
# thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
VIEWPORT = {"width": 1280, "height": 900}
ACTION_TIMEOUT_MS = 15_000


def pytest_configure(config):
    config.addinivalue_line("markers", "allow_browser_errors(*patterns): browser errors this test expects")


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (make test does it as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class BrowserErrors:
    """What went wrong in the browser while a test ran."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.items: list[str] = []

    def console(self, message):
        if message.type == "error":
            location = message.location or {}
            self.items.append(f"console error: {message.text} ({location.get('url', '')})")

    def page_error(self, error):
        self.items.append(f"uncaught error: {error}")

    def request_failed(self, request):
        failure = request.failure or "failed"
        # A navigation that another navigation replaced is not a failure of the page.
        if "net::ERR_ABORTED" in failure and request.is_navigation_request():
            return
        self.items.append(f"request failed: {request.method} {request.url} ({failure})")

    def response(self, response):
        if response.status >= 400:
            self.items.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def unexpected(self, allowed: list[re.Pattern]) -> list[str]:
        return [item for item in self.items if not any(pattern.search(item) for pattern in allowed)]


@pytest.fixture
def browser_context(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def browser_errors(live_server):
    return BrowserErrors(live_server.url)


@pytest.fixture
def page(browser_context, browser_errors, request):
    page = browser_context.new_page()
    page.on("console", browser_errors.console)
    page.on("pageerror", browser_errors.page_error)
    page.on("requestfailed", browser_errors.request_failed)
    page.on("response", browser_errors.response)
    yield page
    marker = request.node.get_closest_marker("allow_browser_errors")
    allowed = [re.compile(pattern) for pattern in (marker.args if marker else ())]
    unexpected = browser_errors.unexpected(allowed)
    if unexpected:
        shot_path = ARTIFACTS / _test_dir(request) / "zz-browser-errors.png"
        shot_path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot_path), full_page=True)
        pytest.fail("The browser reported errors:\n  " + "\n  ".join(unexpected), pytrace=False)


def _test_dir(request) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")


@pytest.fixture
def shot(page, request):
    folder = ARTIFACTS / _test_dir(request)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    taken = []

    def take(name: str) -> Path:
        taken.append(name)
        path = folder / f"{len(taken):02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        # caret="initial": the default hides the caret with inline styles that htmx would later copy (CSP error).
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take


@pytest.fixture
def login(page, browser_context, live_server):
    def log_in(user, password: str = DEFAULT_PASSWORD, *, via_form: bool = True):
        if not via_form:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            browser_context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
            page.goto("/")
            return page
        page.goto("/accounts/login/")
        page.get_by_label(re.compile("e-?mail", re.IGNORECASE)).fill(user.email)
        page.get_by_label(re.compile("password", re.IGNORECASE)).fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return log_in
