"""Calls moving on the real Asterisk: an operator's transfer to the supervisor queue, the maximum wait's callback
offer and voice message, a wrap-up code keyed from the phone, and a supervisor listening in (ChanSpy).

One lab stack for the module with its own site; `moves` puts every operator back to logged in, free and unpaused.
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

from acd.model import Presence
from switchboard.lab.sipp import SippResult, run_callers
from switchboard.lab.site import lab_site_dict
from switchboard.lab.stack import LabStack
from switchboard.queue_log import read_entries
from switchboard.store.calls import CallRecord
from tests.integration.test_acd_queueing import AmiWatch

SIPP = Path(__file__).resolve().parents[1] / "sipp"
LATE_MAX_WAIT_S = 3
OPERATORS: list[dict[str, Any]] = [
    {"sip_user": "op4001", "name": "Ola Berg", "skills": {"general": 3}, "extension": "41"},
    {"sip_user": "boss4002", "name": "Pia Lund", "skills": {"lead": 5}, "extension": "42", "supervisor": True},
    {"sip_user": "op4003", "name": "Rut Sand", "skills": {"late": 1}},
]
OLA, PIA, RUT = (op["sip_user"] for op in OPERATORS)
QUEUES: list[dict[str, Any]] = [
    {
        "name": "general", "requires": {"general": 1}, "wrapup_s": 1, "extension": "801", "max_wait_s": 30,
        "wrapup_codes": {"1": "billing", "2": "address"},
    },
    {"name": "supervisor", "requires": {"lead": 1}, "wrapup_s": 1, "extension": "809", "max_wait_s": 30},
    # Rut alone serves these, and she is paused in their tests: callers wait out the short maximum.
    {"name": "late", "requires": {"late": 1}, "max_wait_s": LATE_MAX_WAIT_S, "announce_every_s": 0,
     "on_max_wait": "callback"},
    {"name": "afterhours", "requires": {"late": 1}, "max_wait_s": LATE_MAX_WAIT_S, "announce_every_s": 0,
     "on_max_wait": "voicemail"},
]  # fmt: skip
HOTLINES = {"general": "+18005550301", "late": "+18005550303", "afterhours": "+18005550304"}


def _site_data(folder: Path) -> dict[str, Any]:
    data = lab_site_dict(folder, operators=0)
    data["skills"] = ["general", "lead", "late"]
    data["operators"] = [dict(op, secret=secrets.token_urlsafe(12)) for op in OPERATORS]
    data["queues"] = QUEUES
    data["hotlines"] = [{"number": number, "queue": queue} for queue, number in HOTLINES.items()]
    data["acd"] = {"ring_timeout_s": 10, "max_misses": 3, "login_required": True}
    return data


@pytest_asyncio.fixture(scope="module")
async def lab_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LabStack]:
    folder = tmp_path_factory.mktemp("moves")
    async with LabStack(folder, site_data=_site_data(folder)) as stack:
        yield stack


@pytest_asyncio.fixture
async def moves(lab: LabStack) -> AsyncIterator[LabStack]:
    assert lab.platform and lab.site and lab.phones
    platform = lab.platform
    if any(lab.platform_op_state(op.sip_user) == "UNAVAILABLE" for op in lab.site.operators):
        await lab.register_all()
    for op in lab.site.operators:
        state = platform.picture.operators[op.sip_user]
        if not state.logged_in:
            platform.operator_command(op.sip_user, "login", "", time.time())
        if state.paused_reason is not None:
            platform.operator_command(op.sip_user, "unpause", "", time.time())
        await lab.phones.configure(op.sip_user, answer_after_s=0.3, talk_s=1.5, auto_answer=True)
    await lab.wait_for(
        lambda: all(_presence(lab, op.sip_user) is Presence.AVAILABLE for op in lab.site.operators),  # type: ignore[union-attr]
        15,
        "every operator available",
    )
    errors = len(platform.errors)
    yield lab
    await lab.wait_idle(timeout=20)
    assert platform.errors[errors:] == []
    assert platform.picture.waiting == {}


def _presence(lab: LabStack, sip_user: str) -> Presence:
    assert lab.platform
    return lab.platform.picture.operators[sip_user].presence(time.time())


def _callers(
    lab: LabStack, queue: str, callers: dict[str, str], *, scenario: Path, seconds: float
) -> asyncio.Task[SippResult]:
    """SIPp callers on the queue's hotline: caller number -> the key pressed (caller_menu.xml-like scenarios)."""
    assert lab.site
    rows = [{"caller_number": number, "digits": key} for number, key in callers.items()]
    run = run_callers(
        scenario, "127.0.0.1", lab.site.asterisk.sip_port, number=HOTLINES[queue], calls=len(rows), rate=10,
        concurrency=len(rows), call_seconds=seconds, injection_rows=rows, timeout=60,
    )  # fmt: skip
    return asyncio.create_task(run)


