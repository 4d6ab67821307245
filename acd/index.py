"""The live picture precomputed for fast routing: operators as skill-level bitsets, waiting calls in service order.

Built once per picture change, or updated one operator or call at a time; a decision then costs microseconds.
"""

from __future__ import annotations

from bisect import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from acd.model import CallView, OperatorView, Presence
from acd.skills import excess, holds, step_floor
from acd.strategies import OrderKey, Strategy, closest_match

# Calls are served by priority, then by how far past their service-level target they are (a call not yet past it
# ranks by how close it is), then by the longest wait. Larger wait - sl_seconds = now - (arrived_at + sl_seconds)
# means smaller arrived_at + sl_seconds, whatever `now` is: the service order does not move while calls wait.
ServiceOrder = tuple[int, float, float, str]


def service_order(call: CallView) -> ServiceOrder:
    """The call's place in the service order: smaller is served first."""
    return (-call.priority, call.arrived_at + call.sl_seconds, call.arrived_at, call.call_id)


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

    @classmethod
    def build(cls, operators: Iterable[OperatorView], strategy: Strategy = closest_match) -> OperatorIndex:
        """Index a picture's operators (a later view of the same SIP user replaces an earlier one)."""
        views = tuple({op.sip_user: op for op in operators}.values())
        return cls(
            strategy,
            views,
            tuple(strategy.order(op) for op in views),
            {op.sip_user: position for position, op in enumerate(views)},
            sum(1 << p for p, op in enumerate(views) if op.presence is Presence.AVAILABLE),
            _skill_rows(views),
        )

    def updated(self, operator: OperatorView) -> OperatorIndex:
        """The index with one operator's view replaced or added, without re-indexing everybody."""
        position = self.positions.get(operator.sip_user)
        if position is None:
            return OperatorIndex.build((*self.operators, operator), self.strategy)
        bit = 1 << position
        old = self.operators[position]
        at_least = self.at_least
        if old.skills != operator.skills:
            at_least = dict(at_least)
            for skill in {*old.skills, *operator.skills}:
                level = operator.skills.get(skill, 0)
                rows = list(at_least.get(skill, ()))
                rows.extend(0 for _ in range(level - len(rows)))
                at_least[skill] = tuple(row | bit if n < level else row & ~bit for n, row in enumerate(rows))
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
        )

    def eligible(self, call: CallView, now: float) -> int:
        """Bitset of the available operators qualified for the call at `now`, widening applied."""
        floor = step_floor(call.steps, now - call.arrived_at)
        found = self.available
        for skill, base in call.requires.items():
            rows = self.at_least.get(skill, ())
            level = base if base > floor else floor  # max() is a call: too slow for the hot path
            if level < 1:
                level = 1
            if level > len(rows):
                return 0
            found &= rows[level - 1]
        return found

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
        """The smallest surplus over the call's needs among `found`, ties to the strategy's order."""
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


@dataclass(frozen=True, slots=True)
class WaitingIndex:
    """Waiting calls in service order, with the calls needing each skill as bitsets over their positions.

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

    def first_for(self, operator: OperatorView, now: float) -> CallView | None:
        """The first call in service order the operator is qualified for at `now`, or None."""
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
        calls, skills = self.calls, operator.skills
        while candidates:  # lowest bit first: service order; only the levels are left to check
            low = candidates & -candidates
            call = calls[low.bit_length() - 1]
            if holds(skills, call.requires, step_floor(call.steps, now - call.arrived_at)):
                return call
            candidates ^= low
        return None
