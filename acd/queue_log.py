"""Asterisk 16 queue_log lines, built and parsed exactly as app_queue and the logger write them.

Pure: every instant is passed in (seconds since the epoch); nothing here reads a clock or touches a file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

# Sources, all in asterisk/asterisk: read at master b12e8b5924a8 (2021) and cross-checked against the Asterisk 15
# tree kolmisoft-company/asterisk-15 (e1569c4fbecd); every format below is identical in both, so in 16 too.
#
# main/logger.c ast_queue_log(): the file line is snprintf("%ld|%s|%s|%s|%s|", (long)time(NULL), callid,
# queuename, agent, event), then the event's own printf format, then fprintf(qlog, "%s\n") and fflush. Nothing is
# escaped or padded; an empty payload ("%s", "") leaves the line ending in '|'. The time is a whole time_t whatever
# queue_log_realtime_use_gmt says: that option and queue_adaptive_realtime only shape the realtime table's `time`
# and data1..data5 columns, never the file. The line is cut at 8191 bytes (char qlog_msg[8192]).
#
# apps/app_queue.c: one ast_queue_log() call per event, cited at each constructor. Durations are differences of
# whole time_t values ((long)(time(NULL) - qe->start)), so we subtract whole seconds too, never round a float.

NONE: Final = "NONE"  # app_queue's placeholder for "no agent" / "no call" / "no queue"
MANAGER: Final = "MANAGER"  # the callid app_queue writes for members added or removed over AMI

# A '|' would shift every later field for every parser; CR or LF would end the line; NUL would end the C string.
_FORBIDDEN: Final = frozenset("|\r\n\0")
_TIME: Final = re.compile(r"0|[1-9][0-9]*")  # what %ld prints for a time_t: no sign, no leading zero
AttendedMethod = Literal["BRIDGE", "APP", "LINK"]
_METHOD_ARITY: Final[dict[str, int]] = {"BRIDGE": 1, "APP": 1, "LINK": 2}


class QueueLogError(ValueError):
    """A value cannot go into a queue_log line, or a line cannot be read; the message names field and value."""


@dataclass(frozen=True, slots=True)
class QueueLogEntry:
    """One queue_log line: `time|callid|queue|agent|event|data[0]|data[1]|...`.

    `time` holds whole seconds, as Asterisk writes them, so an entry and its line carry the same information.
    `data` always has at least one field: an empty payload is `("",)`, the line then ending in '|'.
    """

    time: int
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...] = ("",)

    def __post_init__(self) -> None:
        if isinstance(self.time, bool) or not isinstance(self.time, int) or self.time < 0:
            raise QueueLogError(f"time = {self.time!r}: must be whole seconds since the epoch, 0 or more")
        for name in ("callid", "queue", "agent", "event"):
            _check(name, getattr(self, name))
        if not self.data:
            raise QueueLogError("data = (): an empty payload is ('',), as Asterisk writes a trailing '|'")
        for index, value in enumerate(self.data):
            _check(f"data[{index}]", value)


def format_line(entry: QueueLogEntry) -> str:
    """The line Asterisk's logger would write for this entry, without the trailing newline."""
    return "|".join((str(entry.time), entry.callid, entry.queue, entry.agent, entry.event, *entry.data))


def parse_line(line: str) -> QueueLogEntry:
    """Read one queue_log line (one trailing newline allowed); every field after the event goes to `data`.

    Lines Asterisk wrote with a raw '|' inside a caller ID still parse: the extra field lands in `data`.
    """
    text = line.removesuffix("\n")
    parts = text.split("|", 5)
    if len(parts) != 6:
        raise QueueLogError(f"line = {line!r}: needs time|callid|queue|agent|event|data")
    time, callid, queue, agent, event, payload = parts
    if not _TIME.fullmatch(time):
        raise QueueLogError(f"time = {time!r}: must be whole seconds as %ld prints them")
    return QueueLogEntry(int(time), callid, queue, agent, event, tuple(payload.split("|")))


def whole_seconds(instant: float) -> int:
    """The time_t that time(NULL) returns at this instant: the whole seconds, as %ld prints them."""
    if not math.isfinite(instant) or instant < 0:
        raise QueueLogError(f"instant = {instant!r}: must be seconds since the epoch, 0 or more")
    return math.floor(instant)


