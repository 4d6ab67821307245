"""The site's time_zone and each queue's abandon_target: read from the site file with their defaults, and used by the
console: an operator's "today", the supervisor's day chart, and the wallboard's red abandonment figures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from switchboard.config import Queue, parse_site
from switchboard.store.days_off import today
from switchboard.web.day_chart import parse_day
from switchboard.web.wallboard_view import queue_row
from tests.console_support import console_app, sign_in

# 2026-03-04 20:00 UTC: already 2026-03-05 (01:00) in Yekaterinburg, UTC+5
EVENING_UTC = dt.datetime(2026, 3, 4, 20, 0, tzinfo=dt.UTC).timestamp()
ZONE = "Asia/Yekaterinburg"
SITE: dict[str, Any] = {
    "skills": ["tax"],
    "ami": {"secret": "runtime-secret-01", "admin_secret": "admin-secret-001"},
    "queues": [{"name": "tax", "requires": {"tax": 1}}],
}


def test_a_site_counts_its_days_in_utc_and_reds_abandonment_past_5_percent_unless_told() -> None:
    """No time_zone: UTC; no abandon_target: 0.05; both as the site file gives them otherwise."""
    plain = parse_site(SITE)
    assert (plain.time_zone, str(plain.zone), plain.queue("tax").abandon_target) == ("UTC", "UTC", 0.05)
    queues = [{"name": "tax", "requires": {"tax": 1}, "abandon_target": 0.1}]
    told = parse_site(SITE | {"time_zone": ZONE, "queues": queues})
    assert (told.time_zone, str(told.zone), told.queue("tax").abandon_target) == (ZONE, ZONE, 0.1)


def test_today_and_the_day_chart_follow_the_sites_zone() -> None:
    """At 20:00 UTC it is already the next day in Yekaterinburg: days off and the day chart count that day."""
    assert today(EVENING_UTC, "UTC") == dt.date(2026, 3, 4)
    assert today(EVENING_UTC, ZONE) == dt.date(2026, 3, 5)
    day = parse_day(None, None, EVENING_UTC, ZONE)
    assert (day.date, str(day.zone)) == (dt.date(2026, 3, 5), ZONE)
    assert day.start == dt.datetime(2026, 3, 4, 19, 0, tzinfo=dt.UTC).timestamp()
    assert parse_day("2026-03-04", "UTC", EVENING_UTC, ZONE).start == dt.datetime(2026, 3, 4, tzinfo=dt.UTC).timestamp()


def test_an_operators_today_is_the_sites_day(tmp_path: Path) -> None:
    """/api/operator/today names the site's zone and the day it is there, not the server's or UTC's."""
    app = console_app(tmp_path, clock=lambda: EVENING_UTC, time_zone=ZONE)
    with TestClient(app) as client:
        sign_in(client, app, "olga")
        answer = client.get("/api/operator/today")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["day"], answer.json()["zone"]) == ("2026-03-05", ZONE)


def test_the_wallboard_reds_abandonment_past_the_queues_own_target() -> None:
    """8 % abandoned is late against the default 5 % but not against a queue's 10 %; the target is shown with it."""
    figures = {"answered": 92, "abandoned": 8, "abandon_rate": 0.08}
    default = queue_row("tax", figures, Queue(name="tax"))["abandon_rate"]
    lenient = queue_row("tax", figures, Queue(name="tax", abandon_target=0.1))["abandon_rate"]
    assert (default["target"], default["late"]) == (0.05, True)
    assert (lenient["target"], lenient["late"]) == (0.1, False)


def test_the_wallboard_page_states_the_abandon_target_the_queues_share(tmp_path: Path) -> None:
    """The page's note under the queues gives the shared abandon_target (10 % here)."""
    queues = [{"name": "general", "requires": {"general": 1}, "abandon_target": 0.1}]
    app = console_app(tmp_path, queues=queues)
    with TestClient(app) as client:
        sign_in(client, app, "sam")
        page = client.get("/supervisor")
    assert page.status_code == 200, page.text
    assert "abandonment above 10 %." in page.text
