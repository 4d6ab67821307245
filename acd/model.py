"""The ACD's vocabulary: operators, their presence, queues and the calls waiting for them, as frozen values.

Everything here is pure data; the shell builds these from AMI events and the site configuration.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Presence(enum.Enum):
    """What an operator is doing, as far as routing is concerned."""

    LOGGED_OUT = "logged_out"
    UNREGISTERED = "unregistered"  # logged in, but the phone is not registered: never offered calls
    AVAILABLE = "available"
    OFFERED = "offered"  # ringing with a call we offered
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class OperatorView:
    """One operator as routing sees them at one instant."""

    sip_user: str
    presence: Presence
    skills: Mapping[str, int] = field(default_factory=dict)
    idle_since: float = 0.0  # when the operator last became available (seconds, same clock as `now`)
    talk_s_today: float = 0.0  # seconds on calls today: what `least_occupied` balances
    last_offered_at: float = 0.0  # when we last offered them a call (0: not yet today): the round-robin cursor
    session: bool = False  # in session mode: a call is bridged in at once instead of ringing their phone


@dataclass(frozen=True, slots=True)
class Step:
    """A widening step: from `after_s` seconds of wait on, each required skill needs `min_level`.

    The call's own `requires` level is a floor no step goes below.
    """

    after_s: float
    min_level: int


@dataclass(frozen=True, slots=True)
class CallView:
    """A call that needs an operator."""

    call_id: str
    hotline: str
    queue: str
    requires: Mapping[str, int] = field(default_factory=dict)
    arrived_at: float = 0.0
    priority: int = 0  # higher is served first, whatever the queue
    steps: tuple[Step, ...] = ()  # widening over the wait, in any order
    sl_seconds: float = 20.0  # the service-level target: answered within this many seconds
    operator: str = ""  # a call for this operator alone (a colleague transferred it to them by name)
    session_only: bool = False  # a dialer's call: a person is waiting, only an operator in session mode is in time


@dataclass(frozen=True, slots=True)
class QueueRule:
    """A queue's routing rule, from which the shell stamps each arriving call."""

    name: str
    requires: Mapping[str, int] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    priority: int = 0
    sl_seconds: float = 20.0
    sl_target: float = 0.8  # share of calls to answer within sl_seconds: reported, not routed on

    def call(self, call_id: str, hotline: str, arrived_at: float) -> CallView:
        """The call as routing sees it when it arrives on this queue."""
        return CallView(
            call_id, hotline, self.name, self.requires, arrived_at, self.priority, self.steps, self.sl_seconds
        )


@dataclass(frozen=True, slots=True)
class MissPolicy:
    """When an operator who lets offered calls ring out is paused: after `max_misses` in a row (0: never)."""

    max_misses: int


@dataclass(frozen=True, slots=True)
class Decision:
    """The routing answer: an operator for the call, or nobody (with the reason)."""

    call_id: str
    operator: str | None
    reason: str
