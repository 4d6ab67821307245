"""The campaign manager in a real browser: a campaign file refused with its field then created, a 20,000-row list
uploaded and followed to the end of its import, its rejection report, the refusal reasons the operators recorded,
and a win-back campaign from two of them."""

from __future__ import annotations

import secrets
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from switchboard.lab.ports import free_port
from switchboard.lab.site import write_lab_site
from switchboard.leads.importer import ImportOptions, import_leads
from switchboard.store.calls import make_engine
from switchboard.store.campaigns import save_campaign
from switchboard.store.schema import campaigns, leads
from switchboard.web.campaign_toml import read_campaign_text
from tests.browser.helpers import screenshot, sign_in, start_console, stop_console, wait_for
from tests.console_support import ACCOUNTS, PASSWORD, prepare_store, start_redis
from tests.integration.leads.campaign_helpers import record_outcomes, refusal_counts

pytestmark = pytest.mark.browser

NAME = "Весна 2026"  # made through the page by the upload test
REPORTED = "Осень 2026"  # made in the store, with calls the operators disposed, by the report test
ROWS = 20_000
BAD = {7: "12ab", 5000: "", 12_345: "=HYPERLINK(1)", 19_990: "+7 912"}  # data row number -> phone cell
CAMPAIGN = f"""\
name = "{NAME}"
caller_id = "+74951234567"
max_attempts = 6
script = "Здравствуйте, {{{{ full_name }}}}! Новый тариф для {{{{ city }}}}."

[hours]
every_day = "00:00-24:00"

[[refusal_reasons]]
code = "too_expensive"
label = "Дорого"

[[refusal_reasons]]
code = "other_provider"
label = "Уже есть другой провайдер"

[[refusal_reasons]]
code = "not_interested"
label = "Не интересно"

[[refusal_reasons]]
code = "do_not_call"
label = "Просит больше не звонить"
dnc = true
"""
REFUSALS = {"too_expensive": 5, "other_provider": 3, "not_interested": 2}


@dataclass(frozen=True)
class ManagerConsole:
    base_url: str
    store_url: str
    name: str  # the campaign manager's account


@pytest.fixture(scope="module")
def manager_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerConsole]:
    """`switchboard serve` over a site whose [[dialers]] places the campaign's calls (power 1.5, cap 3%)."""
    folder = tmp_path_factory.mktemp("campaigns")
    redis_process, redis_url = start_redis(folder / "redis")
    data: dict[str, Any] = {
        "name": "Switchboard",
        "store_url": f"sqlite:///{folder / 'switchboard.db'}",
        "redis_url": redis_url,
        "skills": ["sales"],
        "ami": {"secret": secrets.token_urlsafe(16), "admin_secret": secrets.token_urlsafe(16)},
        "queues": [{"name": "sales", "requires": {"sales": 1}}],
        "operators": [
            {"sip_user": "op1001", "name": "Olga", "secret": secrets.token_urlsafe(12), "skills": {"sales": 3}}
        ],
        "dialers": [
            {"campaign": name, "queue": "sales", "method": "power", "ratio": 1.5, "max_abandon_rate": 0.03}
            for name in (NAME, REPORTED)
        ],
    }
    site_path, site = write_lab_site(folder, data)
    prepare_store(site)
    port = free_port()
    process = start_console(site_path, port)
    try:
        manager = next(name for name, role in ACCOUNTS.items() if role == "campaign_manager")
        yield ManagerConsole(f"http://127.0.0.1:{port}", site.store_url_effective, manager)
    finally:
        stop_console(process)
        redis_process.terminate()
        redis_process.wait(10)


def lead_file(folder: Path) -> Path:
    """ROWS leads with a few rows no import can use (BAD), semicolon-separated as Russian Excel saves them."""
    lines = ["Телефон;ФИО;Город;Адрес;Тариф"]
    for n in range(1, ROWS + 1):
        phone = BAD.get(n, f"+7 912 {n // 10000:03d} {n % 10000:04d}")
        lines.append(f"{phone};Абонент {n};Екатеринбург;ул. Мира, {n % 200 + 1};Базовый")
    path = folder / "весна-лиды.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def set_text(browser: WebDriver, css: str, text: str) -> None:
    browser.execute_script("arguments[0].value = arguments[1];", browser.find_element(By.CSS_SELECTOR, css), text)


