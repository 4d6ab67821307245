"""The campaign manager's console through its API, on a seeded store: the campaign file refused with its field, a
lead list imported in the background to the end, refusal counts as SQL counts them, pause honoured by the dialer,
live figures through Redis, win-back, and exports that no spreadsheet runs as formulas."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dialer.pacing_governor import AbandonWindow
from switchboard.config import Site
from switchboard.events import PhoneStateChanged
from switchboard.lab.site import lab_site_dict, write_lab_site
from switchboard.outbound import OutboundDialer
from switchboard.outbound_board import DialerBoard
from switchboard.picture import Picture
from switchboard.store.attempts import finish_attempt, record_attempt
from switchboard.store.schema import audit_log, campaigns, lead_imports, leads
from tests.console_support import migrated_console, sign_in_new
from tests.integration.leads.campaign_helpers import record_outcomes, refusal_counts

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "examples" / "campaign.toml").read_text(encoding="utf-8")
NAME = "Интернет Весна"
NOW = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC).timestamp()  # a Wednesday: 12:00 Moscow, 14:00 Yekaterinburg
HYPERLINK = '=HYPERLINK("http://evil.example/x","click")'
GOOD_ROWS = 300
# Rows the import refuses: a number that is not one, a formula in the phone column, no phone at all.
BAD_ROWS = ["12ab;Плохой Номер;Пермь", "=1+2;Формула;Пермь", ";Без Телефона;Пермь"]


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def site(tmp_path: Path, redis_url: str) -> Site:
    """The lab's call centre with a dialer for the example campaign on the general queue."""
    data: dict[str, Any] = lab_site_dict(tmp_path, operators=3, redis_url=redis_url)
    data["acd"] = {"login_required": False}
    data["dialers"] = [{"campaign": NAME, "queue": "general", "method": "power", "ratio": 1.5, "max_lines": 10}]
    return write_lab_site(tmp_path, data)[1]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(site: Site, clock: Clock) -> FastAPI:
    return migrated_console(site, clock)


@pytest.fixture
def manager(app: FastAPI) -> Iterator[TestClient]:
    """A campaign manager's signed-in client (the app's lifespan runs: its Redis client exists)."""
    with TestClient(app) as client:
        sign_in_new(client, "campaign_manager", name="carl")
        yield client


def lead_list(good: int = GOOD_ROWS) -> str:
    rows = ["Телефон;ФИО;Город"]
    rows += [f"+7 912 {n // 10000:03d} {n % 10000:04d};Лид {n};Екатеринбург" for n in range(good - 1)]
    rows.append(f'+7 912 999 9999;"{HYPERLINK.replace(chr(34), chr(34) * 2)}";Екатеринбург')
    rows[5:5] = BAD_ROWS
    return "\n".join(rows) + "\n"


def create_example(client: TestClient) -> int:
    answer = client.post("/api/campaigns", json={"toml": EXAMPLE})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def upload(client: TestClient, campaign_id: int, text: str, name: str = "весна.csv") -> dict[str, Any]:
    """Upload a list and follow its job to the end, as the page does."""
    answer = client.post(
        f"/api/campaigns/{campaign_id}/leads", files={"file": (name, text.encode("utf-8"), "text/csv")}
    )
    assert answer.status_code == 202, answer.text
    seen = follow(client, answer.json())
    job = seen[-1]
    assert job["state"] == "done", job
    assert all(a["done"] <= b["done"] for a, b in itertools.pairwise(seen))  # progress never goes back
    return job


def follow(client: TestClient, job: dict[str, Any], timeout: float = 60.0) -> list[dict[str, Any]]:
    """An import job as the page follows it, until it stops running: every state seen, the last one last."""
    status_url, seen = job["status_url"], [job]
    deadline = time.monotonic() + timeout
    while seen[-1]["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        seen.append(client.get(status_url).json())
    return seen


def rows(app: FastAPI, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    with app.state.ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(*where).order_by(table.c.id))]


