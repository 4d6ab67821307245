"""The skills ACD on the real Asterisk: callers held in queues, ring-no-answer, wrap-up, feature codes, abandons,
timeouts, widening, and the queue_log and tallies that report them.

One lab stack for the module, with its own site (five operators, four queues); the conftest's `lab` fixture cleans
between tests and checks for leaks, and `acd` below puts every operator back to logged in, unpaused and free.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from acd.model import Presence, Step
from acd.queue_log import QueueLogEntry
from acd.skills import holds, step_floor
from switchboard.ami.client import AmiClient, ConnectionChange
from switchboard.config import Site
from switchboard.lab.sipp import SippResult, run_callers
from switchboard.lab.site import lab_site_dict
from switchboard.lab.softphone import PhoneEvent
from switchboard.lab.stack import LabStack
from switchboard.picture import COUNTERS
from switchboard.queue_log import read_entries
from switchboard.store.calls import CallRecord

SIPP = Path(__file__).resolve().parents[1] / "sipp"
CALLER = SIPP / "caller.xml"
GIVES_UP = SIPP / "caller_hangup_early.xml"

WRAPUP_S = 2
RING_TIMEOUT_S = 5
MAX_MISSES = 2
TAX_WIDENS_AT_S = 4.0
ENGLISH_MAX_WAIT_S = 8
TALK_S = 1.5
OPERATORS: list[dict[str, Any]] = [
    {"sip_user": "op2001", "name": "Ada Lovelace", "skills": {"general": 5, "tax": 5}},
    {"sip_user": "op2002", "name": "Ben Okafor", "skills": {"general": 3, "tax": 3, "accounting": 2}},
    {"sip_user": "op2003", "name": "Cleo Duval", "skills": {"general": 2, "accounting": 5}},
    {"sip_user": "op2004", "name": "Dan Weber", "skills": {"general": 1, "tax": 2, "accounting": 3}},
    {"sip_user": "op2005", "name": "Eve Tanaka", "skills": {"english": 4}},
]
ADA, BEN, CLEO, DAN, EVE = (op["sip_user"] for op in OPERATORS)
QUEUES: list[dict[str, Any]] = [
    {"name": "general", "requires": {"general": 1}, "wrapup_s": WRAPUP_S, "max_wait_s": 20, "announce_every_s": 5},
    {
        "name": "tax", "requires": {"tax": 2}, "wrapup_s": WRAPUP_S, "max_wait_s": 20, "announce_every_s": 5,
        "steps": [{"after_s": 0.0, "min_level": 5}, {"after_s": TAX_WIDENS_AT_S, "min_level": 2}],
    },
    {
        "name": "accounting", "requires": {"accounting": 2}, "wrapup_s": WRAPUP_S, "max_wait_s": 20,
        "announce_every_s": 5, "steps": [{"after_s": 0.0, "min_level": 4}, {"after_s": 4.0, "min_level": 2}],
    },
    # Eve alone holds english: pausing her makes callers wait; a short max wait keeps the timeout test short.
    {
        "name": "english", "requires": {"english": 1}, "wrapup_s": WRAPUP_S, "max_wait_s": ENGLISH_MAX_WAIT_S,
        "announce_every_s": 3,
    },
]  # fmt: skip
HOTLINES = {"general": "+18005550101", "tax": "+18005550102", "accounting": "+18005550103", "english": "+18005550104"}
OUTCOME_LINES = {
    "answered": ("CONNECT",),
    "abandoned": ("ABANDON",),
    "timeout": ("EXITWITHTIMEOUT",),
    "no_operator": ("EXITEMPTY",),
}

# Every call record of the module, as each test left it: test_queue_log_and_tallies_match_the_call_records checks
# them all against the queue_log and the tallies (so a test that failed before it, mid-call, can fail it too).
_MODULE_RECORDS: dict[str, CallRecord] = {}


def _site_data(folder: Path) -> dict[str, Any]:
    data = lab_site_dict(folder, operators=0)
    data["operators"] = [dict(op, secret=secrets.token_urlsafe(12)) for op in OPERATORS]
    data["queues"] = QUEUES
    data["hotlines"] = [{"number": number, "queue": queue} for queue, number in HOTLINES.items()]
    data["acd"] = {"ring_timeout_s": RING_TIMEOUT_S, "max_misses": MAX_MISSES, "login_required": True}
    return data


class AmiWatch:
    """A second AMI login that keeps every event, for what the platform does not track (music on hold, prompts)."""

    def __init__(self, site: Site) -> None:
        self.client = AmiClient(
            str(site.asterisk.host), site.asterisk.ami_port, site.ami.user, site.ami.secret, name="test-watch"
        )
        self.events: list[Mapping[str, str]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.client.connect()
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for item in self.client.events():
            if not isinstance(item, ConnectionChange):
                self.events.append(item)

    async def stop(self) -> None:
        await self.client.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def of(self, uniqueid: str, name: str, since: int = 0) -> list[Mapping[str, str]]:
        return [e for e in self.events[since:] if e.get("Event") == name and e.get("Uniqueid") == uniqueid]


@pytest_asyncio.fixture(scope="module")
async def lab_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LabStack]:
    """Overrides the conftest's stack: this module's site, so the conftest's `lab` cleans and leak-checks it."""
    folder = tmp_path_factory.mktemp("acd")
    async with LabStack(folder, site_data=_site_data(folder)) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module")
