"""The platform's live picture: operators, waiting calls and calls in progress, kept in memory from events.

Decisions come from acd/ (pure); this module keeps the state they read and records what they decided.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from acd import operators as ops
from acd import queue_log as qlog
from acd import stats
from acd.index import OperatorIndex, WaitingIndex
from acd.matching import assign
from acd.model import CallView, MissPolicy, Presence
from acd.routing import choose_operator
from acd.skills import holds
from acd.values import evolve
from switchboard.config import Site
from switchboard.events import (
    CallerHungUp,
    Event,
    OperatorAnswered,
    OperatorMissed,
    OriginateFailed,
    PhoneStateChanged,
)
from switchboard.picture_moves import NO_QUEUE, CallbackRequest, CallMoves
from switchboard.picture_operators import OperatorDesk, session_bridge, widest
from switchboard.picture_rebuild import Rebuild
from switchboard.store.calls import CallRecord

FREE_STATES = frozenset({ops.FREE_PHONE})
COUNTERS = (
    "offered", "answered", "abandoned", "timeout", "no_operator", "callback", "voicemail", "overflow", "transferred",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RouteResult:
    """What the route script tells the dialplan."""

    call_id: str
    target: str  # Dial string, "" when nobody is free
    recording: str  # absolute path, "" when not recorded
    operator: str | None
    reason: str


@dataclass
class Waiter:
    """A caller held in a queue; `notify` is called once, with the operator chosen for them.

    An operator chosen before the route script set `notify` (in the same step that queued the call) waits in
    `assigned`, which the script reads first.
    """

    call: CallView
    uniqueid: str
    original_position: int
    notify: Callable[[RouteResult], None] | None = None
    assigned: RouteResult | None = None


@dataclass(frozen=True, slots=True)
class Arrival:
    """Either routed at once (`result`) or waiting (`waiter`)."""

    result: RouteResult | None = None
    waiter: Waiter | None = None


@dataclass
class Picture(OperatorDesk, CallMoves, Rebuild):
    site: Site
    operators: dict[str, ops.OperatorState] = field(default_factory=dict)
    calls: dict[str, CallRecord] = field(default_factory=dict)  # by the caller channel's uniqueid
    waiting: dict[str, Waiter] = field(default_factory=dict)  # by call id
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    tallies: dict[str, stats.QueueTally] = field(default_factory=dict)
    queue_log: list[qlog.QueueLogEntry] = field(default_factory=list)  # drained by the shell into the file
    built: bool = False  # rebuilt once: from then on the picture is newer than the SQL records

    def __post_init__(self) -> None:
        self.rules = {q.name: q.rule() for q in self.site.queues}
        self.policy = MissPolicy(self.site.acd.max_misses)
        self.wrapup_s = {q.name: float(q.wrapup_s) for q in self.site.queues}
        self.recorded = {q.name: self.site.recording if q.recording is None else q.recording for q in self.site.queues}
        self.recordings_dir = str(self.site.recordings_path)
        logged_in = not self.site.acd.login_required
        for op in self.site.operators:
            self.operators.setdefault(op.sip_user, ops.OperatorState(op.sip_user, dict(op.skills), logged_in=logged_in))
        self.index = OperatorIndex.build(o.view(0.0) for o in self.operators.values())
        self.waiting_index = WaitingIndex.build(())
        self.tallies = {name: stats.QueueTally() for name in self.rules}
        self.offered_at: dict[str, float] = {}  # caller uniqueid -> when the operator's phone started ringing
        self.agent_channels: dict[str, str] = {}  # operator channel uniqueid -> caller uniqueid
        self.original_positions: dict[str, int] = {}
        self.completed_by_agent: set[str] = set()  # caller uniqueids whose operator hung up first
        self.dirty: dict[str, CallRecord] = {}  # call records changed since the shell last persisted
        self.sessions: dict[str, str] = {}  # session-mode channel uniqueid -> its operator
        self.last_call: dict[str, CallRecord] = {}  # operator -> the last call they ended (for its wrap-up code)
        self.targets: dict[str, str] = {}  # caller uniqueid -> the operator it was transferred to by name
        self.callback_requests: list[CallbackRequest] = []  # drained by the shell into SQL
        self.latest = 0.0  # the latest instant seen: the picture's time never goes back

    def _clock(self, at: float) -> float:
        """`at`, or the latest instant already seen if later: no duration the picture measures is ever negative.

        Events carry Asterisk's timestamps, routes the platform's clock: a hangup that raced its own AGI request
        is stamped before the route that created its call, and is taken as happening at that route instead.
        """
        if at > self.latest:
            self.latest = at
        return self.latest

    def _keep(self, record: CallRecord) -> None:
        """Every change of a call record goes through here, so the shell persists exactly what changed."""
        self.calls[record.uniqueid] = record
        self.dirty[record.id] = record

    def take_dirty(self) -> list[CallRecord]:
        records, self.dirty = list(self.dirty.values()), {}
        return records

    # -- calls arriving ------------------------------------------------------------------------
    def route_call(self, uniqueid: str, caller: str, hotline: str, now: float, choice: str = "") -> Arrival:
        """A hotline call asks for an operator: one now, or a place in the queue (kept on a requeue).

        `choice` is the menu digit the caller pressed, if the hotline has a menu.
        """
        now = self._clock(now)
        known = self.calls.get(uniqueid)
        if known is not None and known.outcome is None:
            return self._requeue(known, now)
        if known is not None:  # a retried AGI for a call answered or already out of the queue: dial nobody
            return Arrival(result=RouteResult(known.id, "", "", None, f"call already {known.outcome}"))
        queue = self.site.hotline_queue(hotline, choice)
        rule = self.rules.get(queue.name, NO_QUEUE) if queue else NO_QUEUE
        return self._enter(uniqueid, caller, hotline, rule.call(str(uuid.uuid4()), hotline, now), now)

    def _enter(
        self,
        uniqueid: str,
        caller: str,
        hotline: str,
        call: CallView,
        now: float,
        recording: str | None = None,
        direction: str = "inbound",
    ) -> Arrival:
        """A call joins a queue (from a hotline, an overflow or a transfer): ENTERQUEUE, then an operator or a place."""
        record = CallRecord(
            id=call.call_id, uniqueid=uniqueid, direction=direction, caller=caller, hotline=hotline or None,
            queue=call.queue or None, operator=None, started_at=now, recording=recording,
        )  # fmt: skip
        self._keep(record)
        self.counters["offered"] += 1
        if call.queue in self.tallies:
            self.tallies[call.queue] = stats.offered(self.tallies[call.queue])
        position = self._position_if_queued(call)
        self.original_positions[uniqueid] = position
        self.queue_log.append(
            qlog.enter_queue(now=now, callid=uniqueid, queue=call.queue or "NONE", caller_id=caller, position=position)
        )
        return self._offer_or_wait(call, uniqueid, position, now)

    def _requeue(self, record: CallRecord, now: float) -> Arrival:
        """Back from a ring-no-answer: the same call, at its old place (its arrival time is kept).

        A retried AGI, or the dialplan coming back before the DialEnd event, finds the call still waiting or still
        offered: that old place is dropped first, so the call is never held twice.
        """
        self.waiting.pop(record.id, None)
        self._forget_waiting(record.id)
        ringing = self.operators.get(record.operator or "")
        if ringing is not None and ringing.offered_call == record.uniqueid:
            self.offered_at.pop(record.uniqueid, None)
            self._set(ops.withdrawn(ringing, record.uniqueid, now), now)
            # The withdrawn operator serves the line now, while this call is out of it: a dispatch once it is back
            # in line could offer it before route_call returns, i.e. before anyone can set its waiter's notify.
            self.dispatch(now)
        rule = self.rules.get(record.queue or "", NO_QUEUE)
        call = rule.call(record.id, record.hotline or "", record.started_at)
        if record.direction == "outbound":
            call = evolve(call, session_only=True)
        if record.uniqueid in self.targets:  # transferred to a colleague by name: still for them alone
            call = evolve(call, operator=self.targets[record.uniqueid], requires={}, steps=())
        position = self.original_positions.get(record.uniqueid, 1)
        # Not straight back to the operator who just let it ring out, while anyone else can take it.
        return self._offer_or_wait(call, record.uniqueid, position, now, skip=record.operator)

    def _offer_or_wait(
        self, call: CallView, uniqueid: str, position: int, now: float, skip: str | None = None
    ) -> Arrival:
        index = self.index
        if skip is not None and skip in self.operators:
            index = index.updated(evolve(self.operators[skip].view(now), presence=Presence.OFFERED))
        decision = choose_operator(call, index, now)
        if decision.operator is None and index is not self.index:  # nobody else: back to them after all
            decision = choose_operator(call, self.index, now)
        if decision.operator is not None:
            return Arrival(result=self._offer(uniqueid, decision.operator, decision.reason, now))
        if not self._anyone_could_serve(call, now):
            self._finish_waiting(uniqueid, "no_operator", now)
            return Arrival(result=RouteResult(call.call_id, "", "", None, "nobody logged in serves this queue"))
        waiter = Waiter(call, uniqueid, position)
        self.waiting[call.call_id] = waiter
        self.waiting_index = self.waiting_index.added(call)
        return Arrival(waiter=waiter)

    def _position_if_queued(self, call: CallView) -> int:
        return 1 + sum(1 for w in self.waiting.values() if w.call.queue == call.queue)

    def _anyone_could_serve(self, call: CallView, now: float) -> bool:
        """Someone logged in, with a registered phone, who holds the skills (at the widest step): worth waiting for.

        Paused, busy or wrapping-up operators count (they come back); as app_queue's joinempty with unavailable.
        """
        gone = (Presence.LOGGED_OUT, Presence.UNREGISTERED)
        if call.operator:
            target = self.operators.get(call.operator)
            return target is not None and target.presence(now) not in gone
        return any(
            state.presence(now) not in gone and holds(state.skills, call.requires, widest(call.steps))
            for state in self.operators.values()
        )

    def _offer(self, uniqueid: str, sip_user: str, reason: str, now: float) -> RouteResult:
        record = self.calls[uniqueid]
        self._set(ops.offer(self.operators[sip_user], uniqueid, now), now)
        self.offered_at[uniqueid] = now
        recording = record.recording or self._recording_path(record)
        self._keep(evolve(record, operator=sip_user, recording=recording or None))
        state = self.operators[sip_user]
        target = f"ConfBridge/{session_bridge(sip_user)}" if state.session else f"PJSIP/{sip_user}"
        return RouteResult(record.id, target, recording, sip_user, reason)

    def _recording_path(self, record: CallRecord) -> str:
        enabled = self.recorded.get(record.queue or "", self.site.recording)
        return f"{self.recordings_dir}/{record.id}.wav" if enabled else ""

    def position(self, uniqueid: str) -> int:
        """Where a waiting caller stands now in their queue's service order (1 = next)."""
        mine = next((w for w in self.waiting.values() if w.uniqueid == uniqueid), None)
        if mine is None:
            return 0
        ahead = [c for c in self.waiting_index.calls if c.queue == mine.call.queue]
        return 1 + next(i for i, c in enumerate(ahead) if c.call_id == mine.call.call_id)

    def expected_wait(self, uniqueid: str) -> float | None:
        """Place in line x average handling time / operators able to serve: None until an AHT is known."""
        record = self.calls.get(uniqueid)
        if record is None or record.queue not in self.tallies:
            return None
        aht = stats.figures(self.tallies[record.queue]).aht_s
        serving = sum(
            1 for user in self.operators if self.operators[user].logged_in and record.queue in self.queues_of(user)
        )
        if not aht or not serving:
            return None
        return self.position(uniqueid) * aht / serving

    # -- matching waiting calls to freed operators ---------------------------------------------
    def dispatch(self, now: float) -> None:
        """Give waiting calls to available operators: after any change that frees someone, and on every tick."""
        if not self.waiting or not self.index.available:
            return
        for call_id, sip_user in assign(self.waiting_index, self.index, now):
            waiter = self.waiting.pop(call_id)
            self._forget_waiting(call_id)
            result = self._offer(waiter.uniqueid, sip_user, "freed operator", now)
            waiter.assigned = result
            if waiter.notify is not None:
                waiter.notify(result)

    def tick(self, now: float) -> None:
        """Wrap-ups end and widening steps pass with time alone: refresh those operators, then dispatch."""
        now = self._clock(now)
        for state in self.operators.values():
            if state.wrapup_until and state.wrapup_until <= now and not self._index_says_available(state, now):
                self._set(state, now)
        self.dispatch(now)

    def _index_says_available(self, state: ops.OperatorState, now: float) -> bool:
        position = self.index.positions[state.sip_user]
        return bool(self.index.available >> position & 1) == (state.presence(now) is Presence.AVAILABLE)

    def _forget_waiting(self, call_id: str) -> None:
        self.waiting_index = self.waiting_index.removed(call_id)

    # -- events --------------------------------------------------------------------------------
    def apply(self, event: Event) -> CallRecord | None:
        """Fold one event into the picture; returns the call record to persist when one changed."""
        event = evolve(event, at=self._clock(event.at))
        if isinstance(event, OriginateFailed):
            return None  # the dialer's business: no call of the picture's yet
        if isinstance(event, PhoneStateChanged):
            state = self.operators.get(event.sip_user)
            if state is not None:
                self._set(ops.phone_changed(state, event.state, event.at), event.at)
                self.dispatch(event.at)
            return None
        if isinstance(event, CallerHungUp) and event.uniqueid in self.agent_channels:
            self._agent_hung_up(event)
            return None
        if isinstance(event, CallerHungUp) and event.uniqueid in self.sessions:
            self.end_session(event.uniqueid, event.at)
            return None
        record = self.calls.get(event.uniqueid)
        if record is None:
            return None
        if isinstance(event, CallerHungUp):
            return self.end_call(record, event.at, event.cause)
        if isinstance(event, OperatorAnswered):
            return self._answered(record, event)
        if isinstance(event, OperatorMissed):
            self._missed(record, event)
        return None

    def _answered(self, record: CallRecord, event: OperatorAnswered) -> CallRecord | None:
        user = record.operator or ""
        state = self.operators.get(user)
        if event.operator and event.operator != user:
            return None  # about a phone rung earlier for this call: the call has moved on
        if record.answered_at is not None or state is None or state.offered_call != record.uniqueid:
            return None  # late or repeated DialEnd: the first answer stands
        self._set(ops.answered(state, record.uniqueid, event.at), event.at)
        if event.agent_uniqueid:
            self.agent_channels[event.agent_uniqueid] = record.uniqueid
        self.counters["answered"] += 1
        queue = record.queue or "NONE"
        if record.queue in self.tallies:
            wait = event.at - record.started_at
            self.tallies[queue] = stats.answered(self.tallies[queue], wait, self.rules[queue].sl_seconds)
        ringing = event.at - self.offered_at.pop(record.uniqueid, event.at)
        self.queue_log.append(qlog.connect(
            now=event.at, callid=record.uniqueid, queue=queue, agent=user, entered_at=record.started_at,
            member_callid=event.agent_uniqueid or "", ringing=ringing,
        ))  # fmt: skip
        updated = evolve(record, answered_at=event.at, outcome="answered")
        self._keep(updated)
        return updated

    def _missed(self, record: CallRecord, event: OperatorMissed) -> None:
        user = record.operator or ""
        state = self.operators.get(user)
        if event.operator and event.operator != user:
            return  # a late DialEnd for a phone rung earlier: the call is offered to someone else now
        if state is None or state.offered_call != record.uniqueid:
            return
        ringing = event.at - self.offered_at.pop(record.uniqueid, event.at)
        queue = record.queue or "NONE"
        if event.status == "CANCEL":  # the caller hung up while the phone rang: their abandon, not a miss
            self.queue_log.append(qlog.ring_canceled(
                now=event.at, callid=record.uniqueid, queue=queue, agent=user, ringing=ringing))  # fmt: skip
            self._set(ops.withdrawn(state, record.uniqueid, event.at), event.at)
        else:
            self.queue_log.append(qlog.ring_no_answer(
                now=event.at, callid=record.uniqueid, queue=queue, agent=user, ringing=ringing))  # fmt: skip
            after = ops.missed(state, record.uniqueid, event.at, self.policy)
            if after.paused_reason == ops.MISSED_CALLS and state.paused_reason is None:
                for q in self.queues_of(user):
                    self.queue_log.append(qlog.pause(now=event.at, queue=q, agent=user, reason=ops.MISSED_CALLS))
            self._set(after, event.at)
        self.dispatch(event.at)

    def _agent_hung_up(self, event: CallerHungUp) -> None:
        """The operator's leg ended: if the caller's is still up, the operator hung up first (COMPLETEAGENT)."""
        caller = self.agent_channels.pop(event.uniqueid)
        record = self.calls.get(caller)
        if record is not None and record.ended_at is None:
            self.completed_by_agent.add(caller)

    def end_call(
        self, record: CallRecord, at: float, cause: int | None, transferred_to: str | None = None, extension: str = ""
    ) -> CallRecord:
        """The caller's channel is gone (or the operator transferred it): close the record, free the operator into
        wrap-up, count the outcome."""
        if record.outcome is None:
            self._finish_waiting(record.uniqueid, "abandoned", at)
            record = self.calls[record.uniqueid]
        user = record.operator or ""
        state = self.operators.get(user)
        queue = record.queue or ""
        talk = at - (record.answered_at or at)
        wrapup = 0.0
        if state is not None and record.uniqueid in (state.on_call, state.offered_call):
            wrapup = self.wrapup_s.get(queue, 0.0) if state.on_call == record.uniqueid else 0.0
            self._set(ops.call_ended(state, record.uniqueid, at, talk, wrapup), at)
        if transferred_to is not None:
            self.counters["transferred"] += 1
            self.queue_log.append(self._transfer_line(record, at, extension))
        elif record.answered_at is not None:  # also when a restart lost who was on it: CONNECT needs its COMPLETE
            self._log_completion(record, at)
        if record.answered_at is not None and queue in self.tallies:
            self.tallies[queue] = stats.completed(self.tallies[queue], talk, wrapup)
        del self.calls[record.uniqueid]
        self.offered_at.pop(record.uniqueid, None)
        self.original_positions.pop(record.uniqueid, None)
        self.targets.pop(record.uniqueid, None)
        closed = evolve(record, ended_at=at, hangup_cause=cause, transferred_to=transferred_to)
        self.dirty[closed.id] = closed
        if state is not None and state.on_call == record.uniqueid:
            self.last_call[user] = closed
        self.dispatch(at)
        return closed

    def _log_completion(self, record: CallRecord, at: float) -> None:
        by_agent = record.uniqueid in self.completed_by_agent
        make = qlog.complete_agent if by_agent else qlog.complete_caller
        self.queue_log.append(make(
            now=at, callid=record.uniqueid, queue=record.queue or "NONE", agent=record.operator or "NONE",
            entered_at=record.started_at, answered_at=record.answered_at or at,
            original_position=self.original_positions.get(record.uniqueid, 1),
        ))  # fmt: skip
        if by_agent:
            self.completed_by_agent.discard(record.uniqueid)
