"""The supervisor's wallboard API as the console serves it, on a real Redis and a seeded SQL store: the board equals
`switchboard queues`, the day's hours equal a direct SQL count, the calculator equals `switchboard staffing`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from switchboard.config import Site
from switchboard.events import OperatorAnswered, PhoneStateChanged
from switchboard.live import LiveState
from switchboard.picture import Picture
from switchboard.store.calls import CallRecord, CallStore
from switchboard.store.schema import calls
from tests.console_support import signed_in
from tests.e2e.supervision_support import console, lab_site

pytestmark = pytest.mark.e2e

SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
ZONE = "Europe/Moscow"
DAY = dt.date(2024, 3, 5)


def switchboard(*args: str) -> Any:
    out = subprocess.run([SWITCHBOARD, *args, "--json"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def site_file(tmp_path: Path, redis_url: str) -> Iterator[tuple[Path, Site]]:
    path, site = lab_site(tmp_path, redis_url)
    yield path, site
    import redis

    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def app(site_file: tuple[Path, Site]) -> FastAPI:
    return console(site_file[1], time.time())


def _floor_with_waiting_callers(site: Site, now: float) -> Picture:
    """op1001 on a general call; one general caller waiting 100 s, two tax callers waiting: tax is past target."""
    picture = Picture(site)
    picture.apply(PhoneStateChanged("op1001", "NOT_INUSE", now - 300))
    picture.login("op1001", now - 300)
    general, tax = site.hotlines[0].number, site.hotlines[1].number
    arrival = picture.route_call("u1", "+15550000001", general, now - 200)
    assert arrival.result is not None and arrival.result.operator == "op1001"
    picture.apply(OperatorAnswered("u1", now - 195, "u1-agent", "op1001"))
    picture.route_call("u2", "+15550000002", general, now - 100)
    picture.route_call("u3", "+15550000003", tax, now - 10, "1")
    picture.route_call("u4", "+15550000004", tax, now - 5, "1")
    return picture


def _publish(site: Site, picture: Picture) -> None:
    async def publish() -> None:
        live = LiveState(site.redis_url)
        await live.publish(picture, ami_connected=True)
        await live.close()

    asyncio.run(publish())


def test_board_figures_equal_switchboard_queues_for_the_same_redis_state(site_file: tuple[Path, Site]) -> None:
    """Every queue's figures are those `switchboard queues --json` prints; targets and late flags come with them."""
    path, site = site_file
    now = time.time()
    _publish(site, _floor_with_waiting_callers(site, now))
    app = console(site, now)
    board = signed_in(app, "supervisor", now).get("/api/supervisor/board").json()
    cli = switchboard("queues", "--config", str(path))
    assert [q["name"] for q in board["queues"]] == [q.name for q in site.queues]  # the site's order
    assert {q["name"] for q in board["queues"]} == set(cli)
    for row in board["queues"]:
        figures = cli[row["name"]]
        assert row["figures"] == figures
        for key in ("waiting", "longest_wait_s", "service_level", "asa_s", "abandon_rate"):
            assert row[key]["value"] == figures[key]
    general, tax, accounting = board["queues"]
    assert general["waiting"] == {"value": 1, "target": 1, "late": False}  # one caller, one operator working
    assert general["longest_wait_s"]["late"] and general["longest_wait_s"]["target"] == 20  # 100 s > sl_seconds
    assert tax["waiting"] == {"value": 2, "target": 1, "late": True} and tax["late"]
    assert not accounting["late"] and accounting["waiting"]["value"] == 0
    assert board["live"]["ami_connected"] and not board["live"]["stale"]


def test_board_lists_operators_with_time_in_state_and_calls_in_progress(site_file: tuple[Path, Site]) -> None:
    """op1001 on a call with it shown; the others logged out; waiting and talking calls with their ages."""
    _, site = site_file
    now = time.time()
    _publish(site, _floor_with_waiting_callers(site, now))
    later = now + 7.0
    board = signed_in(console(site, later), "admin", later).get("/api/supervisor/board").json()
    by_user = {op["sip_user"]: op for op in board["operators"]}
    assert set(by_user) == {op.sip_user for op in site.operators}
    anna = by_user["op1001"]
    assert anna["state"] == "on_call" and anna["name"] == "Anna Petrova"
    assert 7.0 <= anna["seconds_in_state"] < 10.0  # the platform saw the state begin at publish time
    assert anna["call"]["uniqueid"] == "u1" and anna["call"]["state"] == "talking"
    assert board["operators"][0]["sip_user"] == "op1001"  # ordered by state: on a call before logged out
    assert board["operators_by_state"] == {"logged_out": 3, "on_call": 1}
    states = {c["uniqueid"]: (c["state"], c["queue"]) for c in board["calls"]}
    assert states == {"u1": ("talking", "general"), "u2": ("waiting", "general"), "u3": ("waiting", "tax"),
                      "u4": ("waiting", "tax")}  # fmt: skip
    waiting = next(c for c in board["calls"] if c["uniqueid"] == "u2")
    assert waiting["seconds"] == pytest.approx(107.0, abs=0.2)


