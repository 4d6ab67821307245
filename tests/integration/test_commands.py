"""The command bus on the real platform: `switchboard operator pause|unpause|login|logout|status` (another process)
changes an operator exactly as the phone's feature codes do: the same state in Redis, the same queue_log lines."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

import pytest

from acd.model import Presence
from acd.queue_log import QueueLogEntry
from switchboard import keys
from switchboard.commands import CommandBus
from switchboard.errors import CommandRefusedError
from switchboard.lab.stack import LabStack
from switchboard.live import LiveState
from tests.e2e.test_cli_campaign import SWITCHBOARD
from tests.integration.test_acd_queueing import _feature_code, _queue_log

BY_PHONE, BY_CLI = "op1001", "op1002"  # both serve the same queues in the lab site


async def cli(lab: LabStack, *args: str) -> subprocess.CompletedProcess[str]:
    assert lab.site_path
    command = [SWITCHBOARD, "--config", str(lab.site_path), "operator", *args]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60, check=False)


async def published(lab: LabStack, user: str, state: str) -> dict[str, Any]:
    """The operator's hash in Redis once the platform has published `state` for them."""
    assert lab.site
    live = LiveState(lab.site.redis_url)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            row = await live.read_operator(user)
            if row.get("state") == state:
                return row
            await asyncio.sleep(0.1)
        raise AssertionError(f"{user} never published as {state}: {await live.read_operator(user)}")
    finally:
        await live.close()


def lines(entries: list[QueueLogEntry], agent: str, since: float, events: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The operator's lines of these events since `since`, without time and agent: what must match."""
    return sorted(
        (e.callid, e.queue, e.event, e.data)
        for e in entries
        if e.agent == agent and e.time >= int(since) and e.event in events
    )


def presence(lab: LabStack, user: str) -> Presence:
    assert lab.platform
    return lab.platform.picture.operators[user].presence(time.time())


async def test_a_pause_from_the_cli_is_the_same_as_the_phones_in_redis_and_queue_log(lab: LabStack) -> None:
    """Given two operators of the same queues, when one pauses by *431 on the phone and the other by
    `switchboard operator pause --reason 1`, then Redis and queue_log show both the same (PAUSE lunch per queue);
    and likewise for *44 and `operator unpause`."""
    assert lab.platform
    started = time.time() - 1
    await _feature_code(lab, BY_PHONE, "*431")
    paused = await cli(lab, "pause", BY_CLI, "--reason", "1", "--json")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout) | {"prompt": "-"} == {
        "sip_user": BY_CLI, "state": "paused", "logged_in": True, "paused_reason": "lunch", "session": False,
        "on_call": None, "prompt": "-",
    }  # fmt: skip
    phone, bus = await published(lab, BY_PHONE, "paused"), await published(lab, BY_CLI, "paused")
    assert {k: phone[k] for k in ("state", "paused_reason", "queues")} == {
        k: bus[k] for k in ("state", "paused_reason", "queues")
    }
    assert bus["paused_reason"] == "lunch" and bus["queues"]
    entries = await _queue_log(lab)
    pauses = lines(entries, BY_CLI, started, ("PAUSE",))
    assert pauses == lines(entries, BY_PHONE, started, ("PAUSE",))
    assert {(e[1], e[3]) for e in pauses} == {(q, ("lunch",)) for q in bus["queues"]}

    await _feature_code(lab, BY_PHONE, "*44")
    unpaused = await cli(lab, "unpause", BY_CLI)
    assert unpaused.returncode == 0 and unpaused.stdout.strip() == f"{BY_CLI}: available", unpaused.stderr
    await published(lab, BY_PHONE, "available")
    await published(lab, BY_CLI, "available")
    entries = await _queue_log(lab)
    assert lines(entries, BY_CLI, started, ("UNPAUSE",)) == lines(entries, BY_PHONE, started, ("UNPAUSE",)) != []


async def test_logout_and_login_over_the_bus_write_removemember_and_addmember_as_the_phone(lab: LabStack) -> None:
    """Given an operator logged in, when the console logs them out and in over the bus, then the platform's picture
    follows and queue_log holds REMOVEMEMBER then ADDMEMBER for each of their queues, as *42 and *41 write them."""
    assert lab.site and lab.platform
    started = time.time() - 1
    await _feature_code(lab, BY_PHONE, "*42")
    await _feature_code(lab, BY_PHONE, "*41")
    bus = CommandBus(lab.site.redis_url, sender="web:test")
    try:
        out = await bus.send(keys.COMMAND_OPERATOR_LOGOUT, {"sip_user": BY_CLI})
        assert out["state"] == "logged_out" and presence(lab, BY_CLI) is Presence.LOGGED_OUT
        out = await bus.send(keys.COMMAND_OPERATOR_LOGIN, {"sip_user": BY_CLI})
        assert out["state"] == "available" and presence(lab, BY_CLI) is Presence.AVAILABLE
        with pytest.raises(CommandRefusedError, match="'op9999': no such operator"):
            await bus.send(keys.COMMAND_OPERATOR_LOGIN, {"sip_user": "op9999"})
    finally:
        await bus.close()
    entries = await _queue_log(lab)
    members = ("ADDMEMBER", "REMOVEMEMBER")
    assert lines(entries, BY_CLI, started, members) == lines(entries, BY_PHONE, started, members) != []
    order = [e.event for e in entries if e.agent == BY_CLI and e.time >= int(started) and e.event in members]
    assert order.index("REMOVEMEMBER") < order.index("ADDMEMBER")


async def test_the_cli_names_a_bad_reason_and_an_unknown_operator(lab: LabStack) -> None:
    """`operator pause --reason nap` and `operator status op9999` fail with the field named; nothing changes."""
    bad = await cli(lab, "pause", BY_CLI, "--reason", "nap")
    assert bad.returncode == 1 and "args.reason = 'nap': not a pause reason; one of 1 (lunch)" in bad.stderr
    unknown = await cli(lab, "status", "op9999")
    assert unknown.returncode == 1 and "args.sip_user = 'op9999': no such operator" in unknown.stderr
    status = await cli(lab, "status", BY_CLI, "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["state"] == "available"
