"""The live picture precomputed for fast routing: operators as skill-level bitsets, waiting calls in service order.

Built once per picture change, or updated one operator or call at a time; a decision then costs microseconds.
"""

from __future__ import annotations

import math
from bisect import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from acd.model import CallView, OperatorView, Presence, QueueRule
from acd.skills import excess, holds, levels_held, lowest_floor_within_target, step_floor
from acd.strategies import OrderKey, Strategy, best_fit

# Waiting calls are kept by priority, then first come, first served: the static order, which never moves while calls
# wait. Routing then serves them by service rank, which adds the call's standing against its service-level target.
ServiceOrder = tuple[int, float, str]
ServiceRank = tuple[int, int, float, str]
# A call waiting longer than this many times its target is starving: it goes before every call of its priority.
STARVING_AFTER_TARGETS = 2.0
STARVING, IN_TARGET, OVERDUE = 0, 1, 2  # a call's standing, in the order they are served


def service_order(call: CallView) -> ServiceOrder:
    """The call's place in the waiting line: higher priority first, then the longest wait (smaller is first)."""
    return (-call.priority, call.arrived_at, call.call_id)


def standing(call: CallView, now: float) -> int:
    """STARVING past twice its target, IN_TARGET while it can still be answered in time, OVERDUE in between.

    Why serve in-target calls before overdue ones: a call already past its target no longer counts in the service
    level whenever it is answered, while one still inside it does if answered now; SL-maximising routers do this.
    Why the starving cap: no caller may be passed over for ever; past twice its target a call goes before every
    other call of its priority (priority stays first: a queue's priority is the site's explicit choice).
    Measured in the simulator (seeds 1-20, best fit, against first come first served alone): +0.2, +0.4 and +0.8
    points of service level on the balanced, scarce-specialists and tax-season days.
    """
    wait = now - call.arrived_at
    if wait > STARVING_AFTER_TARGETS * call.sl_seconds:
        return STARVING
    return IN_TARGET if wait <= call.sl_seconds else OVERDUE


def service_rank(call: CallView, now: float) -> ServiceRank:
    """The order calls are served in at `now` (smaller first): priority, standing, then within the standing the
    caller who has waited longest while still in target, and the one furthest past its target once late.

    Why first come first served in target rather than earliest deadline: a deadline order let calls with a 20 s
    target overtake older 30 s-target calls on the operators both need (+0.1, +0.1 and +0.75 points of service
    level on the three simulated days for first come first served). Once late, a call no longer counts in the
    service level whenever it is answered, and the one furthest past its target is the one the centre owes most:
    it goes first (the deadline, arrival + target, smallest first), so an operator in several queues serves the
    queue furthest behind.
    """
    standing_now = standing(call, now)
    key = call.arrived_at if standing_now == IN_TARGET else call.arrived_at + call.sl_seconds
    return (-call.priority, standing_now, key, call.call_id)


QueueNeeds = tuple[str, tuple[tuple[str, int], ...], int]  # (queue name, required (skill, level)s, floor in target)


@dataclass(frozen=True, slots=True)
class Reserve:
    """What the specialist reserve (acd.reserve) knows of the site: each queue's skills and the lowest level its
    widening asks before its target, so whoever holds them there could answer one of its calls in time."""

    queues: tuple[QueueNeeds, ...]

    @classmethod
    def of(cls, rules: Iterable[QueueRule]) -> Reserve:
        """The reserve for these queue rules (the site's queues, as routing stamps them on calls)."""
        return cls(
            tuple(
                (rule.name, tuple(rule.requires.items()), lowest_floor_within_target(rule.steps, rule.sl_seconds))
                for rule in rules
            )
        )


def _skill_rows(operators: tuple[OperatorView, ...]) -> dict[str, tuple[int, ...]]:
    """For each skill, the operators holding it at level 1, 2, ... as bitsets over their positions."""
    holders: dict[str, list[list[int]]] = {}
    for position, op in enumerate(operators):
        for skill, level in op.skills.items():
            if level < 1:  # a level of 0 or less is not holding the skill
                continue
            rows = holders.setdefault(skill, [])
            rows.extend([] for _ in range(level - len(rows)))
            for row in rows[:level]:
                row.append(position)
    return {skill: tuple(sum(1 << p for p in row) for row in rows) for skill, rows in holders.items()}


