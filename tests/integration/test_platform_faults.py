"""The platform survives its real parts failing: Asterisk killed with kill -9, Redis killed, the platform crashing.

Each test breaks things, so each builds its own lab stack in its own folder; each still checks for leaks at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from acd.model import Presence
from switchboard.errors import AmiDisconnectedError, LabError
from switchboard.lab.sipp import SippResult, run_callers
from switchboard.lab.stack import LabStack
from switchboard.picture import COUNTERS, FREE_STATES
from switchboard.platform import Platform

CALLER = Path(__file__).resolve().parents[1] / "sipp" / "caller.xml"


async def _operators_answer(lab: LabStack, talk_s: float | None) -> None:
    """Softphones answer after 0.3 s and hang up after talk_s (None: they stay on the call)."""
    assert lab.site and lab.phones
    for op in lab.site.operators:
        await lab.phones.configure(op.sip_user, answer_after_s=0.3, talk_s=talk_s)


@contextlib.asynccontextmanager
async def _callers(
    lab: LabStack, *, calls: int, talk_s: float, timeout: float, rate: float = 10
) -> AsyncIterator[asyncio.Task[SippResult]]:
    """SIPp callers on the hotline, as a task: the test breaks things while they talk.

    A test that fails before awaiting them stops SIPp here, rather than leave it calling into the next test.
    """
    assert lab.site
    callers = run_callers(
        CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number=lab.site.hotlines[0].number, calls=calls, rate=rate,
        concurrency=calls, call_seconds=talk_s, timeout=timeout,
    )  # fmt: skip
    task = asyncio.create_task(callers)
    try:
        yield task
    finally:
        task.cancel()  # a no-op once the test has its result
        await asyncio.gather(task, return_exceptions=True)


async def _one_call(lab: LabStack) -> SippResult:
    """One caller on the hotline, talking until the operator hangs up."""
    assert lab.site
    return await run_callers(
        CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number=lab.site.hotlines[0].number, calls=1, rate=1,
        concurrency=1, call_seconds=20, timeout=30,
    )  # fmt: skip


async def _settled(task: asyncio.Task[SippResult]) -> SippResult | None:
    """The callers' result, or None when SIPp failed with the calls Asterisk took down with it."""
    try:
        return await asyncio.wait_for(task, 60)
    except LabError:
        return None


async def _answered_in_sql(platform: Platform, count: int) -> None:
    """Until `count` answered calls are written (so a crash cannot take them away)."""

    async def written() -> bool:
        await platform.flush()
        records = await asyncio.to_thread(platform.store.all_calls)
        return sum(r.answered_at is not None for r in records) >= count

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not await written():
        if loop.time() > deadline:
            raise LabError(f"{count} answered calls not in SQL after 10 s")
        await asyncio.sleep(0.1)


def _presence(platform: Platform, sip_user: str | None) -> Presence:
    return platform.picture.operators[str(sip_user)].presence(platform.clock())


def _all_available(lab: LabStack) -> bool:
    assert lab.site and lab.platform
    return all(_presence(lab.platform, op.sip_user) is Presence.AVAILABLE for op in lab.site.operators)


def _answered_calls(platform: Platform) -> int:
    return sum(r.outcome == "answered" for r in platform.picture.calls.values())


