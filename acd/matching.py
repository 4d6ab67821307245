"""Many routing decisions at once: waiting calls matched to available operators, one call per operator at most.

Calls go in service order; each gets the strategy's best free operator, or one freed by reshuffling earlier picks.
"""

from __future__ import annotations

from collections.abc import Iterable

from acd.index import OperatorIndex, WaitingIndex
from acd.model import CallView, OperatorView
from acd.strategies import Strategy, closest_match


def assign(
    waiting_calls: Iterable[CallView] | WaitingIndex,
    operators: Iterable[OperatorView] | OperatorIndex,
    now: float,
    strategy: Strategy = closest_match,
) -> list[tuple[str, str]]:
    """(call_id, sip_user) pairs, in service order: as many calls as can be served at `now`, none left behind.

    A call with no free qualified operator may take one from an earlier call that another free operator can serve
    (an augmenting path), so the matching is maximum: after it, no remaining available operator qualifies for any
    remaining call, and a call is never left waiting for a later one in service order that it could have replaced.
    """
    calls = waiting_calls if isinstance(waiting_calls, WaitingIndex) else WaitingIndex.build(waiting_calls)
    ops = operators
    if not isinstance(ops, OperatorIndex) or ops.strategy != strategy:
        ops = OperatorIndex.build(ops.operators if isinstance(ops, OperatorIndex) else ops, strategy)
    eligible = [ops.eligible(call, now) for call in calls.calls]
    taken: list[int] = [-1] * len(eligible)  # operator position per call, -1 while waiting
    holder: dict[int, int] = {}  # call number per operator position
    free, dead = ops.available, 0
    for number, found in enumerate(eligible):
        if not free:
            break
        if found & free:
            position = ops.best(calls.calls[number], now, found & free)
            taken[number], holder[position] = position, number
            free &= ~(1 << position)
            # Dead operators stay dead: a path through the one just taken would have reached it while it was free.
            continue
        # Operators reached by a failed search cannot lead to a free one until a path is flipped (Kuhn).
        used, dead = _augment(number, eligible, calls.calls, ops, now, free, dead, taken, holder)
        if used >= 0:
            free &= ~(1 << used)
    return [(calls.calls[n].call_id, ops.operators[p].sip_user) for n, p in enumerate(taken) if p >= 0]


def _augment(
    start: int,
    eligible: list[int],
    calls: tuple[CallView, ...],
    ops: OperatorIndex,
    now: float,
    free: int,
    dead: int,
    taken: list[int],
    holder: dict[int, int],
) -> tuple[int, int]:
    """Serve call `start` by moving earlier calls along a shortest augmenting path: (free operator used, dead set).

    On failure the matching is unchanged, no operator is used (-1) and the operators the search reached are dead.
    """
    parent: dict[int, int] = {}  # call number -> the call whose operator it would take
    seen, frontier = dead, [start]
    while frontier:
        following: list[int] = []
        for number in frontier:
            reach = eligible[number] & ~seen
            if reach & free:
                used = ops.best(calls[number], now, reach & free)
                _flip(number, used, start, parent, taken, holder)
                return used, 0
            seen |= reach
            while reach:
                low = reach & -reach
                reach ^= low
                moved = holder[low.bit_length() - 1]
                parent[moved] = number
                following.append(moved)
        frontier = following
    return -1, seen


def _flip(
    number: int, position: int, start: int, parent: dict[int, int], taken: list[int], holder: dict[int, int]
) -> None:
    """Walk the path back to `start`: each call takes the operator the next one along gives up."""
    while True:
        previous = taken[number]
        taken[number], holder[position] = position, number
        if number == start:
            return
        number, position = parent[number], previous