def free_text(value: str) -> str:
    """Free text from outside (caller ID, pause reason) made safe for a line.

    Asterisk writes these raw, so a '|' in a caller ID shifts every later field for every report tool; we write
    '/' instead, and a space for CR, LF or NUL. Identifiers are never rewritten this way: they are refused.
    """
    return value.replace("|", "/").replace("\r", " ").replace("\n", " ").replace("\0", " ")


# --- the caller's journey: app_queue.c queue_exec(), wait_our_turn(), try_calling(), wait_for_answer() -------


def enter_queue(*, now: float, callid: str, queue: str, caller_id: str, position: int, url: str = "") -> QueueLogEntry:
    """ENTERQUEUE url|callerid|position: the caller joined at `position` (1 is the head).

    queue_exec(): ast_queue_log(args.queuename, uniqueid, "NONE", "ENTERQUEUE", "%s|%s|%d", S_OR(args.url, ""),
    S_COR(caller number valid, caller number, ""), qe.opos). Only the caller ID *number* is written.
    """
    return _entry(now, callid, queue, NONE, "ENTERQUEUE", url, free_text(caller_id), _count(position, "position"))


def connect(
    *, now: float, callid: str, queue: str, agent: str, entered_at: float, member_callid: str, ringing: float
) -> QueueLogEntry:
    """CONNECT holdtime|member channel uniqueid|ringtime: the operator answered; `ringing` in seconds.

    try_calling(): "%ld|%s|%ld", (long)(time(NULL) - qe->start), ast_channel_uniqueid(peer),
    (long)(orig - to > 0 ? (orig - to) / 1000 : 0): the ring time is milliseconds cut down to whole seconds.
    """
    ring_s = _milliseconds(ringing, "ringing") // 1000
    return _entry(now, callid, queue, agent, "CONNECT", _elapsed(entered_at, now), member_callid, str(ring_s))


def complete_caller(
    *, now: float, callid: str, queue: str, agent: str, entered_at: float, answered_at: float, original_position: int
) -> QueueLogEntry:
    """COMPLETECALLER holdtime|calltime|origposition: the caller hung up a connected call.

    handle_hangup(): "%ld|%ld|%d", (long)(starttime - holdstart), (long)(time(NULL) - starttime), caller_pos,
    where holdstart is qe->start and starttime the member's time(&member->starttime) just after CONNECT.
    """
    return _entry(now, callid, queue, agent, "COMPLETECALLER", *_talk(entered_at, answered_at, now, original_position))


def complete_agent(
    *, now: float, callid: str, queue: str, agent: str, entered_at: float, answered_at: float, original_position: int
) -> QueueLogEntry:
    """COMPLETEAGENT holdtime|calltime|origposition: the operator hung up (same fields as COMPLETECALLER)."""
    return _entry(now, callid, queue, agent, "COMPLETEAGENT", *_talk(entered_at, answered_at, now, original_position))


def abandon(
    *, now: float, callid: str, queue: str, position: int, original_position: int, entered_at: float, agent: str = NONE
) -> QueueLogEntry:
    """ABANDON position|origposition|waittime: the caller hung up while waiting.

    queue_exec() stop: "NONE", "ABANDON", "%d|%d|%ld", qe.pos, qe.opos, (long)(time(NULL) - qe.start).
    try_calling() writes the member's name as agent instead when the caller hangs up during the member's
    announcement, hence `agent`.
    """
    return _entry(now, callid, queue, agent, "ABANDON", *_wait(position, original_position, entered_at, now))


def exit_with_timeout(
    *, now: float, callid: str, queue: str, position: int, original_position: int, entered_at: float
) -> QueueLogEntry:
    """EXITWITHTIMEOUT position|origposition|waittime: the queue's timeout ran out.

    queue_exec(): "NONE", "EXITWITHTIMEOUT", "%d|%d|%ld", qe.pos, qe.opos, (long)(time(NULL) - qe.start).
    """
    return _entry(now, callid, queue, NONE, "EXITWITHTIMEOUT", *_wait(position, original_position, entered_at, now))


