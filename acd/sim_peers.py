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
    """(lowest level over the queue's required skills, operator) for each operator the queue's rule can accept:
    holding every required skill at least at the level the queue requires (no widening step ever asks less).

    Membership carries each skill's own floor; the penalty or tier then grades a member by their lowest level, and
    the widening rules say when each grade may be used. Together they admit, at every moment of the wait, exactly
    whom our routing admits: membership asks each skill >= its floor, the grade asks the lowest level >= max(the
    lowest floor, the step's level), so each skill gets max(its floor, the step's level), acd.skills's rule.
    Why not "holds the skills at all": no administrator makes a member of an operator the queue's own rule never
    accepts; doing so had app_queue answer English-line calls (tax 3 needed) with tax-2 operators, counted as
    misrouted yet relieving the two operators qualified for them, a load the site's rule never allows to move.
    """
    members = []
    for op in operators:
        if all(op.skills.get(skill, 0) >= max(level, 1) for skill, level in queue.rule.requires.items()):
            members.append((min(op.skills.get(skill, 0) for skill in queue.rule.requires), op))
    return members


def _admissions(queue: QueueSpec) -> list[tuple[float, int]]:
    """[(seconds into the wait, level admitted from then on)], the first at 0, then each time the widening lowers it.

    The level is what a member's lowest level in the queue's skills must reach: max(the queue's lowest required
    level, the step's level), the grade _members describes.
    """
    lowest_required = min(queue.rule.requires.values())
    opens: list[tuple[float, int]] = []
    for t in sorted({0.0, *(step.after_s for step in queue.rule.steps)}):
        level = max(lowest_required, step_floor(queue.rule.steps, t), 1)
        if not opens or level < opens[-1][1]:
            opens.append((t, level))
    return opens


class AppQueuePolicy(DispatchPolicy):
    """Asterisk app_queue with member penalties and a queuerules.conf rule per queue.

    Configuration derived from the scenario (sources: apps/app_queue.c and configs/samples/queues.conf.sample,
    queuerules.conf.sample in asterisk/asterisk):
    - member of every queue whose rule can accept them (see _members); penalty = 5 - (lowest of their levels in the
      queue's skills). Penalties could also put the least skilled first within each step's grade; measured, app_queue
      then does worse on all three benchmark days (it spends bilinguals, who hold the least tax, on general calls).
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
    - a tier for each operator the queue's rule can accept (see _members), position = operator order;
    - tier-rules-apply=true, tier-rule-wait-multiply-level=true, tier-rule-no-agent-no-wait=true.
      agents_callback() walks the queue's agents ordered by tier level; it lets a caller into a higher tier L once
      `now - joined_epoch >= L * W` (W = tier-rule-wait-second), and into the first tier that has logged-in agents
      at once (no agent counted yet, so no-agent-no-wait lets it through).
    - tier levels follow the widening: W = the greatest common divisor of the moments (whole seconds) the queue's
      widening admits a lower level, and an operator's tier level = the moment their lowest level is first
      admitted / W (0 for those admitted at arrival). So each grade opens exactly at its step, as in our ACD.
      Why not tier = 5 - level with W = the mean step gap: that ladder opens one level per W whatever the steps
      say (the general line reached its level-2 operators after 60 s, where its rule admits them at 10 s); an
      administrator sets tier levels to match the steps, which the multiplied wait allows for any step times.
      Only when the first tier has nobody logged in does a later one open at once (no-agent-no-wait): then an
      operator may be below the call's level at that moment (misrouted).
    - the dispatch thread offers callers of every queue in score order, score = seconds waited + base score;
      base score = priority * 3600 s, so a higher priority is served first as in our ACD.
    - longest-idle-agent orders agents by `level, agents.last_offered_call, position`: the last time they were
      offered a call (the start of their last call, not its end) - idle time as mod_callcenter counts it.
    Not modelled: ringing, no-answer and reject delays, the 100 ms dispatch poll.
    """

    name = "mod_callcenter:longest-idle"
    BASE_SCORE_PER_PRIORITY = 3600.0

    def __init__(self, scenario: Scenario, operators: Sequence[SimOperator]) -> None:
        self._tiers: list[list[tuple[int, int, SimOperator]]] = []
        self._wait_second: list[float] = []
        for queue in scenario.queues:
            opens = [(round(t), level) for t, level in _admissions(queue)]
            wait_second = math.gcd(*(t for t, _ in opens)) or math.inf  # gcd 0: the queue never widens
            tiers = []
            for level, op in _members(queue, operators):
                admitted = next((t for t, lowest in opens if level >= lowest), None)
                if admitted is not None:  # a member the widening never reaches is given no tier
                    tiers.append((0 if admitted == 0 else round(admitted / wait_second), op.index, op))
            self._tiers.append(sorted(tiers, key=lambda tier: tier[:2]))
            self._wait_second.append(wait_second)
        self._base_score = [q.rule.priority * self.BASE_SCORE_PER_PRIORITY for q in scenario.queues]

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