def _late_key_scenario(folder: Path, after_ms: int) -> Path:
    """caller_menu.xml, pressing its key `after_ms` after the answer: during the maximum-wait prompt."""
    text = (SIPP / "caller_menu.xml").read_text(encoding="iso-8859-1")
    assert '<pause milliseconds="1000"/>' in text
    path = folder / "caller_late_key.xml"
    path.write_text(text.replace('<pause milliseconds="1000"/>', f'<pause milliseconds="{after_ms}"/>'), "iso-8859-1")
    return path


async def _records(lab: LabStack) -> list[CallRecord]:
    assert lab.platform
    await lab.platform.flush()
    return await asyncio.to_thread(lab.platform.store.all_calls)


async def test_transfer_to_the_supervisor_queue_reaches_the_supervisor_and_logs_blindtransfer(
    moves: LabStack,
) -> None:
    """Given a caller talking to an operator, when the operator transfers to the supervisor queue's extension,
    then the supervisor answers the same caller, and the records and queue_log tell both legs."""
    lab = moves
    assert lab.platform and lab.phones and lab.site
    await lab.phones.configure(OLA, answer_after_s=0.3, talk_s=None)  # stays on until the transfer
    await lab.phones.configure(PIA, answer_after_s=0.3, talk_s=2.0)  # the supervisor ends the call
    caller = "+79160000101"
    task = _callers(lab, "general", {caller: ""}, scenario=SIPP / "caller_menu.xml", seconds=30)
    await lab.wait_for(lambda: lab.platform.picture.operators[OLA].on_call is not None, 20, "Ola on the call")  # type: ignore[union-attr]
    await lab.platform.transfer_call(OLA, "809")
    result = await asyncio.wait_for(task, 60)
    assert result.all_successful, result
    await lab.wait_idle(timeout=20)
    legs = sorted((r for r in await _records(lab) if r.caller == caller), key=lambda r: r.started_at)
    assert [(r.queue, r.operator, r.outcome) for r in legs] == [
        ("general", OLA, "answered"), ("supervisor", PIA, "answered"),
    ]  # fmt: skip
    assert legs[0].transferred_to == "queue:supervisor" and legs[0].uniqueid == legs[1].uniqueid
    assert all(r.ended_at is not None for r in legs) and legs[0].recording == legs[1].recording
    assert Path(legs[0].recording or "").exists()
    lines = [(e.queue, e.event, e.agent) for e in read_entries(lab.site.queue_log_path) if e.callid == legs[0].uniqueid]
    assert lines == [
        ("general", "ENTERQUEUE", "NONE"), ("general", "CONNECT", OLA),
        ("general", "BLINDTRANSFER", OLA), ("supervisor", "ENTERQUEUE", "NONE"),
        ("supervisor", "CONNECT", PIA), ("supervisor", "COMPLETEAGENT", PIA),
    ]  # fmt: skip
    await lab.wait_for(lambda: _presence(lab, OLA) is Presence.AVAILABLE, 10, "Ola free after her wrap-up")


