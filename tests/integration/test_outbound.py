"""The outbound dialer on the real Asterisk: a campaign's leads dialled through the trunk into the SIPp telephone
network (the number's last digit says whether a person answers, it is busy, or nobody answers), answered calls
bridged in to operators in session mode, every attempt written before its call and closed with its result.
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
import sqlalchemy as sa

from switchboard.lab.sipp import SippNetwork
from switchboard.lab.site import lab_site_dict
from switchboard.lab.stack import LabStack
from switchboard.platform import Platform
from switchboard.store.schema import attempts, campaigns, leads
from tests.integration.leads.campaign_helpers import add_leads, make_campaign
from tests.integration.test_acd_queueing import AmiWatch
from tests.integration.test_platform_faults import _crash

CAMPAIGN = "Spring offer"
OVERDIALLED = "Overdialled"  # power 3 with one operator: people answer with nobody free
OPERATORS: list[dict[str, Any]] = [
    {"sip_user": "op5001", "name": "Sara Holm", "skills": {"sales": 2}},
    {"sip_user": "op5002", "name": "Tor Vik", "skills": {"sales": 3}},
]
# Last digit: 1 a person (talks 3 s, then the network hangs up), 2 busy, 3 no answer.
NUMBERS = [f"+7916700{n:02d}{d}" for n, d in enumerate("1111112233" + "11")]


@pytest_asyncio.fixture(scope="module")
async def network() -> AsyncIterator[SippNetwork]:
    async with SippNetwork(ring_s=0.5, talk_s=3.0) as net:
        yield net


@pytest_asyncio.fixture(scope="module")
async def lab_stack(tmp_path_factory: pytest.TempPathFactory, network: SippNetwork) -> AsyncIterator[LabStack]:
    dialers = [
        {"campaign": CAMPAIGN, "queue": "sales", "ring_timeout_s": 15, "max_lines": 4},
        {"campaign": OVERDIALLED, "queue": "sales", "method": "power", "ratio": 3, "max_lines": 3},
    ]
    async with outbound_stack(tmp_path_factory.mktemp("outbound"), network, OPERATORS, dialers) as stack:
        yield stack


def outbound_stack(
    folder: Path, network: SippNetwork, operators: list[dict[str, Any]], dialers: list[dict[str, Any]]
) -> LabStack:
    """A lab whose trunk reaches the SIPp network, one queue `sales` for the operators, and the dialers."""
    data = lab_site_dict(folder, operators=0)
    data["skills"] = ["sales"]
    data["trunk"] = {"port": network.port, "caller_id": "+74950000000"}
    data["operators"] = [dict(op, secret=secrets.token_urlsafe(12)) for op in operators]
    data["queues"] = [{"name": "sales", "requires": {"sales": 1}, "wrapup_s": 1}]
    data["hotlines"] = []
    data["dialers"] = dialers
    return LabStack(folder, site_data=data)


def _rows(lab: LabStack, table: sa.Table) -> list[dict[str, Any]]:
    assert lab.platform
    with lab.platform.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))]


async def test_a_campaign_runs_to_the_end_with_operators_in_session_mode(lab: LabStack) -> None:
    """Given 12 leads and two operators in session mode, when the campaign is active, then every lead is dialled
    once, people are put through to an operator, busy and unanswered numbers are closed with their result and
    scheduled by the retry rules, and no number is ever on two calls at once."""
    assert lab.platform and lab.phones and lab.site
    engine = lab.platform.store.engine
    campaign_id = make_campaign(engine, CAMPAIGN, hours={"every_day": "00:00-24:00"}, retry={"busy": {"after": "10m"}})
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="paused"))
    add_leads(engine, campaign_id, "purchased", NUMBERS)
    await lab.start_sessions(op["sip_user"] for op in OPERATORS)
    picture = lab.platform.picture
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="active"))

    def finished() -> bool:
        tried = _rows(lab, attempts)
        return len(tried) >= len(NUMBERS) and all(a["result"] for a in tried) and not lab.platform.dialer.inflight  # type: ignore[union-attr]

    await lab.wait_for(finished, 120, "every lead dialled and closed")
    tried = _rows(lab, attempts)
    by_number = {a["phone_e164"]: a for a in tried}
    assert len(tried) == len(NUMBERS) == len(by_number)  # each lead once: retries are not due within the test
    for number, attempt in by_number.items():
        expected = {"1": "answered", "2": "busy", "3": "no_answer"}[number[-1]]
        assert attempt["result"] == expected, (number, attempt)
        if expected == "answered":
            assert attempt["operator"] in {op["sip_user"] for op in OPERATORS} and attempt["talk_s"] > 0
            assert Path(attempt["recording"]).exists()
    statuses = {r["phone_e164"]: r for r in _rows(lab, leads)}
    assert {statuses[n]["status"] for n in NUMBERS if n.endswith("2")} == {"retry"}
    assert all(statuses[n]["next_attempt_at"] >= by_number[n]["ended_at"] + 599 for n in NUMBERS if n.endswith("2"))
    assert all(statuses[n]["status"] == "in_progress" or statuses[n]["status"] != "new" for n in NUMBERS)
    assert _never_two_at_once(tried)
    assert lab.platform.dialer.errors == []
    figures = lab.platform.dialer.figures[CAMPAIGN]
    assert figures.dialed == len(NUMBERS) and figures.answered == sum(n.endswith("1") for n in NUMBERS)
    calls = [r for r in await asyncio.to_thread(lab.platform.store.all_calls) if r.direction == "outbound"]
    assert len(calls) == figures.answered and all(c.operator for c in calls)
    for op in OPERATORS:
        await lab.phones.hangup(op["sip_user"])
    await lab.wait_for(lambda: not any(s.session for s in picture.operators.values()), 15, "sessions over")


def _never_two_at_once(tried: list[dict[str, Any]]) -> bool:
    """No number has two attempts whose [started, ended] overlap."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for attempt in tried:
        spans.setdefault(attempt["phone_e164"], []).append((attempt["started_at"], attempt["ended_at"] or time.time()))
    return all(
        later[0] >= earlier[1]
        for ranges in spans.values()
        for earlier, later in zip(sorted(ranges), sorted(ranges)[1:], strict=False)
    )


