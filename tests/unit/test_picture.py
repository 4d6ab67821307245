"""The live picture as a queueing engine, and the AMI translation: offers, waits, outcomes, queue_log and rebuilds.

Pure code: a Picture over a parsed site, AMI messages built in memory; Hypothesis drives the event sequences.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from acd import queue_log as qlog
from acd.index import service_order, service_rank
from acd.model import CallView, Presence
from acd.operators import MISSED_CALLS, OFFLINE_PHONE
from acd.skills import holds, is_qualified
from switchboard.ami import AmiMessage
from switchboard.ami.translate import translate
from switchboard.config import Site, parse_site
from switchboard.events import CallerHungUp, OperatorAnswered, OperatorMissed, PhoneStateChanged
from switchboard.picture import COUNTERS, NO_QUEUE, Arrival, Picture, RouteResult
from switchboard.queue_log import sessions_from_queue_log
from switchboard.store.calls import CallRecord

ZERO_COUNTERS = dict.fromkeys(COUNTERS, 0)

SITE: Site = parse_site(
    {
        "skills": ["general", "tax"],
        "ami": {"secret": "unit-test-secret-1", "admin_secret": "unit-test-secret-2"},
        "recordings_dir": "/srv/switchboard/recordings",
        "acd": {"max_misses": 3, "login_required": True},
        "queues": [
            {"name": "general", "requires": {"general": 1}, "wrapup_s": 5},
            # tax >= 4 for the first 30 s of wait, then >= 2; tax 1 never serves it.
            {
                "name": "tax",
                "requires": {"tax": 1},
                "steps": [{"after_s": 0, "min_level": 4}, {"after_s": 30, "min_level": 2}],
                "wrapup_s": 10,
                "recording": False,
            },
            {"name": "vip", "requires": {"general": 3}, "priority": 5, "sl_seconds": 10, "wrapup_s": 0},
        ],
        "hotlines": [
            {"number": "100", "queue": "general"},
            {"number": "200", "queue": "tax"},
            {"number": "300", "queue": "vip"},
        ],
        "operators": [
            {"sip_user": "op1001", "secret": "operator-secret-1", "name": "A", "skills": {"general": 5, "tax": 5}},
            {"sip_user": "op1002", "secret": "operator-secret-2", "name": "B", "skills": {"general": 3}},
            {"sip_user": "op1003", "secret": "operator-secret-3", "name": "C", "skills": {"general": 1, "tax": 2}},
            {"sip_user": "op1004", "secret": "operator-secret-4", "name": "D", "skills": {"tax": 4}},
            {"sip_user": "op1005", "secret": "operator-secret-5", "name": "E", "skills": {"tax": 1}},
        ],
    }
)
OPERATORS = [op.sip_user for op in SITE.operators]
STRANGERS = ["op9999", "trunk", "trunk-00000001"]  # device names that are nobody's phone
STATES = ["NOT_INUSE", "INUSE", "RINGING", "RINGINUSE", "ONHOLD", "BUSY", "UNAVAILABLE", "INVALID", "UNKNOWN"]
MISS_STATUSES = ["NOANSWER", "BUSY", "CHANUNAVAIL", "CANCEL"]
HOTLINES = ["100", "200", "300", "+100", "999"]  # 999 is no hotline: no queue, no skill required
UNIQUEIDS = [f"switchboard-1700000000.{n}" for n in range(12)]
UNKNOWN = "unknown-1.1"
LAGS = [0.0, 0.0, 0.7]  # how far Asterisk's Timestamp of an event may trail the platform clock that routes calls
AGENTS = [f"{uniqueid}-agent" for uniqueid in UNIQUEIDS]  # the operator leg of each call, when answered
TERMINAL = {"answered", "abandoned", "timeout", "no_operator"}
LEAVING_LINE = {"abandoned": "ABANDON", "timeout": "EXITWITHTIMEOUT", "no_operator": "EXITEMPTY"}
ENDING_LINES = {"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"}
COMPLETING_LINES = {"COMPLETECALLER", "COMPLETEAGENT"}


def _widest(queue_name: str | None) -> int:
    """The lowest level a queue's widening ever asks (0 without steps: the queue's own requires)."""
    if queue_name is None:
        return 0
    return min((step.min_level for step in SITE.queue(queue_name).steps), default=0)


SERVES = {  # the queues each operator can ever serve: what login, logout and pause lines name
    op.sip_user: {q.name for q in SITE.queues if holds(op.skills, q.requires, _widest(q.name))} for op in SITE.operators
}


def _could_ever_serve(picture: Picture, queue_name: str | None) -> bool:
    """Someone logged in with a registered phone holds what the call will need at its widest step."""
    requires = dict(SITE.queue(queue_name).requires) if queue_name else {}
    return any(
        state.logged_in
        and state.phone_state not in OFFLINE_PHONE
        and holds(state.skills, requires, _widest(queue_name))
        for state in picture.operators.values()
    )


def _call_view(picture: Picture, record: CallRecord) -> CallView:
    """The call as routing sees it: its queue's rule, stamped at the record's first arrival."""
    return picture.rules.get(record.queue or "", NO_QUEUE).call(record.id, record.hotline or "", record.started_at)


class WatchedPicture(Picture):
    """A Picture that checks each offer as it is made and each dispatch as it ends."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.offers: list[tuple[str, str, float]] = []  # (caller uniqueid, operator, when)
        self.dispatched_at: float | None = None

    def _offer(self, uniqueid: str, sip_user: str, reason: str, now: float) -> RouteResult:
        record = self.calls[uniqueid]
        state = self.operators[sip_user]
        call = _call_view(self, record)
        assert state.presence(now) is Presence.AVAILABLE, f"{sip_user} offered {uniqueid} while {state}"
        assert is_qualified(state.view(now), call, now), f"{sip_user} not qualified for {call} at {now}"
        assert record.outcome is None and record.answered_at is None, record
        assert all(uniqueid not in (op.offered_call, op.on_call) for op in self.operators.values())
        assert record.id not in self.waiting, f"{uniqueid} offered while still waiting"
        self.offers.append((uniqueid, sip_user, now))
        return super()._offer(uniqueid, sip_user, reason, now)

    def dispatch(self, now: float) -> None:
        first = len(self.offers)
        super().dispatch(now)
        self.dispatched_at = now
        for waiting in self.waiting_index.calls:
            assert self.index.eligible(waiting, now) == 0, f"{waiting} waits while a qualified operator is free"
        for uniqueid, user, _ in self.offers[first:]:  # served in service rank: nobody passed over for a later call
            served = _call_view(self, self.calls[uniqueid])
            skills = self.operators[user].view(now)
            for waiting in self.waiting_index.calls:
                ahead = service_rank(waiting, now) < service_rank(served, now)
                assert not (ahead and is_qualified(skills, waiting, now)), f"{served} served before {waiting}"


def _picture(logged_in: list[str] | None = None, free: list[str] | None = None, at: float = 0.0) -> WatchedPicture:
    """Operators logged in (all by default) with free phones (those logged in by default)."""
    picture = WatchedPicture(SITE)
    users = OPERATORS if logged_in is None else logged_in
    for user in users if free is None else free:
        picture.apply(PhoneStateChanged(user, "NOT_INUSE", at))
    for user in users:
        picture.login(user, at)
    picture.queue_log.clear()
    picture.take_dirty()
    return picture


def _route(picture: Picture, uniqueid: str, hotline: str, now: float) -> Arrival:
    return picture.route_call(uniqueid, "5550001", hotline, now)


def _lines(picture: Picture, event: str, callid: str | None = None) -> list[qlog.QueueLogEntry]:
    return [e for e in picture.queue_log if e.event == event and (callid is None or e.callid == callid)]


