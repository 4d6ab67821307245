"""The operator desk's API as the console serves it, on a real Redis and a seeded store: the screen pop of a campaign
call and of a hotline call, the disposition and its errors, today's figures against a direct count, state changes
over the command bus to a platform, days off into the roster, and what an operator may not see."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from switchboard import keys
from switchboard.commands import CommandConsumer
from switchboard.config import Site
from switchboard.events import PhoneStateChanged
from switchboard.lab.site import lab_site_dict, write_lab_site
from switchboard.platform import Platform
from switchboard.store.attempts import finish_attempt, record_attempt, record_disposition, score_attempt
from switchboard.store.campaigns import read_campaign_file, save_campaign
from switchboard.store.schema import attempts, audit_log, calls, dispositions
from tests.console_support import migrated_console, sign_in_new
from tests.e2e.test_cli_campaign import EXAMPLE, NAME, SWITCHBOARD, WEDNESDAY_NOON
from tests.integration.leads.campaign_helpers import add_leads

pytestmark = pytest.mark.e2e

NOW = WEDNESDAY_NOON  # 12:00 in Moscow: within the example campaign's calling hours
ME, COLLEAGUE = "op1001", "op1002"


@pytest.fixture
def site(tmp_path: Path, redis_url: str) -> Iterator[Site]:
    """The lab's call centre (three operators) on the module's Redis, its store under tmp_path."""
    yield write_lab_site(tmp_path, lab_site_dict(tmp_path, operators=3, redis_url=redis_url))[1]
    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def app(site: Site) -> FastAPI:
    """The console over the site's migrated store, its clock stopped at NOW."""
    return migrated_console(site, lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:  # one client: its lifespan holds the console's Redis connection
        yield test_client


def seed_campaign_call(site: Site, engine: sa.Engine, operator: str = ME) -> tuple[int, int]:
    """The example campaign, a lead contacted yesterday by a colleague (thinking it over), and today's call to that
    lead, answered and on with `operator` in the platform's live calls. Returns (lead id, attempt id)."""
    save_campaign(engine, read_campaign_file(EXAMPLE)[0], now=NOW - 86_400 * 3)
    with engine.connect() as conn:
        campaign_id = conn.execute(sa.text("select id from campaigns")).scalar_one()
    [lead_id, _] = add_leads(engine, campaign_id, "purchased", ["+79123456781", "+79123456782"])
    with engine.begin() as conn:
        conn.execute(
            sa.text("update leads set full_name = 'Иванов Иван', first_name = 'Иван', city = 'Казань' where id = :id"),
            {"id": lead_id},
        )
    earlier = record_attempt(engine, lead_id, now=NOW - 86_400)
    finish_attempt(engine, earlier, "answered", now=NOW - 86_340, operator=COLLEAGUE, talk_s=55.0)
    record_disposition(engine, earlier, "thinking", note="звонить после зарплаты", now=NOW - 86_330)
    with engine.begin() as conn:  # due again now: the retry rule of "thinking" is 2 days
        conn.execute(sa.text("update leads set next_attempt_at = null where id = :id"), {"id": lead_id})
    attempt = record_attempt(engine, lead_id, now=NOW - 60)
    on_call(site, f"switchboard-out-{attempt}", operator, "sales")
    return lead_id, attempt


def on_call(site: Site, uniqueid: str, operator: str, queue: str) -> None:
    """What the platform publishes for a call answered by `operator` (switchboard/live.py)."""
    call = {"operator": operator, "queue": queue, "started_at": NOW - 60, "answered_at": NOW - 50}
    redis.Redis.from_url(site.redis_url).hset(keys.calls_in_progress(), uniqueid, json.dumps(call))


def test_the_screen_pop_shows_the_lead_past_contacts_script_and_order_form(app: FastAPI, client: TestClient) -> None:
    """Given a campaign call on, the operator's screen pop has the lead, yesterday's contact with its disposition and
    note, the script with the lead's fields filled in, the order form prefilled, and the choices."""
    ctx = app.state.ctx
    lead_id, attempt = seed_campaign_call(ctx.site, ctx.engine)
    sign_in_new(client, "operator", sip_user=ME)
    pop = client.get("/api/operator/call").json()
    assert pop["status"] == "on_call" and pop["direction"] == "outbound" and pop["attempt_id"] == attempt
    assert pop["campaign"] == NAME and pop["lead_id"] == lead_id and pop["disposed"] is False
    assert pop["lead"]["full_name"] == "Иванов Иван" and pop["lead"]["phone_e164"] == "+79123456781"
    assert pop["lead"]["custom"]["Тариф"] == "Базовый" and pop["callback_zone"] == "Europe/Moscow"
    [past] = pop["past_contacts"]
    assert (past["operator"], past["disposition"], past["note"]) == (COLLEAGUE, "thinking", "звонить после зарплаты")
    assert "Здравствуйте, Иван!" in pop["script"] and "для Казань" in pop["script"] and "«Базовый»" in pop["script"]
    assert "Меня зовут Anna Petrova" in pop["script"]  # the operator's name from the site file
    assert pop["order_form"]["values"]["full_name"] == "Иванов Иван"
    assert [f["name"] for f in pop["order_form"]["fields"]] == ["full_name", "address", "tariff", "connect_on"]
    assert {"sale", "refused", "callback"} <= {d["code"] for d in pop["dispositions"]}
    assert "too_expensive" in {r["code"] for r in pop["refusal_reasons"]}


def test_an_operator_sees_only_their_own_call(app: FastAPI, client: TestClient) -> None:
    """Given a colleague's call, an operator's screen pop is empty and disposing of that call is refused (403)."""
    ctx = app.state.ctx
    _, attempt = seed_campaign_call(ctx.site, ctx.engine, operator=COLLEAGUE)
    sign_in_new(client, "operator", sip_user=ME)
    assert client.get("/api/operator/call").json() == {"operator": ME, "call": None}
    refused = client.post("/api/operator/disposition", json={"attempt_id": attempt, "code": "wrong_number"})
    assert refused.status_code == 403 and f"attempt_id = {attempt}: not a call of yours" in refused.json()["detail"]
    missing = client.post("/api/operator/disposition", json={"attempt_id": 9999, "code": "wrong_number"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"code": "refused"}, "refusal_reason", "needs a refusal reason"),
        ({"code": "refused", "refusal_reason": "too_cheap"}, "refusal_reason", "not one of too_expensive"),
        ({"code": "sale"}, "order_form.full_name", "order_form.address = None: is required"),
        ({"code": "sale", "order_form": {"full_name": "Иванов Иван", "address": "Казань", "tariff": "Мега",
                                         "connect_on": "2026-03-10"}}, "order_form.tariff", "not one of"),
        ({"code": "callback"}, "callback_at", "needs a callback time"),
        ({"code": "callback", "callback_at": "tomorrow"}, "callback_at", "not a time"),
        ({"code": "callback", "callback_at": "2026-03-04T23:30"}, "callback_at", "outside the campaign's calling"),
        ({"code": "dance"}, "disposition", "not one of sale"),
    ],
)  # fmt: skip
def test_a_disposition_refused_names_the_field(
    app: FastAPI, client: TestClient, body: dict[str, Any], field: str, words: str
) -> None:
    """Each mistake in a disposition is a 422 naming the field; nothing is recorded."""
    ctx = app.state.ctx
    _, attempt = seed_campaign_call(ctx.site, ctx.engine)
    sign_in_new(client, "operator", sip_user=ME)
    answer = client.post("/api/operator/disposition", json={"attempt_id": attempt} | body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and words in answer.json()["detail"], answer.json()
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(attempts.c.disposition_id).where(attempts.c.id == attempt)).scalar() is None