def exit_empty(
    *, now: float, callid: str, queue: str, position: int, original_position: int, entered_at: float
) -> QueueLogEntry:
    """EXITEMPTY position|origposition|waittime: no operator left who could take the call (leavewhenempty).

    wait_our_turn() and queue_exec(): "NONE", "EXITEMPTY", "%d|%d|%ld", qe->pos, qe->opos, waited seconds.
    """
    return _entry(now, callid, queue, NONE, "EXITEMPTY", *_wait(position, original_position, entered_at, now))


def exit_with_key(
    *, now: float, callid: str, queue: str, key: str, position: int, original_position: int, entered_at: float
) -> QueueLogEntry:
    """EXITWITHKEY key|position|origposition|waittime: the caller left by dialling `key` (the digits dialled).

    queue_exec() stop: "NONE", "EXITWITHKEY", "%s|%d|%d|%ld", qe.digits, qe.pos, qe.opos, waited seconds.
    """
    _check("key", key)
    return _entry(now, callid, queue, NONE, "EXITWITHKEY", key, *_wait(position, original_position, entered_at, now))


def ring_no_answer(*, now: float, callid: str, queue: str, agent: str, ringing: float) -> QueueLogEntry:
    """RINGNOANSWER ringtime: an offered operator did not answer; written in milliseconds.

    rna(): ast_queue_log(qe->parent->name, caller uniqueid, membername, "RINGNOANSWER", "%d", rnatime).
    app_queue passes the whole timeout on expiry and whole seconds x 1000 on busy; we pass what we measured.
    """
    return _entry(now, callid, queue, agent, "RINGNOANSWER", str(_milliseconds(ringing, "ringing")))


def ring_canceled(*, now: float, callid: str, queue: str, agent: str, ringing: float) -> QueueLogEntry:
    """RINGCANCELED ringtime: the caller hung up (or left) while this operator's phone rang; milliseconds.

    wait_for_answer(), canceled_by_caller: "%d", (int)ast_tvdiff_ms(ast_tvnow(), start_time_tv), once per
    member still ringing. Present in 15 and 16 (not only in later releases).
    """
    return _entry(now, callid, queue, agent, "RINGCANCELED", str(_milliseconds(ringing, "ringing")))


# --- transfers: app_queue.c handle_blind_transfer(), log_attended_transfer() -----------------------------------


def blind_transfer(
    *,
    now: float,
    callid: str,
    queue: str,
    agent: str,
    extension: str,
    context: str,
    entered_at: float,
    answered_at: float,
    original_position: int,
) -> QueueLogEntry:
    """BLINDTRANSFER extension|context|holdtime|calltime|origposition.

    handle_blind_transfer(): "%s|%s|%ld|%ld|%d", exten, context, (long)(starttime - holdstart),
    (long)(time(NULL) - starttime), caller_pos.
    """
    talk = _talk(entered_at, answered_at, now, original_position)
    return _entry(now, callid, queue, agent, "BLINDTRANSFER", extension, context, *talk)


def attended_transfer(
    *,
    now: float,
    callid: str,
    queue: str,
    agent: str,
    method: AttendedMethod,
    method_data: Sequence[str],
    entered_at: float,
    answered_at: float,
    original_position: int,
) -> QueueLogEntry:
    """ATTENDEDTRANSFER method|method data|holdtime|calltime|origposition.

    log_attended_transfer(): "%s|%ld|%ld|%d" where the first %s is "BRIDGE|<bridge uniqueid>" (bridges merged),
    "APP|<application>" (app or local app) or "LINK|<channel 1>|<channel 2>" (bridges linked by Local channels).
    THREEWAY and failed transfers are not logged at all.
    """
    arity = _METHOD_ARITY.get(method)
    if arity is None or len(method_data) != arity:
        raise QueueLogError(f"method = {method!r}, method_data = {tuple(method_data)!r}: BRIDGE/APP take 1, LINK 2")
    talk = _talk(entered_at, answered_at, now, original_position)
    return _entry(now, callid, queue, agent, "ATTENDEDTRANSFER", method, *method_data, *talk)


# --- members: app_queue.c add/remove (aqm_exec, rqm_exec, manager_*), set_queue_member_pause(), set_member_paused()