def test_a_campaign_file_with_a_mistake_names_the_field_and_value_and_stores_nothing(
    app: FastAPI, manager: TestClient
) -> None:
    """Refused files (a bad value, bad TOML, a rename) leave the store as it was; good ones are audited."""
    bad = EXAMPLE.replace("max_attempts = 8 ", "max_attempts = 0 ")
    answer = manager.post("/api/campaigns", json={"toml": bad})
    assert answer.status_code == 422
    assert "max_attempts = 0" in answer.json()["detail"] and "1 to 100" in answer.json()["detail"]
    answer = manager.post("/api/campaigns", json={"toml": 'name = "Весна"\n[hours\n'})
    assert answer.status_code == 422 and "not valid TOML" in answer.json()["detail"]
    assert rows(app, campaigns) == []
    campaign_id = create_example(manager)
    assert manager.post("/api/campaigns", json={"toml": EXAMPLE}).status_code == 409
    before = manager.get(f"/api/campaigns/{campaign_id}").json()
    wrong_zone = before["toml"].replace('default_zone = "Europe/Moscow"', 'default_zone = "Mars/Olympus"')
    answer = manager.put(f"/api/campaigns/{campaign_id}", json={"toml": wrong_zone})
    assert answer.status_code == 422 and "default_zone = 'Mars/Olympus'" in answer.json()["detail"]
    renamed = before["toml"].replace(f'name = "{NAME}"', 'name = "Другая"')
    answer = manager.put(f"/api/campaigns/{campaign_id}", json={"toml": renamed})
    assert answer.status_code == 422 and "name = 'Другая'" in answer.json()["detail"]
    assert manager.get(f"/api/campaigns/{campaign_id}").json() == before
    edited = before["toml"].replace("max_attempts = 8", "max_attempts = 6")
    assert manager.put(f"/api/campaigns/{campaign_id}", json={"toml": edited}).status_code == 200
    assert manager.get(f"/api/campaigns/{campaign_id}").json()["settings"]["max_attempts"] == 6
    actions = [(r["user_name"], r["action"], r["target"]) for r in rows(app, audit_log)]
    assert actions == [("carl", "campaign.create", NAME), ("carl", "campaign.update", NAME)]
    page = manager.get(f"/campaigns/{campaign_id}/edit")
    assert page.status_code == 200 and "max_attempts = 6" in page.text


