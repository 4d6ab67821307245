"""Which operator takes a call, and which call a freed operator takes: pure functions, time passed in.

Each accepts plain views (small pictures, tests) or the precomputed indexes of `acd.index` (the engine's hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from acd import reserve as specialist_reserve
from acd.cover import cover_rank, covered
from acd.index import OperatorIndex, Reserve, WaitingIndex, service_rank
from acd.matching import assign
from acd.model import CallView, Decision, MissPolicy, OperatorView, Presence
from acd.skills import excess, is_qualified, required_levels, step_floor
from acd.strategies import Strategy, best_fit, closest_match, least_occupied, longest_idle, round_robin
from acd.values import evolve

__all__ = [
    "Reserve",
    "assign",
    "best_fit",
    "choose_call",
    "choose_operator",
    "closest_match",
    "held",
    "is_qualified",
    "least_occupied",
    "longest_idle",
    "ready_to_offer",
    "required_levels",
    "round_robin",
    "should_pause",
]

HELD = "held for a spare operator at the next step"


def choose_operator(
    call: CallView,
    operators: Iterable[OperatorView] | OperatorIndex,
    now: float,
    strategy: Strategy = best_fit,
    reserve: Reserve | None = None,
) -> Decision:
    """The strategy's pick among the available operators qualified for the call at `now`, or nobody and why.

    The default, best fit, takes the operator holding the fewest skill levels, then the smallest surplus over the
    levels needed, then the longest idle (acd.strategies says why). With a `reserve` (the site's queues), spare
    operators go first and the call may be held for its next step while only specialists qualify (acd.reserve).
    An index built for another strategy is scanned like plain views: correct, but without the index's speed.
    """
    if reserve is not None:
        index = _as_index(operators, strategy, reserve)
        found = index.eligible(call, now)
        if not found:
            return _nobody(call, index.available != 0)
        position = specialist_reserve.pick(call, index, now, found, reserve)
        if position is None:
            return Decision(call.call_id, None, HELD)
        return _offer(call, index.operators[position], now, strategy)
    if isinstance(operators, OperatorIndex) and operators.strategy == strategy:
        found = operators.eligible(call, now)
        if found:
            return _offer(call, operators.operators[operators.best(call, now, found)], now, strategy)
        return _nobody(call, operators.available != 0)
    views = operators.operators if isinstance(operators, OperatorIndex) else operators
    best: OperatorView | None = None
    best_rank = None
    anyone_available = False
    for op in views:
        if op.presence is not Presence.AVAILABLE:
            continue
        anyone_available = True
        if is_qualified(op, call, now):
            rank = strategy.rank(op, excess(op.skills, call.requires, step_floor(call.steps, now - call.arrived_at)))
            if best_rank is None or rank < best_rank:
                best, best_rank = op, rank
    if best is None:
        return _nobody(call, anyone_available)
    return _offer(call, best, now, strategy)


def _as_index(operators: Iterable[OperatorView] | OperatorIndex, strategy: Strategy, reserve: Reserve) -> OperatorIndex:
    if isinstance(operators, OperatorIndex):
        if operators.strategy == strategy:
            return operators  # built for another reserve, or none: correct, only the servers are computed again
        return OperatorIndex.build(operators.operators, strategy, reserve)
    return OperatorIndex.build(operators, strategy, reserve)


def _offer(call: CallView, operator: OperatorView, now: float, strategy: Strategy) -> Decision:
    floor = step_floor(call.steps, now - call.arrived_at)
    over = excess(operator.skills, call.requires, floor)
    idle = now - operator.idle_since
    return Decision(call.call_id, operator.sip_user, f"{strategy.name} (surplus {over}, idle {idle:.1f}s)")


def _nobody(call: CallView, anyone_available: bool) -> Decision:
    reason = "no qualified operator available" if anyone_available else "no operator available"
    return Decision(call.call_id, None, reason)


def choose_call(
    operator: OperatorView,
    waiting_calls: Iterable[CallView] | WaitingIndex,
    now: float,
    free_operators: Iterable[OperatorView] | OperatorIndex | None = None,
    reserve: Reserve | None = None,
) -> CallView | None:
    """The call a freed operator takes: the first they qualify for at `now` in service rank, or None.

    Service rank: higher priority, then starving calls (waiting over twice their target), then calls still within
    their target, then the overdue ones; first come, first served within each (acd.index.service_rank says why).
    Given the other `free_operators` (the freed one may be among them), covered calls, which one of them will be
    able to take in time, go after the others of their priority (acd.cover); with a `reserve` too, a call held for
    a spare operator at its next step is passed over (acd.reserve). A call is never passed over when nobody else is
    free. The operator's presence is the caller's business: it asks on the operator's behalf as they become free.
    """
    skip, defer = (None, None) if free_operators is None else _judges(operator, free_operators, now, reserve)
    if isinstance(waiting_calls, WaitingIndex):
        return waiting_calls.first_for(operator, now, skip, defer)
    qualified = [
        call for call in waiting_calls if is_qualified(operator, call, now) and (skip is None or not skip(call))
    ]
    if defer is None:
        return min(qualified, key=lambda call: service_rank(call, now), default=None)
    is_covered = defer
    return min(qualified, key=lambda call: cover_rank(call, now, is_covered(call)), default=None)


CallTest = Callable[[CallView], bool]


def _judges(
    operator: OperatorView, free_operators: Iterable[OperatorView] | OperatorIndex, now: float, reserve: Reserve | None
) -> tuple[CallTest | None, CallTest]:
    """(skip, defer) for the freed operator among the free ones: calls the reserve holds, and covered calls."""
    pool = _with_available(free_operators, operator, reserve)

    def defer(call: CallView) -> bool:
        return covered(call, pool, now)

    if reserve is None:
        return None, defer
    chosen = reserve

    def skip(call: CallView) -> bool:
        return specialist_reserve.held(call, pool, now, chosen)

    return skip, defer


def _with_available(
    operators: Iterable[OperatorView] | OperatorIndex, operator: OperatorView, reserve: Reserve | None
) -> OperatorIndex:
    """The free operators indexed, with `operator` among them as available."""
    freed = operator if operator.presence is Presence.AVAILABLE else evolve(operator, presence=Presence.AVAILABLE)
    if isinstance(operators, OperatorIndex):
        return operators.updated(freed)
    return OperatorIndex.build((*operators, freed), reserve=reserve)


def held(call: CallView, operators: Iterable[OperatorView] | OperatorIndex, now: float, reserve: Reserve) -> bool:
    """The reserve keeps this waiting call for its next step, though an available operator qualifies now."""
    index = operators if isinstance(operators, OperatorIndex) else OperatorIndex.build(operators, reserve=reserve)
    return specialist_reserve.held(call, index, now, reserve)


def ready_to_offer(waiting: WaitingIndex, operators: OperatorIndex, now: float, reserve: Reserve) -> WaitingIndex:
    """The waiting calls without those the reserve holds at `now`: what the shell hands to `assign`."""
    ready = waiting
    for call in waiting.calls:
        if specialist_reserve.held(call, operators, now, reserve):
            ready = ready.removed(call.call_id)
    return ready


def should_pause(misses: int, policy: MissPolicy) -> bool:
    """An operator who let `misses` offered calls ring out in a row is paused (never when max_misses is 0)."""
    return 0 < policy.max_misses <= misses