def test_events_stream_the_board_every_second(site_file: tuple[Path, Site]) -> None:
    """GET /api/supervisor/events is an SSE stream of `board` events carrying what the board endpoint answers."""
    _, site = site_file
    now = time.time()
    _publish(site, _floor_with_waiting_callers(site, now))
    client = signed_in(console(site, now), "supervisor", now)
    frames: list[dict[str, Any]] = []
    with client.stream("GET", "/api/supervisor/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "board":
                frames.append(json.loads(line[len("data: ") :]))
                if len(frames) == 2:
                    break
    assert frames[0] == frames[1] == client.get("/api/supervisor/board").json()  # the clock is frozen


def test_redis_away_is_a_503_naming_the_url(tmp_path: Path) -> None:
    """With no Redis at the site's redis_url, the board says which URL it could not read."""
    _, site = lab_site(tmp_path, "redis://127.0.0.1:9/0")
    answer = signed_in(console(site, time.time()), "supervisor", time.time()).get("/api/supervisor/board")
    assert answer.status_code == 503 and "redis_url = 'redis://127.0.0.1:9/0'" in answer.json()["detail"]


def _at(hour: int, minute: int) -> float:
    return dt.datetime.combine(DAY, dt.time(hour, minute), ZoneInfo(ZONE)).timestamp()


def _seed_day(app: FastAPI) -> None:
    """Calls around 9h and 14h on DAY (Moscow time), one the evening before, one outbound, and one left open."""
    rows = []
    for i, (hour, minute, wait, talk, outcome, queue) in enumerate([
        (9, 0, 5, 100, "answered", "general"), (9, 10, 30, 200, "answered", "general"),
        (9, 20, 40, None, "abandoned", "general"), (9, 59, 10, 60, "answered", "tax"),
        (14, 0, 2, 300, "answered", "accounting"), (14, 30, 1, None, "no_operator", "general"),
        (23, 59, 3, None, "answered", "general"),  # still talking: counted answered, no AHT yet
    ]):  # fmt: skip
        start = _at(hour, minute)
        answered = start + wait if outcome == "answered" else None
        ended = None if (outcome == "answered" and talk is None) else (answered or start + wait) + (talk or 0)
        rows.append(
            CallRecord(f"c{i}", f"u{i}", "inbound", "+1555", "100", queue, None, start, answered, ended, outcome)
        )
    rows.append(
        CallRecord(
            "prev", "up", "inbound", "+1555", "100", "general", None, _at(0, 0) - 60, None, _at(0, 0), "abandoned"
        )
    )
    rows.append(
        CallRecord(
            "out", "uo", "outbound", "+1555", None, "general", "op1001", _at(9, 30), _at(9, 31), _at(9, 40), "answered"
        )
    )
    CallStore(app.state.ctx.engine).upsert(rows)


def test_day_by_hour_counts_equal_a_direct_sql_count(app: FastAPI) -> None:
    """Each hour's offered, answered and abandoned equal SQL counts; SL and AHT as the calls were seeded."""
    _seed_day(app)
    day = signed_in(app, "supervisor", time.time()).get(f"/api/supervisor/day?date={DAY}&zone={ZONE}").json()
    assert (day["date"], day["zone"], len(day["hours"])) == (str(DAY), ZONE, 24)
    with app.state.ctx.engine.connect() as conn:
        for row in day["hours"]:
            start = _at(row["hour"], 0)
            inbound = [calls.c.direction == "inbound", calls.c.queue.is_not(None)]
            hour = [*inbound, calls.c.started_at >= start, calls.c.started_at < start + 3600]
            count = sa.select(sa.func.count()).select_from(calls)
            assert row["offered"] == conn.execute(count.where(*hour)).scalar_one()
            assert row["answered"] == conn.execute(count.where(*hour, calls.c.answered_at.is_not(None))).scalar_one()
            assert row["abandoned"] == conn.execute(count.where(*hour, calls.c.outcome == "abandoned")).scalar_one()
    nine, fourteen = day["hours"][9], day["hours"][14]
    assert (nine["offered"], nine["answered"], nine["abandoned"]) == (4, 3, 1)
    assert nine["service_level"] == 0.5  # 5 s and 10 s within 20 s; 30 s late; one abandoned
    assert nine["aht_s"] == pytest.approx((100 + 200 + 60) / 3, abs=0.05)
    assert (fourteen["offered"], fourteen["service_level"], fourteen["aht_s"]) == (2, 1.0, 300.0)
    assert day["hours"][23]["answered"] == 1 and day["hours"][23]["aht_s"] is None
    assert day["totals"]["offered"] == 7 and day["totals"]["abandoned"] == 1
    only_tax = signed_in(app, "admin", time.time()).get(f"/api/supervisor/day?date={DAY}&zone={ZONE}&queue=tax")
    assert [h["offered"] for h in only_tax.json()["hours"] if h["offered"]] == [1]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("date=2024-13-01", "date = '2024-13-01'"),
        ("zone=Mars/Olympus", "zone = 'Mars/Olympus'"),
        ("queue=nope", "queue = 'nope'"),
    ],
)
def test_day_refuses_bad_parameters_naming_them(app: FastAPI, query: str, named: str) -> None:
    """A bad date, zone or queue is a 422 whose message names the parameter and the value."""
    answer = signed_in(app, "supervisor", time.time()).get(f"/api/supervisor/day?{query}")
    assert answer.status_code == 422 and named in answer.json()["detail"]