class PictureMachine(RuleBasedStateMachine):
    """Phones, logins, pauses, routes, requeues, dial ends, hangups, timeouts, ticks, reconnects and restarts."""

    @initialize(
        states=st.dictionaries(st.sampled_from(OPERATORS), st.sampled_from(STATES)),
        logged_in=st.sets(st.sampled_from(OPERATORS)),
    )
    def boot(self, states: dict[str, str], logged_in: set[str]) -> None:
        self.now = 1_000.0
        self.fed = self.now  # the latest instant handed to the picture: events stamped earlier count from it
        self.picture = WatchedPicture(SITE)
        assert self.picture.rebuild(states, set(), [], self.now) == []
        for user in sorted(logged_in):
            self.picture.login(user, self.now)
        self.routed: set[str] = set()  # caller uniqueids ever routed: each is one call
        self.sql: dict[str, CallRecord] = {}  # the store: the last version of each record handed out
        self.outcomes: dict[str, str] = {}  # record id -> its terminal outcome, once it had one
        self.closed: dict[str, CallRecord] = {}  # record id -> its closed version (handed out once)
        self.counted: dict[str, CallRecord] = {}  # records the current picture counted: routed or adopted
        self.lines: dict[str, Counter[str]] = {}  # caller uniqueid -> its queue_log events, across restarts
        self.joined: dict[tuple[str, str], bool] = {}  # (operator, queue) -> a member, by the queue_log
        self.sessions: list[qlog.QueueLogEntry] = []  # member and pause lines: what a restart restores from
        self.notified: dict[str, list[RouteResult]] = {}  # caller uniqueid -> what its waiter was told
        self.agent_of: dict[str, str] = {}  # operator leg -> caller, as the current picture learnt it
        self.agent_first: set[str] = set()  # callers whose operator hung up first (current picture)
        self.completion: dict[str, str] = {}  # caller uniqueid -> the COMPLETE* line its end must write
        self._settle()

    # -- bookkeeping --------------------------------------------------------------------------
    def _tick(self, dt: float = 0.5) -> float:
        self.now += dt
        self.fed = self.now
        return self.now

    def _stamp(self, lag: float) -> tuple[float, float]:
        """An AMI event's Timestamp, `lag` behind the clock, and the instant the picture takes it at."""
        self.now += 0.5
        stamp = self.now - lag
        self.fed = max(self.fed, stamp)
        return stamp, self.fed

    def _settle(self) -> None:
        """Drain the picture as the shell does: dirty records to the store, queue_log entries to the file."""
        for record in self.picture.take_dirty():
            self._persist(record)
        for entry in self.picture.queue_log:
            self._write(entry)
        self.picture.queue_log.clear()

    def _write(self, entry: qlog.QueueLogEntry) -> None:
        """One queue_log line: it round-trips; member lines name only queues served, ADD and REMOVE alternate."""
        assert qlog.parse_line(qlog.format_line(entry)) == entry
        self.lines.setdefault(entry.callid, Counter())[entry.event] += 1
        if entry.event in ("ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE"):
            assert entry.queue in SERVES[entry.agent], entry
            self.sessions.append(entry)
        if entry.event in ("ADDMEMBER", "REMOVEMEMBER"):
            adding = entry.event == "ADDMEMBER"
            assert self.joined.get((entry.agent, entry.queue), False) != adding, entry
            self.joined[(entry.agent, entry.queue)] = adding

    def _persist(self, record: CallRecord) -> None:
        known = self.sql.get(record.id)
        if known is not None:
            fixed = ("uniqueid", "caller", "hotline", "queue", "started_at")
            assert all(getattr(known, f) == getattr(record, f) for f in fixed), (known, record)
        assert record.id not in self.closed, f"a closed record changed again: {record}"
        settled = self.outcomes.get(record.id)
        if settled is not None:
            assert record.outcome == settled, f"outcome {settled} became {record.outcome}"
        elif record.outcome is not None:
            assert record.outcome in TERMINAL, record
            self.outcomes[record.id] = record.outcome
        if record.ended_at is not None:
            assert record.outcome in TERMINAL, record
            self.closed[record.id] = record
            if record.outcome == "answered":
                by_agent = record.uniqueid in self.agent_first
                self.completion[record.uniqueid] = "COMPLETEAGENT" if by_agent else "COMPLETECALLER"
            self.agent_first.discard(record.uniqueid)
        self.sql[record.id] = record
        self.counted[record.id] = record

    def _watch(self, uniqueid: str, arrival: Arrival) -> None:
        if arrival.waiter is not None:
            told = self.notified.setdefault(uniqueid, [])
            told.clear()
            arrival.waiter.notify = told.append

    # -- phones and operators -----------------------------------------------------------------
    @rule(user=st.sampled_from(OPERATORS + STRANGERS), state=st.sampled_from(STATES), lag=st.sampled_from(LAGS))
    def phone(self, user: str, state: str, lag: float) -> None:
        stamp, _ = self._stamp(lag)
        assert self.picture.apply(PhoneStateChanged(user, state, stamp)) is None
        if user in self.picture.operators:
            assert self.picture.operators[user].phone_state == state
        self._settle()

    @rule(user=st.sampled_from(OPERATORS))
    def login(self, user: str) -> None:
        self.picture.login(user, self._tick())
        assert self.picture.operators[user].logged_in
        self._settle()

    @rule(user=st.sampled_from(OPERATORS))
    def logout(self, user: str) -> None:
        self.picture.logout(user, self._tick())
        assert self.picture.operators[user].presence(self.now) is Presence.LOGGED_OUT
        self._settle()

    @rule(user=st.sampled_from(OPERATORS), reason=st.sampled_from(["lunch", "training", ""]))
    def pause(self, user: str, reason: str) -> None:
        self.picture.pause(user, reason, self._tick())
        assert self.picture.operators[user].paused_reason
        self._settle()

    @rule(user=st.sampled_from(OPERATORS))
    def unpause(self, user: str) -> None:
        self.picture.unpause(user, self._tick())
        assert self.picture.operators[user].paused_reason is None
        self._settle()

    # -- calls arriving -----------------------------------------------------------------------
    @precondition(lambda self: len(self.routed) < len(UNIQUEIDS))
    @rule(data=st.data(), hotline=st.sampled_from(HOTLINES))
    def route(self, data: st.DataObject, hotline: str) -> None:
        uniqueid = data.draw(st.sampled_from([u for u in UNIQUEIDS if u not in self.routed]))
        queue = SITE.hotline_queue(hotline)
        queue_name = queue.name if queue else None
        could_serve = _could_ever_serve(self.picture, queue_name)
        offered = self.picture.counters["offered"]
        arrival = _route(self.picture, uniqueid, hotline, self._tick())
        self.routed.add(uniqueid)
        self._watch(uniqueid, arrival)
        record = self.picture.calls[uniqueid]
        assert (record.queue, record.started_at) == (queue_name, self.now)
        assert self.picture.counters["offered"] == offered + 1
        self._check_arrival(record, arrival, could_serve)
        self._settle()

    @precondition(lambda self: self.picture.calls)
    @rule(data=st.data())
    def route_again(self, data: st.DataObject) -> None:
        """The dialplan routes a live call again: after a ring-no-answer, a failed AGI, or a late retry."""
        uniqueid = data.draw(st.sampled_from(sorted(self.picture.calls)))
        before = self.picture.calls[uniqueid]
        counters = dict(self.picture.counters)
        could_serve = _could_ever_serve(self.picture, before.queue)
        arrival = _route(self.picture, uniqueid, before.hotline or "", self._tick())
        self._watch(uniqueid, arrival)
        record = self.picture.calls[uniqueid]
        assert record.id == before.id and record.started_at == before.started_at
        if before.outcome is not None or before.answered_at is not None:
            # Already answered or gone from the queue: nobody is dialled, nothing is counted again.
            assert arrival.result is not None and arrival.result.target == ""
            assert record == before and self.picture.counters == counters
        else:
            expected = dict(counters, no_operator=counters["no_operator"] + (0 if could_serve else 1))
            assert self.picture.counters == expected
            self._check_arrival(record, arrival, could_serve)
            offered_to = arrival.result.operator if arrival.result is not None else None
            if offered_to is not None and offered_to == before.operator:  # back to them only when nobody else
                others = [op for op in self.picture.operators.values() if op.sip_user != offered_to]
                call = _call_view(self.picture, record)
                assert not any(
                    op.presence(self.now) is Presence.AVAILABLE and is_qualified(op.view(self.now), call, self.now)
                    for op in others
                ), "straight back to the operator who let it ring out, while someone else was free"
        assert self.lines[uniqueid]["ENTERQUEUE"] + len(_lines(self.picture, "ENTERQUEUE", uniqueid)) == 1
        self._settle()

    def _check_arrival(self, record: CallRecord, arrival: Arrival, could_serve: bool) -> None:
        uniqueid = record.uniqueid
        if arrival.waiter is not None:
            assert arrival.result is None and could_serve
            waiter = arrival.waiter
            assert (waiter.uniqueid, waiter.call.call_id) == (uniqueid, record.id)
            assert waiter.call.arrived_at == record.started_at, "a requeued call keeps its arrival time"
            if waiter.assigned is None:  # else it was given an operator in the same step, before anyone listened
                assert self.picture.waiting[record.id] is waiter
            return
        result = arrival.result
        assert result is not None and result.call_id == record.id
        if result.operator is None:
            assert not could_serve, f"EXITEMPTY for {record} though someone could serve it"
            assert result.target == "" and record.outcome == "no_operator"
        else:
            assert result.target == f"PJSIP/{result.operator}"
            assert self.picture.operators[result.operator].offered_call == uniqueid
            assert record.operator == result.operator

    @rule(uniqueid=st.sampled_from([*UNIQUEIDS, UNKNOWN]))
    def leave(self, uniqueid: str) -> None:
        """The maximum wait passed for this caller (or a stray leave for a call that is not waiting)."""
        waiting = any(w.uniqueid == uniqueid for w in self.picture.waiting.values())
        before = self.picture.calls.get(uniqueid)
        self.picture.leave(uniqueid, self._tick())
        after = self.picture.calls.get(uniqueid)
        if waiting:
            assert after is not None and after.outcome == "timeout"
            assert not any(w.uniqueid == uniqueid for w in self.picture.waiting.values())
        else:
            assert after == before, "only a waiting caller can time out"
        self._settle()

    # -- dial ends and hangups ----------------------------------------------------------------
    @rule(
        uniqueid=st.sampled_from([*UNIQUEIDS, "", UNKNOWN]),
        with_agent=st.booleans(),
        dialed=st.sampled_from(["", *OPERATORS]),
        lag=st.sampled_from(LAGS),
    )
    def answered(self, uniqueid: str, with_agent: bool, dialed: str, lag: float) -> None:
        """DialEnd ANSWER, naming the operator dialled (or nobody): a phone rung earlier for the call does not count."""
        record = self.picture.calls.get(uniqueid)
        ringing = record is not None and record.uniqueid in self._offered_calls()
        ringing = ringing and record is not None and dialed in ("", record.operator)
        agent = f"{uniqueid}-agent" if with_agent else ""
        stamp, at = self._stamp(lag)
        changed = self.picture.apply(OperatorAnswered(uniqueid, stamp, agent, dialed))
        assert (changed is not None) == ringing, "only the ringing operator's answer counts, and only once"
        if changed is not None:
            assert changed.outcome == "answered" and changed.answered_at == at
            assert self.picture.operators[changed.operator or ""].on_call == uniqueid
            if agent:
                self.agent_of[agent] = uniqueid
        self._settle()

    @rule(
        uniqueid=st.sampled_from([*UNIQUEIDS, UNKNOWN]),
        status=st.sampled_from(MISS_STATUSES),
        dialed=st.sampled_from(["", *OPERATORS]),
        lag=st.sampled_from(LAGS),
    )
    def missed(self, uniqueid: str, status: str, dialed: str, lag: float) -> None:
        """DialEnd NOANSWER/BUSY/CHANUNAVAIL (a miss) or CANCEL (not one), naming the operator rung (or nobody)."""
        record = self.picture.calls.get(uniqueid)
        user = record.operator if record is not None else None
        before = self.picture.operators.get(user or "")
        ringing = before is not None and before.offered_call == uniqueid and dialed in ("", user)
        assert self.picture.apply(OperatorMissed(uniqueid, status, self._stamp(lag)[0], dialed)) is None
        after = self.picture.operators.get(user or "")
        if ringing and before is not None and after is not None:
            assert after.offered_call != uniqueid
            misses = before.misses + (0 if status == "CANCEL" else 1)
            assert after.misses == misses
            if status != "CANCEL" and misses >= SITE.acd.max_misses:
                assert after.paused_reason == MISSED_CALLS
        elif before is not None and after is not None:
            assert after.misses == before.misses and after.paused_reason == before.paused_reason
        self._settle()

    @rule(
        uniqueid=st.sampled_from([*UNIQUEIDS, UNKNOWN]),
        cause=st.sampled_from([0, 16, 17, 19, 127]),
        lag=st.sampled_from(LAGS),
    )
    def caller_hung_up(self, uniqueid: str, cause: int, lag: float) -> None:
        record = self.picture.calls.get(uniqueid)
        talking = next((op for op in self.picture.operators.values() if op.on_call == uniqueid), None)
        stamp, at = self._stamp(lag)
        closed = self.picture.apply(CallerHungUp(uniqueid, cause, stamp))
        if record is None:
            assert closed is None
        else:
            assert closed is not None and closed.id == record.id
            assert (closed.ended_at, closed.hangup_cause) == (at, cause)
            assert uniqueid not in self.picture.calls
            assert all(uniqueid not in (op.offered_call, op.on_call) for op in self.picture.operators.values())
        if talking is not None and record is not None:
            wrapup = SITE.queue(record.queue).wrapup_s if record.queue else 0
            assert self.picture.operators[talking.sip_user].wrapup_until == at + wrapup
        self._settle()

    @rule(
        agent=st.sampled_from([*AGENTS, "unknown-agent.9"]), cause=st.sampled_from([16, 17]), lag=st.sampled_from(LAGS)
    )
    def operator_hung_up(self, agent: str, cause: int, lag: float) -> None:
        """The operator's leg ends; their caller (if still here) will end with COMPLETEAGENT."""
        calls = dict(self.picture.calls)
        assert self.picture.apply(CallerHungUp(agent, cause, self._stamp(lag)[0])) is None
        assert self.picture.calls == calls
        caller = self.agent_of.pop(agent, None)
        if caller is not None and caller in self.picture.calls:
            self.agent_first.add(caller)
        self._settle()

    @rule(dt=st.sampled_from([0.0, 1.0, 4.0, 11.0, 31.0]))
    def tick(self, dt: float) -> None:
        """Time passes: wrap-ups end and widening steps pass; then no free qualified operator leaves a call waiting."""
        now = self._tick(dt)
        self.picture.tick(now)
        for waiting in self.picture.waiting_index.calls:
            for op in self.picture.operators.values():
                idle = op.presence(now) is Presence.AVAILABLE
                assert not (idle and is_qualified(op.view(now), waiting, now)), f"{op.sip_user} idle; {waiting} waits"
        self._settle()

    # -- rebuilds -----------------------------------------------------------------------------
    @rule(
        data=st.data(),
        states=st.dictionaries(st.sampled_from(OPERATORS), st.sampled_from(STATES)),
        listed_ago=st.sampled_from([None, 0.0, 1.0, 3.0]),
    )
    def ami_reconnect(self, data: st.DataObject, states: dict[str, str], listed_ago: float | None) -> None:
        """The same picture, rebuilt after the AMI link dropped: calls gone from the channel list are closed."""
        before = dict(self.picture.calls)
        live = data.draw(st.sets(st.sampled_from([*UNIQUEIDS, "other-1.1"])))
        now = self._tick()
        listed_at = None if listed_ago is None else now - listed_ago
        stale = [r for r in self.sql.values() if r.ended_at is None]  # ignored: a built picture is newer than SQL
        closed = self.picture.rebuild(states, live, stale, now, listed_at=listed_at)
        gone = {u for u, r in before.items() if u not in live and (listed_at is None or r.started_at < listed_at)}
        assert {r.uniqueid for r in closed} == gone
        assert set(self.picture.calls) == set(before) - gone
        self._check_rebuilt(states, closed)

    @rule(data=st.data(), states=st.dictionaries(st.sampled_from(OPERATORS), st.sampled_from(STATES)))
    def platform_restart(self, data: st.DataObject, states: dict[str, str]) -> None:
        """A new process: logins and pauses restored from the queue_log, calls from the open SQL records."""
        self._settle()
        open_records = {r.uniqueid: r for r in self.sql.values() if r.ended_at is None}
        live = data.draw(st.sets(st.sampled_from([*UNIQUEIDS, "other-1.1"])))
        self.picture = WatchedPicture(SITE)
        self.fed = 0.0
        self.counted = {r.id: r for r in open_records.values()}
        self.notified.clear()
        self.agent_of.clear()
        self.agent_first.clear()
        now = self._tick()
        for user, (logged_in, paused_reason) in sessions_from_queue_log(self.sessions).items():
            self.picture.restore_session(user, logged_in, paused_reason, now)
        closed = self.picture.rebuild(states, live, list(open_records.values()), now)
        assert {r.uniqueid for r in closed} == set(open_records) - live
        kept = {u: r.id for u, r in open_records.items() if u in live}
        assert {u: r.id for u, r in self.picture.calls.items()} == kept
        self._check_rebuilt(states, closed)

    def _check_rebuilt(self, states: dict[str, str], closed: list[CallRecord]) -> None:
        for record in closed:
            assert record.ended_at == self.now and record.hangup_cause is None
        for user, op in self.picture.operators.items():
            assert op.phone_state == states.get(user, "UNAVAILABLE")
        self._settle()

    # -- invariants ---------------------------------------------------------------------------
    def _offered_calls(self) -> set[str]:
        return {op.offered_call for op in self.picture.operators.values() if op.offered_call is not None}

    @invariant()
    def operators_hold_one_live_call_each(self) -> None:
        """No operator is offered or on two calls, no call has two operators, each points at a live call."""
        calls = self.picture.calls
        offered = [op.offered_call for op in self.picture.operators.values() if op.offered_call is not None]
        talking = [op.on_call for op in self.picture.operators.values() if op.on_call is not None]
        assert len(offered) == len(set(offered)) and len(talking) == len(set(talking))
        assert set(offered).isdisjoint(talking)
        for op in self.picture.operators.values():
            assert op.offered_call is None or op.on_call is None, op
            if op.offered_call is not None:
                record = calls.get(op.offered_call)
                assert record is not None, f"{op.sip_user} offered a call that is gone: {op}"
                assert record.operator == op.sip_user and record.outcome is None and record.answered_at is None
            if op.on_call is not None:
                record = calls.get(op.on_call)
                assert record is not None, f"{op.sip_user} on a call that is gone: {op}"
                assert record.operator == op.sip_user and record.outcome == "answered"
        assert set(self.picture.offered_at) <= set(offered), "a call rings for an operator who is not offered it"

    @invariant()
    def waiting_calls_in_service_order(self) -> None:
        """Waiting callers stand in service order (FIFO within priority and SL), each at its first arrival."""
        index = self.picture.waiting_index
        assert set(index.ids) == set(self.picture.waiting)
        assert list(index.calls) == sorted(index.calls, key=service_order)
        ringing = self._offered_calls()
        for call_id, waiter in self.picture.waiting.items():
            record = self.picture.calls[waiter.uniqueid]
            assert record.id == call_id and record.outcome is None and record.answered_at is None
            assert waiter.call.arrived_at == record.started_at
            assert waiter.uniqueid not in ringing
        if self.picture.dispatched_at is None:
            return
        for call in index.calls:
            found = self.picture.index.eligible(call, self.picture.dispatched_at)
            assert found == 0, f"{call} waits while a qualified operator is free"

    @invariant()
    def waiters_told_once(self) -> None:
        """A waiter is told its operator at most once, and only once it is no longer waiting."""
        waiting = {w.uniqueid for w in self.picture.waiting.values()}
        for uniqueid, told in self.notified.items():
            assert len(told) <= 1
            if told:
                assert uniqueid not in waiting and told[0].target == f"PJSIP/{told[0].operator}"

    @invariant()
    def counters_add_up(self) -> None:
        """offered = answered + abandoned + timeout + no_operator + calls in progress without an outcome."""
        c = self.picture.counters
        assert set(c) == set(COUNTERS)
        undecided = sum(1 for r in self.picture.calls.values() if r.outcome is None)
        assert c["offered"] == c["answered"] + c["abandoned"] + c["timeout"] + c["no_operator"] + undecided
        assert c["offered"] == len(self.counted)
        outcomes = Counter(r.outcome for r in self.counted.values())
        assert all(c[name] == outcomes[name] for name in TERMINAL), (c, outcomes)

    @invariant()
    def tallies_agree_with_the_calls(self) -> None:
        """Per queue, the tallies count exactly the calls of that queue the counters count."""
        for name, tally in self.picture.tallies.items():
            mine = [r for r in self.counted.values() if r.queue == name]
            outcomes = Counter(r.outcome for r in mine)
            completed = sum(1 for r in mine if r.outcome == "answered" and r.ended_at is not None)
            got = (tally.offered, tally.answered, tally.abandoned, tally.timed_out, tally.completed)
            assert got == (len(mine), outcomes["answered"], outcomes["abandoned"], outcomes["timeout"], completed)

    @invariant()
    def each_call_closed_once(self) -> None:
        """Every call gets exactly one closed record once it is gone; none while it is in progress."""
        live = {r.id for r in self.picture.calls.values()}
        assert live <= set(self.sql)
        for record_id in self.sql:
            assert (record_id in live) != (record_id in self.closed), record_id
        assert {r.uniqueid for r in self.sql.values()} == self.routed
        assert set(self.picture.offered_at) <= set(self.picture.calls)
        assert set(self.picture.original_positions) <= set(self.picture.calls)
        assert self.picture.completed_by_agent <= set(self.picture.calls)

    @invariant()
    def queue_log_tells_each_call_once(self) -> None:
        """One ENTERQUEUE per call; once ended, CONNECT then COMPLETE*, or one of ABANDON/EXIT*; lines round-trip."""
        for record_id, record in self.sql.items():
            events = self.lines.get(record.uniqueid, Counter())
            assert events["ENTERQUEUE"] == 1, (record.uniqueid, events)
            ends = sum(events[e] for e in ENDING_LINES)
            completes = sum(events[e] for e in COMPLETING_LINES)
            assert events["CONNECT"] + ends <= 1 and completes <= events["CONNECT"], (record.uniqueid, events)
            outcome = self.outcomes.get(record_id)
            if outcome == "answered":
                assert events["CONNECT"] == 1, (record.uniqueid, events)
            elif outcome is not None:
                assert events[LEAVING_LINE[outcome]] == 1, (record.uniqueid, outcome, events)
            if record_id in self.closed:
                assert events["CONNECT"] + ends == 1 and completes == events["CONNECT"], (record.uniqueid, events)
                if outcome == "answered":
                    assert events[self.completion[record.uniqueid]] == 1, (record.uniqueid, events)

    @invariant()
    def members_of_each_queue_they_can_serve(self) -> None:
        """Per the queue_log, a logged-in operator is a member of every queue they can serve, a logged-out of none."""
        for user, state in self.picture.operators.items():
            for queue in SERVES[user]:
                assert self.joined.get((user, queue), False) == state.logged_in, (user, queue)