async def test_a_person_with_no_operator_within_the_grace_time_is_abandoned_and_hears_the_message(
    lab: LabStack,
) -> None:
    """Given one operator in session mode and a power dialer placing three calls for her, when three people answer,
    then one is put through and the others are abandoned after the grace time, each hearing the identification
    message, and their attempts are closed as abandoned with no operator."""
    assert lab.platform and lab.phones and lab.site
    engine = lab.platform.store.engine
    watch = AmiWatch(lab.site)
    await watch.start()
    try:
        campaign_id = make_campaign(engine, OVERDIALLED, hours={"every_day": "00:00-24:00"})
        with engine.begin() as conn:
            conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="paused"))
        add_leads(engine, campaign_id, "purchased", [f"+7916800000{d}" for d in "147"])  # 1 and 7: people; 4 too
        user = OPERATORS[0]["sip_user"]
        await lab.phones.configure(user, answer_after_s=0.2, talk_s=None, auto_answer=True)
        await lab.phones.dial(user, f"sip:*46@127.0.0.1:{lab.site.asterisk.sip_port}")
        picture = lab.platform.picture
        await lab.wait_for(lambda: picture.operators[user].session, 15, "her session")
        with engine.begin() as conn:
            conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="active"))

        def closed() -> bool:
            tried = _rows(lab, attempts)
            return len(tried) == 3 and all(a["result"] for a in tried)

        await lab.wait_for(closed, 60, "three attempts closed")
        with engine.begin() as conn:
            conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="paused"))
        tried = _rows(lab, attempts)
        results = sorted(a["result"] for a in tried)
        assert results == ["abandoned", "abandoned", "answered"], [
            (a["phone_e164"], a["result"], a["started_at"], a["answered_at"], a["ended_at"], a["operator"], a["wait_s"])
            for a in tried
        ]
        for attempt in tried:
            channel = f"switchboard-out-{attempt['id']}"
            heard = [e for e in watch.events if e.get("Uniqueid") == channel and e.get("Application") == "Read"]
            if attempt["result"] == "abandoned":
                assert attempt["operator"] is None and attempt["abandoned"]
                assert heard and "vm-press" in (heard[0].get("AppData") or "")
            else:
                assert not heard and attempt["operator"] == user
        assert lab.platform.dialer.figures[OVERDIALLED].abandoned == 2
        await lab.phones.hangup(user)
        await lab.wait_for(lambda: not picture.operators[user].session, 15, "her session over")
    finally:
        await watch.stop()