@pytest.mark.parametrize(
    "args",
    [
        {"calls_per_hour": "200", "aht": "180", "sl": "0.8/20"},
        {"calls_per_hour": "120", "aht": "240", "sl": "0.9/15", "patience": "120"},
        {"calls_per_hour": "200", "aht": "180", "sl": "0.8/20", "operators": "12"},
        {"calls_per_hour": "50", "aht": "300", "sl": "0.8/30", "patience": "60", "operators": "3"},
    ],
)
def test_staffing_equals_the_cli_json(app: FastAPI, args: dict[str, str]) -> None:
    """The calculator's figures are exactly `switchboard staffing --json` for the same inputs."""
    answer = signed_in(app, "supervisor", time.time()).get("/api/supervisor/staffing", params=args)
    assert answer.status_code == 200, answer.text
    flags = [part for key, value in args.items() for part in (f"--{key.replace('_', '-')}", value)]
    assert answer.json()["figures"] == switchboard("staffing", *flags)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"calls_per_hour": "lots", "aht": "180", "sl": "0.8/20"}, "calls_per_hour = 'lots'"),
        ({"calls_per_hour": "200", "sl": "0.8/20"}, "aht: required"),
        ({"calls_per_hour": "200", "aht": "180", "sl": "80/20"}, "sl = '80/20'"),
        ({"calls_per_hour": "200", "aht": "-1", "sl": "0.8/20"}, "aht = '-1'"),
        ({"calls_per_hour": "200", "aht": "180", "sl": "0.8/20", "operators": "9"}, "operators = 9"),
        ({"calls_per_hour": "200", "aht": "180", "sl": "0.8/20", "patience": "nan"}, "patience = 'nan'"),
    ],
)
def test_staffing_errors_name_the_parameter(app: FastAPI, args: dict[str, str], named: str) -> None:
    """Not a number, missing, a percentage for a share, negative, too few operators for Erlang C, NaN."""
    answer = signed_in(app, "supervisor", time.time()).get("/api/supervisor/staffing", params=args)
    assert answer.status_code == 422 and named in answer.json()["detail"]


def test_spy_refusals_from_the_console(app: FastAPI) -> None:
    """No phone, a phone that is no supervisor's, an unknown operator, an unknown mode: refused before the platform."""
    now = time.time()
    cases = [
        (None, {"operator": "op1001", "mode": "listen"}, 409, "your account has no phone"),
        ("op1002", {"operator": "op1001", "mode": "listen"}, 409, "'op1002': this phone is not marked supervisor"),
        ("sup2001", {"operator": "ghost", "mode": "whisper"}, 409, "operator = 'ghost'"),
        ("sup2001", {"operator": "op1001", "mode": "shout"}, 422, "mode = 'shout'"),
    ]
    for sip_user, body, code, message in cases:
        answer = signed_in(app, "supervisor", now, sip_user).post("/api/supervisor/spy", json=body)
        assert (answer.status_code, message in answer.json()["detail"]) == (code, True), answer.text


def test_spy_without_a_running_platform_times_out_saying_so(app: FastAPI) -> None:
    """A good request with nobody popping the command bus: 504, asking whether `switchboard run` is running."""
    client = signed_in(app, "supervisor", time.time(), "sup2001")
    answer = client.post("/api/supervisor/spy", json={"operator": "op1001", "mode": "barge"})
    assert answer.status_code == 504 and "is `switchboard run` running?" in answer.json()["detail"]


SUPERVISION_ENDPOINTS = [
    ("GET", "/supervisor"), ("GET", "/api/supervisor/board"), ("GET", "/api/supervisor/events"),
    ("GET", "/api/supervisor/day"), ("GET", "/api/supervisor/staffing?calls_per_hour=1&aht=1&sl=0.8/20"),
    ("POST", "/api/supervisor/spy"),
]  # fmt: skip


def test_operators_and_campaign_managers_get_403_on_supervision(app: FastAPI) -> None:
    """Every wallboard page and endpoint refuses the operator and campaign-manager roles; no session is a 401."""
    now = time.time()
    for role in ("operator", "campaign_manager"):
        client = signed_in(app, role, now, "op1001")
        for method, url in SUPERVISION_ENDPOINTS:
            body = {"operator": "op1002", "mode": "listen"} if method == "POST" else None
            assert client.request(method, url, json=body).status_code == 403, (role, url)
    anonymous = signed_in(app, "supervisor", now)
    anonymous.cookies.clear()
    for method, url in SUPERVISION_ENDPOINTS[1:]:
        assert anonymous.request(method, url).status_code == 401, url
