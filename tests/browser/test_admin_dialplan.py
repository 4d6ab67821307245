"""The dialplan editor in headless Chromium against a real Asterisk: a System() line is refused with its line shown
and nothing changes, a good dialplan is applied (Asterisk runs it), then rolled back from the versions table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from asterisk_conf import variables
from switchboard.dialplan_admin import ADMIN_FILE
from switchboard.lab.asterisk import AsteriskProcess
from switchboard.lab.ports import free_port
from switchboard.lab.site import lab_site_dict, write_lab_site
from tests.browser.helpers import screenshot, sign_in, start_console, stop_console, wait_for
from tests.console_support import PASSWORD, prepare_store, start_redis

pytestmark = pytest.mark.browser

ADMIN = variables.CTX_ADMIN
GOOD = (
    f"; the night service, written in the browser\n[{ADMIN}]\n"
    "exten => s,1,NoOp(Switchboard admin context)\n same => n,Hangup()\n"
    "exten => 700,1,Answer()\n same => n,Playback(hello-world)\n same => n,Hangup()\n"
    "exten => _8XX,1,Dial(PJSIP/${FILTER(0-9,${EXTEN:1})},20)\n"
)
DANGEROUS = GOOD + "exten => 666,1,System(touch /tmp/pwned)\n"  # line 9


@dataclass(frozen=True)
class DialplanConsole:
    asterisk: AsteriskProcess
    base_url: str


@pytest_asyncio.fixture(scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DialplanConsole]:
    """A real Asterisk from a lab site, and `switchboard serve` on the same site file (accounts of console_support)."""
    folder = tmp_path_factory.mktemp("dialplan-browser")
    redis, redis_url = start_redis(folder / "redis")
    try:
        site_path, site = write_lab_site(folder, lab_site_dict(folder, operators=1, redis_url=redis_url))
        prepare_store(site)
        async with AsteriskProcess(site, folder / "asterisk") as asterisk:
            port = free_port()
            console = await asyncio.to_thread(start_console, site_path, port)
            try:
                yield DialplanConsole(asterisk, f"http://127.0.0.1:{port}")
            finally:
                await asyncio.to_thread(stop_console, console)
    finally:
        redis.terminate()
        redis.wait(10)


def type_dialplan(browser: WebDriver, text: str) -> None:
    editor = wait_for(browser, "#dialplan-editor")
    browser.execute_script("arguments[0].value = arguments[1];", editor, text)


def status_text(browser: WebDriver, contains: str, timeout: float = 20.0) -> str:
    """The editor's status line once it holds `contains`."""
    WebDriverWait(browser, timeout).until(lambda d: contains in d.find_element(By.ID, "check-status").text)
    return str(browser.find_element(By.ID, "check-status").text)


def problems(browser: WebDriver) -> list[str]:
    return [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#problems li.problem")]


async def in_asterisk(asterisk: AsteriskProcess) -> str:
    return await asterisk.cli(f"dialplan show {ADMIN}")


async def test_a_dangerous_dialplan_is_refused_a_good_one_applied_then_rolled_back(
    lab: DialplanConsole, browser: WebDriver
) -> None:
    """System() refused with line 9 shown (file and Asterisk untouched); a good edit applied; rolled back."""
    target = lab.asterisk.conf_dir / ADMIN_FILE
    original = target.read_text()
    sign_in(browser, lab.base_url, "ada", PASSWORD)
    browser.get(f"{lab.base_url}/admin/dialplan")
    assert "[switchboard-admin]" in wait_for(browser, "#dialplan-editor").get_attribute("value")  # type: ignore[operator]

    type_dialplan(browser, DANGEROUS)
    browser.find_element(By.ID, "check").click()
    assert "Refused: 1 problem" in status_text(browser, "Refused")
    assert problems(browser) == ["line 9: System() is refused: it runs a shell command on the server"]

    type_dialplan(browser, GOOD)
    browser.find_element(By.ID, "show-diff").click()
    WebDriverWait(browser, 10).until(lambda d: "exten => 700,1,Answer()" in d.find_element(By.ID, "diff-preview").text)
    browser.find_element(By.ID, "apply-note").send_keys("night service")
    browser.find_element(By.ID, "apply").click()
    assert "applied: Asterisk runs it now" in status_text(browser, "applied")
    assert target.read_text() == GOOD
    assert "'700' =>" in await in_asterisk(lab.asterisk)

    type_dialplan(browser, DANGEROUS)
    browser.find_element(By.ID, "apply-note").send_keys("sneak a shell in")
    browser.find_element(By.ID, "apply").click()
    assert "Nothing was changed" in status_text(browser, "Refused")
    assert problems(browser) == ["line 9: System() is refused: it runs a shell command on the server"]
    assert target.read_text() == GOOD and "'666'" not in await in_asterisk(lab.asterisk)
    WebDriverWait(browser, 10).until(lambda d: "dialplan.refused" in d.find_element(By.ID, "audit").text)
    screenshot(browser, "admin-dialplan")

    first = browser.find_elements(By.CSS_SELECTOR, "#versions tbody tr")[-1]  # the file as first found
    first_id = first.get_attribute("data-version")
    first.find_element(By.CSS_SELECTOR, "button.rollback").click()
    assert f"the content of version {first_id}" in status_text(browser, "the content of version")
    assert target.read_text() == original
    assert "'700' =>" not in await in_asterisk(lab.asterisk)
    audit = browser.find_element(By.ID, "audit").text
    assert "dialplan.rollback" in audit and "ada" in audit


async def test_an_operator_cannot_open_the_editor(lab: DialplanConsole, browser: WebDriver) -> None:
    """An operator gets the 403 page, not the editor."""
    sign_in(browser, lab.base_url, "olga", PASSWORD)
    browser.get(f"{lab.base_url}/admin/dialplan")
    assert not browser.find_elements(By.ID, "dialplan-editor")
    assert "403" in browser.page_source or "may not" in browser.page_source