def test_a_refusal_with_its_reason_is_recorded_once_and_the_call_is_claimed(app: FastAPI, client: TestClient) -> None:
    """Given the call on, a refusal with its reason is stored against the operator's attempt (claimed before the
    hangup writes it); a second disposition is refused; a callback lands in the lead's zone."""
    ctx = app.state.ctx
    lead_id, attempt = seed_campaign_call(ctx.site, ctx.engine)
    sign_in_new(client, "operator", sip_user=ME)
    body = {"attempt_id": attempt, "code": "refused", "refusal_reason": "too_expensive", "note": "  дорого  "}
    saved = client.post("/api/operator/disposition", json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json() | {"next_attempt_at": None} == {
        "attempt_id": attempt, "lead_id": lead_id, "lead_status": "done", "next_attempt_at": None, "dnc": False,
        "callback_id": None,
    }  # fmt: skip
    with ctx.engine.connect() as conn:
        row = conn.execute(sa.select(attempts).where(attempts.c.id == attempt)).one()
    assert (row.operator, row.note, row.disposed_at) == (ME, "дорого", NOW)
    again = client.post("/api/operator/disposition", json=body)
    assert again.status_code == 409 and "already has a disposition" in again.json()["detail"]
    assert client.get("/api/operator/call").json()["disposed"] is True


def test_a_callback_is_scheduled_in_the_leads_zone(app: FastAPI, client: TestClient) -> None:
    """A callback at 18:30 tomorrow is 18:30 in Moscow, the lead's zone."""
    ctx = app.state.ctx
    _, attempt = seed_campaign_call(ctx.site, ctx.engine)
    sign_in_new(client, "operator", sip_user=ME)
    body = {"attempt_id": attempt, "code": "callback", "callback_at": "2026-03-05T18:30", "callback_personal": True}
    saved = client.post("/api/operator/disposition", json=body)
    assert saved.status_code == 200, saved.text
    with ctx.engine.connect() as conn:
        due, zone, operator = conn.execute(sa.text("select due_at, zone, operator from callbacks")).one()
    assert (due, zone, operator) == (WEDNESDAY_NOON + 86_400 + 6.5 * 3600, "Europe/Moscow", ME)


def test_after_the_hangup_the_undisposed_call_stays_on_the_screen(app: FastAPI, client: TestClient) -> None:
    """Given the call ended without a disposition, the screen pop shows it `after_call` until it is disposed."""
    ctx = app.state.ctx
    _, attempt = seed_campaign_call(ctx.site, ctx.engine)
    redis.Redis.from_url(ctx.site.redis_url).delete(keys.calls_in_progress())
    finish_attempt(ctx.engine, attempt, "answered", now=NOW - 5, operator=ME, talk_s=45.0)
    sign_in_new(client, "operator", sip_user=ME)
    pop = client.get("/api/operator/call").json()
    assert (pop["status"], pop["attempt_id"]) == ("after_call", attempt)
    body = {"attempt_id": attempt, "code": "refused", "refusal_reason": "no_need"}
    assert client.post("/api/operator/disposition", json=body).status_code == 200
    assert client.get("/api/operator/call").json()["call"] is None


def test_a_hotline_call_pops_the_caller_queue_and_earlier_calls(app: FastAPI, client: TestClient) -> None:
    """Given a hotline call on, the screen pop names the caller, hotline and queue, and lists earlier calls from that
    number, newest first."""
    ctx = app.state.ctx
    caller = "+15550001234"
    with ctx.engine.begin() as conn:
        for i, (uniqueid, operator, ended) in enumerate(
            [("u-old", COLLEAGUE, NOW - 7000), ("u-older", None, NOW - 9000), ("u-now", ME, None)]
        ):
            conn.execute(calls.insert().values(
                id=f"c{i}", uniqueid=uniqueid, direction="inbound", caller=caller, hotline="+18005550100",
                queue="general", operator=operator, started_at=(ended or NOW) - 100,
                answered_at=(ended or NOW) - 80 if operator else None, ended_at=ended,
                outcome="answered" if operator else "abandoned",
            ))  # fmt: skip
    on_call(ctx.site, "u-now", ME, "general")
    sign_in_new(client, "operator", sip_user=ME)
    pop = client.get("/api/operator/call").json()
    assert (pop["direction"], pop["caller"], pop["queue"], pop["hotline"]) == (
        "inbound", caller, "general", "+18005550100"
    )  # fmt: skip
    assert [(c["operator"], c["outcome"], c["talk_s"]) for c in pop["past_calls"]] == [
        (COLLEAGUE, "answered", 80.0), (None, "abandoned", None),
    ]  # fmt: skip


def test_todays_figures_equal_a_direct_count(app: FastAPI, client: TestClient) -> None:
    """Given calls and attempts today and yesterday, by the operator and a colleague, the desk's figures for today
    equal a count over the rows: calls and talk time from the call records, sales, conversion, score from attempts."""
    ctx = app.state.ctx
    engine = ctx.engine
    save_campaign(engine, read_campaign_file(EXAMPLE)[0], now=NOW - 86_400 * 3)
    with engine.connect() as conn:
        campaign_id = conn.execute(sa.text("select id from campaigns")).scalar_one()
    ids = add_leads(engine, campaign_id, "list", [f"+7912000000{i}" for i in range(6)])
    order = {"full_name": "X", "address": "Y", "tariff": "Базовый 100", "connect_on": "2026-03-10"}
    plans = [  # (lead, when, operator, disposition, reason, score)
        (0, NOW - 3600, ME, "sale", None, 5), (1, NOW - 3000, ME, "refused", "too_expensive", 3),
        (2, NOW - 2000, ME, "not_available", None, None), (3, NOW - 86_400, ME, "sale", None, 1),
        (4, NOW - 1000, COLLEAGUE, "sale", None, 4),
    ]  # fmt: skip
    for lead, at, operator, code, reason, score in plans:
        attempt = record_attempt(engine, ids[lead], now=at)
        finish_attempt(engine, attempt, "answered", now=at + 70, operator=operator, talk_s=60.0, answered_at=at + 10)
        form = order if code == "sale" else None
        record_disposition(engine, attempt, code, refusal_reason=reason, order_form=form, now=at + 80)
        if score is not None:
            score_attempt(engine, attempt, score)
    with engine.begin() as conn:
        for i, (operator, answered, ended, direction) in enumerate([
            (ME, NOW - 3590, NOW - 3530, "outbound"), (ME, NOW - 500, NOW - 380.5, "inbound"),
            (ME, NOW - 20, None, "inbound"), (ME, NOW - 86_000, NOW - 85_000, "inbound"),
            (COLLEAGUE, NOW - 900, NOW - 800, "inbound"),
        ]):  # fmt: skip
            conn.execute(calls.insert().values(
                id=f"k{i}", uniqueid=f"k{i}", direction=direction, caller="+15550000000", queue="general",
                operator=operator, started_at=answered - 5, answered_at=answered, ended_at=ended,
            ))  # fmt: skip
    sign_in_new(client, "operator", sip_user=ME)
    day = client.get("/api/operator/today").json()
    assert day == {"day": "2026-03-04", "zone": "UTC"} | direct_count(engine, ME, 1_772_582_400.0)


def direct_count(engine: sa.Engine, operator: str, midnight: float) -> dict[str, Any]:
    """The day's figures counted in Python over every row."""
    with engine.connect() as conn:
        call_rows = [r for r in conn.execute(sa.select(calls)) if r.operator == operator]
        rows = conn.execute(sa.select(attempts, dispositions.c.contact, dispositions.c.success, dispositions.c.refusal)
                            .join(dispositions, dispositions.c.id == attempts.c.disposition_id)).all()  # fmt: skip
    today = [r for r in call_rows if r.answered_at and midnight <= r.answered_at < midnight + 86_400]
    mine = [r for r in rows if r.operator == operator and midnight <= r.started_at < midnight + 86_400]
    contacts, sales = sum(r.contact for r in mine), sum(r.success for r in mine)
    scores = [r.score for r in mine if r.score is not None]
    return {
        "calls": len(today), "inbound": sum(r.direction == "inbound" for r in today),
        "outbound": sum(r.direction == "outbound" for r in today),
        "talk_s": round(sum(r.ended_at - r.answered_at for r in today if r.ended_at), 1),
        "contacts": contacts, "sales": sales, "refusals": sum(r.refusal for r in mine),
        "conversion": round(sales / contacts, 4), "scored": len(scores),
        "average_score": round(sum(scores) / len(scores), 2),
    }  # fmt: skip


async def test_state_and_pause_go_to_the_platform_over_the_bus(app: FastAPI, client: TestClient) -> None:
    """Given a platform consuming commands, the desk's login, pause (by reason) and unpause run the platform's
    operator commands (queue_log lines and all), and the state read back is what the platform published."""
    ctx = app.state.ctx
    platform = Platform(ctx.site)
    platform.picture.apply(PhoneStateChanged(ME, "NOT_INUSE", time.time()))
    consumer = asyncio.create_task(CommandConsumer(platform, ctx.site.redis_url).run())
    sign_in_new(client, "operator", sip_user=ME)
    try:
        assert (await asyncio.to_thread(client.post, "/api/operator/login")).json()["state"] == "available"
        paused = await asyncio.to_thread(client.post, "/api/operator/pause", json={"reason": "lunch"})
        assert paused.json()["state"] == "paused" and paused.json()["paused_reason"] == "lunch"
        bad = await asyncio.to_thread(client.post, "/api/operator/pause", json={"reason": "nap"})
        assert bad.status_code == 422 and bad.json()["field"] == "reason" and "1 (lunch)" in bad.json()["detail"]
        await platform.live.publish(platform.picture, ami_connected=True)
        state = (await asyncio.to_thread(client.get, "/api/operator/state")).json()
        assert (state["state"], state["paused_reason"], state["sip_user"]) == ("paused", "lunch", ME)
        assert {"code": "1", "name": "lunch"} in state["pause_reasons"]
        assert (await asyncio.to_thread(client.post, "/api/operator/unpause")).json()["state"] == "available"
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await platform.live.close()
    events = [(e.event, e.data) for e in platform.picture.queue_log if e.agent == ME]
    assert ("PAUSE", ("lunch",)) in events and ("UNPAUSE", ("",)) in events and events[0][0] == "ADDMEMBER"


def test_the_event_stream_sends_the_state_and_the_call(app: FastAPI, client: TestClient) -> None:
    """The SSE stream opens with the operator's state and their call's id."""
    ctx = app.state.ctx
    _, attempt = seed_campaign_call(ctx.site, ctx.engine)
    sign_in_new(client, "operator", sip_user=ME)
    seen: dict[str, Any] = {}
    with client.stream("GET", "/api/operator/events") as stream:
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen[name] = json.loads(line.removeprefix("data: "))
            if {"state", "call"} <= set(seen):
                break
    assert seen["call"] == {"call": f"switchboard-out-{attempt}"} and seen["state"]["sip_user"] == ME


def test_days_off_are_asked_a_week_ahead_and_approved_into_the_roster(app: FastAPI, client: TestClient) -> None:
    """An operator asks for days off (too soon, backwards or overlapping is refused naming the field); a supervisor
    sees it pending, approves it (audited) and the roster lists the operator on those days."""
    ctx = app.state.ctx
    operator = sign_in_new(client, "operator", sip_user=ME)  # today is 2026-03-04 (UTC): the earliest day is 2026-03-11
    ask = lambda body: client.post("/api/operator/days-off", json=body)  # noqa: E731
    too_soon = ask({"first_day": "2026-03-10", "last_day": "2026-03-12"})
    assert too_soon.status_code == 422 and too_soon.json()["field"] == "first_day"
    assert "2026-03-11 or later" in too_soon.json()["detail"]
    backwards = ask({"first_day": "2026-03-20", "last_day": "2026-03-18"})
    assert backwards.status_code == 422 and backwards.json()["field"] == "last_day"
    assert ask({"first_day": "20.03.2026"}).json()["field"] == "first_day"
    granted = ask({"first_day": "2026-03-11", "last_day": "2026-03-13", "reason": "свадьба"}).json()
    assert (granted["status"], granted["days"], granted["sip_user"]) == ("pending", 3, ME)
    overlap = ask({"first_day": "2026-03-13", "last_day": "2026-03-14"})
    assert overlap.status_code == 422 and f"overlaps request {granted['id']}" in overlap.json()["detail"]
    other = ask({"first_day": "2026-04-01"}).json()
    assert [r["id"] for r in client.get("/api/operator/days-off").json()["requests"]] == [granted["id"], other["id"]]
    assert client.get("/api/days-off").status_code == 403

    supervisor = sign_in_new(client, "supervisor")
    pending = client.get("/api/days-off", params={"status": "pending"}).json()["requests"]
    assert [r["id"] for r in pending] == [granted["id"], other["id"]]
    assert client.post(f"/api/days-off/{granted['id']}/approve").json()["status"] == "approved"
    assert client.post(f"/api/days-off/{other['id']}/refuse").json()["decided_by"] == supervisor
    again = client.post(f"/api/days-off/{granted['id']}/refuse")
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    roster = client.get("/api/roster", params={"from": "2026-03-10", "to": "2026-03-14"}).json()["days"]
    assert [[o["user"] for o in d["off"]] for d in roster] == [[], [operator], [operator], [operator], []]
    assert client.get("/api/roster", params={"from": "2026-03-10", "to": "2026-03-01"}).json()["field"] == "to"
    page = client.get("/supervisor/days-off", headers={"Accept": "text/html"})
    assert page.status_code == 200 and operator in page.text and "2026-03-12" in page.text
    with ctx.engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.id))]
    assert actions == ["days_off.request", "days_off.request", "days_off.approve", "days_off.refuse"]


