"""The browser harness itself, on the pages every deployment has: log in, land on the console."""

import re

import pytest
from playwright.sync_api import expect


def test_support_logs_in_and_sees_the_organization_list(page, login, shot, support_user, organization):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shot("login-page")

    login(support_user)

    expect(page).to_have_url(re.compile(r"/organizations/$"))
    expect(page.get_by_role("link", name=organization.name)).to_be_visible()
    shot("organization-list")


def test_a_wrong_password_is_refused_inline(page, support_user):
    page.goto("/accounts/login/")
    page.get_by_label(re.compile("e-?mail", re.IGNORECASE)).fill(support_user.email)
    page.get_by_label(re.compile("password", re.IGNORECASE)).fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator(".alert, .errorlist, [role=alert]").first).to_be_visible()


@pytest.mark.allow_browser_errors(r"HTTP 404", r"status of 404")
def test_the_harness_sees_http_errors_and_a_test_can_expect_them(page, browser_errors):
    page.goto("/no-such-page/")
    assert any("HTTP 404" in item for item in browser_errors.items)


def test_the_harness_catches_a_csp_violation(page, browser_errors, support_user, login):
    login(support_user, via_form=False)
    # An inline script without the nonce is exactly what the CSP must refuse, and the harness must notice.
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate("""() => {
            const script = document.createElement('script');
            script.textContent = 'window.injected = 1';
            document.body.append(script);
        }""")
    violations = [item for item in browser_errors.items if "Content Security Policy" in item]
    assert violations, browser_errors.items
    browser_errors.items.clear()  # seen and asserted: not a failure of this test