TestPictureMachine = PictureMachine.TestCase
TestPictureMachine.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)


# -- queueing, case by case ---------------------------------------------------------------------


def test_a_call_waits_while_everyone_is_busy_and_goes_to_the_first_operator_out_of_wrap_up() -> None:
    """Both general operators busy: the caller waits; the first whose wrap-up ends gets the call at the next tick."""
    picture = _picture(["op1002", "op1003"])
    for uniqueid, at in (("u1", 10.0), ("u2", 11.0)):
        _route(picture, uniqueid, "100", at)
        picture.apply(OperatorAnswered(uniqueid, at + 1, f"{uniqueid}-agent"))
    arrival = _route(picture, "u3", "100", 20.0)
    assert arrival.result is None and arrival.waiter is not None
    told: list[RouteResult] = []
    arrival.waiter.notify = told.append
    picture.apply(CallerHungUp("u2", 16, 30.0))  # op1002 (closest match took u1 for op1003) until 35
    picture.apply(CallerHungUp("u1", 16, 31.0))  # op1003 until 36
    picture.tick(34.9)
    assert told == [] and picture.position("u3") == 1
    picture.tick(35.0)
    assert [(r.operator, r.target, r.call_id) for r in told] == [("op1002", "PJSIP/op1002", picture.calls["u3"].id)]
    assert picture.operators["op1002"].offered_call == "u3" and picture.calls["u3"].operator == "op1002"
    assert picture.waiting == {}