async def test_a_platform_killed_mid_campaign_loses_no_lead_and_dials_none_twice(lab: LabStack) -> None:
    """Given a campaign under way, when the platform process dies and a new one starts, then the new one finds the
    operators still in session mode, closes or follows the attempts left open, and finishes the campaign: every
    lead dialled, none twice at once, none left in progress."""
    assert lab.platform and lab.phones and lab.site
    engine = lab.platform.store.engine
    campaign_id = make_campaign(engine, CAMPAIGN, hours={"every_day": "00:00-24:00"})
    numbers = [f"+7916900{n:03d}1" for n in range(16)]
    add_leads(engine, campaign_id, "purchased", numbers)
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="paused"))
    await lab.start_sessions(op["sip_user"] for op in OPERATORS)
    first = lab.platform
    await lab.wait_for(lambda: all(first.picture.operators[op["sip_user"]].session for op in OPERATORS), 15, "sessions")
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="active"))
    await lab.wait_for(lambda: len(_rows(lab, attempts)) >= 4, 30, "a few attempts under way")
    await _crash(first)
    for task in first._dialer_tasks:  # what the dead process was writing dies with it
        task.cancel()
    second = Platform(lab.site)  # the new process, for the rest of the module too
    await second.start()
    lab._stack.push_async_callback(second.stop)
    lab.platform = second
    await lab.wait_for(lambda: second.picture.built, 10, "the new platform's picture built")
    await lab.wait_for(
        lambda: all(second.picture.operators[op["sip_user"]].session for op in OPERATORS), 15, "sessions known"
    )

    def done() -> bool:
        tried = _rows(lab, attempts)
        statuses = {r["status"] for r in _rows(lab, leads)}
        return (
            {a["phone_e164"] for a in tried} == set(numbers)
            and all(a["result"] for a in tried)
            and ("in_progress" not in statuses and "new" not in statuses)
        )

    await lab.wait_for(done, 120, "the campaign finished by the new process")
    tried = _rows(lab, attempts)
    assert _never_two_at_once(tried)
    assert {r["phone_e164"]: r["status"] for r in _rows(lab, leads)}.keys() == set(numbers)
    assert second.dialer.errors == []
    await lab.end_sessions(op["sip_user"] for op in OPERATORS)
    await lab.wait_idle(timeout=20)


async def test_redis_killed_mid_campaign_changes_nothing_for_the_dialer(lab: LabStack) -> None:
    """Redis is not on the dialer's path: with it dead the campaign runs to its end; once back it is written again."""
    assert lab.platform and lab.phones and lab.site and lab.redis
    platform, engine = lab.platform, lab.platform.store.engine
    campaign_id = make_campaign(engine, CAMPAIGN, hours={"every_day": "00:00-24:00"})
    numbers = [f"+7916960{n:03d}1" for n in range(6)]
    add_leads(engine, campaign_id, "purchased", numbers)
    await lab.wait_for(lambda: platform.live.healthy, 5, "the live state written")
    await lab.redis.kill()
    await lab.wait_for(lambda: not platform.live.healthy, 5, "the platform noticing Redis is gone")
    await lab.start_sessions(op["sip_user"] for op in OPERATORS)

    def done() -> bool:
        tried = _rows(lab, attempts)
        return {a["phone_e164"] for a in tried} == set(numbers) and all(a["result"] == "answered" for a in tried)

    await lab.wait_for(done, 90, "the campaign finished without Redis")
    assert _never_two_at_once(_rows(lab, attempts)) and platform.dialer.errors == []
    await lab.redis.start()
    await lab.wait_for(lambda: platform.live.healthy, 5, "the live state written again")
    await lab.end_sessions(op["sip_user"] for op in OPERATORS)
    await lab.wait_idle(timeout=20)


async def test_asterisk_killed_mid_campaign_closes_the_lost_calls_and_the_campaign_goes_on(lab: LabStack) -> None:
    """kill -9 of Asterisk with dialer calls up: after it restarts, the attempts of the lost calls are closed (no
    lead stays in progress), the operators come back to their bridges, and the remaining leads are dialled once."""
    assert lab.platform and lab.phones and lab.site and lab.asterisk
    platform, engine = lab.platform, lab.platform.store.engine
    campaign_id = make_campaign(engine, CAMPAIGN, hours={"every_day": "00:00-24:00"})
    numbers = [f"+7916950{n:03d}1" for n in range(10)]
    add_leads(engine, campaign_id, "purchased", numbers)
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="paused"))
    await lab.start_sessions(op["sip_user"] for op in OPERATORS)
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="active"))
    await lab.wait_for(lambda: len(platform.dialer.inflight) >= 2, 30, "calls under way")
    reconnects = platform.reconnects
    await lab.asterisk.kill()
    await lab.wait_for(lambda: not platform.ami.connected, 5, "the AMI link seen down")
    await lab.asterisk.start()
    await lab.wait_for(lambda: platform.reconnects > reconnects, 15, "the AMI client reconnected")
    await lab.wait_for(lambda: not platform.dialer.inflight, 10, "the lost calls' attempts closed")
    for op in OPERATORS:
        await lab.phones.hangup(op["sip_user"])  # the softphones still hold the bridges Asterisk took with it
    await lab.register_all()
    await lab.start_sessions(op["sip_user"] for op in OPERATORS)

    def done() -> bool:
        tried = _rows(lab, attempts)
        statuses = {r["status"] for r in _rows(lab, leads)}
        dialled = {a["phone_e164"] for a in tried}
        return dialled == set(numbers) and all(a["result"] for a in tried) and not statuses & {"in_progress", "new"}

    await lab.wait_for(done, 120, "the campaign finished after the restart")
    tried = _rows(lab, attempts)
    assert _never_two_at_once(tried)
    assert "failed" in {a["result"] for a in tried}  # the calls Asterisk took with it
    assert platform.dialer.errors == []
    await lab.end_sessions(op["sip_user"] for op in OPERATORS)
    await lab.wait_idle(timeout=20)
