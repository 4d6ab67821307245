"""The specialist reserve: keep the last free operator able to answer a queue in time for that queue's calls.

Pure decisions over an OperatorIndex and the site's queue rules; routing and batch assignment both use them.

The rule. An available operator is a *specialist* for a call when they are the only available operator who could
answer some other queue's calls within that queue's target (holding its skills at the lowest level its widening asks
before the target). Everyone else qualified is *spare*. A call goes to a spare operator when one qualifies. When only
specialists qualify, and at the call's next widening step, still before its own target, a spare available operator
will qualify, the call waits for that step: the specialist stays free for the calls only they can take, and the call
is still answered in time, by an operator the queue's own widening accepts. Otherwise a specialist takes it.

Why: a specialist spent on a call others could take in time leaves the next call only they can take waiting, past
its target; contact centres call this agent reservation (Avaya's reserve agents, Genesys's agent reservation).
The bounds keep it cheap: the hold ends at the call's next step at the latest, before its target, and only happens
when someone spare will qualify then; a queue without widening, or whose next step comes after its target, is never
held, and neither is a call when the operator asking is the only one free (nobody spare to wait for).
Measured in the simulator (seeds 1-20, on top of best fit and service rank, the shell's dispatch reproduced):
+1.8 points of service level on the balanced day, +4.9 with scarce specialists, +3.8 in tax season, with a shorter
average wait and fewer abandons; the general tax line gives up about a point, the advanced and English lines gain
ten to twenty. Without widening steps, or with skills no other queue needs, it holds nothing and changes nothing.
"""

from __future__ import annotations

from acd.index import OperatorIndex, Reserve
from acd.model import CallView, Step
from acd.skills import step_floor

__all__ = ["Reserve", "held", "next_step_in_target", "pick", "specialists"]


def specialists(index: OperatorIndex, reserve: Reserve, queue: str, pool: int) -> int:
    """Bitset of the operators in `pool` each being the only one in `pool` able to answer, within its target,
    some queue other than `queue` (the queue of the call being placed).

    Fast when the index was built for this reserve (OperatorIndex.build(..., reserve=...)): no skill is looked up.
    """
    if index.reserve is reserve:
        servers = index.servers
    else:
        servers = tuple(index.holding(requires, floor) for _, requires, floor in reserve.queues)
    found = 0
    for (name, _, _), holders in zip(reserve.queues, servers, strict=True):
        free = holders & pool
        if free and not free & (free - 1) and name != queue:  # exactly one bit: the last one free who can
            found |= free
    return found


def next_step_in_target(call: CallView, now: float) -> Step | None:
    """The call's next widening step after `now`, if it comes before the call's target; else None."""
    wait = now - call.arrived_at
    following: Step | None = None
    for step in call.steps:
        if step.after_s > wait and (following is None or step.after_s < following.after_s):
            following = step
    if following is None or following.after_s >= call.sl_seconds:
        return None
    return following


def pick(call: CallView, index: OperatorIndex, now: float, found: int, reserve: Reserve) -> int | None:
    """The position of the operator for the call among `found` (eligible now, not empty), or None: hold the call."""
    if not found & (found - 1) and next_step_in_target(call, now) is None:
        return found.bit_length() - 1  # one operator qualifies and the call cannot wait: nothing to weigh
    reserved = specialists(index, reserve, call.queue, index.available)
    spare = found & ~reserved
    if spare:
        return index.best(call, now, spare)
    if _spare_at_next_step(call, index, now, reserved):
        return None
    return index.best(call, now, found)


def held(call: CallView, index: OperatorIndex, now: float, reserve: Reserve) -> bool:
    """The call waits for its next step although an available operator qualifies: only specialists do, for now."""
    if next_step_in_target(call, now) is None:  # the cheap test first: most waiting calls are past their steps
        return False
    found = index.eligible(call, now)
    if not found:
        return False
    reserved = specialists(index, reserve, call.queue, index.available)
    return not found & ~reserved and _spare_at_next_step(call, index, now, reserved)


def _spare_at_next_step(call: CallView, index: OperatorIndex, now: float, reserved: int) -> bool:
    """At the call's next step before its target, an available operator who is no specialist will qualify."""
    following = next_step_in_target(call, now)
    if following is None:
        return False
    floor = step_floor(call.steps, following.after_s)
    return bool(index.holding(call.requires.items(), floor) & index.available & ~reserved)
