"""Browser-test fixtures: a running console (`switchboard serve` on a small site with a real Redis and one account
per role) and headless Chromium. Every test here is marked `browser`; without Chromium they are skipped, except
under CI (CI=true), where a missing browser is a failure.

    def test_x(console: Console, browser: WebDriver) -> None:
        sign_in(browser, console.base_url, console.accounts["operator"], console.password)
        screenshot(browser, "operator-desk")

To drive the console of a LabStack (a real Asterisk), call start_console(stack's site file, free_port()) from
tests.browser.helpers after tests.console_support.prepare_store(site) has added the accounts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from switchboard.config import Site
from switchboard.lab.ports import free_port
from tests.browser.helpers import chromium_missing, new_chrome, start_console, stop_console
from tests.console_support import ACCOUNTS, PASSWORD, console_site, prepare_store, start_redis

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Console:
    """A running console: where it answers, its site, and who may sign in (role -> account name)."""

    base_url: str
    site_path: Path
    site: Site
    redis_url: str
    accounts: dict[str, str]
    password: str


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The console on a free loopback port, over a migrated store holding one account per role (tests.console_support's
    ACCOUNTS, password PASSWORD), with its own Redis; stopped after the session."""
    folder = tmp_path_factory.mktemp("console")
    redis_process, redis_url = start_redis(folder / "redis")
    try:
        site_path, site = console_site(folder, redis_url=redis_url)
        prepare_store(site)
        port = free_port()
        process = start_console(site_path, port)
        try:
            roles = {role: name for name, role in ACCOUNTS.items()}
            yield Console(f"http://127.0.0.1:{port}", site_path, site, redis_url, roles, PASSWORD)
        finally:
            stop_console(process)
    finally:
        redis_process.terminate()
        redis_process.wait(10)


@pytest.fixture(scope="session")
def chrome() -> Iterator[WebDriver]:
    """One headless Chromium for the session (the `browser` fixture hands it to each test with no cookies)."""
    missing = chromium_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(f"no headless Chromium here: {missing}")
    driver = new_chrome()
    yield driver
    driver.quit()


@pytest.fixture
def browser(chrome: WebDriver) -> WebDriver:
    """Headless Chromium 1280x900, signed out: no cookies left from the test before."""
    chrome.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chrome.get("about:blank")
    return chrome
