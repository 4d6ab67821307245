"""Which operator takes a call: pure functions over frozen values, with time passed in.

The Foundation routes to any qualified available operator, longest idle first; skills widening comes with the ACD.
"""

from __future__ import annotations

from collections.abc import Iterable

from acd.model import CallView, Decision, OperatorView, Presence


def is_qualified(operator: OperatorView, call: CallView) -> bool:
    """The operator holds every skill the call requires, at least at the required level."""
    return all(operator.skills.get(skill, 0) >= level for skill, level in call.requires.items())


def choose_operator(call: CallView, operators: Iterable[OperatorView], now: float) -> Decision:
    """The longest-idle available operator qualified for the call, or nobody with the reason why."""
    best: OperatorView | None = None
    anyone_available = False
    for op in operators:
        if op.presence is not Presence.AVAILABLE:
            continue
        anyone_available = True
        if not is_qualified(op, call):
            continue
        # Ties on idle time go to the lower SIP user, so the choice is deterministic.
        if best is None or (op.idle_since, op.sip_user) < (best.idle_since, best.sip_user):
            best = op
    if best is not None:
        return Decision(call.call_id, best.sip_user, f"longest idle ({now - best.idle_since:.1f}s)")
    reason = "no qualified operator available" if anyone_available else "no operator available"
    return Decision(call.call_id, None, reason)