async def ami_watch(lab_stack: LabStack) -> AsyncIterator[AmiWatch]:
    assert lab_stack.site
    watch = AmiWatch(lab_stack.site)
    await watch.start()
    yield watch
    await watch.stop()


@pytest_asyncio.fixture
async def acd(lab: LabStack) -> AsyncIterator[LabStack]:
    """The clean stack with every operator registered, logged in, unpaused, out of wrap-up and answering quickly."""
    assert lab.platform
    await _reset_operators(lab)
    errors = len(lab.platform.errors)
    yield lab
    with contextlib.suppress(Exception):
        await lab.wait_idle(timeout=20)
    for record in await _records(lab):
        _MODULE_RECORDS[record.id] = record
    if lab.platform.errors[errors:]:
        pytest.fail(f"the platform logged errors: {lab.platform.errors[errors:]}")
    picture = lab.platform.picture
    held = [s.sip_user for s in picture.operators.values() if s.offered_call or s.on_call]
    if picture.waiting or held:
        pytest.fail(f"left in the picture: waiting {list(picture.waiting)}, operators still holding a call {held}")


async def _reset_operators(lab: LabStack) -> None:
    assert lab.site and lab.platform and lab.phones
    platform, picture, operators = lab.platform, lab.platform.picture, lab.site.operators
    if any(lab.platform_op_state(op.sip_user) == "UNAVAILABLE" for op in lab.site.operators):
        await lab.register_all()
    for op in lab.site.operators:
        state = picture.operators[op.sip_user]
        if not state.logged_in:
            platform.operator_command(op.sip_user, "login", "", time.time())
        if state.paused_reason is not None or state.misses:
            platform.operator_command(op.sip_user, "unpause", "", time.time())
        await lab.phones.configure(op.sip_user, answer_after_s=0.3, talk_s=TALK_S, auto_answer=True)
    await lab.wait_for(
        lambda: all(_presence(lab, op.sip_user) is Presence.AVAILABLE for op in operators),
        15,
        "every operator available",
    )


# -- helpers ---------------------------------------------------------------------------------------------------------


def _presence(lab: LabStack, sip_user: str) -> Presence:
    assert lab.platform
    return lab.platform.picture.operators[sip_user].presence(time.time())


def _callers(
    lab: LabStack,
    queue: str,
    callers: list[str],
    *,
    scenario: Path = CALLER,
    seconds: float = 30,
    rate: float = 10,
    timeout: float = 60,
) -> asyncio.Task[SippResult]:
    """SIPp callers (one per caller number) on the queue's hotline, as a task; `seconds` is the caller's patience
    (caller.xml: how long it stays after the hotline answers, so an operator hangs up first)."""
    assert lab.site
    rows = [{"caller_number": number} for number in callers]
    run = run_callers(
        scenario, "127.0.0.1", lab.site.asterisk.sip_port, number=HOTLINES[queue], calls=len(rows), rate=rate,
        concurrency=len(rows), call_seconds=seconds, injection_rows=rows, timeout=timeout,
    )  # fmt: skip
    return asyncio.create_task(run)