def test_an_uploaded_list_is_imported_to_the_end_with_its_rejection_report(app: FastAPI, manager: TestClient) -> None:
    """The job reaches done with the right counts; the report names line, field and value, spreadsheet-safe; the
    same file again adds nothing (one import, all or nothing, numbers once per campaign)."""
    campaign_id = create_example(manager)
    job = upload(manager, campaign_id, lead_list())
    assert (job["accepted"], job["rejected"], job["rows"]) == (GOOD_ROWS, len(BAD_ROWS), GOOD_ROWS + len(BAD_ROWS))
    assert job["unit"] == "bytes" and job["done"] == job["total"] > 0 and job["list_name"] == "весна.csv"
    report = manager.get(job["rejections_url"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert table[0] == ["line", "field", "value", "reason"]
    by_line = {int(r[0]): r[1:] for r in table[1:]}
    assert by_line[6] == ["Телефон", "12ab", "invalid number: 'Телефон' = '12ab'"]
    assert by_line[7][:2] == ["Телефон", "'=1+2"]  # a formula in the rejected value is neutralised too
    assert by_line[8][2] == "no phone"
    assert len(rows(app, leads, leads.c.campaign_id == campaign_id)) == GOOD_ROWS
    again = upload(manager, campaign_id, lead_list())
    assert (again["accepted"], again["duplicates"]) == (0, GOOD_ROWS)
    history = manager.get(f"/api/campaigns/{campaign_id}/imports").json()
    assert [i["imported"] for i in history["finished"]] == [0, GOOD_ROWS]
    assert len(rows(app, lead_imports)) == 2
    assert [r["action"] for r in rows(app, audit_log)].count("leads.import") == 2


def test_an_xlsx_list_is_imported_with_its_progress_in_rows(app: FastAPI, manager: TestClient) -> None:
    """A spreadsheet's progress counts rows; a number stored as a number is read as the person wrote it."""
    campaign_id = create_example(manager)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Телефон", "ФИО"])
    for n in range(5):
        sheet.append([79120000100 + n, f"Лид {n}"])
    sheet.append(["not a number", "Плохой"])
    data = io.BytesIO()
    book.save(data)
    answer = manager.post(f"/api/campaigns/{campaign_id}/leads", files={"file": ("list.xlsx", data.getvalue())})
    job = follow(manager, answer.json())[-1]
    assert (job["state"], job["unit"], job["accepted"], job["rejected"]) == ("done", "rows", 5, 1)
    assert job["done"] == job["total"] == 7 and job["rejections"][0]["line"] == 7


def test_an_upload_that_is_not_a_lead_list_fails_and_stores_nothing(app: FastAPI, manager: TestClient) -> None:
    """A spreadsheet that is not one: the job fails with the file named, no lead and no import row is written."""
    campaign_id = create_example(manager)
    answer = manager.post(
        f"/api/campaigns/{campaign_id}/leads", files={"file": ("list.xlsx", b"PK\x03\x04 not a zip", "text/csv")}
    )
    job = follow(manager, answer.json())[-1]
    assert job["state"] == "failed" and "list.xlsx" in job["error"] and job["accepted"] == 0
    assert rows(app, leads) == [] and rows(app, lead_imports) == []
    assert manager.get("/api/imports/nonesuch").status_code == 404


def seed_calls(app: FastAPI, campaign_id: int) -> dict[str, int]:
    """What the dialer and operators would write: refusals for several reasons, a sale, a busy line."""
    engine = app.state.ctx.engine
    ids = [row["id"] for row in rows(app, leads, leads.c.campaign_id == campaign_id)]
    plans = ["too_expensive"] * 4 + ["other_provider"] * 3 + ["distrust", "do_not_call", "sale", "busy"]
    order = {"full_name": "Лид 9", "address": "Екатеринбург", "tariff": "Базовый 100", "connect_on": "2026-03-10"}
    record_outcomes(engine, ids, plans, NOW, order)
    return {"too_expensive": 4, "other_provider": 3, "distrust": 1, "do_not_call": 1}


def test_refusal_counts_on_the_report_equal_a_direct_count(app: FastAPI, manager: TestClient) -> None:
    """The report (API and page) shows each refusal reason with the count SQL finds in the attempt rows."""
    campaign_id = create_example(manager)
    upload(manager, campaign_id, lead_list(40))
    expected = seed_calls(app, campaign_id)
    counted = refusal_counts(app.state.ctx.engine, campaign_id)
    assert counted == expected
    report = manager.get(f"/api/campaigns/{campaign_id}/report").json()
    shown = {r["code"]: r["count"] for r in report["totals"]["refusals"]["reasons"]}
    assert shown == counted and report["totals"]["outcomes"] == {"answered": 10, "busy": 1}
    page = manager.get(f"/campaigns/{campaign_id}")
    assert page.status_code == 200
    for code, count in counted.items():
        assert f'<tr data-code="{code}">' in page.text
        row = page.text.split(f'<tr data-code="{code}">', 1)[1].split("</tr>", 1)[0]
        assert f'<td class="num refusal-count">{count}</td>' in row
    listing = manager.get("/api/campaigns").json()
    assert listing[0]["attempts_today"] == 11 and listing[0]["leads"] == 40
    assert listing[0]["abandon"] == {"answered": 10, "abandoned": 0, "rate": 0.0, "window_s": 30 * 86400.0}


def test_a_winback_campaign_takes_the_leads_refused_for_the_chosen_reasons(app: FastAPI, manager: TestClient) -> None:
    """Chosen reasons are copied into a new campaign (once), an unknown reason is refused naming it."""
    campaign_id = create_example(manager)
    upload(manager, campaign_id, lead_list(40))
    seed_calls(app, campaign_id)
    body = {"name": "Весна: вернуть", "reasons": ["too_expensive", "distrust"]}
    made = manager.post(f"/api/campaigns/{campaign_id}/winback", json=body)
    assert made.status_code == 201, made.text
    assert (made.json()["copied"], made.json()["created"]) == (5, True)
    assert manager.post(f"/api/campaigns/{campaign_id}/winback", json=body).json()["copied"] == 0
    refused = manager.post(f"/api/campaigns/{campaign_id}/winback", json={"name": "X", "reasons": ["cheap"]})
    assert refused.status_code == 422 and "'cheap'" in refused.json()["detail"]
    assert len(rows(app, leads, leads.c.campaign_id == made.json()["id"])) == 5
    assert "campaign.winback" in [r["action"] for r in rows(app, audit_log)]


def test_exports_are_spreadsheet_safe(app: FastAPI, manager: TestClient, site: Site) -> None:
    """A lead named =HYPERLINK(...) comes out with a leading quote in CSV and as text in XLSX; a recording outside
    the recordings folder is never named."""
    campaign_id = create_example(manager)
    upload(manager, campaign_id, lead_list(20))
    engine = app.state.ctx.engine
    with engine.connect() as conn:
        lead_id = conn.execute(sa.select(leads.c.id).where(leads.c.full_name == HYPERLINK)).scalar_one()
        other = conn.execute(sa.select(leads.c.id).where(leads.c.id != lead_id).limit(1)).scalar_one()
    inside = site.recordings_path / "2026" / "03" / "call.wav"
    for lead, recording in ((lead_id, "/etc/passwd"), (other, str(inside))):
        attempt = record_attempt(engine, lead, now=NOW)
        finish_attempt(engine, attempt, "answered", now=NOW + 60, operator="op1001", talk_s=30.0, recording=recording)
    answer = manager.get(f"/api/campaigns/{campaign_id}/export", params={"format": "csv", "what": "leads"})
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(table) == 20
    assert {r["full_name"] for r in table if r["full_name"].endswith('"click")')} == {"'" + HYPERLINK}
    assert all(r["phone"].startswith("'+7912") for r in table)  # as stored, shown as text
    answer = manager.get(f"/api/campaigns/{campaign_id}/export", params={"format": "csv", "what": "attempts"})
    table = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert {r["full_name"]: r["recording"] for r in table} == {"'" + HYPERLINK: "", "Лид 0": "2026/03/call.wav"}
    answer = manager.get(f"/api/campaigns/{campaign_id}/export", params={"format": "xlsx", "what": "leads"})
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert [(c.value, c.data_type) for c in cells] == [("'" + HYPERLINK, "s")]
    report = manager.get(f"/api/campaigns/{campaign_id}/export", params={"format": "xlsx", "what": "report"})
    assert report.status_code == 200
    assert manager.get(f"/api/campaigns/{campaign_id}/export", params={"format": "pdf"}).status_code == 422


class RecordingAmi:
    """The AMI as the dialer sees it: connected, no live channels; every Originate kept and accepted."""

    connected = True

    def __init__(self) -> None:
        self.originates: list[dict[str, str]] = []

    async def action(self, name: str, headers: dict[str, str] | None = None, **_: Any) -> dict[str, str]:
        assert name == "Originate" and headers is not None
        self.originates.append(headers)
        return {"Response": "Success"}

    async def list_action(self, name: str, headers: dict[str, str] | None = None, **_: Any) -> list[dict[str, str]]:
        return []


def test_pause_and_stop_from_the_console_stop_the_dialer_launching(
    app: FastAPI, manager: TestClient, site: Site, clock: Clock
) -> None:
    """Active: calls go out for the free operators; paused: no new call within the refresh, the calls under way
    stay followed; started again: calls go out; stopped: none. Each change is audited."""
    campaign_id = create_example(manager)
    upload(manager, campaign_id, lead_list(60))
    picture = Picture(site)
    for n, op in enumerate(("op1001", "op1002", "op1003")):
        picture.apply(PhoneStateChanged(op, "NOT_INUSE", NOW))
        picture.start_session(op, f"session-{n}", NOW)
    ami = RecordingAmi()
    dialer = OutboundDialer(site, app.state.ctx.engine, ami, picture, clock=clock)  # type: ignore[arg-type]

    async def tick(seconds: float) -> int:
        before = len(ami.originates)
        clock.at += seconds
        await dialer.tick()
        await dialer.tick()
        return len(ami.originates) - before

    assert asyncio.run(tick(0)) >= 3  # power 1.5 with 3 free operators: at least one call each
    under_way = set(dialer.inflight)
    for flight in dialer.inflight.values():  # answered and put through: the pacing wants calls for whoever is free
        flight.answered_at, flight.put_through = clock.at, True
    assert manager.post(f"/api/campaigns/{campaign_id}/pause").json() == {
        "id": campaign_id, "name": NAME, "status": "paused", "was": "active",
    }  # fmt: skip
    assert asyncio.run(tick(2.5)) == 0 and set(dialer.inflight) == under_way
    assert asyncio.run(tick(5.0)) == 0
    assert manager.post(f"/api/campaigns/{campaign_id}/start").json()["status"] == "active"
    assert asyncio.run(tick(2.5)) >= 3
    assert manager.post(f"/api/campaigns/{campaign_id}/stop").json()["status"] == "archived"
    dialer.inflight.clear()
    assert asyncio.run(tick(2.5)) == 0
    changes = ("campaign.pause", "campaign.start", "campaign.stop")
    audit = [(r["action"], r["detail"]["to"]) for r in rows(app, audit_log) if r["action"] in changes]
    assert audit == [("campaign.pause", "paused"), ("campaign.start", "active"), ("campaign.stop", "archived")]
    assert manager.post("/api/campaigns/999/pause").status_code == 404


def test_live_figures_come_from_the_dialer_through_redis(app: FastAPI, manager: TestClient, site: Site) -> None:
    """What the dialer's board publishes is what the campaign page reads, beside the window counted in SQL."""
    campaign_id = create_example(manager)
    answer = manager.get(f"/api/campaigns/{campaign_id}/live").json()
    assert answer["live"] is None and answer["dialer"]["method"] == "power"
    assert answer["dialer"]["max_abandon_rate"] == 0.03 and answer["counted"]["rate"] is None

    async def publish() -> None:
        client = aioredis.from_url(site.redis_url)
        board = DialerBoard(site.dialers, client)
        dialer = site.dialers[0]
        window = AbandonWindow(86400.0)  # the pacing's: nobody answered yet
        for second in range(30):
            board.observe(dialer, 2, 1, "active", window, NOW - 30 + second)
        for _ in range(6):
            board.launched(dialer, NOW - 5)
        board.observe(dialer, 2, 3, "active", window, NOW)
        board.publish(NOW)
        assert board._task is not None
        await board._task
        await client.aclose()

    asyncio.run(publish())
    live = manager.get(f"/api/campaigns/{campaign_id}/live").json()["live"]
    assert live["dial_level"] == 3.0 and live["launched_last_minute"] == 6  # 6 calls / 2 free operators
    assert (live["operators_idle"], live["calls_ringing"], live["status"]) == (2, 3, "active")
    assert live["abandon_rate"] is None and live["updated_at"] == NOW