async def test_max_wait_callback_offer_creates_a_callback_task_for_the_caller_who_pressed_1(
    moves: LabStack, tmp_path: Path
) -> None:
    """Given the only operator for a queue paused, when two callers wait out the maximum and one presses 1 at the
    offer, then that one gets a callback task (EXITWITHKEY) and the other leaves with a timeout, both heard out."""
    lab = moves
    assert lab.platform and lab.site
    lab.platform.operator_command(RUT, "pause", "1", time.time())
    keen, silent = "+79160000201", "+79160000202"
    scenario = _late_key_scenario(tmp_path, after_ms=int((LATE_MAX_WAIT_S + 1.5) * 1000))
    result = await asyncio.wait_for(_callers(lab, "late", {keen: "1", silent: ""}, scenario=scenario, seconds=15), 60)
    assert result.all_successful, result  # both hung up by Asterisk after the goodbye or the apology
    by_caller = {r.caller: r for r in await _records(lab) if r.caller in (keen, silent)}
    assert by_caller[keen].outcome == "callback" and by_caller[silent].outcome == "timeout"
    tasks = await asyncio.to_thread(lab.platform.store.callbacks, "pending")
    assert [(t["phone"], t["queue"], t["kind"], t["id"]) for t in tasks if t["phone"] in (keen, silent)] == [
        (keen, "late", "callback", by_caller[keen].id)
    ]
    events = {e.callid: e.event for e in read_entries(lab.site.queue_log_path) if e.queue == "late"}
    assert events[by_caller[keen].uniqueid] == "EXITWITHKEY"
    assert events[by_caller[silent].uniqueid] == "EXITWITHTIMEOUT"


async def test_max_wait_voicemail_records_a_message_and_leaves_a_task_with_its_file(moves: LabStack) -> None:
    lab = moves
    assert lab.platform and lab.site
    lab.platform.operator_command(RUT, "pause", "1", time.time())
    caller = "+79160000301"
    result = await asyncio.wait_for(
        _callers(lab, "afterhours", {caller: ""}, scenario=SIPP / "caller_menu.xml", seconds=LATE_MAX_WAIT_S + 6), 60
    )
    assert result.all_successful, result  # the caller hangs up while recording: the message is kept
    await lab.wait_idle(timeout=20)  # the hangup applied to the picture before the record is read
    (record,) = [r for r in await _records(lab) if r.caller == caller]
    assert record.outcome == "voicemail" and record.ended_at is not None
    (task,) = [t for t in await asyncio.to_thread(lab.platform.store.callbacks) if t["phone"] == caller]
    assert task["kind"] == "voicemail" and task["message"] == f"{lab.site.recordings_path}/voicemail/{record.id}.wav"
    await lab.wait_for(lambda: Path(task["message"]).exists(), 10, "the voice message file")


async def test_wrap_up_code_keyed_from_the_phone_lands_on_the_last_call(moves: LabStack) -> None:
    """Given a call Ola answered and ended, when she dials *452 (the general queue's 'address'), then her call
    record carries the code; an unknown code changes nothing."""
    lab = moves
    assert lab.platform and lab.phones and lab.site
    caller = "+79160000401"
    result = await asyncio.wait_for(_callers(lab, "general", {caller: ""}, scenario=SIPP / "caller_menu.xml",
                                             seconds=20), 60)  # fmt: skip
    assert result.all_successful, result
    (record,) = [r for r in await _records(lab) if r.caller == caller]
    operator = record.operator or ""
    for code in ("452", "459"):
        since = lab.phones.mark()
        call_id = await lab.phones.dial(operator, f"sip:*{code}@127.0.0.1:{lab.site.asterisk.sip_port}")
        await lab.phones.wait_for(
            lambda e, c=call_id: e.ev == "disconnected" and e.get("call_id") == c, 15, since=since
        )  # type: ignore[misc]
    (record,) = [r for r in await _records(lab) if r.caller == caller]
    assert record.wrapup_code == "address"