async def _finished(task: asyncio.Task[SippResult]) -> SippResult:
    result = await asyncio.wait_for(task, 90)
    assert result.all_successful, result
    return result


def _live(lab: LabStack, caller: str) -> CallRecord | None:
    """The caller's call in the live picture (None until the route script has seen it, or once it ended)."""
    assert lab.platform
    return next((r for r in lab.platform.picture.calls.values() if r.caller == caller), None)


def _waiting(lab: LabStack, caller: str) -> bool:
    assert lab.platform
    record = _live(lab, caller)
    return record is not None and any(w.uniqueid == record.uniqueid for w in lab.platform.picture.waiting.values())


async def _records(lab: LabStack) -> list[CallRecord]:
    assert lab.platform
    await lab.platform.flush()
    return await asyncio.to_thread(lab.platform.store.all_calls)


async def _record_of(lab: LabStack, caller: str) -> CallRecord:
    [record] = [r for r in await _records(lab) if r.caller == caller]
    return record


async def _queue_log(lab: LabStack) -> list[QueueLogEntry]:
    assert lab.platform and lab.site
    await lab.platform.flush()
    return read_entries(lab.site.queue_log_path)


def _lines(entries: list[QueueLogEntry], event: str, *, callid: str | None = None, agent: str | None = None,
           since: float = 0) -> list[QueueLogEntry]:  # fmt: skip
    return [
        e
        for e in entries
        if e.event == event and e.time >= int(since) and callid in (None, e.callid) and agent in (None, e.agent)
    ]


def _incoming(lab: LabStack, since: int, user: str | None = None) -> list[PhoneEvent]:
    assert lab.phones
    return [e for e in lab.phones.events[since:] if e.ev == "incoming" and user in (None, e.user)]


async def _feature_code(lab: LabStack, user: str, code: str) -> None:
    """Dial a feature code from the operator's softphone and wait until Asterisk hangs up after the prompt."""
    assert lab.site and lab.phones
    since = lab.phones.mark()
    call_id = await lab.phones.dial(user, f"sip:{code}@127.0.0.1:{lab.site.asterisk.sip_port}")
    await lab.phones.wait_for(lambda e: e.ev == "disconnected" and e.get("call_id") == call_id, 15, since=since)


def _required(site: Site, queue: str, wait: float) -> dict[str, int]:
    """The level each required skill of `queue` needs after `wait` seconds, widening applied."""
    spec = site.queue(queue)
    floor = step_floor(tuple(Step(s.after_s, s.min_level) for s in spec.steps), wait)
    return {skill: max(level, floor, 1) for skill, level in spec.requires.items()}


