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
