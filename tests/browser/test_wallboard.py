"""The supervisor's wallboard in headless Chromium against the real Asterisk: a SIPp caller waits and the queue's
waiting count goes to 1 and back, the staffing calculator answers, and the calls page plays a recording."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from switchboard.lab.site import lab_site_dict
from switchboard.lab.stack import LabStack
from switchboard.store.accounts import AccountStore
from switchboard.store.calls import make_engine
from tests.browser.helpers import screenshot, serve_console, sign_in, text_of, until
from tests.console_support import PASSWORD

pytestmark = pytest.mark.browser

OPERATOR = "op1001"
SUPERVISOR = "sup2001"
SUPERVISOR_ACCOUNT = "sue"
WAITING = '#queues tr[data-queue="general"] td[data-field="waiting"] .value'


@pytest_asyncio.fixture(scope="module")
async def lab_console(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LabStack, str]]:
    """A LabStack with one operator and a supervisor's phone, and `switchboard serve` on its site file: the accounts
    of tests.console_support, and SUPERVISOR_ACCOUNT whose phone is the supervisor's."""
    folder = tmp_path_factory.mktemp("wallboard")
    data = lab_site_dict(folder, operators=1)
    data["operators"].append({"sip_user": SUPERVISOR, "secret": secrets.token_urlsafe(12), "name": "Sue Supervisor",
                              "supervisor": True})  # fmt: skip
    async with LabStack(folder, site_data=data) as lab, serve_console(lab) as base_url:
        assert lab.site
        engine = make_engine(lab.site.store_url_effective)
        AccountStore(engine).add_user(SUPERVISOR_ACCOUNT, "supervisor", PASSWORD, time.time(), sip_user=SUPERVISOR)
        engine.dispose()
        yield lab, base_url


async def test_a_waiting_caller_shows_on_the_wallboard_and_leaves_it(
    lab_console: tuple[LabStack, str], browser: WebDriver
) -> None:
    """The operator is paused; a caller waits 6 s then hangs up: waiting goes 0 -> 1 -> 0, live over SSE."""
    lab, base_url = lab_console
    assert lab.site and lab.platform
    lab.platform.operator_command(OPERATOR, "pause", "1", lab.platform.clock())
    try:
        await asyncio.to_thread(sign_in, browser, base_url, "sam", PASSWORD)
        browser.get(f"{base_url}/supervisor")
        await until(lambda: text_of(browser, WAITING) == "0", "the board with nobody waiting")
        assert text_of(browser, "#live-status") == "live"
        caller = asyncio.create_task(lab.hotline_caller(call_seconds=6, timeout=30))
        await until(lambda: text_of(browser, WAITING) == "1", "the caller waiting")
        await until(lambda: browser.find_elements(By.CSS_SELECTOR, '#live-calls tr[data-state="waiting"]'), "the call")
        assert "Paused" in text_of(browser, f'#operators tr[data-operator="{OPERATOR}"]')
        screenshot(browser, "wallboard")
        await until(lambda: text_of(browser, WAITING) == "0", "the caller gone", timeout=30)
        result = await caller
        assert result.successful == 1, result
        abandoned = '#queues tr[data-queue="general"] td[data-field="abandon_rate"] .value'
        await until(lambda: text_of(browser, abandoned) == "100 %", "the abandonment counted")
        cell = '#queues tr[data-queue="general"] td[data-field="abandon_rate"].late'
        assert browser.find_elements(By.CSS_SELECTOR, cell)  # 100 % abandoned is past the target: shown red
    finally:
        lab.platform.operator_command(OPERATOR, "unpause", "", lab.platform.clock())
        await lab.wait_idle()