async def _until(lab: LabStack, predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait for `predicate`; returns the wall-clock time it was first seen true."""
    await lab.wait_for(predicate, timeout, what)
    return time.time()


# -- the tests -------------------------------------------------------------------------------------------------------


async def test_all_busy_caller_waits_with_music_then_takes_the_first_operator_freed(
    acd: LabStack, ami_watch: AmiWatch
) -> None:
    """All general operators busy: the next caller waits on hold and goes to the first one freed, after wrap-up."""
    assert acd.site and acd.platform and acd.phones
    for user in (ADA, BEN, DAN):
        await acd.phones.configure(user, answer_after_s=0.3, talk_s=9.0)
    await acd.phones.configure(CLEO, answer_after_s=0.3, talk_s=2.5)
    busy = _callers(acd, "general", [f"+1555010000{n}" for n in range(4)])
    await acd.wait_for(
        lambda: all(_presence(acd, u) is Presence.ON_CALL for u in (ADA, BEN, CLEO, DAN)), 15, "all four on calls"
    )
    events_since = len(ami_watch.events)
    late = _callers(acd, "general", ["+15550100099"])
    entered = await _until(acd, lambda: _waiting(acd, "+15550100099"), 10, "the late caller waiting")
    assert acd.platform.agi.active_sessions >= 1  # the route script holds the caller
    uniqueid = _live(acd, "+15550100099").uniqueid  # type: ignore[union-attr]
    await acd.wait_for(lambda: ami_watch.of(uniqueid, "MusicOnHoldStart", events_since), 5, "music on hold")
    left = await _until(acd, lambda: not _waiting(acd, "+15550100099"), 15, "the late caller given an operator")
    await _finished(busy)
    await _finished(late)
    await acd.wait_idle()

    record = await _record_of(acd, "+15550100099")
    [cleo_first] = [r for r in await _records(acd) if r.operator == CLEO and r.caller != "+15550100099"]
    assert record.outcome == "answered" and record.operator == CLEO
    assert record.answered_at is not None and cleo_first.ended_at is not None
    assert record.answered_at >= cleo_first.ended_at + WRAPUP_S  # not before her wrap-up ended
    assert record.answered_at - record.started_at >= left - entered
    assert ami_watch.of(uniqueid, "MusicOnHoldStop", events_since)


async def test_ring_no_answer_sends_the_caller_back_to_the_head_and_to_another_operator(acd: LabStack) -> None:
    """Dan lets the call ring out (ring_timeout_s): RINGNOANSWER, and the caller, still first, goes to someone else."""
    assert acd.site and acd.platform and acd.phones
    await acd.phones.configure(DAN, auto_answer=False)  # general 1: the closest match for every general call
    since = acd.phones.mark()
    await _finished(_callers(acd, "general", ["+15550200001"]))
    record = await _record_of(acd, "+15550200001")
    entries = await _queue_log(acd)
    misses = _lines(entries, "RINGNOANSWER", callid=record.uniqueid)
    assert [m.agent for m in misses] == [DAN], "Dan was rung again for the call he let ring out"
    assert len(_incoming(acd, since, DAN)) == 1
    assert int(misses[0].data[0]) >= RING_TIMEOUT_S * 1000 - 100  # rang the full ring_timeout_s
    assert record.outcome == "answered" and record.operator not in (None, DAN)
    [connect] = _lines(entries, "CONNECT", callid=record.uniqueid)
    assert connect.agent == record.operator and int(connect.data[0]) >= RING_TIMEOUT_S  # its wait kept counting


async def test_operator_missing_max_misses_in_a_row_is_paused_and_not_rung_again(acd: LabStack) -> None:
    """After max_misses ring-no-answers Dan is paused for "missed calls" (PAUSE lines, PAUSED) and rung no more."""
    assert acd.site and acd.platform and acd.phones
    started = time.time()
    await acd.phones.configure(DAN, auto_answer=False)
    for n in range(MAX_MISSES):  # one caller per miss, or fewer while a missed call comes straight back to Dan
        if _presence(acd, DAN) is Presence.PAUSED:
            break
        await _finished(_callers(acd, "general", [f"+155502100{n}"]))
        assert (await _record_of(acd, f"+155502100{n}")).operator not in (None, DAN)
    state = acd.platform.picture.operators[DAN]
    assert state.paused_reason == "missed calls"
    assert _presence(acd, DAN) is Presence.PAUSED

    since = acd.phones.mark()
    await _finished(_callers(acd, "general", ["+15550210099"]))
    assert _incoming(acd, since, DAN) == []
    assert (await _record_of(acd, "+15550210099")).operator not in (None, DAN)

    entries = await _queue_log(acd)
    assert len(_lines(entries, "RINGNOANSWER", agent=DAN, since=started)) == MAX_MISSES
    pauses = _lines(entries, "PAUSE", agent=DAN, since=started)
    assert sorted((p.queue, p.data[0]) for p in pauses) == [
        (q, "missed calls") for q in sorted(acd.platform.picture.queues_of(DAN))
    ]


async def test_wrap_up_holds_the_operator_back_for_the_queues_wrapup_s(acd: LabStack) -> None:
    """After a call Eve gets no call for the queue's wrap-up time, though a caller waits for her; then she does."""
    assert acd.site and acd.platform and acd.phones
    await acd.phones.configure(EVE, answer_after_s=0.3, talk_s=2.0)
    first = _callers(acd, "english", ["+15550300001"])
    await acd.wait_for(lambda: _presence(acd, EVE) is Presence.ON_CALL, 10, "Eve on the first call")
    since = acd.phones.mark()
    second = _callers(acd, "english", ["+15550300002"])
    await acd.wait_for(lambda: _waiting(acd, "+15550300002"), 10, "the second caller waiting")
    await acd.wait_for(lambda: _presence(acd, EVE) is Presence.WRAP_UP, 10, "Eve in wrap-up")
    await _finished(first)
    assert _waiting(acd, "+15550300002")
    assert _incoming(acd, since, EVE) == []
    # Up to a position announcement later (queue-youarenext: 5.4 s): the caller is rung once it has been said.
    await acd.phones.wait_for(lambda e: e.ev == "incoming" and e.user == EVE, WRAPUP_S + 10, since=since)
    await _finished(second)
    done, then = await _record_of(acd, "+15550300001"), await _record_of(acd, "+15550300002")
    assert done.operator == then.operator == EVE
    assert then.answered_at is not None and done.ended_at is not None
    assert then.answered_at - done.ended_at >= WRAPUP_S


async def test_feature_codes_log_in_pause_and_unpause_from_the_softphone(acd: LabStack) -> None:
    """*42, *41, *432 and *44 dialed from Eve's phone change her presence, hold back calls while paused, and log."""
    assert acd.site and acd.platform and acd.phones
    started = time.time()
    await _feature_code(acd, EVE, "*42")
    assert _presence(acd, EVE) is Presence.LOGGED_OUT
    await _feature_code(acd, EVE, "*41")
    await acd.wait_for(lambda: _presence(acd, EVE) is Presence.AVAILABLE, 5, "Eve available")
    await _feature_code(acd, EVE, "*432")
    await acd.wait_for(lambda: _presence(acd, EVE) is Presence.PAUSED, 5, "Eve paused")
    assert acd.platform.picture.operators[EVE].paused_reason == "training"

    since = acd.phones.mark()
    caller = _callers(acd, "english", ["+15550400001"])
    await acd.wait_for(lambda: _waiting(acd, "+15550400001"), 10, "the caller waiting")
    await asyncio.sleep(1.5)  # a few engine ticks: the paused operator is still not offered the call
    assert _incoming(acd, since, EVE) == []
    await _feature_code(acd, EVE, "*44")
    await acd.phones.wait_for(lambda e: e.ev == "incoming" and e.user == EVE, 15, since=since)
    await _finished(caller)
    assert (await _record_of(acd, "+15550400001")).operator == EVE

    entries = await _queue_log(acd)
    assert [e.event for e in entries if e.agent == EVE and e.time >= int(started)
            and e.event in ("REMOVEMEMBER", "ADDMEMBER", "PAUSE", "UNPAUSE")] == [
        "REMOVEMEMBER", "ADDMEMBER", "PAUSE", "UNPAUSE"]  # fmt: skip
    assert _lines(entries, "PAUSE", agent=EVE, since=started)[0].data == ("training",)
    assert all(e.queue == "english" for e in _lines(entries, "ADDMEMBER", agent=EVE, since=started))


async def test_caller_hanging_up_while_waiting_is_abandoned_and_rings_nobody(acd: LabStack) -> None:
    """A waiting caller who gives up is recorded abandoned (ABANDON) and no phone rings for them afterwards."""
    assert acd.site and acd.platform and acd.phones
    acd.platform.operator_command(EVE, "pause", "5", time.time())
    since = acd.phones.mark()
    result = await _finished(_callers(acd, "english", ["+15550500001"], scenario=GIVES_UP, seconds=2.5))
    assert result.successful == 1
    await acd.wait_idle()
    after_hangup = acd.phones.mark()
    acd.platform.operator_command(EVE, "unpause", "", time.time())
    await asyncio.sleep(1.5)  # a few engine ticks with Eve available
    assert _incoming(acd, since) == []
    assert _incoming(acd, after_hangup) == []
    record = await _record_of(acd, "+15550500001")
    assert record.outcome == "abandoned" and record.answered_at is None
    [abandon] = _lines(await _queue_log(acd), "ABANDON", callid=record.uniqueid)
    assert abandon.queue == "english"
    assert int(abandon.data[2]) >= 2  # waited seconds


async def test_unregistered_phone_is_never_offered_a_call(acd: LabStack) -> None:
    """Dan's phone unregistered: five general calls go to the three others who serve general (two wait), never Dan."""
    assert acd.site and acd.platform and acd.phones
    since = acd.phones.mark()
    await acd.phones.unregister(DAN)
    try:
        await acd.wait_for(lambda: _presence(acd, DAN) is Presence.UNREGISTERED, 10, "Dan unregistered")
        await _finished(_callers(acd, "general", [f"+155506000{n}" for n in range(5)]))
        records = await _records(acd)
        assert len(records) == 5
        assert all(r.outcome == "answered" and r.operator in {ADA, BEN, CLEO} for r in records)
        assert _incoming(acd, since, DAN) == []
    finally:
        await acd.register_all()


async def test_max_wait_sends_the_caller_out_with_timeout_and_an_apology(acd: LabStack, ami_watch: AmiWatch) -> None:
    """Nobody free for english's max wait: the caller leaves with timeout (EXITWITHTIMEOUT) and hears 'sorry'.

    The caller hangs up during the apology (tt-allbusy lasts 9 s): the call stays a timeout, not an abandon.
    """
    assert acd.site and acd.platform and acd.phones
    acd.platform.operator_command(EVE, "pause", "1", time.time())
    events_since = len(ami_watch.events)
    caller = _callers(acd, "english", ["+15550700001"], scenario=GIVES_UP, seconds=ENGLISH_MAX_WAIT_S + 4)
    await acd.wait_for(lambda: _waiting(acd, "+15550700001"), 10, "the caller waiting")
    uniqueid = _live(acd, "+15550700001").uniqueid  # type: ignore[union-attr]
    await _finished(caller)
    await acd.wait_idle()
    record = await _record_of(acd, "+15550700001")
    assert record.outcome == "timeout" and record.operator is None
    [leaving] = _lines(await _queue_log(acd), "EXITWITHTIMEOUT", callid=uniqueid)
    assert leaving.queue == "english" and int(leaving.data[2]) >= ENGLISH_MAX_WAIT_S - 1
    playbacks = [e.get("AppData") for e in ami_watch.of(uniqueid, "Newexten", events_since)
                 if e.get("Application") == "Playback"]  # fmt: skip
    assert playbacks == ["sorry&tt-allbusy"]
    # Music from the start, restarted after each position announcement (every 3 s of the 8 s wait).
    assert len(ami_watch.of(uniqueid, "MusicOnHoldStart", events_since)) >= 2


async def test_three_hotlines_are_answered_by_operators_holding_the_skills_then_needed(acd: LabStack) -> None:
    """Callers on three hotlines each reach an operator with the level their queue needed at that moment (widened)."""
    assert acd.site and acd.platform and acd.phones
    acd.platform.operator_command(ADA, "pause", "3", time.time())  # the only tax 5: the tax call must widen
    tasks = [_callers(acd, queue, [f"+155508000{n}"]) for n, queue in enumerate(("general", "tax", "accounting"))]
    for task in tasks:
        await _finished(task)
    await acd.wait_idle()
    records = {r.queue or "": r for r in await _records(acd)}
    assert set(records) == {"general", "tax", "accounting"}
    skills = {op.sip_user: dict(op.skills) for op in acd.site.operators}
    waits = {}
    for queue, record in records.items():
        assert record.outcome == "answered" and record.operator and record.answered_at is not None
        waits[queue] = wait = record.answered_at - record.started_at
        assert holds(skills[record.operator], _required(acd.site, queue, wait), 0), (queue, record.operator, wait)
    tax_operator = records["tax"].operator or ""
    assert tax_operator != ADA and waits["tax"] >= TAX_WIDENS_AT_S
    assert not holds(skills[tax_operator], _required(acd.site, "tax", 0.0), 0)  # only the widened step let them in


async def test_queue_log_and_tallies_match_the_call_records(acd: LabStack) -> None:
    """Every call record of the module has its ENTERQUEUE and closing lines; the live tallies count the records."""
    assert acd.site and acd.platform and acd.phones
    acd.platform.operator_command(EVE, "pause", "4", time.time())
    tasks = [_callers(acd, queue, [f"+155509000{n}"]) for n, queue in enumerate(("general", "tax", "accounting"))]
    tasks.append(_callers(acd, "english", ["+15550900009"], scenario=GIVES_UP, seconds=2))
    for task in tasks:
        await _finished(task)
    await acd.wait_idle()
    mine = await _records(acd)
    assert sorted(r.outcome or "" for r in mine) == ["abandoned", "answered", "answered", "answered"]
    counters = {"offered": len(mine), **{o: sum(r.outcome == o for r in mine) for o in COUNTERS if o != "offered"}}
    assert acd.platform.picture.counters == counters  # the conftest zeroes them between tests
    for record in mine:
        _MODULE_RECORDS[record.id] = record
    records = list(_MODULE_RECORDS.values())

    assert _queue_log_problems(records, await _queue_log(acd)) == []
    for queue, tally in acd.platform.picture.tallies.items():
        counted = _tally_of([r for r in records if r.queue == queue], acd.site.queue(queue).sl_seconds)
        kept = {name: getattr(tally, name) for name in counted}
        assert kept == pytest.approx(counted, abs=0.01), queue


def _queue_log_problems(records: list[CallRecord], entries: list[QueueLogEntry]) -> list[str]:
    """What is missing, doubled, misordered or misattributed in the queue_log lines of each call record."""
    problems = []
    for record in records:
        lines = [e for e in entries if e.callid == record.uniqueid]
        events = [e.event for e in lines]
        expected = ["ENTERQUEUE", *OUTCOME_LINES.get(record.outcome or "", ("(an outcome)",))]
        if record.outcome == "answered":
            expected.append("COMPLETEAGENT" if "COMPLETEAGENT" in events else "COMPLETECALLER")
        counts = {event: events.count(event) for event in expected}
        if set(counts.values()) != {1}:
            problems.append(f"{record.caller} ({record.outcome}): {counts} in {events}")
        elif [e for e in events if e in expected] != expected:
            problems.append(f"{record.caller}: lines out of order: {events}")
        if any(e.queue != (record.queue or "NONE") for e in lines):
            problems.append(f"{record.caller}: lines in another queue than {record.queue}: {lines}")
        talking = [e for e in lines if e.event in ("CONNECT", "COMPLETEAGENT", "COMPLETECALLER")]
        if any(e.agent != record.operator for e in talking):
            problems.append(f"{record.caller}: CONNECT/COMPLETE not for {record.operator}: {talking}")
    return problems


def _tally_of(records: list[CallRecord], sl_seconds: float) -> dict[str, float]:
    """A queue's tally counted from its call records (the fields of acd.stats.QueueTally)."""
    answered = [(r.started_at, r.answered_at, r.ended_at) for r in records if r.outcome == "answered"]
    waits = [answer - start for start, answer, _ in answered if answer is not None]
    return {
        "offered": len(records),
        "answered": len(answered),
        "answered_in_sl": sum(wait <= sl_seconds for wait in waits),
        "abandoned": sum(r.outcome == "abandoned" for r in records),
        "timed_out": sum(r.outcome == "timeout" for r in records),
        "completed": sum(end is not None for _, _, end in answered),
        "wait_answered_s": sum(waits),
        "talk_s": sum(end - answer for _, answer, end in answered if answer is not None and end is not None),
    }
