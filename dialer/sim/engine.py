"""The dialer simulation's event loop: shifts, operators, calls in flight, AMD verdicts, the grace, churn.

Pure: time is simulated seconds, randomness comes from the seeded fates; a Policy says how many calls to launch.

How a call goes (the same for every policy):
- launched: its fate says how it ends and when. A person answers at the end of the greeting; with AMD on the call
  is connectable only at the HUMAN verdict (amd_human_s later) and AMD's false positives are hung up on then.
  A machine is dropped at its MACHINE verdict (amd_s after answering); with AMD off it is put through like a person
  and the operator hangs up after operator_machine_s.
- connectable: put through at once to the operator free longest, else it waits; if nobody frees before the grace
  runs out (grace_s from the greeting's end) it is dropped. A dropped person is abandoned; so is one AMD hung up on.
- operators talk, wrap up and are free again; a churning operator's log-out request takes effect after the call.
- launches stop at the end of the shift; calls still in flight are served by the operators still there, and only
  time inside the shift counts toward occupancy.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Protocol

from dialer.pacing_learning import Ending
from dialer.sim.fates import LIVE, MACHINE, Fate, LeadStream, churn_spells
from dialer.sim.scenario import DialerScenario

OUT, FREE, TALK, WRAP, ON_MACHINE = range(5)
_RESOLVE, _DEADLINE, _TALK_END, _FREE, _TICK, _LOGOUT, _LOGIN, _START, _END, _PLANNED = range(10)
DAY_S = 86400.0
_ENDINGS = {MACHINE: Ending.MACHINE, 2: Ending.BUSY, 3: Ending.NO_ANSWER}


class Operator:
    __slots__ = ("churner", "counted", "index", "leaving", "since", "state")

    def __init__(self, index: int, churner: bool) -> None:
        self.index = index
        self.churner = churner
        self.state = OUT
        self.since = 0.0  # in this state since
        self.counted = 0.0  # time credited up to here
        self.leaving = False  # asked to log out: goes once the call and wrap-up are done


class Call:
    __slots__ = ("fate", "id", "launched_at", "lead", "risk")

    def __init__(self, ident: int, lead: int, launched_at: float, fate: Fate, risk: float) -> None:
        self.id = ident
        self.lead = lead
        self.launched_at = launched_at
        self.fate = fate
        self.risk = risk  # what pacing expected it to add to the abandoned calls, per connect


class Policy(Protocol):
    amd: bool
    every_event: bool  # decide after every event, or only on the one-second tick

    def decide(self, now: float) -> list[float]: ...  # one risk per call to launch now
    def tick(self, now: float) -> None: ...
    def ended(self, ending: Ending, after_s: float, now: float) -> None: ...
    def answered(self, call: Call, *, dropped: bool, now: float) -> None: ...
    def worked(self, state: int, seconds: float) -> None: ...
    def connected(self, operator: Operator, call: Call, now: float) -> None: ...


@dataclass(slots=True)
class RunResult:
    """One seed's counts and times (times are seconds inside the shifts)."""

    dialed: int = 0
    answered: int = 0  # by a person, AMD's false positives included
    abandoned: int = 0  # people dropped after the grace, and people AMD hung up on
    connected: int = 0  # people put through to an operator
    talk_s: float = 0.0
    busy_s: float = 0.0  # talk with people + wrap-up
    idle_s: float = 0.0
    logged_s: float = 0.0
    put_through: int = 0  # calls put through inside the shifts (machines too), for the mean wait
    day_answered: list[int] = field(default_factory=list)
    day_abandoned: list[int] = field(default_factory=list)

    @property
    def occupancy(self) -> float:
        return self.busy_s / self.logged_s if self.logged_s else 0.0

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    @property
    def worst_day_rate(self) -> float:
        rates = [a / n for a, n in zip(self.day_abandoned, self.day_answered, strict=True) if n]
        return max(rates, default=0.0)


class _Unset:
    """The policy slot before run() fills it."""

    amd = False
    every_event = False

    def decide(self, now: float) -> list[float]:
        raise RuntimeError("Run.run(policy) first")

    def tick(self, now: float) -> None: ...
    def ended(self, ending: Ending, after_s: float, now: float) -> None: ...
    def answered(self, call: Call, *, dropped: bool, now: float) -> None: ...
    def worked(self, state: int, seconds: float) -> None: ...
    def connected(self, operator: Operator, call: Call, now: float) -> None: ...