def test_ring_no_answer_requeues_at_the_head_and_the_third_miss_in_a_row_pauses() -> None:
    """A miss sends the call back ahead of later callers; the third miss in a row pauses with 'missed calls'."""
    picture = _picture(["op1002"])
    assert _route(picture, "u1", "100", 10.0).result is not None
    for uniqueid, at in (("u2", 11.0), ("u3", 12.0)):
        assert _route(picture, uniqueid, "100", at).waiter is not None
    picture.apply(OperatorMissed("u1", "NOANSWER", 30.0))  # miss 1: op1002 is free, u2 is next
    assert picture.operators["op1002"].offered_call == "u2"
    arrival = _route(picture, "u1", "100", 30.1)  # the dialplan comes back: same call, its old place
    assert arrival.waiter is not None and arrival.waiter.call.arrived_at == 10.0
    assert (picture.position("u1"), picture.position("u3")) == (1, 2)
    picture.apply(OperatorMissed("u2", "BUSY", 50.0))  # miss 2: u1 (the head) is next
    assert picture.operators["op1002"].offered_call == "u1"
    assert picture.operators["op1002"].misses == 2
    picture.apply(OperatorMissed("u1", "CHANUNAVAIL", 70.0))  # miss 3
    state = picture.operators["op1002"]
    assert state.paused_reason == MISSED_CALLS and state.presence(70.0) is Presence.PAUSED
    pauses = [(e.queue, e.agent, e.data) for e in _lines(picture, "PAUSE")]
    assert pauses == [("general", "op1002", (MISSED_CALLS,)), ("vip", "op1002", (MISSED_CALLS,))]
    assert len(_lines(picture, "RINGNOANSWER")) == 3
    assert len(_lines(picture, "ENTERQUEUE", "u1")) == 1
    picture.unpause("op1002", 80.0)
    assert picture.operators["op1002"].misses == 0


