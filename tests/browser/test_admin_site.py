"""The admin's set-up page in a real browser: add a skill, then an operator holding two skills with their levels;
the operator is listed, the change is a saved version in the history, and the page says it is not applied yet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from switchboard.lab.ports import free_port
from tests.browser.conftest import Console
from tests.browser.helpers import screenshot, sign_in, start_console, stop_console, wait_for
from tests.console_support import console_site, prepare_store

pytestmark = pytest.mark.browser


@pytest.fixture
def own_console(console: Console, tmp_path: Path) -> Iterator[str]:
    """A console of its own (its site file is edited here), on the session's Redis; its base URL."""
    site_path, site = console_site(tmp_path / "admin-site", redis_url=console.redis_url)
    prepare_store(site)
    port = free_port()
    process = start_console(site_path, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_console(process)


def _level(browser: WebDriver, fieldset: str, skill: str, level: str) -> None:
    Select(browser.find_element(By.CSS_SELECTOR, f"#{fieldset} select[data-skill='{skill}']")).select_by_value(level)


def test_an_admin_adds_an_operator_with_two_skills(console: Console, own_console: str, browser: WebDriver) -> None:
    """Skill 'billing' added, then op2001 with general 4 and billing 2: listed with both levels, first in the
    history as a saved version, the pending banner shown, the console users listed (docs/screenshots/admin.png)."""
    sign_in(browser, own_console, console.accounts["admin"], console.password)
    browser.get(f"{own_console}/admin")
    wait_for(browser, "#operators tr[data-sip-user='op1001']")

    browser.find_element(By.CSS_SELECTOR, "#skill-name").send_keys("billing")
    browser.find_element(By.CSS_SELECTOR, "#skill-form button[type='submit']").click()
    wait_for(browser, "#skills li[data-skill='billing']")
    wait_for(browser, "#op-skills select[data-skill='billing']", visible=False)

    browser.find_element(By.CSS_SELECTOR, "#op-sip-user").send_keys("op2001")
    browser.find_element(By.CSS_SELECTOR, "#op-name").send_keys("Dana Scully")
    browser.find_element(By.CSS_SELECTOR, "#op-secret").send_keys("a-long-secret-2001")
    browser.find_element(By.CSS_SELECTOR, "#op-extension").send_keys("2001")
    _level(browser, "op-skills", "general", "4")
    _level(browser, "op-skills", "billing", "2")
    browser.find_element(By.CSS_SELECTOR, "#operator-save").click()

    row = wait_for(browser, "#operators tr[data-sip-user='op2001']")
    assert "Dana Scully" in row.text and "general 4" in row.text and "billing 2" in row.text
    WebDriverWait(browser, 10).until(
        lambda d: "operator op2001 added" in d.find_element(By.CSS_SELECTOR, "#versions tbody tr").text
    )
    newest = browser.find_element(By.CSS_SELECTOR, "#versions tbody tr")
    assert "saved, not applied" in newest.text
    assert wait_for(browser, "#pending").is_displayed()
    assert wait_for(browser, "#users tr[data-user='ada']").text.startswith("ada")  # console users, from admin_users.js
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot(browser, "admin")