def test_an_operator_cannot_use_the_supervisors_pages_and_others_cannot_use_the_desk(client: TestClient) -> None:
    """The desk is the operator role's; days-off decisions and the roster are supervision's."""
    sign_in_new(client, "operator", sip_user=ME)
    for url in ("/api/days-off", "/api/roster", "/api/supervisor/board"):
        assert client.get(url).status_code == 403, url
    assert client.post("/api/days-off/1/approve").status_code == 403
    assert client.get("/operator", headers={"Accept": "text/html"}).status_code == 200
    for role in ("supervisor", "campaign_manager", "admin"):
        sign_in_new(client, role)
        assert client.get("/api/operator/call").status_code == 403, role
        assert client.post("/api/operator/pause", json={"reason": "1"}).status_code == 403, role
    sign_in_new(client, "operator")  # an account naming no phone has no desk
    assert client.get("/api/operator/state").status_code == 409


def test_days_off_asked_from_the_cli_reach_the_supervisors_list(app: FastAPI, client: TestClient, site: Site) -> None:
    """`switchboard operator days-off` refuses a day too soon naming the field, and a good request is pending in the
    console's list for supervisors."""
    operator = sign_in_new(client, "operator", sip_user=ME)
    assert site.source is not None
    today = dt.datetime.now(dt.UTC).date()
    command = [SWITCHBOARD, "--config", str(site.source), "operator", "days-off", operator]
    soon = subprocess.run([*command, str(today + dt.timedelta(days=3))], capture_output=True, text=True, check=False)
    assert soon.returncode == 1 and "first_day = " in soon.stderr and "at least 7 days ahead" in soon.stderr
    first, last = today + dt.timedelta(days=10), today + dt.timedelta(days=11)
    asked = subprocess.run(
        [*command, str(first), str(last), "--reason", "экзамен", "--json"], capture_output=True, text=True, check=False
    )
    assert asked.returncode == 0, asked.stderr
    made = json.loads(asked.stdout)
    sign_in_new(client, "supervisor")
    [listed] = client.get("/api/days-off", params={"status": "pending"}).json()["requests"]
    assert listed == made and (listed["user"], listed["first_day"], listed["days"]) == (operator, str(first), 2)
