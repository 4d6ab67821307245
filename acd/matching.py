"""Many routing decisions at once: waiting calls matched to available operators, one call per operator at most.

Calls go in cover rank (acd.cover); each gets the strategy's best free operator, or one freed by reshuffling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from acd.cover import cover_rank, covered
from acd.index import OperatorIndex, Reserve, WaitingIndex
from acd.model import CallView, OperatorView
from acd.reserve import specialists
from acd.strategies import Strategy, best_fit

Chooser = Callable[[CallView, int], int]  # (call, bitset of free qualified operators) -> the position to take


def assign(
    waiting_calls: Iterable[CallView] | WaitingIndex,
    operators: Iterable[OperatorView] | OperatorIndex,
    now: float,
    strategy: Strategy = best_fit,
    reserve: Reserve | None = None,
) -> list[tuple[str, str]]:
    """(call_id, sip_user) pairs, in cover rank at `now`: as many calls as can be served, none left behind.

    Cover rank is the service rank with covered calls after the others of their priority (acd.cover), cover judged
    against the operators available when the batch starts: the same order `choose_call` gives a freed operator.
    A call with no free qualified operator may take one from an earlier call that another free operator can serve
    (an augmenting path), so the matching is maximum: after it, no remaining available operator qualifies for any
    remaining call, and a call is never left waiting for a later one in cover rank that it could have replaced.
    With a `reserve`, each call prefers spare operators to specialists (acd.reserve), but no call is ever held
    here: the shell leaves out the calls the reserve holds (acd.routing.ready_to_offer) before asking.
    """
    waiting = waiting_calls if isinstance(waiting_calls, WaitingIndex) else WaitingIndex.build(waiting_calls)
    ops = operators
    if not isinstance(ops, OperatorIndex) or ops.strategy != strategy:
        ops = OperatorIndex.build(ops.operators if isinstance(ops, OperatorIndex) else ops, strategy, reserve)
    calls = tuple(sorted(waiting.calls, key=lambda call: cover_rank(call, now, covered(call, ops, now))))
    choose = _chooser(ops, now, reserve)
    eligible = [ops.eligible(call, now) for call in calls]
    taken: list[int] = [-1] * len(eligible)  # operator position per call, -1 while waiting
    holder: dict[int, int] = {}  # call number per operator position
    free, dead = ops.available, 0
    for number, found in enumerate(eligible):
        if not free:
            break
        if found & free:
            position = choose(calls[number], found & free)
            taken[number], holder[position] = position, number
            free &= ~(1 << position)
            # Dead operators stay dead: a path through the one just taken would have reached it while it was free.
            continue
        # Operators reached by a failed search cannot lead to a free one until a path is flipped (Kuhn).
        used, dead = _augment(number, eligible, calls, choose, free, dead, taken, holder)
        if used >= 0:
            free &= ~(1 << used)
    return [(calls[n].call_id, ops.operators[p].sip_user) for n, p in enumerate(taken) if p >= 0]


def _chooser(ops: OperatorIndex, now: float, reserve: Reserve | None) -> Chooser:
    """How a call picks among free qualified operators: the strategy's best, spare operators first with a reserve.

    Who is a specialist is judged once, against the operators available when the batch starts.
    """
    if reserve is None:
        return lambda call, found: ops.best(call, now, found)
    reserved: dict[str, int] = {}

    def choose(call: CallView, found: int) -> int:
        if call.queue not in reserved:
            reserved[call.queue] = specialists(ops, reserve, call.queue, ops.available)
        spare = found & ~reserved[call.queue]
        return ops.best(call, now, spare or found)

    return choose


def _augment(
    start: int,
    eligible: list[int],
    calls: tuple[CallView, ...],
    choose: Chooser,
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
                used = choose(calls[number], reach & free)
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
