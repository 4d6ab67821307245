"""The picture's call moves: a caller leaving a queue at its maximum wait, and an operator transferring a call.

A mixin of Picture (switchboard/picture.py). A move to another queue or operator closes the call's record for the
queue it leaves and opens a new one (same caller channel), as app_queue logs a new ENTERQUEUE in the new queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acd import queue_log as qlog
from acd import stats
from acd.model import QueueRule
from acd.values import evolve
from asterisk_conf import variables
from switchboard.picture_state import PictureState
from switchboard.store.calls import CallRecord

if TYPE_CHECKING:
    from switchboard.picture import Arrival, Waiter

NO_QUEUE = QueueRule("")
# How a caller leaves a queue without an operator, in queue_log's words.
LEAVING: dict[str, Callable[..., qlog.QueueLogEntry]] = {
    "timeout": qlog.exit_with_timeout,
    "callback": qlog.exit_with_timeout,  # with a key pressed: EXITWITHKEY (see _leave_line)
    "voicemail": qlog.exit_with_timeout,
    "overflow": qlog.exit_with_timeout,
    "no_operator": qlog.exit_empty,
    "abandoned": qlog.abandon,
}
TIMED_OUT = frozenset({"timeout", "callback", "voicemail", "overflow"})


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A caller who waited the maximum and asked to be called back, or left a voice message: a task for the queue."""

    call_id: str
    queue: str
    phone: str
    kind: str  # callback | voicemail
    requested_at: float
    message: str | None = None  # the voice message's file


class CallMoves(PictureState):
    def waiter_of(self, uniqueid: str) -> Waiter | None:
        return next((w for w in self.waiting.values() if w.uniqueid == uniqueid), None)

    def voicemail_path(self, uniqueid: str) -> str:
        record = self.calls.get(uniqueid)
        return f"{self.recordings_dir}/voicemail/{record.id}.wav" if record is not None else ""

    def leave(self, uniqueid: str, now: float, outcome: str = "timeout", key: str = "") -> Arrival | None:
        """The caller leaves the queue without an operator (maximum wait); a ringing call is the Dial's business.

        `outcome` says how: timeout (apologised to), callback (pressed `key` to be called back), voicemail (leaves
        a message), overflow (moved to the queue's overflow queue: the new place in line is returned).
        """
        now = self._clock(now)
        if self.waiter_of(uniqueid) is None:
            return None
        record = self.calls[uniqueid]
        self._finish_waiting(uniqueid, outcome, now, key)
        if outcome in ("callback", "voicemail"):
            message = self.voicemail_path(uniqueid) if outcome == "voicemail" else None
            self.callback_requests.append(
                CallbackRequest(record.id, record.queue or "", record.caller, outcome, now, message)
            )
        if outcome != "overflow":
            return None
        target = self.site.queue(record.queue or "").overflow_to or ""
        self._close_segment(self.calls[uniqueid], now)
        call = self.rules[target].call(str(uuid.uuid4()), record.hotline or "", now)
        return self._enter(uniqueid, record.caller, record.hotline or "", call, now)

    def route_outbound(self, uniqueid: str, number: str, queue: str, now: float) -> Arrival:
        """A person answered a dialer's call: the campaign's queue takes it, for its operators in session mode only
        (a phone that rings first cannot reach the person within the 2 s the law allows).

        `number` is the number dialled (the record's caller). A call already known (a retried AGI) is requeued.
        """
        now = self._clock(now)
        if uniqueid in self.calls:
            return self.route_call(uniqueid, number, "", now)
        call = evolve(self.rules[queue].call(str(uuid.uuid4()), "", now), session_only=True)
        return self._enter(uniqueid, number, "", call, now, direction="outbound")

    def transfer(self, uniqueid: str, target: str, now: float, extension: str = "") -> Arrival:
        """The operator sent the answered call on (blind transfer) to 'queue:NAME' or 'operator:SIP_USER'.

        An unknown target sends the caller back to the queue they came from rather than dropping them.
        """
        from switchboard.picture import Arrival, RouteResult

        now = self._clock(now)
        record = self.calls.get(uniqueid)
        if record is None:
            return Arrival(result=RouteResult("", "", "", None, "no call to transfer"))
        if record.answered_at is None:  # routed again before its answer: a retry, or back from a ring-no-answer
            return self.route_call(uniqueid, record.caller, record.hotline or "", now)
        kind, _, name = target.partition(":")
        if not (kind == "queue" and name in self.rules) and not (kind == "operator" and name in self.operators):
            kind, name = "queue", record.queue or ""
        target = f"{kind}:{name}"
        self.end_call(record, now, None, transferred_to=target, extension=extension or target)
        # The operator's leg hangs up after the transfer: that is not the end of the caller's new call.
        self.completed_by_agent.discard(uniqueid)
        for agent in [a for a, caller in self.agent_channels.items() if caller == uniqueid]:
            del self.agent_channels[agent]
        rule = self.rules.get(record.queue or "", NO_QUEUE) if kind == "operator" else self.rules[name]
        call = rule.call(str(uuid.uuid4()), record.hotline or "", now)
        if kind == "operator":
            call = evolve(call, operator=name, requires={}, steps=())
            self.targets[uniqueid] = name
        # MixMonitor goes on recording the caller's channel into the same file.
        return self._enter(uniqueid, record.caller, record.hotline or "", call, now, record.recording)

    def _transfer_line(self, record: CallRecord, now: float, extension: str) -> qlog.QueueLogEntry:
        return qlog.blind_transfer(
            now=now, callid=record.uniqueid, queue=record.queue or "NONE", agent=record.operator or "NONE",
            extension=extension, context=variables.CTX_TRANSFER, entered_at=record.started_at,
            answered_at=record.answered_at or now, original_position=self.original_positions.get(record.uniqueid, 1),
        )  # fmt: skip

    def _close_segment(self, record: CallRecord, now: float) -> None:
        """The call leaves this queue for another: its record for this queue ends here."""
        del self.calls[record.uniqueid]
        closed = evolve(record, ended_at=now)
        self.dirty[closed.id] = closed

    def _finish_waiting(self, uniqueid: str, outcome: str, now: float, key: str = "") -> None:
        record = self.calls.get(uniqueid)
        if record is None or record.outcome is not None:
            return
        waiter = self.waiter_of(uniqueid)
        position = self.position(uniqueid) or 1
        if waiter is not None:
            del self.waiting[waiter.call.call_id]
            self._forget_waiting(waiter.call.call_id)
        self._keep(evolve(record, outcome=outcome))
        self.counters[outcome] += 1
        queue = record.queue or "NONE"
        common: dict[str, Any] = {
            "now": now, "callid": uniqueid, "queue": queue, "position": position, "entered_at": record.started_at,
            "original_position": self.original_positions.get(uniqueid, 1),
        }  # fmt: skip
        if key:
            self.queue_log.append(qlog.exit_with_key(key=key, **common))
        else:
            self.queue_log.append(LEAVING[outcome](**common))
        if record.queue not in self.tallies:
            return
        tally = self.tallies[record.queue]
        if outcome in TIMED_OUT:
            self.tallies[record.queue] = stats.timed_out(tally)
        elif outcome == "abandoned":
            sl = self.rules[record.queue].sl_seconds
            self.tallies[record.queue] = stats.abandoned(tally, now - record.started_at, sl)

    if TYPE_CHECKING:

        def _forget_waiting(self, call_id: str) -> None: ...
