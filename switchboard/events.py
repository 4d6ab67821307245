"""Our own events, in the call centre's words, made from raw AMI messages by switchboard.ami.translate.

Past tense, frozen; times are epoch seconds taken from Asterisk's event timestamps when it sends them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PhoneStateChanged:
    """An operator's phone changed device state (NOT_INUSE, INUSE, RINGING, UNAVAILABLE ...)."""

    sip_user: str
    state: str
    at: float


@dataclass(frozen=True, slots=True)
class OperatorAnswered:
    """The operator dialed for a call answered it."""

    uniqueid: str  # the caller's channel
    at: float
    agent_uniqueid: str = ""  # the operator's channel
    operator: str = ""  # the SIP user dialed ("" when the dialed channel was not an operator's phone)


@dataclass(frozen=True, slots=True)
class OperatorMissed:
    """The operator dialed for a call did not answer (no answer, busy, unavailable ...)."""

    uniqueid: str
    status: str
    at: float
    operator: str = ""  # the SIP user that was rung


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller's channel is gone."""

    uniqueid: str
    cause: int
    at: float


@dataclass(frozen=True, slots=True)
class OriginateFailed:
    """A call the dialer originated never answered: busy, no answer, congestion ... (Asterisk's reason code)."""

    uniqueid: str  # the channel id the dialer gave it ("" when Asterisk does not say)
    channel: str  # the Channel the Originate named
    reason: int
    at: float


Event = PhoneStateChanged | OperatorAnswered | OperatorMissed | CallerHungUp | OriginateFailed