def test_a_manager_uploads_a_list_and_watches_the_import_to_the_end(
    manager_console: ManagerConsole, browser: WebDriver, tmp_path: Path
) -> None:
    """A refused campaign file names its field; the created campaign takes a 20,000-row upload whose progress bar
    only moves forward and ends at 100% with the accepted and rejected counts and the rejected rows listed."""
    base = manager_console.base_url
    sign_in(browser, base, manager_console.name, PASSWORD)
    browser.get(f"{base}/campaigns/new")
    set_text(browser, "#campaign-toml", CAMPAIGN.replace("max_attempts = 6", "max_attempts = 600"))
    browser.find_element(By.CSS_SELECTOR, "#campaign-save").click()
    error = wait_for(browser, "#campaign-error")
    assert "max_attempts = 600" in error.text and "1 to 100" in error.text
    set_text(browser, "#campaign-toml", CAMPAIGN)
    browser.find_element(By.CSS_SELECTOR, "#campaign-save").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.rstrip("/").split("/")[-1].isdigit())
    assert wait_for(browser, "#pacing").text.startswith("Pacing power (1.5 calls per free operator), abandon cap 3.0%")

    browser.find_element(By.CSS_SELECTOR, "#lead-file").send_keys(str(lead_file(tmp_path)))
    browser.find_element(By.CSS_SELECTOR, "#upload-start").click()
    seen = watch_progress(browser)
    assert seen == sorted(seen) and seen[-1] == 100
    counts = browser.find_element(By.CSS_SELECTOR, "#upload-counts").text
    assert f"{ROWS:,} rows read: {ROWS - len(BAD):,} accepted, {len(BAD)} rejected" in counts
    lines = [row.find_element(By.CSS_SELECTOR, "td").text for row in rejection_rows(browser)]
    assert lines == [str(n + 1) for n in sorted(BAD)]  # the header is line 1
    link = browser.find_element(By.CSS_SELECTOR, "#upload-rejections-link").get_attribute("href")
    assert link is not None
    report = fetch(browser, link).decode("utf-8-sig").splitlines()
    assert report[0] == "line,field,value,reason" and len(report) == len(BAD) + 1
    assert "'=HYPERLINK(1)" in report[3]  # the rejected value, spreadsheet-safe
    imported = wait_for(browser, "#imports tbody tr td.num:nth-of-type(4)")
    assert imported.text == f"{ROWS - len(BAD):,}"  # the recent imports list has it, from lead_imports
    browser.execute_script("document.getElementById('upload').scrollIntoView();")
    screenshot(browser, "campaign-upload")

    with sa.create_engine(manager_console.store_url).connect() as conn:
        mine = sa.select(campaigns.c.id).where(campaigns.c.name == NAME).scalar_subquery()
        stored = conn.execute(sa.select(sa.func.count(leads.c.id)).where(leads.c.campaign_id == mine)).scalar_one()
    assert stored == ROWS - len(BAD)
    browser.get(f"{base}/campaigns")
    row = wait_for(browser, "#campaigns tbody tr")
    assert NAME in row.text and f"{ROWS - len(BAD):,}" in row.text
    screenshot(browser, "campaigns")


def watch_progress(browser: WebDriver, timeout: float = 120.0) -> list[int]:
    """The progress bar's values as the page shows them, until the import's state is no longer running."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value, state = browser.execute_script(
            "return [document.getElementById('upload-progress').value,"
            " document.getElementById('upload-state').textContent];"
        )
        if not seen or seen[-1] != int(value):
            seen.append(int(value))
        if state in ("done", "failed"):
            assert state == "done", browser.find_element(By.CSS_SELECTOR, "#upload-error").text
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the import did not end within {timeout:.0f} s (progress seen: {seen})")


def rejection_rows(browser: WebDriver) -> list[Any]:
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, "#upload-rejections-box").is_displayed())
    return browser.find_elements(By.CSS_SELECTOR, "#upload-rejections tbody tr")


def fetch(browser: WebDriver, url: str) -> bytes:
    """GET with the browser's session (a download the test reads itself)."""
    cookie = browser.get_cookie("sb_session")
    assert cookie is not None
    request = urllib.request.Request(url, headers={"Cookie": f"sb_session={cookie['value']}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: bytes = answer.read()
        return body


def campaign_with_calls(store_url: str, folder: Path) -> tuple[int, dict[str, int]]:
    """REPORTED with 40 leads (imported as the CLI does) and what its operators saved after their calls: refusals
    with their reasons, a sale, a busy line. The campaign's id, and its refusals as SQL counts them."""
    engine = make_engine(store_url)
    try:
        settings, given = read_campaign_text(CAMPAIGN.replace(NAME, REPORTED))
        campaign_id = save_campaign(engine, settings, given=given).id
        listed = folder / "осень.csv"
        listed.write_text(
            "Телефон;ФИО;Город\n" + "".join(f"+7 913 000 {n:04d};Абонент {n};Новосибирск\n" for n in range(40)),
            encoding="utf-8",
        )
        import_leads(engine, listed, ImportOptions(campaign=REPORTED))
        with engine.connect() as conn:
            where = leads.c.campaign_id == campaign_id
            ids = list(conn.execute(sa.select(leads.c.id).where(where).order_by(leads.c.id).limit(20)).scalars())
        plans = [code for code, n in REFUSALS.items() for _ in range(n)] + ["sale", "busy"]
        record_outcomes(engine, ids, plans, time.time())
        return campaign_id, refusal_counts(engine, campaign_id)
    finally:
        engine.dispose()


def test_the_report_shows_refusal_reasons_and_makes_a_winback(
    manager_console: ManagerConsole, browser: WebDriver, tmp_path: Path
) -> None:
    """The report's refusal reasons carry the counts SQL finds; two of them make a win-back campaign."""
    base = manager_console.base_url
    campaign_id, counted = campaign_with_calls(manager_console.store_url, tmp_path)
    assert counted == REFUSALS
    sign_in(browser, base, manager_console.name, PASSWORD)
    browser.get(f"{base}/campaigns/{campaign_id}")
    for code, count in counted.items():
        cell = wait_for(browser, f'#refusal-reasons tr[data-code="{code}"] .refusal-count')
        assert cell.text == str(count)
    bars = browser.find_elements(By.CSS_SELECTOR, "#refusal-chart svg rect.bar")
    assert len(bars) == len(counted)
    assert browser.find_element(By.CSS_SELECTOR, "#live-updated").text  # the live panel answered
    screenshot(browser, "campaign-report")
    for code in ("too_expensive", "other_provider"):
        browser.find_element(By.CSS_SELECTOR, f'#winback-form input[value="{code}"]').click()
    name = browser.find_element(By.CSS_SELECTOR, "#winback-name")
    name.clear()
    name.send_keys(f"{REPORTED}: вернуть")
    browser.find_element(By.CSS_SELECTOR, "#winback-create").click()
    result = wait_for(browser, "#winback-result")
    assert "created: 8 leads copied of 8 refused" in result.text