def add_member(*, now: float, queue: str, agent: str, source: str = MANAGER, paused: bool = False) -> QueueLogEntry:
    """ADDMEMBER with payload "PAUSED" or "": the operator joined the queue.

    The callid is never "NONE" here: aqm_exec() writes the channel's uniqueid, manager_add_queue_member()
    "MANAGER", the CLI "CLI", realtime "REALTIME". Pass the login channel's uniqueid as `source` when an
    operator logs in from the phone; keep "MANAGER" for the web console. The agent is the interface, or the
    member name when log_membername_as_agent is set; ours is always the name we were given.
    AMI: "%s", paused ? "PAUSED" : "" (the AddQueueMember application always writes "").
    """
    return _entry(now, source, queue, agent, "ADDMEMBER", "PAUSED" if paused else "")


def remove_member(*, now: float, queue: str, agent: str, source: str = MANAGER) -> QueueLogEntry:
    """REMOVEMEMBER with an empty payload; `source` as for add_member() (rqm_exec(), manager_remove_queue_member())."""
    return _entry(now, source, queue, agent, "REMOVEMEMBER", "")


def pause(*, now: float, queue: str, agent: str, reason: str = "") -> QueueLogEntry:
    """PAUSE reason: the operator stops taking calls from `queue`.

    set_queue_member_pause(): ast_queue_log(q->name, "NONE", mem->membername, "PAUSE", "%s", S_OR(reason, "")),
    once per queue the member is in.
    """
    return _entry(now, NONE, queue, agent, "PAUSE", free_text(reason))


def unpause(*, now: float, queue: str, agent: str, reason: str = "") -> QueueLogEntry:
    """UNPAUSE reason: same call site and fields as PAUSE."""
    return _entry(now, NONE, queue, agent, "UNPAUSE", free_text(reason))


def pause_all(*, now: float, agent: str, reason: str = "") -> QueueLogEntry:
    """PAUSEALL reason: written once, before the per-queue PAUSE lines, when no queue was named.

    set_member_paused(): ast_queue_log("NONE", "NONE", mem->membername, "PAUSEALL", "%s", S_OR(reason, "")).
    """
    return _entry(now, NONE, NONE, agent, "PAUSEALL", free_text(reason))


def unpause_all(*, now: float, agent: str, reason: str = "") -> QueueLogEntry:
    """UNPAUSEALL reason: the counterpart of PAUSEALL, before the per-queue UNPAUSE lines."""
    return _entry(now, NONE, NONE, agent, "UNPAUSEALL", free_text(reason))


# --- helpers -----------------------------------------------------------------------------------------------------


def _entry(now: float, callid: str, queue: str, agent: str, event: str, *data: str) -> QueueLogEntry:
    return QueueLogEntry(whole_seconds(now), callid, queue, agent, event, data)


def _check(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise QueueLogError(f"{name} = {value!r}: must be a string")
    if not _FORBIDDEN.isdisjoint(value):
        raise QueueLogError(f"{name} = {value!r}: holds '|', CR, LF or NUL, which would break the line")


def _count(value: int, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueueLogError(f"{name} = {value!r}: must be a whole number, 0 or more")
    return str(value)


def _elapsed(since: float, until: float) -> str:
    """Whole seconds between two instants as app_queue counts them: time_t minus time_t, not a rounded float."""
    start, end = whole_seconds(since), whole_seconds(until)
    if end < start:
        raise QueueLogError(f"instants {since!r} -> {until!r}: the later one comes first")
    return str(end - start)


def _milliseconds(seconds: float, name: str) -> int:
    """Milliseconds as ast_tvdiff_ms() counts them between two microsecond timevals: rounded down."""
    if not math.isfinite(seconds) or seconds < 0:
        raise QueueLogError(f"{name} = {seconds!r}: must be seconds, 0 or more")
    return round(seconds * 1_000_000) // 1000


def _wait(position: int, original_position: int, entered_at: float, now: float) -> tuple[str, str, str]:
    return _count(position, "position"), _count(original_position, "original_position"), _elapsed(entered_at, now)


def _talk(entered_at: float, answered_at: float, now: float, original_position: int) -> tuple[str, str, str]:
    hold, talk = _elapsed(entered_at, answered_at), _elapsed(answered_at, now)
    return hold, talk, _count(original_position, "original_position")
