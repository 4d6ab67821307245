"""The ACD's vocabulary: operators, their presence, and the calls waiting for them, as frozen values.

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


@dataclass(frozen=True, slots=True)
class CallView:
    """A call that needs an operator."""

    call_id: str
    hotline: str
    queue: str
    requires: Mapping[str, int] = field(default_factory=dict)
    arrived_at: float = 0.0
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """The routing answer: an operator for the call, or nobody (with the reason)."""

    call_id: str
    operator: str | None
    reason: str
