"""The supervisors' wallboard: per-queue and per-operator live figures, computed from the picture at one instant.

Pure reads of the picture; live.py writes them to Redis, the demo and the consoles show them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from acd import stats
from acd.model import Presence
from switchboard.picture import Picture

BUSY = frozenset({Presence.OFFERED, Presence.ON_CALL, Presence.WRAP_UP})
WORKING = BUSY | {Presence.AVAILABLE}


def queue_board(picture: Picture, now: float) -> dict[str, dict[str, Any]]:
    """Per queue: calls waiting and the longest wait, the day's counts and figures (service level by both of
    Asterisk's definitions, ASA, abandon rate, AHT), and its operators by state.

    `occupancy` is the share of the queue's working operators (not paused, logged in, phone up) busy right now:
    offered a call, on one, or in wrap-up, as a wallboard shows it.
    """
    waits: dict[str, list[float]] = {name: [] for name in picture.rules}
    for waiter in picture.waiting.values():
        waits.setdefault(waiter.call.queue, []).append(now - waiter.call.arrived_at)
    serving: dict[str, Counter[str]] = {name: Counter() for name in picture.rules}
    for user, state in picture.operators.items():
        presence = state.presence(now)
        for queue in picture.queues_of(user):
            serving[queue][presence.value] += 1
    board = {}
    for name in picture.rules:
        tally = picture.tallies.get(name, stats.QueueTally())
        shown = stats.figures(tally)
        states = serving[name]
        working = sum(states[p.value] for p in WORKING)
        board[name] = {
            "waiting": len(waits[name]),
            "longest_wait_s": round(max(waits[name], default=0.0), 1),
            "offered": tally.offered,
            "answered": tally.answered,
            "answered_in_sl": tally.answered_in_sl,
            "abandoned": tally.abandoned,
            "timed_out": tally.timed_out,
            "service_level": round(shown.service_level, 4),
            "service_level_2": round(shown.service_level_2, 4),
            "asa_s": round(shown.asa_s, 2),
            "abandon_rate": round(shown.abandon_rate, 4),
            "aht_s": round(shown.aht_s, 1),
            "occupancy": round(sum(states[p.value] for p in BUSY) / working, 3) if working else 0.0,
            "operators": dict(sorted(states.items())),
        }
    return board


@dataclass
class TimeInState:
    """When each operator entered the state they are in: kept by the shell, since the picture keeps no history."""

    since: dict[str, tuple[str, float]] = field(default_factory=dict)

    def board(self, picture: Picture, now: float) -> dict[str, dict[str, Any]]:
        """Per operator: state, seconds in it, pause reason and the queues they serve."""
        board = {}
        for user, state in picture.operators.items():
            presence = state.presence(now).value
            known = self.since.get(user)
            if known is None or known[0] != presence:
                known = self.since[user] = (presence, now)
            board[user] = {
                "state": presence,
                "since": known[1],
                "seconds": round(now - known[1], 1),
                "paused_reason": state.paused_reason,
                "queues": picture.queues_of(user),
            }
        return board