async def test_the_staffing_calculator_answers_and_refuses_naming_the_field(
    lab_console: tuple[LabStack, str], browser: WebDriver
) -> None:
    """200 calls/h of 180 s at 80/20 need 14 operators (as `switchboard staffing`); a bad target is named."""
    _, base_url = lab_console
    await asyncio.to_thread(sign_in, browser, base_url, "sam", PASSWORD)
    browser.get(f"{base_url}/supervisor")
    await until(lambda: browser.find_elements(By.CSS_SELECTOR, "#staffing-form"), "the calculator")
    for field, value in (("staffing-calls", "200"), ("staffing-aht", "180"), ("staffing-sl", "80/20")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "#staffing-form button[type=submit]").click()
    error = await until(lambda: text_of(browser, "#staffing-error"), "the refusal")
    assert error.startswith("sl = '80/20'")
    target = browser.find_element(By.ID, "staffing-sl")
    target.clear()
    target.send_keys("0.8/20")
    browser.find_element(By.CSS_SELECTOR, "#staffing-form button[type=submit]").click()
    await until(lambda: text_of(browser, "#staffing-out-operators") == "14", "the answer")
    assert text_of(browser, "#staffing-out-meets") == "met"
    assert not browser.find_element(By.ID, "staffing-error").is_displayed()
    browser.execute_script("document.getElementById('staffing-title').scrollIntoView()")
    screenshot(browser, "staffing")


async def test_the_calls_page_lists_the_call_with_a_player_for_its_recording(
    lab_console: tuple[LabStack, str], browser: WebDriver
) -> None:
    """An answered call is listed with an <audio> player whose source the console serves as audio/wav."""
    lab, base_url = lab_console
    assert lab.site and lab.phones and lab.platform
    await lab.phones.configure(OPERATOR, answer_after_s=0.3, talk_s=2.0, auto_answer=True)
    result = await lab.hotline_caller(call_seconds=10, timeout=30)
    assert result.all_successful, result
    await lab.wait_idle()
    await lab.platform.flush()
    await asyncio.to_thread(sign_in, browser, base_url, "sam", PASSWORD)
    browser.get(f"{base_url}/supervisor/calls")
    player = await until(lambda: browser.find_elements(By.CSS_SELECTOR, "#calls-table audio"), "a player")
    source = player[0].get_attribute("src")
    assert source and source.startswith(f"{base_url}/api/calls/") and source.endswith("/recording")
    fetched = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done([r.status, r.headers.get('content-type'),"
        " b.byteLength])));",
        source,
    )
    assert fetched[0] == 200 and fetched[1] == "audio/wav" and fetched[2] > 44
    screenshot(browser, "calls")


async def test_listen_from_a_live_call_rings_the_supervisors_phone_into_chanspy(
    lab_console: tuple[LabStack, str], browser: WebDriver
) -> None:
    """A supervisor with a phone presses Listen on a talking call: their softphone rings, answers, and spies."""
    lab, base_url = lab_console
    assert lab.site and lab.phones and lab.platform
    await lab.phones.configure(OPERATOR, answer_after_s=0.3, talk_s=None, auto_answer=True)
    await lab.phones.configure(SUPERVISOR, answer_after_s=0.3, talk_s=None, auto_answer=True)
    caller = asyncio.create_task(lab.hotline_caller(call_seconds=30, timeout=45))
    try:
        await asyncio.to_thread(sign_in, browser, base_url, SUPERVISOR_ACCOUNT, PASSWORD)
        browser.get(f"{base_url}/supervisor")
        listen = '#live-calls tr[data-state="talking"] button[data-mode="listen"]'
        await until(lambda: browser.find_elements(By.CSS_SELECTOR, listen), "a talking call with its Listen button")
        since = lab.phones.mark()
        browser.find_element(By.CSS_SELECTOR, listen).click()
        notice = await until(lambda: text_of(browser, "#notice"), "the console's answer")
        assert notice == f"Your phone is ringing: answer it to listen on {OPERATOR}'s call.", notice
        await lab.phones.wait_for(lambda e: e.user == SUPERVISOR and e.ev == "answered", 15, since=since)

        async def spying() -> list[str]:
            channels = await lab.platform.ami.list_action("CoreShowChannels")  # type: ignore[union-attr]
            return [c.get("ApplicationData") or "" for c in channels if c.get("Application") == "ChanSpy"]

        for _ in range(50):
            if await spying():
                break
            await asyncio.sleep(0.1)
        [data] = await spying()
        assert data.startswith(f"PJSIP/{OPERATOR}-") and data.endswith(",qE")
        screenshot(browser, "wallboard-listen")
    finally:
        await lab.phones.hangup(SUPERVISOR)
        await lab.phones.hangup(OPERATOR)
        await caller
        await lab.wait_idle()
