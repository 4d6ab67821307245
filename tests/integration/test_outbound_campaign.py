"""A 200-lead predictive campaign with five operators in session mode on the real Asterisk, run to completion: every
lead ends in a final state or is scheduled for a retry by the rules, no number is on two calls at once, no
do-not-call number is dialled, the abandon rate is measured and under the cap, and every conversation is recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from switchboard.lab.sipp import SippNetwork
from switchboard.lab.stack import LabStack
from switchboard.store.dnc import add_numbers
from switchboard.store.schema import attempts, campaigns, leads
from tests.integration.leads.campaign_helpers import add_leads, make_campaign
from tests.integration.test_outbound import _never_two_at_once, _rows, outbound_stack

CAMPAIGN = "Two hundred"
OPERATORS = [{"sip_user": f"op60{n:02d}", "name": f"Seller {n}", "skills": {"sales": 1 + n % 3}} for n in range(5)]
# Last digit: 1 a person (20 in 25), 2 busy, 3 no answer; every 25th lead is on the do-not-call list.
PLAN = "1111111111111111111122331"
NUMBERS = [f"+791670{n:04d}{PLAN[n % 25]}" for n in range(200)]
DNC = {number for n, number in enumerate(NUMBERS) if n % 25 == 24}


@pytest_asyncio.fixture(scope="module")
async def network() -> AsyncIterator[SippNetwork]:
    async with SippNetwork(ring_s=0.3, talk_s=2.0) as net:
        yield net


@pytest_asyncio.fixture(scope="module")
async def lab_stack(tmp_path_factory: pytest.TempPathFactory, network: SippNetwork) -> AsyncIterator[LabStack]:
    dialers = [{"campaign": CAMPAIGN, "queue": "sales", "method": "predictive", "ring_timeout_s": 15, "max_lines": 8}]
    async with outbound_stack(tmp_path_factory.mktemp("campaign200"), network, OPERATORS, dialers) as stack:
        yield stack


async def test_a_200_lead_campaign_runs_to_completion_with_five_operators(lab: LabStack) -> None:
    assert lab.platform and lab.phones and lab.site
    engine = lab.platform.store.engine
    campaign_id = make_campaign(
        engine,
        CAMPAIGN,
        hours={"every_day": "00:00-24:00"},
        retry={"busy": {"after": "1h"}, "no_answer": {"after": "2h"}},
    )
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="paused"))
        add_numbers(conn, sorted(DNC), campaign_id=None, now=0.0, source="test")
    add_leads(engine, campaign_id, "purchased", NUMBERS)
    await lab.start_sessions(op["sip_user"] for op in OPERATORS)
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="active"))

    def finished() -> bool:
        statuses = {r["status"] for r in _rows(lab, leads)}
        return not statuses & {"new", "in_progress"} and not lab.platform.dialer.inflight  # type: ignore[union-attr]

    await lab.wait_for(finished, 420, "every lead dialled and closed")
    tried, by_lead = _rows(lab, attempts), {r["phone_e164"]: r for r in _rows(lab, leads)}
    dialled = [a["phone_e164"] for a in tried]
    assert not DNC & set(dialled)
    assert sorted(dialled) == sorted(set(NUMBERS) - DNC)  # every other lead once: retries are hours away
    assert _never_two_at_once(tried)
    expected = {"1": ("answered", "retry"), "2": ("busy", "retry"), "3": ("no_answer", "retry")}
    for attempt in tried:
        result, status = expected[attempt["phone_e164"][-1]]
        assert (attempt["result"], by_lead[attempt["phone_e164"]]["status"]) == (result, status), attempt
        if result == "answered":
            assert attempt["operator"] and Path(attempt["recording"]).exists()
    assert all(by_lead[number]["status"] == "dnc" for number in DNC)
    figures = lab.platform.dialer.figures[CAMPAIGN]
    assert figures.answered == sum(a["result"] == "answered" for a in tried) + figures.abandoned
    assert figures.abandoned / figures.answered <= 0.03
    await lab.end_sessions(op["sip_user"] for op in OPERATORS)
    await lab.wait_idle(timeout=20)