def test_a_cancel_is_not_a_miss() -> None:
    """DialEnd CANCEL (the caller gave up while it rang) frees the operator without counting a miss."""
    picture = _picture(["op1001"])
    _route(picture, "u1", "200", 10.0)
    assert picture.apply(OperatorMissed("u1", "CANCEL", 12.0)) is None
    assert picture.operators["op1001"].offered_call is None and picture.operators["op1001"].misses == 0
    assert picture.operators["op1001"].idle_since == 12.0
    ended = picture.apply(CallerHungUp("u1", 16, 12.1))
    assert ended is not None and ended.outcome == "abandoned"
    assert [e.event for e in picture.queue_log if e.callid == "u1"] == ["ENTERQUEUE", "RINGCANCELED", "ABANDON"]


def test_a_caller_hanging_up_while_waiting_is_an_abandon_and_is_never_offered_afterwards() -> None:
    """ABANDON with the place and the wait; when an operator frees up later, nobody is offered the gone call."""
    picture = _picture(["op1002"])
    _route(picture, "u1", "100", 10.0)
    _route(picture, "u2", "100", 11.0)
    closed = picture.apply(CallerHungUp("u2", 16, 25.0))
    assert closed is not None and (closed.outcome, closed.ended_at) == ("abandoned", 25.0)
    (abandon,) = _lines(picture, "ABANDON")
    assert (abandon.callid, abandon.queue, abandon.data) == ("u2", "general", ("1", "1", "14"))
    picture.apply(OperatorMissed("u1", "NOANSWER", 30.0))
    picture.tick(60.0)
    assert picture.operators["op1002"].offered_call is None
    assert picture.counters == ZERO_COUNTERS | {
        "offered": 2,
        "answered": 0,
        "abandoned": 1,
        "timeout": 0,
        "no_operator": 0,
    }


def test_an_unregistered_phone_is_never_offered_a_call() -> None:
    """A logged-in operator whose phone is not registered is passed over, even when the call then waits."""
    picture = _picture(["op1001", "op1002"], free=["op1002"])
    picture.apply(PhoneStateChanged("op1002", "INUSE", 1.0))
    arrival = _route(picture, "u1", "100", 10.0)
    assert arrival.waiter is not None  # op1002 is busy, op1001 unregistered: wait, not EXITEMPTY
    for state in ("UNAVAILABLE", "INVALID", "UNKNOWN"):
        picture.apply(PhoneStateChanged("op1001", state, 11.0))
        picture.tick(12.0)
    assert picture.operators["op1001"].offered_call is None
    picture.apply(PhoneStateChanged("op1001", "NOT_INUSE", 13.0))
    assert picture.operators["op1001"].offered_call == "u1"


def test_wrap_up_lasts_the_queue_s_wrapup_s() -> None:
    """After a tax call (wrap-up 10 s) the operator is in wrap-up until exactly 10 s after the hangup."""
    picture = _picture(["op1004"])
    _route(picture, "u1", "200", 10.0)
    picture.apply(OperatorAnswered("u1", 12.0, "u1-agent"))
    picture.apply(CallerHungUp("u1", 16, 40.0))
    state = picture.operators["op1004"]
    assert state.wrapup_until == 50.0
    assert state.presence(49.9) is Presence.WRAP_UP and state.presence(50.0) is Presence.AVAILABLE
    _route(picture, "u2", "200", 45.0)
    assert picture.calls["u2"].operator is None
    picture.tick(49.9)
    assert picture.calls["u2"].operator is None
    picture.tick(50.0)
    assert picture.operators["op1004"].offered_call == "u2"
    assert picture.tallies["tax"].wrapup_s == 10.0 and picture.tallies["tax"].talk_s == 28.0


def test_widening_gives_the_call_to_the_level_2_operator_only_after_30_s() -> None:
    """A tax call needs tax >= 4 for 30 s, then >= 2: the level-2 operator gets it at the first tick after 30 s."""
    picture = _picture(["op1003"])  # general 1, tax 2
    arrival = _route(picture, "u1", "200", 100.0)
    assert arrival.waiter is not None
    picture.tick(115.0)
    picture.tick(129.9)
    assert picture.operators["op1003"].offered_call is None
    picture.tick(130.0)
    assert picture.operators["op1003"].offered_call == "u1"


def test_login_and_logout_write_addmember_and_removemember_for_each_queue_served() -> None:
    """One line per queue the operator can ever serve (tax 1 serves no queue whose widening stops at 2)."""
    picture = Picture(SITE)
    for user in ("op1001", "op1003", "op1005"):
        picture.login(user, 5.0)
        picture.login(user, 6.0)  # already logged in: nothing more
    added = [(e.agent, e.queue, e.callid, e.data) for e in _lines(picture, "ADDMEMBER")]
    assert added == [
        ("op1001", "general", qlog.MANAGER, ("",)),
        ("op1001", "tax", qlog.MANAGER, ("",)),
        ("op1001", "vip", qlog.MANAGER, ("",)),
        ("op1003", "general", qlog.MANAGER, ("",)),
        ("op1003", "tax", qlog.MANAGER, ("",)),
    ]
    picture.logout("op1003", 7.0, source="1700000000.77")
    picture.logout("op1003", 8.0)
    removed = [(e.agent, e.queue, e.callid) for e in _lines(picture, "REMOVEMEMBER")]
    assert removed == [("op1003", "general", "1700000000.77"), ("op1003", "tax", "1700000000.77")]


def test_pause_and_unpause_write_pause_and_unpause_lines() -> None:
    """PAUSE with the reason and UNPAUSE, once per queue served; a paused operator is offered nothing."""
    picture = _picture(["op1002"])
    picture.pause("op1002", "lunch", 10.0)
    assert [(e.queue, e.agent, e.data) for e in _lines(picture, "PAUSE")] == [
        ("general", "op1002", ("lunch",)),
        ("vip", "op1002", ("lunch",)),
    ]
    assert _route(picture, "u1", "100", 11.0).waiter is not None
    picture.unpause("op1002", 20.0)
    assert [(e.queue, e.agent) for e in _lines(picture, "UNPAUSE")] == [("general", "op1002"), ("vip", "op1002")]
    assert picture.operators["op1002"].offered_call == "u1"