def _profile_rows(operators: tuple[OperatorView, ...]) -> tuple[tuple[int, int], ...]:
    """(levels held, bitset of the operators holding that many), fewest levels first: best fit's first key."""
    rows: dict[int, int] = {}
    for position, op in enumerate(operators):
        held = levels_held(op.skills)
        rows[held] = rows.get(held, 0) | 1 << position
    return tuple(sorted(rows.items()))


@dataclass(frozen=True, slots=True)
class OperatorIndex:
    """Operators at fixed positions, with who holds which skill at which level as bitsets over those positions.

    Eligibility for a call is a few integer ANDs; only the eligible few are then ranked by the strategy.
    """

    strategy: Strategy
    operators: tuple[OperatorView, ...]
    keys: tuple[OrderKey, ...]  # strategy.order of each operator, computed once
    positions: Mapping[str, int]
    available: int  # bitset of AVAILABLE operators
    at_least: Mapping[str, tuple[int, ...]]  # at_least[skill][level - 1]: bitset of holders at that level or more
    by_profile: tuple[tuple[int, int], ...]  # (levels held, bitset of those operators), fewest first
    reserve: Reserve | None = None  # the reserve this index precomputes `servers` for
    servers: tuple[int, ...] = ()  # servers[i]: everyone holding reserve.queues[i]'s skills at its level in target

    @classmethod
    def build(
        cls, operators: Iterable[OperatorView], strategy: Strategy = best_fit, reserve: Reserve | None = None
    ) -> OperatorIndex:
        """Index a picture's operators (a later view of the same SIP user replaces an earlier one).

        With a `reserve`, who could serve each of its queues in time is precomputed for it (acd.reserve).
        """
        views = tuple({op.sip_user: op for op in operators}.values())
        at_least = _skill_rows(views)
        return cls(
            strategy,
            views,
            tuple(strategy.order(op) for op in views),
            {op.sip_user: position for position, op in enumerate(views)},
            sum(1 << p for p, op in enumerate(views) if op.presence is Presence.AVAILABLE),
            at_least,
            _profile_rows(views),
            reserve,
            _servers(at_least, reserve, len(views)),
        )

    def updated(self, operator: OperatorView) -> OperatorIndex:
        """The index with one operator's view replaced or added, without re-indexing everybody."""
        position = self.positions.get(operator.sip_user)
        if position is None:
            return OperatorIndex.build((*self.operators, operator), self.strategy, self.reserve)
        bit = 1 << position
        old = self.operators[position]
        at_least, by_profile, servers = self.at_least, self.by_profile, self.servers
        if old.skills != operator.skills:
            at_least = dict(at_least)
            for skill in {*old.skills, *operator.skills}:
                level = operator.skills.get(skill, 0)
                rows = list(at_least.get(skill, ()))
                rows.extend(0 for _ in range(level - len(rows)))
                at_least[skill] = tuple(row | bit if n < level else row & ~bit for n, row in enumerate(rows))
            by_profile = _moved(by_profile, bit, levels_held(operator.skills))
            servers = _servers(at_least, self.reserve, len(self.operators))
        available = self.available | bit if operator.presence is Presence.AVAILABLE else self.available & ~bit
        key = self.strategy.order(operator)
        keys = self.keys if key == self.keys[position] else (*self.keys[:position], key, *self.keys[position + 1 :])
        return OperatorIndex(  # not dataclasses.replace: it costs more than the rest of the update
            self.strategy,
            (*self.operators[:position], operator, *self.operators[position + 1 :]),
            keys,
            self.positions,
            available,
            at_least,
            by_profile,
            self.reserve,
            servers,
        )

    def eligible(self, call: CallView, now: float) -> int:
        """Bitset of the available operators qualified for the call at `now`, widening applied."""
        floor = step_floor(call.steps, now - call.arrived_at)
        found = self.available
        if call.operator:
            position = self.positions.get(call.operator)
            found = 0 if position is None else found & (1 << position)
        for skill, base in call.requires.items():
            rows = self.at_least.get(skill, ())
            level = base if base > floor else floor  # max() is a call: too slow for the hot path
            if level < 1:
                level = 1
            if level > len(rows):
                return 0
            found &= rows[level - 1]
        if call.session_only:
            found = self._in_session(found)
        return found

    def _in_session(self, found: int) -> int:
        """The operators of bitset `found` in session mode (few: a dialer's call asks only among the qualified)."""
        kept, operators = 0, self.operators
        while found:
            low = found & -found
            found ^= low
            if operators[low.bit_length() - 1].session:
                kept |= low
        return kept

    def holding(self, requires: Iterable[tuple[str, int]], floor: int) -> int:
        """Bitset of every operator, available or not, holding each (skill, level) raised to `floor` (and to 1)."""
        return _holding(self.at_least, requires, floor, len(self.operators))

    def best(self, call: CallView, now: float, found: int) -> int:
        """The position of the strategy's pick among the operators in bitset `found` (not empty)."""
        if self.strategy.closest_first:
            return self._closest(call, now, found)
        return self.best_in_order(found)

    def best_in_order(self, found: int) -> int:
        """The position of the first operator in the strategy's order among bitset `found` (not empty)."""
        keys = self.keys
        best_position, best_key = -1, None
        while found:
            low = found & -found
            position = low.bit_length() - 1
            found ^= low
            if best_key is None or keys[position] < best_key:
                best_position, best_key = position, keys[position]
        return best_position

    def _closest(self, call: CallView, now: float, found: int) -> int:
        """The smallest surplus over the call's needs among `found`, ties to the strategy's order.

        A whole-profile strategy (best fit) first keeps only the operators holding the fewest levels among `found`.
        """
        if self.strategy.whole_profile:
            for _, holders in self.by_profile:
                if found & holders:
                    found &= holders
                    break
        floor = step_floor(call.steps, now - call.arrived_at)
        requires = call.requires
        if len(requires) == 1:
            # One skill: the exact-level slices of its bitsets hold equal surplus, so the first non-empty one wins.
            ((skill, base),) = requires.items()
            rows = self.at_least[skill]
            for above in rows[max(base, floor, 1) :]:
                if found & ~above:
                    return self.best_in_order(found & ~above)
            return self.best_in_order(found)
        operators, keys = self.operators, self.keys
        best_position, best_rank = -1, None
        while found:
            low = found & -found
            position = low.bit_length() - 1
            found ^= low
            rank = (excess(operators[position].skills, requires, floor), keys[position])
            if best_rank is None or rank < best_rank:
                best_position, best_rank = position, rank
        return best_position


