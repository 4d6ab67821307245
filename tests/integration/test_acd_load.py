"""Thirty callers on three hotlines, one with a menu, for five operators of different skills on the real Asterisk:
every call answered by an operator holding the skill it needed at that moment, the queue_log and call records
complete, and the live statistics in Redis equal to a count made from the call records.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from acd import stats
from switchboard.demo_figures import is_misrouted, tally_from_records
from switchboard.lab.sipp import run_callers
from switchboard.lab.site import lab_site_dict
from switchboard.lab.stack import LabStack
from switchboard.queue_log import read_entries
from tests.integration.test_acd_queueing import OPERATORS, QUEUES, _queue_log_problems

CALLER_MENU = Path(__file__).resolve().parents[1] / "sipp" / "caller_menu.xml"
HOTLINES: list[dict[str, Any]] = [
    {"number": "+18005550401", "queue": "general"},
    {"number": "+18005550402", "queue": "tax"},
    {"number": "+18005550403", "queue": "general", "menu": {"1": "tax", "2": "accounting"}},
]
# 30 callers: 8 on general, 8 on tax, 14 on the menu line (5 press 1, 5 press 2, 4 press nothing).
CALLERS = (
    [(HOTLINES[0]["number"], "")] * 8
    + [(HOTLINES[1]["number"], "")] * 8
    + [(HOTLINES[2]["number"], key) for key in "1111122222" + "    "]
)


@pytest_asyncio.fixture(scope="module")
async def lab_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LabStack]:
    folder = tmp_path_factory.mktemp("load")
    data = lab_site_dict(folder, operators=0)
    data["operators"] = [dict(op, secret=secrets.token_urlsafe(12)) for op in OPERATORS]
    data["queues"] = [dict(q, max_wait_s=120) for q in QUEUES]
    data["hotlines"] = HOTLINES
    data["acd"] = {"ring_timeout_s": 8, "max_misses": 3, "login_required": True}
    async with LabStack(folder, site_data=data) as stack:
        yield stack


async def test_thirty_callers_three_hotlines_and_a_menu_all_answered_by_qualified_operators(lab: LabStack) -> None:
    assert lab.site and lab.platform and lab.phones
    platform = lab.platform
    for op in lab.site.operators:
        platform.operator_command(op.sip_user, "login", "", time.time())
        await lab.phones.configure(op.sip_user, answer_after_s=0.3, talk_s=1.5, auto_answer=True)
    rows = [
        {"number": number, "caller_number": f"+7916555{n:04d}", "digits": key.strip()}
        for n, (number, key) in enumerate(CALLERS)
    ]
    result = await run_callers(
        CALLER_MENU, "127.0.0.1", lab.site.asterisk.sip_port, number=None, calls=len(rows), rate=3,
        concurrency=len(rows), call_seconds=100, injection_rows=rows, timeout=180,
    )  # fmt: skip
    assert result.all_successful, result
    await lab.wait_idle(timeout=30)
    await platform.flush()
    records = await asyncio.to_thread(platform.store.all_calls)

    assert len(records) == 30 and all(r.outcome == "answered" and r.ended_at for r in records)
    assert [r for r in records if is_misrouted(r, lab.site)] == []
    by_caller = {r.caller: r for r in records}
    for row in rows:
        menu = next(h for h in HOTLINES if h["number"] == row["number"])
        wanted = menu.get("menu", {}).get(row["digits"], menu["queue"])
        assert by_caller[row["caller_number"]].queue == wanted, row
    assert _queue_log_problems(records, read_entries(lab.site.queue_log_path)) == []

    await platform.live.publish(platform.picture, platform.ami.connected)
    live = await platform.live.read_queues()
    for queue in lab.site.queues:
        counted = tally_from_records(records, queue)
        figures = stats.figures(counted)
        shown = live[queue.name]
        assert (shown["offered"], shown["answered"], shown["answered_in_sl"], shown["abandoned"]) == (
            counted.offered, counted.answered, counted.answered_in_sl, counted.abandoned,
        ), queue.name  # fmt: skip
        assert shown["service_level"] == pytest.approx(figures.service_level, abs=1e-4)
        assert shown["asa_s"] == pytest.approx(figures.asa_s, abs=0.01)
        assert shown["abandon_rate"] == pytest.approx(figures.abandon_rate, abs=1e-4)
        assert shown["aht_s"] == pytest.approx(figures.aht_s, abs=0.1)
        assert shown["waiting"] == 0
    operator = await platform.live.read_operator(OPERATORS[0]["sip_user"])
    assert operator["state"] in {"available", "wrap_up"} and operator["seconds"] >= 0
