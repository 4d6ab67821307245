"""Listen / whisper / barge on the real Asterisk, asked over the command bus as the console asks: the supervisor's
softphone rings, answers, and a ChanSpy channel with the mode's options spies on the operator's call."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from switchboard import commands, keys
from switchboard.errors import CommandRefusedError
from switchboard.lab.sipp import SippResult
from switchboard.lab.site import lab_site_dict
from switchboard.lab.stack import LabStack

SUPERVISOR = "sup2001"
OPERATOR = "op1001"
MODES = [(keys.COMMAND_SUPERVISOR_LISTEN, "qE"), (keys.COMMAND_SUPERVISOR_WHISPER, "qEw"),
         (keys.COMMAND_SUPERVISOR_BARGE, "qEB")]  # fmt: skip


@pytest_asyncio.fixture(scope="module")
async def lab_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LabStack]:
    """One operator and a supervisor's phone (no skills: it is never offered a caller)."""
    folder = tmp_path_factory.mktemp("lab")
    data = lab_site_dict(folder, operators=1)
    data["operators"].append(
        {"sip_user": SUPERVISOR, "secret": secrets.token_urlsafe(12), "name": "Sam Supervisor", "supervisor": True}
    )
    async with LabStack(folder, site_data=data) as stack:
        yield stack


async def _caller_on_the_operator(lab: LabStack) -> asyncio.Task[SippResult]:
    """A SIPp caller rings the hotline; the operator's softphone answers and stays on the line."""
    assert lab.site and lab.phones and lab.platform
    await lab.phones.configure(OPERATOR, answer_after_s=0.3, talk_s=None, auto_answer=True)
    caller = asyncio.create_task(lab.hotline_caller(call_seconds=40, timeout=60))
    operators = lab.platform.picture.operators
    await lab.wait_for(lambda: operators[OPERATOR].on_call is not None, 20, "the call answered")
    return caller


async def _spy_channels(lab: LabStack) -> list[dict[str, Any]]:
    assert lab.platform
    channels = await lab.platform.ami.list_action("CoreShowChannels")
    return [dict(item) for item in channels if item.get("Application") == "ChanSpy"]


async def _hang_up_all(lab: LabStack, caller: asyncio.Task[SippResult]) -> SippResult:
    assert lab.phones
    await lab.phones.hangup(SUPERVISOR)
    await lab.phones.hangup(OPERATOR)
    return await caller


@pytest.mark.parametrize(("command", "options"), MODES)
async def test_supervisor_phone_rings_answers_and_spies_on_the_operators_call(
    lab: LabStack, command: str, options: str
) -> None:
    """The command rings the supervisor; once answered, CoreShowChannels shows ChanSpy on the operator's channel."""
    assert lab.site and lab.phones and lab.platform
    await lab.phones.configure(SUPERVISOR, answer_after_s=0.3, talk_s=None, auto_answer=True)
    caller = await _caller_on_the_operator(lab)
    try:
        since = lab.phones.mark()
        started = await commands.send(
            lab.site.redis_url, command, {"supervisor": SUPERVISOR, "operator": OPERATOR}, sender="test"
        )
        assert started["operator_channel"].startswith(f"PJSIP/{OPERATOR}-")
        await lab.phones.wait_for(lambda e: e.user == SUPERVISOR and e.ev == "incoming", 15, since=since)
        await lab.phones.wait_for(lambda e: e.user == SUPERVISOR and e.ev == "answered", 15, since=since)
        spies: list[dict[str, Any]] = []
        for _ in range(100):
            spies = await _spy_channels(lab)
            if spies:
                break
            await asyncio.sleep(0.1)
        [spy] = spies
        assert spy["Channel"].startswith(f"PJSIP/{SUPERVISOR}-")
        assert spy["Uniqueid"] == started["spy_uniqueid"]
        assert spy["ApplicationData"] == f"{started['operator_channel']},{options}"
        operator_channels = [c for c in await lab.channels() if c.startswith(f"PJSIP/{OPERATOR}-")]
        assert operator_channels == [started["operator_channel"]]
    finally:
        result = await _hang_up_all(lab, caller)
    assert result.all_successful, result


async def test_spying_on_an_operator_not_on_a_call_is_refused_and_rings_nobody(lab: LabStack) -> None:
    """With the operator idle the platform refuses naming them, and the supervisor's phone never rings."""
    assert lab.site and lab.phones
    since = lab.phones.mark()
    with pytest.raises(CommandRefusedError, match=f"operator = '{OPERATOR}': not on a call"):
        await commands.send(
            lab.site.redis_url, keys.COMMAND_SUPERVISOR_LISTEN, {"supervisor": SUPERVISOR, "operator": OPERATOR},
            sender="test",
        )  # fmt: skip
    with pytest.raises(CommandRefusedError, match="this phone is not marked supervisor"):
        await commands.send(
            lab.site.redis_url, keys.COMMAND_SUPERVISOR_BARGE, {"supervisor": OPERATOR, "operator": SUPERVISOR},
            sender="test",
        )  # fmt: skip
    await asyncio.sleep(1.0)
    assert not [e for e in lab.phones.events[since:] if e.ev == "incoming"]
