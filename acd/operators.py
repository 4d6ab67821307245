"""An operator's state through the day, as pure transitions: login, pause, offer, answer, miss, wrap-up.

The shell feeds it phone states and call events; routing reads `presence(now)` and `view(now)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from acd.model import MissPolicy, OperatorView, Presence
from acd.routing import should_pause
from acd.values import evolve

FREE_PHONE = "NOT_INUSE"
OFFLINE_PHONE = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN", ""})
MISSED_CALLS = "missed calls"


@dataclass(frozen=True, slots=True)
class OperatorState:
    """Everything routing needs to know about one operator; replaced, never mutated."""

    sip_user: str
    skills: Mapping[str, int] = field(default_factory=dict)
    logged_in: bool = False
    phone_state: str = "UNAVAILABLE"  # Asterisk's device state of the operator's phone
    paused_reason: str | None = None
    offered_call: str | None = None  # the call we are ringing them for
    on_call: str | None = None  # the call they are talking on
    wrapup_until: float = 0.0
    misses: int = 0  # ring-no-answers in a row
    idle_since: float = 0.0
    talk_s_today: float = 0.0
    last_offered_at: float = 0.0
    # Session mode: the operator's phone stays connected to their holding bridge, busy to Asterisk all along, and
    # each call is bridged in at once instead of ringing; free means no call of ours, whatever the phone says.
    session: bool = False

    def presence(self, now: float) -> Presence:
        if not self.logged_in:
            return Presence.LOGGED_OUT
        if self.phone_state in OFFLINE_PHONE:
            return Presence.UNREGISTERED
        if self.offered_call is not None:
            return Presence.OFFERED
        if self.on_call is not None or (self.phone_state != FREE_PHONE and not self.session):
            return Presence.ON_CALL
        if now < self.wrapup_until:
            return Presence.WRAP_UP
        if self.paused_reason is not None:
            return Presence.PAUSED
        return Presence.AVAILABLE

    def view(self, now: float) -> OperatorView:
        return OperatorView(
            self.sip_user,
            self.presence(now),
            self.skills,
            self.idle_since,
            self.talk_s_today,
            self.last_offered_at,
            self.session,
        )


def _became_available(before: OperatorState, after: OperatorState, now: float) -> OperatorState:
    """Idle time counts from the moment an operator could first take a call again."""
    if before.presence(now) is not Presence.AVAILABLE and after.presence(now) is Presence.AVAILABLE:
        return evolve(after, idle_since=now)
    return after


def login(state: OperatorState, now: float) -> OperatorState:
    return _became_available(state, evolve(state, logged_in=True, misses=0), now)


def logout(state: OperatorState, now: float) -> OperatorState:
    return evolve(state, logged_in=False, paused_reason=None)


def pause(state: OperatorState, reason: str, now: float) -> OperatorState:
    return evolve(state, paused_reason=reason or "paused")


def unpause(state: OperatorState, now: float) -> OperatorState:
    return _became_available(state, evolve(state, paused_reason=None, misses=0), now)


def session_started(state: OperatorState, now: float) -> OperatorState:
    """The operator joined their holding bridge (logging in if they were not): calls are bridged in from now on."""
    return _became_available(state, evolve(state, logged_in=True, session=True, misses=0), now)


def session_ended(state: OperatorState, now: float) -> OperatorState:
    """The operator left their holding bridge: back to ring mode, still logged in."""
    return _became_available(state, evolve(state, session=False), now)


def phone_changed(state: OperatorState, phone_state: str, now: float) -> OperatorState:
    return _became_available(state, evolve(state, phone_state=phone_state), now)


def offer(state: OperatorState, call: str, now: float) -> OperatorState:
    return evolve(state, offered_call=call, last_offered_at=now)


def answered(state: OperatorState, call: str, now: float) -> OperatorState:
    if state.offered_call != call:
        return state
    return evolve(state, offered_call=None, on_call=call, misses=0)


def missed(state: OperatorState, call: str, now: float, policy: MissPolicy) -> OperatorState:
    """The phone rang out (or was busy): count the miss; too many in a row pauses the operator."""
    if state.offered_call != call:
        return state
    misses = state.misses + 1
    after = evolve(state, offered_call=None, misses=misses)
    if should_pause(misses, policy):
        after = evolve(after, paused_reason=MISSED_CALLS)
    return _became_available(state, after, now)


def withdrawn(state: OperatorState, call: str, now: float) -> OperatorState:
    """The caller gave up while this operator's phone rang: not the operator's miss."""
    if state.offered_call != call:
        return state
    return _became_available(state, evolve(state, offered_call=None), now)


def call_ended(state: OperatorState, call: str, now: float, talk_s: float, wrapup_s: float) -> OperatorState:
    """The call they were on ended: after-call work for `wrapup_s`, then available again."""
    if state.on_call != call:
        return withdrawn(state, call, now)
    after = evolve(state, on_call=None, wrapup_until=now + wrapup_s, talk_s_today=state.talk_s_today + max(talk_s, 0.0))
    return evolve(after, idle_since=now + wrapup_s)
