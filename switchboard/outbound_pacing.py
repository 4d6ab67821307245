"""How many calls a dialer places now, from the live picture: the operators of its queue who are free in session
mode, and the calls already ringing. Progressive places one call per free operator, power `ratio` per operator.

Only operators in session mode count: a person who answers must hear an operator within the grace time, and a
phone that rings first cannot make it.
"""

from __future__ import annotations

import math

from acd.model import Presence
from switchboard.config import DialerSection
from switchboard.picture import Picture


def free_operators(dialer: DialerSection, picture: Picture, now: float) -> int:
    """Operators who serve the dialer's queue, in session mode, available now."""
    return sum(
        1
        for user, state in picture.operators.items()
        if state.session and state.presence(now) is Presence.AVAILABLE and dialer.queue in picture.queues_of(user)
    )


def launches(dialer: DialerSection, picture: Picture, ringing: int, now: float) -> int:
    """Calls to place now: enough that free operators x ratio are ringing, within the dialer's line limit."""
    ratio = dialer.ratio if dialer.method == "power" else 1.0
    wanted = math.floor(free_operators(dialer, picture, now) * ratio) - ringing
    return max(0, min(wanted, dialer.max_lines - ringing))