class Run:
    """One seed of one scenario under one policy: a heap of (time, sequence, kind, reference)."""

    def __init__(self, scenario: DialerScenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.leads = LeadStream(scenario, seed)
        churners = round(scenario.agent_churn * scenario.agents)
        self.operators = [Operator(i, i >= scenario.agents - churners) for i in range(scenario.agents)]
        self.free: dict[int, None] = {}  # free operators, longest free first
        self.talking: dict[int, float] = {}  # operator -> since; leaving operators are left out of these three
        self.wrapping: dict[int, float] = {}
        self.on_machine: dict[int, float] = {}
        self.ringing: dict[int, Call] = {}
        self.waiting: dict[int, Call] = {}  # connectable, oldest first
        self.logouts: dict[int, list[float]] = {}  # churners' log-out request times today, for the oracle
        self.result = RunResult(day_answered=[0] * scenario.days, day_abandoned=[0] * scenario.days)
        self.open = False
        self.start = self.end = 0.0
        self.cursor = 0  # the next lead in the list
        self._events: list[tuple[float, int, int, int]] = []
        self._sequence = 0
        self._calls = 0
        self._wrapups: dict[int, float] = {}  # operator -> the wrap-up its current call will need
        self.policy: Policy = _Unset()

    # --- the loop -------------------------------------------------------------------------------------------

    def run(self, policy: Policy) -> RunResult:
        self.policy = policy
        for day in range(self.scenario.days):
            self._push(day * DAY_S, _START, day)
            self._push(day * DAY_S + self.scenario.shift_s, _END, day)
        handlers = (
            self._resolve, self._deadline, self._talk_end, self._freed, self._tick, self._logout, self._login,
            self._shift_start, self._shift_end, self._fire_planned,
        )  # fmt: skip
        events = self._events
        while events:
            now, _, kind, ref = heapq.heappop(events)
            handlers[kind](now, ref)
            if self.open and (policy.every_event or kind == _TICK):
                for risk in policy.decide(now):
                    self.launch(now, risk)
        return self.result

    def _push(self, time: float, kind: int, ref: int) -> None:
        self._sequence += 1
        heapq.heappush(self._events, (time, self._sequence, kind, ref))

    # --- what policies may do -------------------------------------------------------------------------------

    def launch(self, now: float, risk: float = 0.0, lead: int | None = None) -> Call:
        """Dial the next lead (or the one given); its fate is read at the moment it is dialed."""
        if lead is None:
            lead, self.cursor = self.cursor, self.cursor + 1
        fate = self.leads.fate(lead, now - self.start)
        self._calls += 1
        call = Call(self._calls, lead, now, fate, risk)
        self.ringing[call.id] = call
        self.result.dialed += 1
        amd = self.policy.amd
        delay = 0.0
        if amd and fate.kind == LIVE:
            delay = self.scenario.amd_human_s
        elif amd and fate.kind == MACHINE:
            delay = self.scenario.amd_s
        self._push(now + fate.ends_s + delay, _RESOLVE, call.id)
        return call

    def plan(self, at: float, lead: int) -> None:
        """Launch `lead` at `at` (the oracle's way of timing a call to an operator's free moment)."""
        self._push(at, _PLANNED, lead)

    def next_live_lead(self, now: float, free_at: float) -> tuple[int, float] | None:
        """The next lead a person answers (AMD off) if dialed to answer at `free_at`, or at once: (lead, when)."""
        for lead in range(self.cursor, self.cursor + 500):
            dial_at = max(free_at - self.leads.live_ring(lead), now)
            if self.leads.fate(lead, dial_at - self.start).kind == LIVE:
                self.cursor = lead + 1  # the leads skipped are never dialed: the oracle knew they were no use
                return lead, dial_at
        return None

    # --- events ---------------------------------------------------------------------------------------------

    def _resolve(self, now: float, ident: int) -> None:
        call = self.ringing.pop(ident)
        policy, fate, spec = self.policy, call.fate, self.scenario
        after = now - call.launched_at
        if fate.kind == LIVE:
            day = self._day(now)
            self.result.answered += 1
            self.result.day_answered[day] += 1
            if policy.amd and fate.amd_miss:  # AMD hangs up on a person: abandoned, and the dialer never knows
                self._abandon(day)
                policy.ended(Ending.MACHINE, after, now)
                return
            policy.ended(Ending.CONNECTABLE, after, now)
            self._connectable(call, now, spec.grace_s - (spec.amd_human_s if policy.amd else 0.0))
        elif fate.kind == MACHINE and not policy.amd:
            policy.ended(Ending.CONNECTABLE, after, now)
            self._connectable(call, now, spec.grace_s)
        else:
            policy.ended(_ENDINGS[fate.kind], after, now)

    def _connectable(self, call: Call, now: float, grace_left: float) -> None:
        if self.free:
            operator = next(iter(self.free))
            del self.free[operator]
            self._put_through(call, self.operators[operator], now)
        else:
            self.waiting[call.id] = call
            self._push(now + max(grace_left, 0.0), _DEADLINE, call.id)

    def _put_through(self, call: Call, operator: Operator, now: float) -> None:
        self._account(operator, now)
        if self.start <= now < self.end:
            self.result.put_through += 1
        if call.fate.kind == LIVE:
            self.result.connected += 1
            operator.state, operator.since = TALK, now
            self.talking[operator.index] = now
            self._wrapups[operator.index] = call.fate.wrapup_s
            self._push(now + call.fate.talk_s, _TALK_END, operator.index)
        else:
            operator.state, operator.since = ON_MACHINE, now
            self.on_machine[operator.index] = now
            self._push(now + self.scenario.operator_machine_s, _FREE, operator.index)
        self.policy.answered(call, dropped=False, now=now)
        self.policy.connected(operator, call, now)

    def _deadline(self, now: float, ident: int) -> None:
        call = self.waiting.pop(ident, None)
        if call is None:
            return  # put through in time
        if call.fate.kind == LIVE:
            self._abandon(self._day(now))
        self.policy.answered(call, dropped=True, now=now)

    def _abandon(self, day: int) -> None:
        self.result.abandoned += 1
        self.result.day_abandoned[day] += 1

    def _talk_end(self, now: float, index: int) -> None:
        operator = self.operators[index]
        self.policy.worked(TALK, now - operator.since)
        self._account(operator, now)
        operator.state, operator.since = WRAP, now
        if self.talking.pop(index, None) is not None:
            self.wrapping[index] = now
        self._push(now + self._wrapups.pop(index), _FREE, index)

    def _freed(self, now: float, index: int) -> None:
        operator = self.operators[index]
        self.policy.worked(operator.state, now - operator.since)
        self.wrapping.pop(index, None)
        self.on_machine.pop(index, None)
        self._account(operator, now)
        if operator.leaving:
            operator.state, operator.since, operator.leaving = OUT, now, False
        else:
            self._make_free(operator, now)

    def _make_free(self, operator: Operator, now: float) -> None:
        self._account(operator, now)
        if self.waiting:
            call = self.waiting.pop(next(iter(self.waiting)))
            self._put_through(call, operator, now)
        else:
            operator.state, operator.since = FREE, now
            self.free[operator.index] = None

    def _tick(self, now: float, _ref: int) -> None:
        self.policy.tick(now)
        if now + 1.0 < self.end:
            self._push(now + 1.0, _TICK, 0)

    def _logout(self, now: float, index: int) -> None:
        operator = self.operators[index]
        if operator.state == OUT or not self.open:
            return
        if operator.state == FREE:
            self._account(operator, now)
            del self.free[index]
            operator.state, operator.since = OUT, now
            return
        operator.leaving = True  # pacing no longer counts on this operator
        for group in (self.talking, self.wrapping, self.on_machine):
            group.pop(index, None)

    def _login(self, now: float, index: int) -> None:
        operator = self.operators[index]
        if not self.open:
            return
        if operator.state == OUT:
            self._make_free(operator, now)
        elif operator.leaving:
            operator.leaving = False
            group = {TALK: self.talking, WRAP: self.wrapping, ON_MACHINE: self.on_machine}[operator.state]
            group[index] = operator.since

    def _shift_start(self, now: float, day: int) -> None:
        self.open, self.start, self.end = True, now, now + self.scenario.shift_s
        for operator in self.operators:
            spells = churn_spells(self.scenario, self.seed, operator.index, day) if operator.churner else []
            self.logouts[operator.index] = [now + out for out, _ in spells]
            away_at_start = bool(spells) and spells[0][0] == 0.0
            if operator.state == OUT and not away_at_start:
                self._make_free(operator, now)
            elif operator.state == FREE and away_at_start:
                del self.free[operator.index]
                operator.state, operator.since = OUT, now
            for out, back in spells:
                if out > 0.0:
                    self._push(now + out, _LOGOUT, operator.index)
                self._push(now + back, _LOGIN, operator.index)
        self._push(now + 1.0, _TICK, 0)

    def _shift_end(self, now: float, _day: int) -> None:
        for operator in self.operators:
            self._account(operator, now)
        self.open = False

    def _fire_planned(self, now: float, lead: int) -> None:
        if self.open:
            self.launch(now, 0.0, lead)

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def _account(self, operator: Operator, now: float) -> None:
        """Credit the time since the operator's last change, inside the shift, to what they were doing."""
        seconds = min(now, self.end) - max(operator.counted, self.start)
        operator.counted = now
        if seconds <= 0 or operator.state == OUT:
            return
        result = self.result
        result.logged_s += seconds
        if operator.state == FREE:
            result.idle_s += seconds
        elif operator.state == TALK:
            result.talk_s += seconds
            result.busy_s += seconds
        elif operator.state == WRAP:
            result.busy_s += seconds

    def _day(self, now: float) -> int:
        return min(int(now // DAY_S), self.scenario.days - 1)
