"""The pacing policies the simulator compares: ours (production code) beside VICIdial's and the physical limit.

- progressive, power:R and predictive call dialer.pacing.calls_to_launch, exactly as the production dialer will.
- vicidial: ADAPT_TAPERED as VICIdial's AST_VDadapt.pl and AST_VDauto_dial.pl do it (see Vicidial).
- oracle: knows every call's fate, so it dials only the people who will answer, timed to answer just as an
  operator frees: what no real dialer can beat.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import replace

from dialer.pacing import (
    Ending,
    Floor,
    Method,
    PacingParams,
    PacingState,
    Work,
    amd_pays,
    answer_recorded,
    attempt_ended,
    calls_to_launch,
    new_memory,
    work_done,
)
from dialer.sim.engine import FREE, ON_MACHINE, TALK, WRAP, Call, Operator, Run
from dialer.sim.fates import LIVE

POLICY_NAMES = ("predictive", "progressive", "power:R", "vicidial", "oracle")
_WORK = {TALK: Work.TALK, WRAP: Work.WRAPUP, ON_MACHINE: Work.MACHINE}


class _Policy:
    """What every policy does by default: nothing, with the scenario's AMD setting."""

    every_event = True

    def __init__(self, run: Run) -> None:
        self.run = run
        self.amd = run.scenario.amd

    def decide(self, now: float) -> list[float]:
        return []

    def tick(self, now: float) -> None:
        return None

    def ended(self, ending: Ending, after_s: float, now: float) -> None:
        return None

    def answered(self, call: Call, *, dropped: bool, now: float) -> None:
        return None

    def worked(self, state: int, seconds: float) -> None:
        return None

    def connected(self, operator: Operator, call: Call, now: float) -> None:
        return None


def pacing_params(run: Run, method: Method, ratio: float = 1.0) -> PacingParams:
    """The production settings a campaign like the scenario's would have."""
    spec = run.scenario
    return PacingParams(
        method=method,
        ratio=ratio,
        max_abandon_rate=spec.max_abandon_rate,
        window_s=spec.window_s,
        grace_s=spec.grace_s,
        amd=spec.amd,
        amd_human_s=spec.amd_human_s,
        amd_machine_s=spec.amd_s,
        amd_false_positive=spec.amd_false_positive,
        dial_timeout_s=spec.no_answer_timeout_s,
    )


class Ratio(_Policy):
    """Progressive (ratio 1) and power:R, through the production pacing code."""

    def __init__(self, run: Run, ratio: float) -> None:
        super().__init__(run)
        method = Method.PROGRESSIVE if ratio == 1.0 else Method.POWER
        self.params = pacing_params(run, method, ratio)

    def decide(self, now: float) -> list[float]:
        run = self.run
        floor = Floor(free=len(run.free), waiting=len(run.waiting), ringing_since=(0.0,) * len(run.ringing))
        return [0.0] * calls_to_launch(PacingState(floor, _EMPTY), self.params, now).launch


class Predictive(_Policy):
    """Ours: the production predictive pacing, learning online from the calls it makes."""

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        params = pacing_params(run, Method.PREDICTIVE)
        self.params = replace(params, amd=amd_pays(params))
        self.amd = self.params.amd
        self.memory = new_memory(self.params)

    def decide(self, now: float) -> list[float]:
        run = self.run
        calls = run.ringing.values()
        floor = Floor(
            free=len(run.free),
            talking_since=tuple(run.talking.values()),
            wrapup_since=tuple(run.wrapping.values()),
            machine_since=tuple(run.on_machine.values()),
            ringing_since=tuple(call.launched_at for call in calls),
            ringing_risk=tuple(call.risk for call in calls),
            waiting=len(run.waiting),
        )
        return list(calls_to_launch(PacingState(floor, self.memory), self.params, now).risks)

    def ended(self, ending: Ending, after_s: float, now: float) -> None:
        self.memory = attempt_ended(self.memory, self.params, ending, after_s, now)

    def answered(self, call: Call, *, dropped: bool, now: float) -> None:
        self.memory = answer_recorded(self.memory, self.params, now, dropped=dropped)

    def worked(self, state: int, seconds: float) -> None:
        self.memory = work_done(self.memory, _WORK[state], seconds)