def test_exitempty_when_nobody_logged_in_and_registered_could_ever_serve() -> None:
    """Nobody logged in, only an unregistered phone, or only tax 1 for the tax queue: EXITEMPTY at once."""
    nobody = Picture(SITE)
    unregistered = _picture(["op1004"], free=[])
    too_low = _picture(["op1005"])
    for picture in (nobody, unregistered, too_low):
        arrival = _route(picture, "u1", "200", 10.0)
        assert arrival.result is not None and (arrival.result.operator, arrival.result.target) == (None, "")
        assert picture.calls["u1"].outcome == "no_operator" and picture.waiting == {}
        (empty,) = _lines(picture, "EXITEMPTY", "u1")
        assert (empty.queue, empty.data) == ("tax", ("1", "1", "0"))
        assert picture.counters["no_operator"] == 1
    paused = _picture(["op1004"])
    paused.pause("op1004", "lunch", 1.0)
    assert _route(paused, "u1", "200", 10.0).waiter is not None  # paused operators come back: worth waiting


def test_the_maximum_wait_is_exitwithtimeout_and_only_for_a_waiting_caller() -> None:
    """leave() times out a waiting caller (EXITWITHTIMEOUT); for a ringing or answered call it changes nothing."""
    picture = _picture(["op1002"])
    _route(picture, "u1", "100", 10.0)
    _route(picture, "u2", "100", 11.0)
    picture.leave("u1", 300.0)  # ringing: the dialplan's Dial decides
    assert picture.calls["u1"].outcome is None
    picture.leave("u2", 311.0)
    assert picture.calls["u2"].outcome == "timeout"
    (timeout,) = _lines(picture, "EXITWITHTIMEOUT")
    assert (timeout.callid, timeout.data) == ("u2", ("1", "1", "300"))
    picture.apply(OperatorMissed("u1", "NOANSWER", 312.0))
    assert picture.operators["op1002"].offered_call is None, "a timed-out caller is offered to nobody"
    assert picture.counters == ZERO_COUNTERS | {
        "offered": 2,
        "answered": 0,
        "abandoned": 0,
        "timeout": 1,
        "no_operator": 0,
    }


def test_routing_again_a_call_already_decided_dials_nobody() -> None:
    """A retried AGI for a call that timed out, found nobody or was answered: no second offer, nothing recounted."""
    picture = _picture(["op1002"])
    _route(picture, "u1", "100", 10.0)
    picture.apply(OperatorAnswered("u1", 11.0, "u1-agent"))
    _route(picture, "u2", "100", 12.0)
    picture.leave("u2", 20.0)
    _route(picture, "u3", "200", 21.0)  # nobody logged in serves tax
    picture.apply(CallerHungUp("u1", 16, 30.0))
    counters = dict(picture.counters)
    for uniqueid in ("u2", "u3"):
        arrival = _route(picture, uniqueid, "100", 40.0)
        assert arrival.result is not None and arrival.result.target == ""
    assert picture.counters == counters and picture.waiting == {}
    assert all(op.offered_call is None for op in picture.operators.values())


def test_routing_again_while_the_first_operator_still_rings_releases_that_operator() -> None:
    """The dialplan is back before the DialEnd (or after a failed AGI): the first operator is freed, not held."""
    picture = _picture(["op1002"])
    first = _route(picture, "u1", "100", 10.0).result
    assert first is not None and first.operator == "op1002"
    again = _route(picture, "u1", "100", 31.0)  # nobody else free: back to op1002, offered once
    assert again.result is not None and again.result.operator == "op1002" and again.result.call_id == first.call_id
    assert [op.sip_user for op in picture.operators.values() if op.offered_call == "u1"] == ["op1002"]
    assert picture.operators["op1002"].misses == 0


def test_a_requeued_call_goes_to_another_free_operator_first() -> None:
    """After a ring-no-answer the call is offered to someone else when someone else can take it."""
    picture = _picture(["op1002", "op1003"])
    first = _route(picture, "u1", "100", 10.0).result  # closest match: op1003 (general 1)
    assert first is not None and first.operator == "op1003"
    picture.apply(OperatorMissed("u1", "NOANSWER", 30.0, "op1003"))
    again = _route(picture, "u1", "100", 30.1).result
    assert again is not None and again.operator == "op1002"


def test_a_late_dial_end_for_a_phone_rung_earlier_is_not_applied_to_the_phone_ringing_now() -> None:
    """DialEnd names the phone: op1003's late NOANSWER leaves op1002, now ringing for the same call, untouched."""
    picture = _picture(["op1002", "op1003"])
    _route(picture, "u1", "100", 10.0)  # op1003
    _route(picture, "u1", "100", 30.0)  # back before op1003's DialEnd: op1002
    assert picture.apply(OperatorMissed("u1", "NOANSWER", 30.1, "op1003")) is None
    assert picture.operators["op1002"].offered_call == "u1" and picture.operators["op1002"].misses == 0
    assert picture.apply(OperatorAnswered("u1", 35.0, "u1-agent", "op1003")) is None
    answered = picture.apply(OperatorAnswered("u1", 36.0, "u1-agent", "op1002"))
    assert answered is not None and answered.operator == "op1002" and answered.answered_at == 36.0


def test_an_event_stamped_before_the_route_of_its_call_counts_from_that_route() -> None:
    """A hangup racing its AGI request (Asterisk's stamp before our clock's): closed at the route's time, no error."""
    picture = _picture(["op1002"])
    _route(picture, "u1", "100", 100.2)
    _route(picture, "u2", "100", 100.3)
    closed = picture.apply(CallerHungUp("u2", 16, 99.9))
    assert closed is not None and (closed.outcome, closed.ended_at) == ("abandoned", 100.3)
    assert [e.data for e in _lines(picture, "ABANDON")] == [("1", "1", "0")]
    answered = picture.apply(OperatorAnswered("u1", 100.1, "u1-agent"))
    assert answered is not None and answered.answered_at == 100.3
    assert [(e.event, e.data[-1]) for e in picture.queue_log if e.callid == "u1"] == [
        ("ENTERQUEUE", "1"),
        ("CONNECT", "0"),
    ]
    assert picture.counters == ZERO_COUNTERS | {
        "offered": 2,
        "answered": 1,
        "abandoned": 1,
        "timeout": 0,
        "no_operator": 0,
    }


def test_answered_call_completes_caller_or_agent_and_counts_once() -> None:
    """CONNECT at the answer; COMPLETECALLER when the caller ends it, COMPLETEAGENT when the operator hung up first."""
    picture = _picture(["op1001", "op1002"])
    _route(picture, "u1", "100", 10.0)
    _route(picture, "u2", "100", 10.0)
    for uniqueid in ("u1", "u2"):
        answered = picture.apply(OperatorAnswered(uniqueid, 12.5, f"{uniqueid}-agent"))
        assert answered is not None and (answered.answered_at, answered.outcome) == (12.5, "answered")
    picture.apply(CallerHungUp("u2-agent", 16, 40.0))
    assert "u2" in picture.calls
    for uniqueid in ("u1", "u2"):
        ended = picture.apply(CallerHungUp(uniqueid, 16, 40.2))
        assert ended is not None and (ended.ended_at, ended.hangup_cause, ended.outcome) == (40.2, 16, "answered")
    (connect, _) = _lines(picture, "CONNECT")
    assert (connect.callid, connect.data) == ("u1", ("2", "u1-agent", "2"))
    assert [e.callid for e in _lines(picture, "COMPLETECALLER")] == ["u1"]
    assert [(e.callid, e.data) for e in _lines(picture, "COMPLETEAGENT")] == [("u2", ("2", "28", "1"))]
    assert picture.counters == ZERO_COUNTERS | {
        "offered": 2,
        "answered": 2,
        "abandoned": 0,
        "timeout": 0,
        "no_operator": 0,
    }
    assert picture.tallies["general"].completed == 2 and picture.calls == {}


def test_recording_path_follows_the_site_and_the_queue_setting() -> None:
    """The general queue records under the site's folder; the tax queue turns recording off."""
    picture = _picture()
    general = _route(picture, "u1", "100", 10.0).result
    assert general is not None and general.recording == f"/srv/switchboard/recordings/{general.call_id}.wav"
    tax = _route(picture, "u2", "200", 10.0).result
    assert tax is not None and tax.operator is not None and tax.recording == ""
    assert picture.calls["u2"].recording is None


