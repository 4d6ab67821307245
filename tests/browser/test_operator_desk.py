"""The operator desk in headless Chromium against the real Asterisk: the operator signs in, goes available, the
dialer's call to a lead (answered by the SIPp telephone network) pops the lead on screen, the operator saves a refusal
with its reason, and the campaign manager's report counts it. Then days off: asked by the operator, approved by a
supervisor into the roster."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import tomllib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from dialer.campaigns.settings import parse_campaign
from switchboard.lab.sipp import SippNetwork
from switchboard.lab.stack import LabStack
from switchboard.store import days_off
from switchboard.store.accounts import AccountStore
from switchboard.store.attempts import finish_attempt, record_attempt, record_disposition
from switchboard.store.campaign_report import campaign_report
from switchboard.store.campaigns import save_campaign
from switchboard.store.schema import campaigns, leads
from tests.browser.helpers import screenshot, serve_console, sign_in, sign_out, text_of, until
from tests.console_support import PASSWORD
from tests.e2e.test_cli_campaign import EXAMPLE
from tests.integration.leads.campaign_helpers import add_leads
from tests.integration.test_outbound import outbound_stack

pytestmark = pytest.mark.browser

CAMPAIGN = "Spring desk"
OPERATOR, ACCOUNT = "op1001", "olga"  # tests.console_support: olga works as op1001
LEAD_NUMBER = "+79167001111"  # last digit 1: a person answers (SippNetwork's number plan)


@pytest_asyncio.fixture(scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LabStack, str]]:
    """An outbound lab (one session-mode operator, a progressive dialer for CAMPAIGN) and the console on its site."""
    async with SippNetwork(ring_s=0.5, talk_s=25.0) as network:
        operators = [{"sip_user": OPERATOR, "name": "Olga Petrova", "skills": {"sales": 2}}]
        dialers = [{"campaign": CAMPAIGN, "queue": "sales", "ring_timeout_s": 15, "max_lines": 1}]
        async with (
            outbound_stack(tmp_path_factory.mktemp("desk"), network, operators, dialers) as lab,
            serve_console(lab) as base_url,
        ):
            yield lab, base_url


def seed_campaign(engine: sa.Engine) -> int:
    """The example campaign (script, order form, refusal reasons) as CAMPAIGN, callable all day, paused, one lead."""
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8")) | {
        "name": CAMPAIGN,
        "hours": {"every_day": "00:00-24:00"},
    }
    campaign_id = save_campaign(engine, parse_campaign(data)).id
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="paused"))
    [lead_id] = add_leads(engine, campaign_id, "spring list", [LEAD_NUMBER])
    with engine.begin() as conn:
        names = {"full_name": "Иванов Иван", "first_name": "Иван", "city": "Казань"}
        conn.execute(leads.update().where(leads.c.id == lead_id).values(**names))
    # Yesterday a colleague reached him and he wanted to think it over: a past contact on the screen pop.
    yesterday = time.time() - 86_400
    earlier = record_attempt(engine, lead_id, now=yesterday)
    finish_attempt(engine, earlier, "answered", now=yesterday + 60, operator="op1002", talk_s=48.0)
    record_disposition(engine, earlier, "thinking", note="просил перезвонить завтра", now=yesterday + 70)
    with engine.begin() as conn:  # due now, rather than in the two days "thinking" waits
        conn.execute(leads.update().where(leads.c.id == lead_id).values(next_attempt_at=yesterday + 80))
    return campaign_id


def set_campaign(engine: sa.Engine, campaign_id: int, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status=status))


async def test_an_operator_takes_a_campaign_call_and_saves_a_refusal_the_manager_sees(
    desk: tuple[LabStack, str], browser: WebDriver
) -> None:
    """Given the operator paused in session mode and the campaign active, when she goes available on the desk, then
    the dialer's call pops the lead (name, script, order form); her refusal with its reason is stored and the
    campaign report (the manager's page too) counts that reason once."""
    lab, base_url = desk
    assert lab.platform and lab.site
    engine = lab.platform.store.engine
    campaign_id = seed_campaign(engine)
    lab.platform.operator_command(OPERATOR, "pause", "1", lab.platform.clock())
    await lab.start_sessions([OPERATOR])
    set_campaign(engine, campaign_id, "active")
    try:
        await asyncio.to_thread(sign_in, browser, base_url, ACCOUNT, PASSWORD)
        browser.get(f"{base_url}/operator")
        await until(lambda: text_of(browser, "#state") == "Paused", "the desk showing her paused")
        assert text_of(browser, "#state-reason") == "(lunch)" and text_of(browser, "#live-status") == "live"
        browser.find_element(By.ID, "btn-available").click()
        await until(lambda: lab.platform.dialer.inflight or lab.platform.picture.calls, "the dialer's call")  # type: ignore[union-attr]
        await until(lambda: text_of(browser, "#lead-name") == "Иванов Иван", "the screen pop", timeout=30)
        assert text_of(browser, "#call-status") == "on the call"
        assert "просил перезвонить завтра" in text_of(browser, "#past-contacts tbody")
        assert "Здравствуйте, Иван!" in text_of(browser, "#script") and "Olga Petrova" in text_of(browser, "#script")
        assert (
            browser.find_element(By.CSS_SELECTOR, "#order-form-fields input[name=full_name]").get_attribute("value")
            == "Иванов Иван"
        )
        Select(browser.find_element(By.ID, "disposition")).select_by_value("refused")
        await until(lambda: browser.find_element(By.ID, "refusal-reason").is_displayed(), "the refusal reasons")
        Select(browser.find_element(By.ID, "refusal-reason")).select_by_value("too_expensive")
        browser.find_element(By.ID, "note").send_keys("дорого, перезвонить весной")
        browser.execute_script("document.getElementById('call-panel').scrollIntoView()")
        screenshot(browser, "operator-desk")
        assert text_of(browser, "#disposition-saved") == ""  # shown once the console has stored it
        browser.find_element(By.ID, "save-disposition").click()
        await until(lambda: text_of(browser, "#disposition-saved") == "Saved", "the disposition saved")
        assert text_of(browser, "#disposition-error") == ""
    finally:
        set_campaign(engine, campaign_id, "paused")
    reasons = campaign_report(engine, CAMPAIGN)["totals"]["refusals"]
    assert reasons["total"] == 1 and [(r["code"], r["count"]) for r in reasons["reasons"]] == [("too_expensive", 1)]
    await lab.wait_for(lambda: not lab.platform.picture.calls, 40, "the person hanging up after 25 s")  # type: ignore[union-attr]
    await lab.end_sessions([OPERATOR])
    await lab.wait_idle()

    await asyncio.to_thread(sign_out, browser)
    await asyncio.to_thread(sign_in, browser, base_url, "carl", PASSWORD)
    browser.get(f"{base_url}/campaigns/{campaign_id}")
    count = '#refusal-reasons tr[data-code="too_expensive"] .refusal-count'
    assert await until(lambda: text_of(browser, count), "the report's refusal reasons") == "1"


async def test_days_off_asked_on_the_desk_are_approved_into_the_roster(
    desk: tuple[LabStack, str], browser: WebDriver
) -> None:
    """The operator asks for three days a fortnight ahead on her desk; a supervisor sees the request, approves it,
    and the roster lists her on those days."""
    lab, base_url = desk
    assert lab.site and lab.platform
    engine = lab.platform.store.engine
    first = days_off.today(lab.platform.clock()) + dt.timedelta(days=14)
    days = [(first + dt.timedelta(days=n)).isoformat() for n in range(3)]
    await asyncio.to_thread(sign_in, browser, base_url, ACCOUNT, PASSWORD)
    browser.get(f"{base_url}/operator")
    await until(lambda: browser.find_elements(By.ID, "days-off-form"), "the days-off form")
    set_value = "document.getElementById(arguments[0]).value = arguments[1];"
    browser.execute_script(set_value, "days-off-first", days[0])
    browser.execute_script(set_value, "days-off-last", days[-1])
    browser.find_element(By.ID, "days-off-reason").send_keys("семейные обстоятельства")
    browser.find_element(By.ID, "request-days-off").click()
    await until(lambda: "pending" in text_of(browser, "#my-days-off tbody"), "the request listed as pending")
    await asyncio.to_thread(sign_out, browser)

    # A colleague's earlier approved week, so the roster shows more than one absence.
    prepare_colleague(engine, first, lab.platform.clock())
    await asyncio.to_thread(sign_in, browser, base_url, "sam", PASSWORD)
    browser.get(f"{base_url}/supervisor/days-off")
    row = '#pending tr[data-request] button[data-decide="approve"]'
    await until(lambda: browser.find_elements(By.CSS_SELECTOR, row), "the pending request")
    assert ACCOUNT in text_of(browser, "#pending tbody") and days[0] in text_of(browser, "#pending tbody")
    screenshot(browser, "supervisor-days-off")
    browser.find_element(By.CSS_SELECTOR, row).click()
    await until(lambda: "No request is waiting." in text_of(browser, "#pending tbody"), "the request decided")
    for day in days:
        assert ACCOUNT in text_of(browser, f'#roster tr[data-day="{day}"] td'), day
    [request] = days_off.requests(engine, user_name=ACCOUNT)
    assert (request["status"], request["decided_by"]) == ("approved", "sam")


def prepare_colleague(engine: sa.Engine, first: dt.date, now: float) -> None:
    """An approved week off for another operator account, a few days before the operator's."""
    AccountStore(engine).add_user("boris", "operator", PASSWORD, now)
    start = first - dt.timedelta(days=4)
    made = days_off.request_days_off(engine, "boris", start, start + dt.timedelta(days=4), "отпуск", now)
    days_off.decide(engine, made["id"], True, "sam", now)