class Vicidial(_Policy):
    """VICIdial ADAPT_TAPERED (AST_VDadapt.pl's calculate_dial_level, AST_VDauto_dial.pl's goal calls).

    Agents are those VICIdial dials for: READY or INCALL; one in wrap-up is on the disposition screen, PAUSED.
    Every second it samples ready agents, answered calls waiting for one and those agents (15 samples kept);
    every 15 s the dial level is multiplied by 1 + (avg ready - avg waiting) / avg agents and clamped to [1, 3];
    with more than 20 answers in the last minute and over half of them dropped it is halved; once today's drops
    exceed the cap over more than 50 answers, it is scaled by min(1, minutes left in the shift / 600), 1 past the
    end: lenient early in the day, strict late. Each second it places round(level x agents) - active calls, active
    being those ringing, waiting or talking with an agent. It sees drops, not AMD's false positives.
    """

    every_event = False

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self.level = 1.0
        self.samples: deque[tuple[int, int, int]] = deque(maxlen=15)
        self.ticks = 0
        self.day = -1
        self.today = [0, 0]  # answered, dropped
        self.last_minute: deque[tuple[float, bool]] = deque()

    def decide(self, now: float) -> list[float]:
        run = self.run
        talking = sum(1 for op in run.operators if op.state in (TALK, ON_MACHINE))
        agents = talking + len(run.free)  # READY and INCALL: an agent on the disposition screen is PAUSED
        active = len(run.ringing) + len(run.waiting) + talking
        return [0.0] * max(round(self.level * agents) - active, 0)

    def tick(self, now: float) -> None:
        run = self.run
        agents = sum(1 for op in run.operators if op.state in (FREE, TALK, ON_MACHINE))
        self.samples.append((len(run.free), len(run.waiting), agents))
        self.ticks += 1
        if self.ticks % 15 == 0:
            self._adapt(now)

    def answered(self, call: Call, *, dropped: bool, now: float) -> None:
        day = int(now // 86400)
        if day != self.day:
            self.day, self.today = day, [0, 0]
        self.today[0] += 1
        self.today[1] += dropped
        self.last_minute.append((now, dropped))

    def _adapt(self, now: float) -> None:
        count = len(self.samples)
        ready = sum(s[0] for s in self.samples) / count
        waiting = sum(s[1] for s in self.samples) / count
        agents = sum(s[2] for s in self.samples) / count
        if agents > 0:
            self.level *= 1.0 + (ready - waiting) / agents
        self.level = min(max(self.level, 1.0), 3.0)
        while self.last_minute and self.last_minute[0][0] < now - 60.0:
            self.last_minute.popleft()
        minute = len(self.last_minute)
        if minute > 20 and sum(d for _, d in self.last_minute) / minute > 0.5:
            self.level /= 2.0
        answered, dropped = self.today
        if answered > 50 and dropped / answered > self.run.scenario.max_abandon_rate:
            minutes_left = (self.run.end - now) / 60.0
            self.level = 1.0 if minutes_left < 0 else self.level * min(1.0, minutes_left / 600.0)
        self.level = max(self.level, 1.0)


class Oracle(_Policy):
    """Knows every fate: dials only people who will answer, timed to answer as an operator frees. AMD is moot."""

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self.amd = False
        self.covering: dict[int, float] = {}  # lead -> when the operator it is meant for is free
        self.upcoming: list[tuple[float, int]] = []
        self.due: set[int] = set()

    def decide(self, now: float) -> list[float]:
        run = self.run
        while self.upcoming and self.upcoming[0][0] <= now:
            _, lead = heapq.heappop(self.upcoming)
            if lead in self.covering:
                self.due.add(lead)
        for _ in range(len(run.free) - len(run.waiting) - len(self.due)):
            picked = run.next_live_lead(now, now)
            if picked is None:
                break
            self._cover(picked[0], now)
            run.launch(now, 0.0, picked[0])
        return []

    def connected(self, operator: Operator, call: Call, now: float) -> None:
        self._uncover(call)
        if call.fate.kind != LIVE:
            return
        run = self.run
        free_at = now + call.fate.talk_s + call.fate.wrapup_s
        leaving = any(now <= out <= free_at for out in run.logouts.get(operator.index, ()))
        if free_at >= run.end or leaving:
            return
        picked = run.next_live_lead(now, free_at)
        if picked is not None:
            self._cover(picked[0], free_at)
            run.plan(picked[1], picked[0])

    def answered(self, call: Call, *, dropped: bool, now: float) -> None:
        if dropped:
            self._uncover(call)

    def _cover(self, lead: int, free_at: float) -> None:
        self.covering[lead] = free_at
        heapq.heappush(self.upcoming, (free_at, lead))

    def _uncover(self, call: Call) -> None:
        self.covering.pop(call.lead, None)
        self.due.discard(call.lead)


def make_policy(name: str, run: Run) -> _Policy:
    """A policy by name: predictive, progressive, power:R (R > 0 calls per free operator), vicidial, oracle."""
    if name == "predictive":
        return Predictive(run)
    if name == "progressive":
        return Ratio(run, 1.0)
    if name == "vicidial":
        return Vicidial(run)
    if name == "oracle":
        return Oracle(run)
    if name.startswith("power:"):
        ratio = parse_ratio(name)
        return Ratio(run, ratio)
    raise ValueError(f"policy = {name!r}: one of predictive, progressive, power:R, vicidial, oracle")


def parse_ratio(name: str) -> float:
    try:
        ratio = float(name.removeprefix("power:"))
    except ValueError:
        raise ValueError(f"policy = {name!r}: power:R takes a number of calls per free operator") from None
    if not 0 < ratio <= 20:
        raise ValueError(f"policy = {name!r}: R must be > 0 and <= 20")
    return ratio


_EMPTY = new_memory(PacingParams())
