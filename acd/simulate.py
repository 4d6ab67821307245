"""A discrete-event call-centre simulation: Poisson callers, operators with skill levels, one routing policy.

Pure: the scenario comes in parsed, time is simulated seconds, randomness is random.Random seeded per seed.

How the figures are counted (the same for every policy):
- offered: every call arriving in [0, duration_s). Arrivals stop at duration_s; the simulation runs on until the
  last waiting caller is answered or gives up (a caller nobody can ever take and who never gives up is left
  unanswered: neither answered nor abandoned).
- misrouted: answered by an operator below the level the call required at the moment of answer (the queue's
  widening steps applied then, as acd.routing.required_levels says).
- service_level: correctly routed answers within the queue's sl_seconds / offered (a misrouted answer never counts).
- asa_s: mean wait of answered calls (misrouted ones included: the caller did wait that long).
- abandon_rate: abandoned / offered; a caller abandons when their patience, drawn per call, runs out while waiting.
- occupancy: (talk + wrap-up seconds worked inside [0, duration_s)) / (operators * duration_s): work done while
  draining the queue after duration_s is left out, like the time, so a shift's figure is not inflated.
Calls, their talk, wrap-up and patience are drawn per queue from streams seeded by (seed, queue), so every policy
sees the very same callers for a seed; the policy's own randomness (ringall's race) has its own stream.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from acd.routing import required_levels
from acd.sim_floor import Floor, Match, Policy, SimCall, SimOperator
from acd.sim_policies import POLICY_NAMES, make_policy, meets
from acd.sim_scenario import Scenario

__all__ = ["POLICY_NAMES", "RunResult", "Summary", "simulate", "simulate_seeds"]

_ARRIVE, _WAKE, _ABANDON, _FREE = range(4)


@dataclass(slots=True)
class RunResult:
    """One seed's counts and times."""

    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0  # correctly routed and within the queue's target
    misrouted: int = 0
    abandoned: int = 0
    wait_answered_s: float = 0.0
    busy_s: float = 0.0  # talk + wrap-up inside [0, duration_s)
    capacity_s: float = 0.0  # operators * duration_s

    @property
    def service_level(self) -> float:
        return self.answered_in_sl / self.offered if self.offered else 1.0

    @property
    def asa_s(self) -> float:
        return self.wait_answered_s / self.answered if self.answered else 0.0

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.offered if self.offered else 0.0

    @property
    def occupancy(self) -> float:
        return self.busy_s / self.capacity_s if self.capacity_s else 0.0


@dataclass(frozen=True, slots=True)
class Summary:
    """Means over seeds, as the CLI prints them."""

    policy: str
    service_level: float
    asa_s: float
    abandon_rate: float
    occupancy: float
    misrouted: float
    calls: float
    seeds: int
    runs: tuple[RunResult, ...] = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "policy": self.policy,
            "service_level": round(self.service_level, 4),
            "asa_s": round(self.asa_s, 2),
            "abandon_rate": round(self.abandon_rate, 4),
            "occupancy": round(self.occupancy, 4),
            "misrouted": round(self.misrouted, 2),
            "calls": round(self.calls, 1),
            "seeds": self.seeds,
        }


def simulate_seeds(scenario: Scenario, policy: str, seeds: int) -> Summary:
    """Run `seeds` seeds (scenario.seed, scenario.seed + 1, ...) and average them."""
    if seeds < 1:
        raise ValueError(f"seeds = {seeds!r}: must be >= 1")
    runs = tuple(simulate(scenario, policy, scenario.seed + i) for i in range(seeds))

    def mean(values: Sequence[float]) -> float:
        return sum(values) / len(values)

    return Summary(
        policy=policy,
        service_level=mean([r.service_level for r in runs]),
        asa_s=mean([r.asa_s for r in runs]),
        abandon_rate=mean([r.abandon_rate for r in runs]),
        occupancy=mean([r.occupancy for r in runs]),
        misrouted=mean([r.misrouted for r in runs]),
        calls=mean([r.offered for r in runs]),
        seeds=seeds,
        runs=runs,
    )


