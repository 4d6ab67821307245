"""The peers we measure ourselves against, reproduced from their documented and coded behaviour.

Asterisk app_queue (penalties + queuerules.conf) and FreeSWITCH mod_callcenter (tiers + tier rules), configured from
the same scenario as our ACD: the same operators, levels and widening steps, stated in each product's own terms.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence

from acd.sim_floor import DispatchPolicy, Floor, Match, SimCall, SimOperator
from acd.sim_scenario import MAX_LEVEL, QueueSpec, Scenario
from acd.skills import step_floor

Lines = list[list[SimCall]]  # each queue's waiting callers, in arrival order
Idle = dict[int, SimOperator]  # idle operators by index


def _members(queue: QueueSpec, operators: Sequence[SimOperator]) -> list[tuple[int, SimOperator]]:
    """(lowest level over the queue's required skills, operator) for each operator holding all of them at all.

    Membership is "has the skill at all": that is how these products are configured from a skills matrix; the
    penalty or tier then says how good the member is, and the widening rules say when they may be used.
    """
    members = []
    for op in operators:
        levels = [op.skills.get(skill, 0) for skill in queue.rule.requires]
        if min(levels) >= 1:
            members.append((min(levels), op))
    return members


class AppQueuePolicy(DispatchPolicy):
    """Asterisk app_queue with member penalties and a queuerules.conf rule per queue.

    Configuration derived from the scenario (sources: apps/app_queue.c and configs/samples/queues.conf.sample,
    queuerules.conf.sample in asterisk/asterisk):
    - member of every queue whose required skills they hold; penalty = 5 - (lowest of their levels in those skills);
    - QUEUE_MAX_PENALTY = 5 - m, m = max(lowest required level, acd.skills.step_floor: the step in force); a
      `penaltychange` at each step's after_s moves it (absolute values). calc_metric() drops members whose
      penalty exceeds it.
    - leastrecent: metric = penalty*1e6 + (0 if never called, else 1e6 - seconds since `lastcall`), `lastcall` set
      at hangup by update_queue(); shared_lastcall=yes, so the last call from any queue counts. ringall: metric =
      penalty*1e6 and ring_one() rings every available member sharing the best metric: the first to answer wins,
      modelled as a uniform draw among them.
    - autofill=yes: is_our_turn() lets the first N callers of a queue try, N = available members of the queue
      (counted whatever their penalty, so a caller too strict for the idle member still holds its place); for
      ringall num_available_members() caps N at 1.
    - across queues: force_longest_waiting_caller=yes ("callers are offered in order, longest waiting first, even
      across multiple queues"); read charitably: only callers who may take that member hold it back. Queue
      weight = the scenario's priority; compare_weight() skips a member while a heavier queue holding them has at
      least as many callers as available members.
    Not modelled: ring time, retry/timeout cycles and the 1 s RECHECK poll (every caller re-tries at once after
    every change), so app_queue is, if anything, flattered.
    """

    def __init__(self, scenario: Scenario, operators: Sequence[SimOperator], *, ringall: bool, rng: random.Random):
        self.name = "app_queue:ringall" if ringall else "app_queue:leastrecent"
        self._ringall = ringall
        self._rng = rng
        self._members = [[(MAX_LEVEL - level, op) for level, op in _members(q, operators)] for q in scenario.queues]
        self._rules = [self._penalty_rule(q) for q in scenario.queues]
        self._weights = [q.rule.priority for q in scenario.queues]
        self._use_weight = len(set(self._weights)) > 1
        self._queues_of: dict[int, list[int]] = {}
        for qi, members in enumerate(self._members):
            for _, op in members:
                self._queues_of.setdefault(op.index, []).append(qi)

    @staticmethod
    def _penalty_rule(queue: QueueSpec) -> list[tuple[float, int]]:
        """[(seconds into the wait, QUEUE_MAX_PENALTY)], the first at 0: the dialplan's value, then penaltychanges."""
        lowest_required = min(queue.rule.requires.values())
        times = sorted({0.0, *(step.after_s for step in queue.rule.steps)})
        rule: list[tuple[float, int]] = []
        for t in times:
            max_penalty = MAX_LEVEL - max(lowest_required, step_floor(queue.rule.steps, t))
            if not rule or rule[-1][1] != max_penalty:
                rule.append((t, max_penalty))
        return rule

    def wake_offsets(self, call: SimCall) -> Iterable[float]:
        return [t for t, _ in self._rules[call.queue][1:]]

    def _max_penalty(self, call: SimCall, now: float) -> int:
        waited = now - call.arrived_at
        return next(p for t, p in reversed(self._rules[call.queue]) if t <= waited)

    def dispatch(self, floor: Floor, now: float) -> list[Match]:
        if not floor.idle or not floor.waiting:
            return []
        idle = dict(floor.idle)
        lines = [list(q.values()) for q in floor.by_queue]
        matches: list[Match] = []
        while idle:
            # After each connection the turns are counted again, as every waiting caller's is_our_turn() does.
            for call in self._callers_in_turn(lines, idle):
                op = self._pick(call, lines, idle, now)
                if op is not None:
                    matches.append((call, op))
                    del idle[op.index]
                    lines[call.queue].remove(call)
                    break
            else:
                break
        return matches

    def _available(self, qi: int, idle: Idle) -> int:
        count = sum(1 for _, op in self._members[qi] if op.index in idle)
        return min(count, 1) if self._ringall else count

    def _callers_in_turn(self, lines: Lines, idle: Idle) -> list[SimCall]:
        in_turn = [call for qi, line in enumerate(lines) if line for call in line[: self._available(qi, idle)]]
        return sorted(in_turn, key=lambda c: (c.arrived_at, c.index))

    def _pick(self, call: SimCall, lines: Lines, idle: Idle, now: float) -> SimOperator | None:
        max_penalty = self._max_penalty(call, now)
        candidates = [
            (penalty, op)
            for penalty, op in self._members[call.queue]
            if op.index in idle and penalty <= max_penalty and not self._held_for_heavier(call.queue, op, lines, idle)
        ]
        if not candidates:
            return None
        best_penalty = min(penalty for penalty, _ in candidates)
        tier = [op for penalty, op in candidates if penalty == best_penalty]
        if self._ringall:
            return self._rng.choice(tier)
        # Never-called members first (metric 0), then the oldest hangup; ties keep member order, as find_best() does.
        return min(tier, key=lambda op: (op.last_hangup_at is not None, op.last_hangup_at or 0.0))

    def _held_for_heavier(self, qi: int, op: SimOperator, lines: Lines, idle: Idle) -> bool:
        if not self._use_weight:
            return False
        weights = self._weights
        return any(
            lines[other] and weights[other] > weights[qi] and len(lines[other]) >= self._available(other, idle)
            for other in self._queues_of[op.index]
            if other != qi
        )


class ModCallcenterPolicy(DispatchPolicy):
    """FreeSWITCH mod_callcenter, strategy longest-idle-agent, tier rules on.

    Configuration derived from the scenario (source: src/mod/applications/mod_callcenter/mod_callcenter.c in
    signalwire/freeswitch, members_callback() and agents_callback(); docs: FreeSWITCH-Explained mod_callcenter):
    - a tier for each operator holding the queue's required skills, position = operator order, tier level =
      5 - (lowest of those levels): level 5 is tier 0, level 1 tier 4 (see the numbering note below);
    - tier-rules-apply=true, tier-rule-wait-multiply-level=true, tier-rule-no-agent-no-wait=true, and
      tier-rule-wait-second W = the spacing of the queue's steps (mean gap, whole seconds; no widening with fewer
      than two steps). agents_callback() walks the queue's agents ordered by tier level; it lets a caller into a
      higher tier L once `now - joined_epoch >= L * W`, and into the first tier that has logged-in agents at once
      (no agent counted yet, so no-agent-no-wait lets it through). The ladder is level 5 at once, level 4 after W,
      level 3 after 2W, ... whatever the steps say: mod_callcenter cannot open several levels at once after a
      wait, nor stop widening at a floor, so it may reach operators below the call's level (misrouted).
    - numbering: tier L opens at L*W (the source), not (L-1)*W; numbering tiers 6 - level from 1 would delay
      every level by one more W, so tiers count from 0 to give the intended ladder (tier_base=6 gives the other).
    - the dispatch thread offers callers of every queue in score order, score = seconds waited + base score;
      base score = priority * 3600 s, so a higher priority is served first as in our ACD.
    - longest-idle-agent orders agents by `level, agents.last_offered_call, position`: the last time they were
      offered a call (the start of their last call, not its end) - idle time as mod_callcenter counts it.
    Not modelled: ringing, no-answer and reject delays, the 100 ms dispatch poll.
    """

    name = "mod_callcenter:longest-idle"
    BASE_SCORE_PER_PRIORITY = 3600.0

    def __init__(self, scenario: Scenario, operators: Sequence[SimOperator], *, tier_base: int = 5) -> None:
        self._tiers = [
            sorted(((tier_base - level, op.index, op) for level, op in _members(q, operators)), key=lambda t: t[:2])
            for q in scenario.queues
        ]
        self._wait_second = [self._spacing(q) for q in scenario.queues]
        self._base_score = [q.rule.priority * self.BASE_SCORE_PER_PRIORITY for q in scenario.queues]

    @staticmethod
    def _spacing(queue: QueueSpec) -> float:
        steps = queue.rule.steps
        if len(steps) < 2:
            return math.inf
        return max(1.0, round((steps[-1].after_s - steps[0].after_s) / (len(steps) - 1)))

    def _reachable_tier(self, qi: int, waited: float) -> float:
        tiers = self._tiers[qi]
        first = tiers[0][0] if tiers else 0
        wait_second = self._wait_second[qi]
        return first if math.isinf(wait_second) else max(first, math.floor(waited / wait_second))

    def wake_offsets(self, call: SimCall) -> Iterable[float]:
        tiers = self._tiers[call.queue]
        wait_second = self._wait_second[call.queue]
        if not tiers or math.isinf(wait_second):
            return []
        return sorted({level * wait_second for level, _, _ in tiers if level > tiers[0][0]})

    def dispatch(self, floor: Floor, now: float) -> list[Match]:
        if not floor.idle or not floor.waiting:
            return []
        idle = dict(floor.idle)
        matches: list[Match] = []
        for call in sorted(floor.waiting.values(), key=lambda c: (c.arrived_at - self._base_score[c.queue], c.index)):
            op = self._agent_for(call, idle, now)
            if op is not None:
                matches.append((call, op))
                del idle[op.index]
                if not idle:
                    break
        return matches

    def _agent_for(self, call: SimCall, idle: Idle, now: float) -> SimOperator | None:
        reachable = self._reachable_tier(call.queue, now - call.arrived_at)
        best: tuple[int, float, int] | None = None
        chosen = None
        for level, position, op in self._tiers[call.queue]:
            if level > reachable:
                break
            if op.index in idle:
                key = (level, op.last_answered_at or 0.0, position)
                if best is None or key < best:
                    best, chosen = key, op
        return chosen