def _frozen(pid: int) -> bool:
    """Every thread of the process stopped: SIGSTOP reaches a threaded process's threads one by one, and one not
    yet stopped can still read an action and answer it."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that exited meanwhile
            states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
    return all(state in ("T", "t") for state in states)


async def test_asterisk_killed_mid_call_platform_reconnects_closes_the_call_and_routes_again(tmp_path: Path) -> None:
    """kill -9 of Asterisk during a call: AMI reconnects, the dead call is closed, the next call is answered."""
    async with LabStack(tmp_path, operators=2) as lab:
        assert lab.site and lab.platform and lab.asterisk and lab.phones
        platform = lab.platform
        await _operators_answer(lab, talk_s=None)
        async with _callers(lab, calls=1, talk_s=60, timeout=10) as callers:
            await lab.wait_for(lambda: _answered_calls(platform) == 1, 15, "the call answered")
            [dead] = platform.picture.calls.values()
            assert dead.operator is not None
            await _answered_in_sql(platform, 1)
            reconnects = platform.reconnects

            await lab.asterisk.kill()
            await lab.wait_for(lambda: not platform.ami.connected, 5, "the AMI link seen down")
            await lab.asterisk.start()
            await lab.wait_for(lambda: platform.reconnects > reconnects, 15, "the AMI client reconnected")
            assert platform.ami.connected
            await lab.wait_for(lambda: not platform.picture.calls, 5, "the dead call gone from the picture")
            await platform.flush()
            [closed] = platform.store.all_calls()
            assert closed.id == dead.id
            assert closed.outcome == "answered"
            assert closed.answered_at is not None and closed.ended_at is not None
            assert closed.ended_at >= closed.answered_at
            assert closed.hangup_cause is None  # Asterisk died: nobody said why the call ended
            assert not platform.picture.waiting
            assert all(op.offered_call is None and op.on_call is None for op in platform.picture.operators.values())
            assert platform.picture.counters == dict.fromkeys(COUNTERS, 0) | {"offered": 1, "answered": 1}

            await lab.phones.hangup(dead.operator)  # the softphone still holds the call Asterisk took with it
            await lab.register_all()
            # Closing the call started its wrap-up; after it, the operator is free again, not stuck on the dead call.
            await lab.wait_for(lambda: _all_available(lab), 10, "both operators available")
            await _operators_answer(lab, talk_s=1.0)
            result = await _one_call(lab)
            assert result.all_successful, result
            await lab.wait_idle()
            await platform.flush()
            [after] = [r for r in platform.store.all_calls() if r.id != dead.id]
            assert after.outcome == "answered" and after.hangup_cause == 16
            assert after.operator in {op.sip_user for op in lab.site.operators}
            assert platform.errors == []
            await _settled(callers)
        assert await lab.leaks() == []


async def test_ami_action_pending_at_the_kill_fails_and_is_not_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An action waiting on a frozen Asterisk fails with AmiDisconnectedError at kill -9 and is never sent again."""
    async with LabStack(tmp_path, operators=2) as lab:
        assert lab.platform and lab.asterisk and lab.asterisk.proc
        platform, ami = lab.platform, lab.platform.ami
        sent: list[str] = []
        send = ami._send  # the one door every action goes through: a spy on it sees what reaches the wire

        async def spy(link: Any, name: str, *args: Any) -> Any:
            sent.append(name)
            return await send(link, name, *args)

        monkeypatch.setattr(ami, "_send", spy)
        pid = lab.asterisk.proc.pid
        os.killpg(pid, signal.SIGSTOP)  # frozen, Asterisk cannot answer: the action is surely pending at the kill
        try:
            await lab.wait_for(lambda: _frozen(pid), 5, "every Asterisk thread stopped")
            pending = asyncio.create_task(ami.action("CoreStatus", timeout=30))
            await lab.wait_for(lambda: "CoreStatus" in sent, 5, "CoreStatus sent")
        finally:
            await lab.asterisk.kill()
        with pytest.raises(AmiDisconnectedError):
            await pending
        reconnects = platform.reconnects
        await lab.asterisk.start()
        await lab.wait_for(lambda: platform.reconnects > reconnects, 15, "the AMI client reconnected")
        assert (await ami.action("Ping"))["Ping"] == "Pong"
        assert sent.count("CoreStatus") == 1
        # After the kill: logins and the rebuild's lists (retried while Asterisk boots), pings; nothing else.
        assert set(sent[sent.index("CoreStatus") + 1 :]) <= {"Login", "DeviceStateList", "CoreShowChannels", "Ping"}
        await lab.register_all()
        assert await lab.leaks() == []


async def test_redis_killed_calls_still_routed_and_recorded_then_live_state_written_again(tmp_path: Path) -> None:
    """Redis is not on the call path: calls flow while it is dead; once back, it mirrors the picture again."""
    async with LabStack(tmp_path, operators=2) as lab:
        assert lab.site and lab.platform
        platform = lab.platform
        await _operators_answer(lab, talk_s=1.5)
        await lab.wait_for(lambda: platform.live.healthy, 5, "the live state written")
        async with _callers(lab, calls=4, talk_s=20, timeout=40, rate=1) as callers:
            await lab.wait_for(lambda: _answered_calls(platform) >= 1, 15, "a call answered")
            await lab.redis.kill()
            await lab.wait_for(lambda: not platform.live.healthy, 5, "the platform noticing Redis is gone")
            result = await callers
        assert result.all_successful, result
        await lab.wait_idle()
        await platform.flush()
        records = platform.store.all_calls()
        assert len(records) == 4
        assert all(r.outcome == "answered" and r.ended_at is not None for r in records)
        assert not platform.live.healthy
        # Wrap-ups over before Redis comes back: its first write must say so, not replay the last calls' state.
        await lab.wait_for(lambda: _all_available(lab), 10, "operators available after their wrap-ups")

        await lab.redis.start()  # same port: the platform's client finds it again by itself
        await lab.wait_for(lambda: platform.live.healthy, 3, "the live state written again")
        live = await platform.live.read()
        assert live == {
            "operators": platform.picture.operator_states(platform.clock()),
            "inbound": platform.picture.counters,
            "calls": 0,
        }
        assert set(live["operators"].values()) == {Presence.AVAILABLE.value}
        assert platform.picture.counters == dict.fromkeys(COUNTERS, 0) | {"offered": 4, "answered": 4}
        assert await lab.leaks() == []