def test_late_or_repeated_dial_ends_do_not_count_a_call_twice() -> None:
    """ANSWER twice, then NOANSWER, then BUSY: the first outcome stands and each counter moves once."""
    picture = _picture(["op1001"])
    _route(picture, "u1", "100", 10.0)
    assert picture.apply(OperatorAnswered("u1", 11.0, "a1")) is not None
    assert picture.apply(OperatorAnswered("u1", 11.5, "a2")) is None
    assert picture.apply(OperatorMissed("u1", "NOANSWER", 12.0)) is None
    assert picture.apply(OperatorMissed("u1", "BUSY", 12.0)) is None
    assert picture.calls["u1"].answered_at == 11.0 and picture.calls["u1"].outcome == "answered"
    assert picture.operators["op1001"].misses == 0
    ended = picture.apply(CallerHungUp("u1", 16, 20.0))
    assert ended is not None and ended.outcome == "answered"
    assert picture.apply(CallerHungUp("u1", 16, 20.5)) is None
    assert picture.apply(OperatorAnswered("u1", 21.0)) is None
    assert picture.counters == ZERO_COUNTERS | {
        "offered": 1,
        "answered": 1,
        "abandoned": 0,
        "timeout": 0,
        "no_operator": 0,
    }
    assert len(_lines(picture, "CONNECT")) == 1 and len(_lines(picture, "COMPLETECALLER")) == 1


def test_phone_changes_of_unknown_devices_are_ignored() -> None:
    """PhoneStateChanged for a device that is nobody's phone leaves every operator as it was."""
    picture = _picture()
    before = dict(picture.operators)
    for stranger in STRANGERS:
        assert picture.apply(PhoneStateChanged(stranger, "INUSE", 5.0)) is None
    assert picture.operators == before


# -- rebuilds ---------------------------------------------------------------------------------------


def _open(uniqueid: str, operator: str | None, *, answered: bool = False) -> CallRecord:
    record = CallRecord(f"id-{uniqueid}", uniqueid, "inbound", "5550001", "100", "general", operator, 100.0)
    return replace(record, answered_at=101.0, outcome="answered") if answered else record


def test_restart_closes_records_no_longer_live_and_keeps_live_ones() -> None:
    """A new picture from SQL: gone calls closed at `now` (answered stays answered, ringing becomes abandoned)."""
    records = [
        _open("gone-ringing", "op1001"),
        _open("gone-answered", "op1002", answered=True),
        _open("live-ringing", "op1003"),
        _open("live-answered", "op1004", answered=True),
    ]
    picture = Picture(SITE)
    states = {"op1001": "NOT_INUSE", "op1002": "NOT_INUSE", "op1003": "RINGING", "op1004": "INUSE"}
    closed = picture.rebuild(states, {"live-ringing", "live-answered", "other"}, records, now=200.0)
    assert {r.uniqueid: r.outcome for r in closed} == {"gone-ringing": "abandoned", "gone-answered": "answered"}
    assert all(r.ended_at == 200.0 and r.hangup_cause is None for r in closed)
    assert set(picture.calls) == {"live-ringing", "live-answered"}
    offered = {user: op.offered_call for user, op in picture.operators.items()}
    assert offered == {"op1001": None, "op1002": None, "op1003": "live-ringing", "op1004": None, "op1005": None}
    assert picture.counters == ZERO_COUNTERS | {
        "offered": 4,
        "answered": 2,
        "abandoned": 1,
        "timeout": 0,
        "no_operator": 0,
    }
    assert picture.tallies["general"].offered == 4 and picture.tallies["general"].answered == 2
    assert [e.callid for e in _lines(picture, "COMPLETECALLER")] == ["gone-answered"]
    picture.apply(CallerHungUp("live-answered", 16, 210.0))
    assert [e.callid for e in _lines(picture, "COMPLETECALLER")] == ["gone-answered", "live-answered"]
    assert picture.tallies["general"].completed == 2


def test_reconnect_closes_calls_that_died_with_asterisk_and_releases_their_operators() -> None:
    """The same picture after Asterisk's restart: no channel is live, every call is closed, nobody stays offered."""
    picture = _picture(["op1001", "op1002"])
    _route(picture, "u1", "100", 10.0)
    _route(picture, "u2", "100", 10.0)
    _route(picture, "u3", "100", 10.0)
    picture.apply(OperatorAnswered("u1", 11.0))
    closed = picture.rebuild({"op1001": "UNAVAILABLE"}, set(), [], now=50.0)
    assert {(r.uniqueid, r.outcome, r.ended_at) for r in closed} == {
        ("u1", "answered", 50.0),
        ("u2", "abandoned", 50.0),
        ("u3", "abandoned", 50.0),
    }
    assert picture.calls == {} and picture.waiting == {}
    assert all(op.offered_call is None and op.on_call is None for op in picture.operators.values())
    assert all(op.phone_state == "UNAVAILABLE" for op in picture.operators.values())
    assert picture.counters == ZERO_COUNTERS | {
        "offered": 3,
        "answered": 1,
        "abandoned": 2,
        "timeout": 0,
        "no_operator": 0,
    }


def test_rebuild_does_not_offer_again_a_live_call_the_operator_already_missed() -> None:
    """A call whose DialEnd said NOANSWER is still live at the rebuild: its operator is free, not offered."""
    picture = _picture(["op1001"])
    _route(picture, "u1", "100", 10.0)
    picture.apply(OperatorMissed("u1", "NOANSWER", 25.0))
    picture.rebuild({"op1001": "NOT_INUSE"}, {"u1"}, [], now=26.0)
    assert picture.operators["op1001"].offered_call is None
    assert picture.operators["op1001"].presence(26.0) is Presence.AVAILABLE


def test_rebuild_keeps_a_ringing_operator_out_of_the_calls_it_dispatches() -> None:
    """Closing a gone call frees an operator mid-rebuild; the operator still ringing for a kept call is not taken."""
    picture = _picture(["op1001", "op1002"])
    _route(picture, "gone", "200", 10.0)  # op1001, the only one with tax, rings for it
    _route(picture, "kept", "100", 11.0)  # op1002, the closest match left
    _route(picture, "waits", "100", 12.0)
    ringing = picture.calls["kept"].operator
    picture.rebuild({"op1001": "NOT_INUSE", "op1002": "NOT_INUSE"}, {"kept", "waits"}, [], now=20.0)
    assert ringing is not None and picture.operators[ringing].offered_call == "kept"
    other = picture.calls["waits"].operator
    assert other is not None and other != ringing and picture.operators[other].offered_call == "waits"


def test_record_of_an_operator_gone_from_the_site_is_kept_without_failing() -> None:
    """An open record names an operator no longer configured: the rebuild keeps the live call and raises nothing."""
    picture = Picture(SITE)
    answered = _open("u3", "op7777", answered=True)
    closed = picture.rebuild({}, {"u1", "u3"}, [_open("u1", "op7777"), _open("u2", "op7777"), answered], now=200.0)
    assert [r.uniqueid for r in closed] == ["u2"]
    assert set(picture.calls) == {"u1", "u3"}
    assert picture.apply(CallerHungUp("u1", 16, 201.0)) is not None
    assert picture.apply(CallerHungUp("u3", 16, 202.0)) is not None
    assert [e.callid for e in _lines(picture, "COMPLETECALLER")] == ["u3"]


def test_a_built_picture_ignores_stale_sql_records_of_calls_it_already_ended() -> None:
    """SQL still says open for a call the picture closed (not flushed yet): a reconnect neither reopens nor counts."""
    picture = _picture(["op1001"])
    assert picture.rebuild({"op1001": "NOT_INUSE"}, set(), [], now=1.0) == []
    _route(picture, "u1", "100", 10.0)
    (record,) = picture.take_dirty()
    picture.apply(CallerHungUp("u1", 16, 12.0))
    counters = dict(picture.counters)
    assert picture.rebuild({"op1001": "NOT_INUSE"}, set(), [record], now=13.0) == []
    assert picture.calls == {}
    assert picture.counters == counters


