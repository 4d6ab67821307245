"""An operator's day as pure transitions: presence follows login, phone, pause, offer, answer, miss and wrap-up."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from acd import operators as ops
from acd.model import MissPolicy, Presence

POLICY = MissPolicy(max_misses=2)


def ready(now: float = 0.0) -> ops.OperatorState:
    state = ops.OperatorState("op1", {"tax": 3})
    return ops.phone_changed(ops.login(state, now), "NOT_INUSE", now)


def test_logged_in_registered_free_operator_is_available_and_idle_from_then() -> None:
    """Login plus a free phone makes an operator available, idle from that moment."""
    state = ready(now=5.0)
    assert state.presence(6.0) is Presence.AVAILABLE
    assert state.idle_since == 5.0
    assert ops.logout(state, 7.0).presence(7.0) is Presence.LOGGED_OUT


def test_unregistered_phone_is_never_available() -> None:
    """A logged-in operator whose phone is unregistered is not offered calls."""
    state = ops.phone_changed(ready(), "UNAVAILABLE", 1.0)
    assert state.presence(1.0) is Presence.UNREGISTERED


def test_offer_answer_end_goes_through_wrap_up_back_to_available() -> None:
    """Offered, on the call, then wrap-up for its seconds, then available with idle time from the end of wrap-up."""
    state = ops.offer(ready(), "c1", 10.0)
    assert state.presence(10.0) is Presence.OFFERED
    state = ops.answered(state, "c1", 12.0)
    assert state.presence(12.0) is Presence.ON_CALL
    state = ops.call_ended(state, "c1", 100.0, talk_s=88.0, wrapup_s=15.0)
    assert state.presence(110.0) is Presence.WRAP_UP
    assert state.presence(115.0) is Presence.AVAILABLE
    assert state.idle_since == 115.0
    assert state.talk_s_today == 88.0


def test_misses_in_a_row_pause_the_operator_with_reason_missed_calls() -> None:
    """Two ring-no-answers in a row pause the operator; an answered call in between resets the count."""
    state = ops.missed(ops.offer(ready(), "c1", 1.0), "c1", 2.0, POLICY)
    assert state.presence(2.0) is Presence.AVAILABLE
    state = ops.missed(ops.offer(state, "c2", 3.0), "c2", 4.0, POLICY)
    assert state.presence(4.0) is Presence.PAUSED
    assert state.paused_reason == ops.MISSED_CALLS
    assert ops.unpause(state, 5.0).presence(5.0) is Presence.AVAILABLE


def test_caller_giving_up_while_ringing_is_not_a_miss() -> None:
    """A call withdrawn while the phone rang leaves the operator available and the miss count untouched."""
    state = ops.withdrawn(ops.offer(ready(), "c1", 1.0), "c1", 2.0)
    assert state.presence(2.0) is Presence.AVAILABLE
    assert state.misses == 0


def test_pause_holds_after_the_call_ends() -> None:
    """An operator who paused during a call stays paused after wrap-up, with the reason kept."""
    state = ops.answered(ops.offer(ready(), "c1", 1.0), "c1", 2.0)
    state = ops.pause(state, "lunch", 3.0)
    state = ops.call_ended(state, "c1", 4.0, talk_s=2.0, wrapup_s=5.0)
    assert state.presence(20.0) is Presence.PAUSED
    assert state.paused_reason == "lunch"


events = st.lists(
    st.tuples(
        st.sampled_from(["login", "logout", "pause", "unpause", "phone", "offer", "answer", "miss", "end", "withdraw"]),
        st.sampled_from(["c1", "c2"]),
        st.sampled_from(["NOT_INUSE", "INUSE", "RINGING", "UNAVAILABLE"]),
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(events)
def test_presence_is_always_consistent_with_the_state(sequence: list[tuple[str, str, str]]) -> None:
    """Whatever happens, an operator offered or on a call is never AVAILABLE, and never both offered and on a call."""
    state, now = ops.OperatorState("op1"), 0.0
    for name, call, phone in sequence:
        now += 1.0
        state = _apply(state, name, call, phone, now)
        presence = state.presence(now)
        if state.offered_call is not None or state.on_call is not None:
            assert presence is not Presence.AVAILABLE
        if presence is Presence.AVAILABLE:
            assert state.logged_in and state.paused_reason is None and state.phone_state == "NOT_INUSE"
        assert state.misses >= 0


def _apply(state: ops.OperatorState, name: str, call: str, phone: str, now: float) -> ops.OperatorState:
    if name == "login":
        return ops.login(state, now)
    if name == "logout":
        return ops.logout(state, now)
    if name == "pause":
        return ops.pause(state, "lunch", now)
    if name == "unpause":
        return ops.unpause(state, now)
    if name == "phone":
        return ops.phone_changed(state, phone, now)
    if name == "offer":
        return ops.offer(state, call, now) if state.presence(now) is Presence.AVAILABLE else state
    if name == "answer":
        return ops.answered(state, call, now)
    if name == "miss":
        return ops.missed(state, call, now, POLICY)
    if name == "withdraw":
        return ops.withdrawn(state, call, now)
    return ops.call_ended(state, call, now, talk_s=1.0, wrapup_s=2.0)