async def _crash(platform: Platform) -> None:
    """The platform process dies: its tasks stop where they are, nothing more is written, its sockets close."""
    tasks = platform._tasks  # a crash is the one thing the platform's public API cannot do
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
    platform._pending.clear()  # what was not flushed dies with the process
    await platform.agi.stop()  # frees the FastAGI port for the next process
    await platform.ami.close()


@contextlib.asynccontextmanager
async def _restarted(lab: LabStack) -> AsyncIterator[Platform]:
    """A new platform process on the same site, its picture built; the stack still stops the one it started."""
    assert lab.site
    first, second = lab.platform, Platform(lab.site)
    await second.start()
    lab.platform = second  # leaks() asks the running platform
    try:
        await lab.wait_for(lambda: second.picture.built, 10, "the new platform's picture built")
        yield second
    finally:
        await second.stop()
        lab.platform = first


async def test_platform_crash_new_platform_closes_dead_calls_and_keeps_live_ones(tmp_path: Path) -> None:
    """After a crash with two calls up, one ends unseen: the next platform closes its record and follows the other."""
    async with LabStack(tmp_path, operators=2) as lab:
        assert lab.site and lab.platform and lab.asterisk and lab.phones
        first = lab.platform
        await _operators_answer(lab, talk_s=None)
        async with _callers(lab, calls=2, talk_s=60, timeout=60) as callers:
            await lab.wait_for(lambda: _answered_calls(first) == 2, 15, "both calls answered")
            await _answered_in_sql(first, 2)
            by_operator = {str(r.operator): r for r in first.picture.calls.values()}
            gone_op, kept_op = sorted(by_operator)
            gone, kept = by_operator[gone_op], by_operator[kept_op]
            await _crash(first)

            await lab.phones.hangup(gone_op)  # this call ends while no platform is watching
            await _until_channels(lab, 2)  # the ended call's caller and operator channels are gone
            async with _restarted(lab) as second:
                await second.flush()
                records = {r.id: r for r in second.store.all_calls()}
                assert records[gone.id].ended_at is not None
                assert records[gone.id].outcome == "answered" and records[gone.id].hangup_cause is None
                assert records[kept.id].ended_at is None
                assert set(second.picture.calls) == {kept.uniqueid}
                # The calls it learned from SQL are counted, so its counters add up (both were answered).
                assert second.picture.counters == dict.fromkeys(COUNTERS, 0) | {"offered": 2, "answered": 2}
                operators = second.picture.operators
                assert operators[kept_op].phone_state not in FREE_STATES and operators[kept_op].offered_call is None
                assert operators[gone_op].phone_state in FREE_STATES and operators[gone_op].offered_call is None
                # Their logins came back from the queue_log (the test below pins that on its own).
                assert _presence(second, kept_op) is Presence.ON_CALL
                assert _presence(second, gone_op) is Presence.AVAILABLE

                await lab.phones.hangup(kept_op)  # the call it kept is followed to its end
                await lab.wait_idle()
                await second.flush()
                ended = next(r for r in second.store.all_calls() if r.id == kept.id)
                assert ended.ended_at is not None and ended.outcome == "answered" and ended.hangup_cause == 16
                result = await _settled(callers)
                assert result is not None and result.all_successful, result
                assert second.errors == []
                assert await lab.leaks() == []


async def test_platform_crash_operators_keep_their_login_and_pause(tmp_path: Path) -> None:
    """A platform restarted mid-shift keeps who was logged in, out and paused: the next caller reaches an operator."""
    async with LabStack(tmp_path, operators=3) as lab:
        assert lab.site and lab.platform
        first = lab.platform
        await _operators_answer(lab, talk_s=1.0)
        free, paused, away = sorted(op.sip_user for op in lab.site.operators)
        assert first.operator_command(paused, "pause", "1", first.clock()) == "dictate/paused"
        assert first.operator_command(away, "logout", "", first.clock()) == "agent-loggedoff"
        await first.flush()  # nothing of it is left to a flush the crash would cut short
        await _crash(first)

        async with _restarted(lab) as second:
            presences = {user: _presence(second, user) for user in (free, paused, away)}
            assert presences == {free: Presence.AVAILABLE, paused: Presence.PAUSED, away: Presence.LOGGED_OUT}
            result = await _one_call(lab)
            assert result.all_successful, result
            await lab.wait_idle()
            await second.flush()
            [record] = second.store.all_calls()
            assert record.outcome == "answered" and record.operator == free
            assert second.errors == []
            assert await lab.leaks() == []


async def _until_channels(lab: LabStack, count: int, timeout: float = 10.0) -> None:
    """Until Asterisk has exactly `count` channels (asked over its CLI: no platform may be running)."""
    assert lab.asterisk
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        out = await lab.asterisk.cli("core show channels concise")
        channels = [line for line in out.splitlines() if line.strip()]
        if len(channels) == count:
            return
        if loop.time() > deadline:
            raise LabError(f"Asterisk has {channels}, not {count} channels, after {timeout}s")
        await asyncio.sleep(0.1)