def test_calls_routed_after_the_channel_list_was_asked_are_kept() -> None:
    """A call routed while CoreShowChannels was on its way cannot be in the list: the rebuild keeps it ringing."""
    picture = _picture(["op1001", "op1002"])
    _route(picture, "old", "100", 10.0)
    result = _route(picture, "new", "100", 20.0).result
    closed = picture.rebuild({"op1001": "NOT_INUSE", "op1002": "NOT_INUSE"}, set(), [], now=21.0, listed_at=19.0)
    assert [r.uniqueid for r in closed] == ["old"]
    assert set(picture.calls) == {"new"}
    assert result is not None and result.operator is not None
    assert picture.operators[result.operator].offered_call == "new"


# -- translate: raw AMI in, our events out ----------------------------------------------------------


def _msg(*pairs: tuple[str, str]) -> AmiMessage:
    return AmiMessage.of(*pairs)


def test_device_state_of_an_operator_phone_is_a_phone_state_change() -> None:
    """DeviceStateChange for PJSIP/op1001 becomes PhoneStateChanged with the state and Asterisk's timestamp."""
    msg = _msg(("Event", "DeviceStateChange"), ("Timestamp", "1700000000.250000"), ("Device", "PJSIP/op1001"),
               ("State", "INUSE"))  # fmt: skip
    assert translate(msg, now=5.0) == PhoneStateChanged("op1001", "INUSE", 1700000000.25)


def test_device_state_without_a_state_is_unknown() -> None:
    """A DeviceStateChange with no State header says UNKNOWN, which the picture counts as offline."""
    assert translate(_msg(("Event", "DeviceStateChange"), ("Device", "PJSIP/op1001")), 5.0) == PhoneStateChanged(
        "op1001", "UNKNOWN", 5.0
    )


def test_devices_that_are_no_single_pjsip_endpoint_are_dropped() -> None:
    """Local/..., Queue:..., Custom:... and PJSIP/x/y devices give no event."""
    for device in ["Local/100@switchboard-inbound", "Local/s@ctx/n", "Queue:general", "Custom:x", "PJSIP/op1001/sip:a",
                   "SIP/op1001", ""]:  # fmt: skip
        msg = _msg(("Event", "DeviceStateChange"), ("Device", device), ("State", "INUSE"))
        assert translate(msg, 5.0) is None, device


def test_trunk_device_states_reach_the_picture_as_nobody_s_phone() -> None:
    """PJSIP/trunk or a PJSIP/trunk-00000001 name is not dropped by translate; the picture ignores it (no operator)."""
    picture = _picture()
    before = dict(picture.operators)
    for device in ["PJSIP/trunk", "PJSIP/trunk-00000001"]:
        event = translate(_msg(("Event", "DeviceStateChange"), ("Device", device), ("State", "INUSE")), 5.0)
        assert isinstance(event, PhoneStateChanged)
        assert picture.apply(event) is None
    assert picture.operators == before


def test_dial_end_answer_is_operator_answered_with_the_operator_leg() -> None:
    """DialEnd ANSWER: the caller's Uniqueid, DestUniqueid as agent_uniqueid, DestChannel's operator, the timestamp."""
    msg = _msg(("Event", "DialEnd"), ("Timestamp", "1700000001.5"), ("Uniqueid", "sw-1.1"),
               ("DestChannel", "PJSIP/op1001-0000002a"), ("DestUniqueid", "sw-1.2"),
               ("DialStatus", "ANSWER"))  # fmt: skip
    assert translate(msg, 5.0) == OperatorAnswered("sw-1.1", 1700000001.5, "sw-1.2", "op1001")
    bare = _msg(("Event", "DialEnd"), ("Uniqueid", "sw-1.1"), ("DialStatus", "ANSWER"))
    assert translate(bare, 5.0) == OperatorAnswered("sw-1.1", 5.0, "")


@given(status=st.sampled_from(["NOANSWER", "BUSY", "CANCEL", "CHANUNAVAIL", "CONGESTION", "DONTCALL", ""]))
def test_dial_end_other_statuses_are_operator_missed_with_the_status(status: str) -> None:
    """Any DialEnd status but ANSWER is OperatorMissed carrying that status and the operator rung."""
    msg = _msg(("Event", "DialEnd"), ("Uniqueid", "sw-1.1"), ("DestChannel", "PJSIP/op1002-00000003"),
               ("DestUniqueid", "sw-1.2"), ("DialStatus", status))  # fmt: skip
    assert translate(msg, 5.0) == OperatorMissed("sw-1.1", status, 5.0, "op1002")


def test_dial_end_without_a_uniqueid_is_dropped() -> None:
    """A DialEnd that names no caller channel gives no event."""
    assert translate(_msg(("Event", "DialEnd"), ("DialStatus", "ANSWER")), 5.0) is None


def test_hangup_carries_the_numeric_cause_and_a_non_numeric_cause_reads_as_zero() -> None:
    """Hangup Cause 16 stays 16; a Cause that is no number (or none) becomes 0 instead of raising."""
    assert translate(_msg(("Event", "Hangup"), ("Uniqueid", "sw-1.1"), ("Cause", "16")), 5.0) == CallerHungUp(
        "sw-1.1", 16, 5.0
    )
    for cause in ["Normal Clearing", "", "16a", "0x10"]:
        msg = _msg(("Event", "Hangup"), ("Uniqueid", "sw-1.1"), ("Cause", cause), ("Timestamp", "17.5"))
        assert translate(msg, 5.0) == CallerHungUp("sw-1.1", 0, 17.5), cause
    assert translate(_msg(("Event", "Hangup"), ("Uniqueid", "sw-1.1")), 5.0) == CallerHungUp("sw-1.1", 0, 5.0)


@given(stamp=st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_timestamp_header_is_the_event_time(stamp: float) -> None:
    """With timestampevents=yes the Timestamp header, not our read time, is the event's `at`."""
    msg = _msg(("Event", "Hangup"), ("Uniqueid", "sw-1.1"), ("Timestamp", repr(stamp)))
    event = translate(msg, now=-1.0)
    assert event is not None and event.at == stamp


@given(stamp=st.sampled_from(["", "soon", "1700000000,5", "12:00:00"]))
def test_an_unreadable_timestamp_falls_back_to_the_read_time(stamp: str) -> None:
    """A Timestamp that is no number is replaced by the time we read the message."""
    msg = _msg(("Event", "DialEnd"), ("Uniqueid", "sw-1.1"), ("DialStatus", "ANSWER"), ("Timestamp", stamp))
    assert translate(msg, now=42.0) == OperatorAnswered("sw-1.1", 42.0)


@given(
    name=st.text(max_size=20).filter(lambda n: n not in {"DeviceStateChange", "DialEnd", "Hangup"}),
    headers=st.lists(st.tuples(st.sampled_from(["Uniqueid", "Device", "State", "Cause"]), st.text(max_size=10))),
)
def test_other_events_give_nothing(name: str, headers: list[tuple[str, str]]) -> None:
    """Newchannel, DialBegin, VarSet... (any other name) are not our events."""
    assert translate(_msg(("Event", name), *headers), 5.0) is None


@given(
    name=st.sampled_from(["DeviceStateChange", "DialEnd", "Hangup"]),
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                ["Uniqueid", "Device", "State", "Cause", "DialStatus", "DestChannel", "DestUniqueid", "Timestamp"]
            ),
            st.text(),
        )
    ),
)
def test_translate_never_raises_on_odd_header_values(name: str, headers: list[tuple[str, str]]) -> None:
    """Whatever the values of the headers we read, translate returns an event or None."""
    event = translate(_msg(("Event", name), *headers), 5.0)
    assert event is None or isinstance(event, PhoneStateChanged | OperatorAnswered | OperatorMissed | CallerHungUp)


def test_an_adopted_answered_call_keeps_its_operator_busy_then_in_wrap_up() -> None:
    """After a restart, the operator of a live answered call is on it (not offered a new call) and wraps up after."""
    picture = _picture()
    picture.rebuild(dict.fromkeys(OPERATORS, "NOT_INUSE"), {"live"}, [_open("live", "op1002", answered=True)], 200.0)
    assert picture.operators["op1002"].on_call == "live"
    assert picture.operators["op1002"].presence(200.0) is Presence.ON_CALL
    picture.apply(CallerHungUp("live", 16, 230.0))
    assert picture.operators["op1002"].presence(231.0) is Presence.WRAP_UP  # general: 5 s of wrap-up
    assert [e.event for e in picture.queue_log if e.callid == "live"] == ["COMPLETECALLER"]
