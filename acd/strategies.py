"""How routing ranks the operators qualified for a call: closest match, longest idle, least occupied, round robin.

A strategy is data (a name, whether proficiency surplus comes first, and an order key), so indexes can precompute it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from acd.model import OperatorView

# Every order key ends with the SIP user, so two operators never tie and every decision is deterministic.
OrderKey = tuple[float | str, ...]


@dataclass(frozen=True, slots=True)
class Strategy:
    """Rank qualified operators by (surplus if `closest_first`, then `order(operator)`), smallest first.

    `order` must depend on the operator alone: indexes compute it once per operator, not once per decision.
    """

    name: str
    closest_first: bool
    order: Callable[[OperatorView], OrderKey]

    def rank(self, operator: OperatorView, surplus: int) -> tuple[int, OrderKey]:
        """The operator's place for a call they exceed by `surplus` levels (smaller is better)."""
        return (surplus if self.closest_first else 0, self.order(operator))


def by_idle(operator: OperatorView) -> OrderKey:
    """Longest idle first: whoever has waited longest for a call gets the next one."""
    return (operator.idle_since, operator.sip_user)


def by_occupancy(operator: OperatorView) -> OrderKey:
    """Least talk time today first, so the day's load evens out across the team."""
    return (operator.talk_s_today, operator.idle_since, operator.sip_user)


def by_last_offer(operator: OperatorView) -> OrderKey:
    """Least recently offered first: the rotation's cursor is each operator's last offer time."""
    return (operator.last_offered_at, operator.idle_since, operator.sip_user)


closest_match = Strategy("closest match", closest_first=True, order=by_idle)
longest_idle = Strategy("longest idle", closest_first=False, order=by_idle)
least_occupied = Strategy("least occupied", closest_first=False, order=by_occupancy)
round_robin = Strategy("round robin", closest_first=False, order=by_last_offer)

STRATEGIES: dict[str, Strategy] = {
    "closest_match": closest_match,
    "longest_idle": longest_idle,
    "least_occupied": least_occupied,
    "round_robin": round_robin,
}