def simulate(scenario: Scenario, policy_name: str, seed: int) -> RunResult:
    """One run of the scenario under one policy; the same seed always gives the same result."""
    operators = _operators(scenario)
    policy = make_policy(policy_name, scenario, operators, random.Random(f"{seed}:policy"))
    return _Run(scenario, policy, operators, seed).run()


def _operators(scenario: Scenario) -> list[SimOperator]:
    operators: list[SimOperator] = []
    for group in scenario.operators:
        for _ in range(group.count):
            index = len(operators)
            operators.append(SimOperator(index, f"op{index:03d}", dict(group.skills)))
    return operators


def _arrivals(scenario: Scenario, seed: int) -> list[SimCall]:
    """Every call of the day, per queue a Poisson stream; the draws for one queue never depend on another's."""
    draws: list[tuple[float, int, float, float, float]] = []
    for qi, queue in enumerate(scenario.queues):
        rng = random.Random(f"{seed}:queue:{qi}")
        rate = queue.arrivals_per_hour / 3600.0
        t = 0.0
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= scenario.duration_s:
                break
            talk, wrapup = queue.talk_s.sample(rng), queue.wrapup_s.sample(rng)
            patience = queue.patience_s.sample(rng) if queue.patience_s is not None else math.inf
            draws.append((t, qi, talk, wrapup, patience))
    draws.sort()
    rules = [queue.rule for queue in scenario.queues]
    return [
        SimCall(index, qi, rules[qi].call(str(index), rules[qi].name, t), talk, wrapup, patience)
        for index, (t, qi, talk, wrapup, patience) in enumerate(draws)
    ]


class _Run:
    """The event loop: a heap of (time, sequence, kind, call or operator index)."""

    def __init__(self, scenario: Scenario, policy: Policy, operators: list[SimOperator], seed: int) -> None:
        self.scenario = scenario
        self.policy = policy
        self.operators = operators
        self.calls = _arrivals(scenario, seed)
        self.floor = Floor(len(scenario.queues), idle={op.index: op for op in operators})
        self.result = RunResult(offered=len(self.calls), capacity_s=len(operators) * scenario.duration_s)
        self.events: list[tuple[float, int, int, int]] = []
        self.sequence = 0
        for call in self.calls:
            self._push(call.arrived_at, _ARRIVE, call.index)

    def _push(self, time: float, kind: int, ref: int) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (time, self.sequence, kind, ref))

    def run(self) -> RunResult:
        while self.events:
            now, _, kind, ref = heapq.heappop(self.events)
            for call, operator in self._handle(now, kind, ref):
                self._answer(call, operator, now)
        return self.result

    def _handle(self, now: float, kind: int, ref: int) -> list[Match]:
        if kind == _FREE:
            operator = self.operators[ref]
            self.floor.idle[ref] = operator
            return self.policy.on_free(operator, self.floor, now)
        call = self.calls[ref]
        if kind == _ARRIVE:
            self.floor.enqueue(call)
            if math.isfinite(call.patience_s):
                self._push(now + call.patience_s, _ABANDON, ref)
            for offset in self.policy.wake_offsets(call):
                if 0 < offset < call.patience_s:
                    self._push(now + offset, _WAKE, ref)
            return self.policy.on_arrival(call, self.floor, now)
        if call.index not in self.floor.waiting:
            return []  # already answered: the wake-up or the patience timer is stale
        if kind == _ABANDON:
            self.floor.dequeue(call)
            self.result.abandoned += 1
            return self.policy.on_abandon(self.floor, now)
        return self.policy.on_wake(call, self.floor, now)

    def _answer(self, call: SimCall, operator: SimOperator, now: float) -> None:
        self.floor.dequeue(call)
        del self.floor.idle[operator.index]
        wait = now - call.arrived_at
        result = self.result
        result.answered += 1
        result.wait_answered_s += wait
        if not meets(operator.skills, required_levels(call.view, now)):
            result.misrouted += 1
        elif wait <= call.view.sl_seconds:
            result.answered_in_sl += 1
        end = now + call.talk_s + call.wrapup_s
        result.busy_s += max(0.0, min(end, self.scenario.duration_s) - now)
        operator.last_answered_at = now
        operator.last_hangup_at = now + call.talk_s
        operator.talk_s_today += call.talk_s
        operator.idle_since = end
        self._push(end, _FREE, operator.index)
