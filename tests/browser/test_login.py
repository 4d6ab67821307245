"""Signing in to the console in a real browser: a wrong password is shown, an operator lands on their desk."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from tests.browser.conftest import Console
from tests.browser.helpers import screenshot, sign_in, sign_out, wait_for

pytestmark = pytest.mark.browser


def test_a_wrong_password_shows_the_error_and_keeps_the_name(console: Console, browser: WebDriver) -> None:
    """The sign-in page comes back with the console's message; no session cookie is set."""
    browser.get(f"{console.base_url}/login")
    wait_for(browser, "#name").send_keys(console.accounts["operator"])
    browser.find_element(By.CSS_SELECTOR, "#password").send_keys("not the password")
    browser.find_element(By.CSS_SELECTOR, "#sign-in").click()
    error = wait_for(browser, "#login-error")
    assert error.text == "wrong user name or password"
    assert browser.find_element(By.CSS_SELECTOR, "#name").get_attribute("value") == console.accounts["operator"]
    assert browser.get_cookie("sb_session") is None


def test_the_sign_in_page(console: Console, browser: WebDriver) -> None:
    """The sign-in page as a person first sees it (docs/screenshots/login.png)."""
    browser.get(f"{console.base_url}/operator")  # a page that needs a session sends the browser to sign in
    WebDriverWait(browser, 10).until(lambda d: "/login" in d.current_url)
    assert browser.current_url.endswith("/login?next=/operator")
    assert wait_for(browser, "h1").text == "Sign in"
    screenshot(browser, "login")


def test_an_operator_signs_in_and_lands_on_the_operator_desk(console: Console, browser: WebDriver) -> None:
    """After signing in, an operator is on /operator with their name and role in the header, and can sign out."""
    sign_in(browser, console.base_url, console.accounts["operator"], console.password)
    WebDriverWait(browser, 10).until(lambda d: d.current_url.rstrip("/").endswith("/operator"))
    cookie = browser.get_cookie("sb_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert wait_for(browser, "#account-name").text == console.accounts["operator"]
    assert browser.find_element(By.CSS_SELECTOR, "#account-role").text == "Operator"
    nav = [link.get_attribute("href") for link in browser.find_elements(By.CSS_SELECTOR, "nav.areas a")]
    assert nav == [f"{console.base_url}/operator"]
    sign_out(browser)
    assert browser.get_cookie("sb_session") is None


@pytest.mark.parametrize("page", ["/admin", "/admin/dialplan", "/campaigns", "/supervisor"])
def test_an_operator_gets_403_on_the_pages_of_other_roles(console: Console, browser: WebDriver, page: str) -> None:
    """An operator typing another area's address gets the 403 page, not its content."""
    sign_in(browser, console.base_url, console.accounts["operator"], console.password)
    WebDriverWait(browser, 10).until(lambda d: d.current_url.rstrip("/").endswith("/operator"))
    browser.get(f"{console.base_url}{page}")
    assert "403" in wait_for(browser, "h1").text or "may not" in browser.page_source
    assert "/login" not in browser.current_url


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/admin/site"),
        ("GET", "/api/admin/dialplan"),
        ("POST", "/api/admin/dialplan/apply"),
        ("GET", "/api/campaigns"),
        ("POST", "/api/campaigns"),
        ("GET", "/api/supervisor/board"),
    ],
)
def test_an_operator_gets_403_from_the_api_of_other_roles(
    console: Console, browser: WebDriver, method: str, url: str
) -> None:
    """The same from the browser's own session: the API behind those pages answers 403, with its CSRF token sent."""
    sign_in(browser, console.base_url, console.accounts["operator"], console.password)
    WebDriverWait(browser, 10).until(lambda d: d.current_url.rstrip("/").endswith("/operator"))
    status = browser.execute_async_script(
        """
        const [method, url, done] = arguments;
        const token = document.querySelector('meta[name="csrf-token"]').content;
        fetch(url, {method, headers: {'X-CSRF-Token': token, 'Content-Type': 'application/json'},
                    body: method === 'GET' ? undefined : '{}'}).then(r => done(r.status), () => done(-1));
        """,
        method,
        url,
    )
    assert status == 403
