"""Answering machines on the real Asterisk: AMD hears the SIPp network's recorded greeting, the attempt is logged as
a machine, and a recorded message is left only for the lead whose consent allows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa

from switchboard.lab.sipp import SippNetwork
from switchboard.lab.stack import LabStack
from switchboard.store.schema import attempts, campaigns, leads
from tests.integration.leads.campaign_helpers import add_leads, make_campaign
from tests.integration.test_outbound import outbound_stack

CAMPAIGN = "Machines"
OPERATOR = {"sip_user": "op5101", "name": "Ada Lind", "skills": {"sales": 2}}
CONSENTED, WITHOUT, PERSON = "+79167100014", "+79167100024", "+79167100031"  # ...4: a machine, ...1: a person
MESSAGE_NOTE = "recorded message left on the answering machine"


@pytest_asyncio.fixture(scope="module")
async def network() -> AsyncIterator[SippNetwork]:
    async with SippNetwork(ring_s=0.5, talk_s=24.0) as net:  # the machine stays on for greeting, beep, message
        yield net


@pytest_asyncio.fixture(scope="module")
async def lab_stack(tmp_path_factory: pytest.TempPathFactory, network: SippNetwork) -> AsyncIterator[LabStack]:
    dialers = [{"campaign": CAMPAIGN, "queue": "sales", "amd": True, "machine_message": "vm-goodbye", "max_lines": 3}]
    async with outbound_stack(tmp_path_factory.mktemp("machines"), network, [OPERATOR], dialers) as stack:
        yield stack


def _rows(lab: LabStack) -> dict[str, dict[str, Any]]:
    assert lab.platform
    with lab.platform.store.engine.connect() as conn:
        return {r.phone_e164: dict(r._mapping) for r in conn.execute(sa.select(attempts))}


async def test_a_message_is_left_on_a_machine_only_with_the_leads_consent(lab: LabStack) -> None:
    """Given two machines (one lead consented to recorded messages) and a person, when the campaign runs with AMD,
    then both machines are logged as machines, only the consented one got the message, the person was answered."""
    assert lab.platform
    engine = lab.platform.store.engine
    campaign_id = make_campaign(engine, CAMPAIGN, hours={"every_day": "00:00-24:00"})
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="paused"))
    add_leads(engine, campaign_id, "purchased", [CONSENTED, WITHOUT, PERSON])
    with engine.begin() as conn:
        conn.execute(leads.update().where(leads.c.phone_e164 == CONSENTED).values(consent=True))
        conn.execute(leads.update().where(leads.c.phone_e164 == WITHOUT).values(consent=False))
    await lab.start_sessions([OPERATOR["sip_user"]])
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status="active"))

    def finished() -> bool:
        rows = _rows(lab)
        return len(rows) == 3 and all(r["result"] for r in rows.values())

    await lab.wait_for(finished, 90, "the three leads dialled and closed")
    rows = _rows(lab)
    assert {n: r["result"] for n, r in rows.items()} == {CONSENTED: "machine", WITHOUT: "machine", PERSON: "answered"}
    assert rows[CONSENTED]["note"] == MESSAGE_NOTE
    assert rows[WITHOUT]["note"] is None and rows[PERSON]["note"] is None
    assert lab.platform.dialer.errors == []
    await lab.end_sessions([OPERATOR["sip_user"]])