def _holding(
    at_least: Mapping[str, tuple[int, ...]], requires: Iterable[tuple[str, int]], floor: int, size: int
) -> int:
    found = (1 << size) - 1  # everybody: the AND of no requirement at all
    for skill, base in requires:
        rows = at_least.get(skill, ())
        level = base if base > floor else floor
        if level < 1:
            level = 1
        if level > len(rows):
            return 0
        found &= rows[level - 1]
    return found


def _servers(at_least: Mapping[str, tuple[int, ...]], reserve: Reserve | None, size: int) -> tuple[int, ...]:
    """For each of the reserve's queues, everyone holding its skills at its level in target (available or not)."""
    if reserve is None:
        return ()
    return tuple(_holding(at_least, requires, floor, size) for _, requires, floor in reserve.queues)


def _moved(by_profile: tuple[tuple[int, int], ...], bit: int, held: int) -> tuple[tuple[int, int], ...]:
    """The profile rows with operator `bit` moved to the row of `held` levels (rows left empty are dropped)."""
    rows = {levels: holders & ~bit for levels, holders in by_profile}
    rows[held] = rows.get(held, 0) | bit
    return tuple(sorted((levels, holders) for levels, holders in rows.items() if holders))


@dataclass(frozen=True, slots=True)
class WaitingIndex:
    """Waiting calls in their static order, with the calls needing each skill as bitsets over their positions.

    A freed operator's candidates, the calls all of whose skills they hold, take a few ANDs and ORs per skill held.
    """

    calls: tuple[CallView, ...]
    ids: tuple[str, ...]
    orders: tuple[ServiceOrder, ...]
    needing: Mapping[str, int]  # needing[skill]: bitset of the calls that require the skill
    by_count: tuple[int, ...]  # by_count[k]: bitset of the calls that require k skills

    @classmethod
    def build(cls, calls: Iterable[CallView]) -> WaitingIndex:
        """Index the waiting calls (a later view of the same call_id replaces an earlier one)."""
        ranked = tuple(sorted({call.call_id: call for call in calls}.values(), key=service_order))
        needing: dict[str, int] = {}
        by_count: list[int] = []
        for position, call in enumerate(ranked):
            for skill in call.requires:
                needing[skill] = needing.get(skill, 0) | 1 << position
            by_count.extend(0 for _ in range(len(call.requires) + 1 - len(by_count)))
            by_count[len(call.requires)] |= 1 << position
        ids = tuple(call.call_id for call in ranked)
        return cls(ranked, ids, tuple(service_order(call) for call in ranked), needing, tuple(by_count))

    def added(self, call: CallView) -> WaitingIndex:
        """The index with one more waiting call (or that call's newer view)."""
        index = self.removed(call.call_id)
        order = service_order(call)
        at = bisect(index.orders, order)
        below = (1 << at) - 1
        needing = {skill: calls & below | (calls & ~below) << 1 for skill, calls in index.needing.items()}
        for skill in call.requires:
            needing[skill] = needing.get(skill, 0) | 1 << at
        by_count = [calls & below | (calls & ~below) << 1 for calls in index.by_count]
        by_count.extend(0 for _ in range(len(call.requires) + 1 - len(by_count)))
        by_count[len(call.requires)] |= 1 << at
        return WaitingIndex(
            (*index.calls[:at], call, *index.calls[at:]),
            (*index.ids[:at], call.call_id, *index.ids[at:]),
            (*index.orders[:at], order, *index.orders[at:]),
            needing,
            tuple(by_count),
        )

    def removed(self, call_id: str) -> WaitingIndex:
        """The index without that call (answered, abandoned or overflowed); unchanged if it is not waiting."""
        if call_id not in self.ids:
            return self
        at = self.ids.index(call_id)
        below = (1 << at) - 1
        return WaitingIndex(
            self.calls[:at] + self.calls[at + 1 :],
            self.ids[:at] + self.ids[at + 1 :],
            self.orders[:at] + self.orders[at + 1 :],
            {skill: calls & below | calls >> (at + 1) << at for skill, calls in self.needing.items()},
            tuple(calls & below | calls >> (at + 1) << at for calls in self.by_count),
        )

    def first_for(
        self,
        operator: OperatorView,
        now: float,
        skip: Callable[[CallView], bool] | None = None,
        defer: Callable[[CallView], bool] | None = None,
    ) -> CallView | None:
        """The first call in service rank the operator is qualified for at `now` and `skip` refuses, or None.

        A call `defer` accepts goes after every other such call of its priority (acd.cover: covered calls).
        """
        candidates, calls, skills = self._candidates(operator), self.calls, operator.skills
        starving_after = STARVING_AFTER_TARGETS
        best: CallView | None = None
        deferred: CallView | None = None  # the best call `defer` accepted: taken only when no other qualifies
        best_standing = deferred_standing = OVERDUE + 1
        best_deadline, best_id = math.inf, ""
        top = None  # the priority of the first qualified call: lower priorities are never reached
        # Lowest bit first is the static order (priority, then arrival); within the first priority that has a
        # qualified call, the best standing wins: in target the earliest arrival, late the earliest deadline.
        # The standing is `standing(call, now)` written out: a function call per candidate costs too much here.
        while candidates:
            low = candidates & -candidates
            candidates ^= low
            call = calls[low.bit_length() - 1]
            if top is not None and call.priority < top:
                break
            wait = now - call.arrived_at
            target = call.sl_seconds
            if wait > starving_after * target:
                rank = STARVING
            elif wait <= target:
                rank = IN_TARGET
            else:
                rank = OVERDUE
            if rank > best_standing or not holds(skills, call.requires, step_floor(call.steps, wait)):
                continue
            deadline = call.arrived_at + target  # late calls: the furthest past its target first
            if rank == best_standing and (rank == IN_TARGET or (deadline, call.call_id) >= (best_deadline, best_id)):
                continue  # in target the earlier arrival (met first) stays; late, ties go as service_rank's
            if skip is not None and skip(call):
                continue
            top = call.priority
            if defer is not None and defer(call):
                if rank < deferred_standing:
                    deferred, deferred_standing = call, rank
                continue
            best, best_standing, best_deadline, best_id = call, rank, deadline, call.call_id
        return deferred if best is None else best

    def _candidates(self, operator: OperatorView) -> int:
        """Bitset of the calls all of whose required skills the operator holds, at some level."""
        most = len(self.by_count) - 1  # the most skills any waiting call requires
        # met[j]: the calls at least j + 1 of whose required skills the operator holds (a bit-sliced counter).
        met = [0] * most
        for skill, level in operator.skills.items():
            needers = self.needing.get(skill, 0) if level >= 1 else 0
            if needers:
                for j in range(most - 1, 0, -1):
                    met[j] |= met[j - 1] & needers
                met[0] |= needers
        candidates = self.by_count[0] if self.by_count else 0
        for j in range(most):
            candidates |= met[j] & self.by_count[j + 1]
        return candidates
