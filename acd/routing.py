"""Which operator takes a call, and which call a freed operator takes: pure functions, time passed in.

Each accepts plain views (small pictures, tests) or the precomputed indexes of `acd.index` (the engine's hot path).
"""

from __future__ import annotations

from collections.abc import Iterable

from acd.index import OperatorIndex, WaitingIndex, service_order
from acd.matching import assign
from acd.model import CallView, Decision, MissPolicy, OperatorView, Presence
from acd.skills import excess, is_qualified, required_levels, step_floor
from acd.strategies import Strategy, closest_match, least_occupied, longest_idle, round_robin

__all__ = [
    "assign",
    "choose_call",
    "choose_operator",
    "closest_match",
    "is_qualified",
    "least_occupied",
    "longest_idle",
    "required_levels",
    "round_robin",
    "should_pause",
]


def choose_operator(
    call: CallView,
    operators: Iterable[OperatorView] | OperatorIndex,
    now: float,
    strategy: Strategy = closest_match,
) -> Decision:
    """The strategy's pick among the available operators qualified for the call at `now`, or nobody and why.

    The default, closest match, takes the smallest total surplus over the levels needed, then the longest idle.
    An index built for another strategy is scanned like plain views: correct, but without the index's speed.
    """
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


def _offer(call: CallView, operator: OperatorView, now: float, strategy: Strategy) -> Decision:
    floor = step_floor(call.steps, now - call.arrived_at)
    over = excess(operator.skills, call.requires, floor)
    idle = now - operator.idle_since
    return Decision(call.call_id, operator.sip_user, f"{strategy.name} (surplus {over}, idle {idle:.1f}s)")


def _nobody(call: CallView, anyone_available: bool) -> Decision:
    reason = "no qualified operator available" if anyone_available else "no operator available"
    return Decision(call.call_id, None, reason)


def choose_call(
    operator: OperatorView, waiting_calls: Iterable[CallView] | WaitingIndex, now: float
) -> CallView | None:
    """The call a freed operator takes: the first they qualify for at `now` in service order, or None.

    Service order: higher priority, then further past (or closer to) the service-level target, then longer wait.
    The operator's presence is the caller's business: it asks on the operator's behalf as they become free.
    """
    if isinstance(waiting_calls, WaitingIndex):
        return waiting_calls.first_for(operator, now)
    qualified = (call for call in waiting_calls if is_qualified(operator, call, now))
    return min(qualified, key=service_order, default=None)


def should_pause(misses: int, policy: MissPolicy) -> bool:
    """An operator who let `misses` offered calls ring out in a row is paused (never when max_misses is 0)."""
    return 0 < policy.max_misses <= misses