async def test_a_supervisor_listens_in_on_an_operators_call_with_chanspy(moves: LabStack) -> None:
    lab = moves
    assert lab.platform and lab.phones and lab.site
    watch = AmiWatch(lab.site)
    await watch.start()
    try:
        await lab.phones.configure(OLA, answer_after_s=0.3, talk_s=6.0)
        task = _callers(lab, "general", {"+79160000501": ""}, scenario=SIPP / "caller_menu.xml", seconds=30)
        await lab.wait_for(lambda: lab.platform.picture.operators[OLA].on_call is not None, 20, "Ola on the call")  # type: ignore[union-attr]
        await lab.phones.dial(PIA, f"sip:*5141@127.0.0.1:{lab.site.asterisk.sip_port}")
        await lab.wait_for(
            lambda: any(e.get("Event") == "ChanSpyStart" for e in watch.events), 10, "the supervisor listening"
        )
        start = next(e for e in watch.events if e.get("Event") == "ChanSpyStart")
        assert (start.get("SpyeeChannel") or "").startswith(f"PJSIP/{OLA}-")
        assert (start.get("SpyerChannel") or "").startswith(f"PJSIP/{PIA}-")
        assert (await asyncio.wait_for(task, 60)).all_successful
        await lab.phones.hangup(PIA)
    finally:
        await watch.stop()


async def test_only_supervisors_have_the_listen_in_codes(moves: LabStack) -> None:
    """An operator dialling *5142 hears 'no service' (their context has no spy codes): no ChanSpy runs."""
    lab = moves
    assert lab.phones and lab.site
    watch = AmiWatch(lab.site)
    await watch.start()
    try:
        since = lab.phones.mark()
        call_id = await lab.phones.dial(OLA, f"sip:*5142@127.0.0.1:{lab.site.asterisk.sip_port}")
        await lab.phones.wait_for(lambda e: e.ev == "disconnected" and e.get("call_id") == call_id, 15, since=since)
        assert not any(e.get("Event") == "ChanSpyStart" for e in watch.events)
    finally:
        await watch.stop()


async def test_session_mode_bridges_each_caller_in_without_ringing_the_phone(moves: LabStack) -> None:
    """Given Ola in session mode (*46, her phone stays in her holding bridge), two callers in turn are answered by
    her without her phone ringing once; when she hangs up the session she is back in ring mode."""
    lab = moves
    assert lab.platform and lab.phones and lab.site
    picture = lab.platform.picture
    since = lab.phones.mark()
    await lab.phones.dial(OLA, f"sip:*46@127.0.0.1:{lab.site.asterisk.sip_port}")
    await lab.wait_for(lambda: picture.operators[OLA].session, 10, "Ola in session mode")
    for caller in ("+79160000601", "+79160000602"):
        result = await asyncio.wait_for(
            _callers(lab, "general", {caller: ""}, scenario=SIPP / "caller_menu.xml", seconds=3), 60
        )
        assert result.all_successful, result  # the caller hangs up: the operator stays in the bridge
        await lab.wait_for(lambda: _presence(lab, OLA) is Presence.AVAILABLE, 10, "Ola free in her bridge")
    records = [r for r in await _records(lab) if r.caller in ("+79160000601", "+79160000602")]
    assert [(r.operator, r.outcome) for r in records] == [(OLA, "answered")] * 2
    assert all(r.ended_at is not None and Path(r.recording or "").exists() for r in records)
    assert [e for e in lab.phones.events[since:] if e.ev == "incoming" and e.user == OLA] == []
    await lab.phones.hangup(OLA)
    await lab.wait_for(lambda: not picture.operators[OLA].session, 10, "the session over")
    await lab.wait_for(lambda: _presence(lab, OLA) is Presence.AVAILABLE, 10, "Ola in ring mode")
