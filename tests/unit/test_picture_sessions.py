"""Session mode in the picture: an operator in their holding bridge is offered calls bridged in at once, stays
available between calls though their phone is busy all along, and leaves ring mode behind until the bridge ends."""

from __future__ import annotations

from acd import operators as ops
from acd.model import Presence
from switchboard.ami.translate import translate
from switchboard.events import CallerHungUp, OperatorAnswered, PhoneStateChanged
from switchboard.picture import Picture
from tests.unit.test_picture_moves import SITE


def _in_session(user: str = "op2", channel: str = "sess-1") -> Picture:
    picture = Picture(SITE)
    for op in SITE.operators:
        picture.apply(PhoneStateChanged(op.sip_user, "INUSE" if op.sip_user != user else "NOT_INUSE", 0.0))
    assert picture.start_session(user, channel, 1.0) == f"switchboard-op-{user}"
    picture.apply(PhoneStateChanged(user, "INUSE", 1.1))  # the phone is in the bridge now
    return picture


def test_an_operator_in_session_is_available_though_the_phone_is_busy() -> None:
    state = ops.OperatorState("op1", logged_in=True, phone_state="INUSE", session=True)
    assert state.presence(0.0) is Presence.AVAILABLE
    assert ops.session_ended(state, 1.0).presence(1.0) is Presence.ON_CALL  # ring mode: a busy phone is busy
    assert ops.evolve(state, phone_state="UNAVAILABLE").presence(0.0) is Presence.UNREGISTERED


def test_a_call_for_an_operator_in_session_goes_to_their_bridge() -> None:
    picture = _in_session()
    arrival = picture.route_call("c1", "+79120000001", "100", 2.0)
    assert arrival.result is not None and arrival.result.target == "ConfBridge/switchboard-op-op2"
    join = {"Event": "ConfbridgeJoin", "Conference": "switchboard-op-op2", "Uniqueid": "c1", "Timestamp": "2.4"}
    event = translate(join, 9.0)
    assert event == OperatorAnswered("c1", 2.4, "", "op2")
    picture.apply(event)
    assert picture.calls["c1"].answered_at == 2.4 and picture.operators["op2"].on_call == "c1"
    picture.apply(CallerHungUp("c1", 16, 30.0))
    picture.tick(36.0)  # after the queue's 5 s wrap-up, free again in the bridge: the next call comes at once
    again = picture.route_call("c2", "+79120000002", "100", 36.5)
    assert again.result is not None and again.result.operator == "op2"


def test_the_session_channel_hanging_up_ends_session_mode() -> None:
    picture = _in_session()
    picture.apply(CallerHungUp("sess-1", 16, 5.0))
    picture.apply(PhoneStateChanged("op2", "NOT_INUSE", 5.0))
    assert not picture.operators["op2"].session and picture.sessions == {}
    arrival = picture.route_call("c1", "+79120000001", "100", 6.0)
    assert arrival.result is not None and arrival.result.target == "PJSIP/op2"


def test_leaving_the_bridge_mid_call_completes_the_call_by_the_operator() -> None:
    picture = _in_session()
    picture.route_call("c1", "+79120000001", "100", 2.0)
    picture.apply(OperatorAnswered("c1", 2.4, "", "op2"))
    picture.apply(CallerHungUp("sess-1", 16, 20.0))
    picture.apply(CallerHungUp("c1", 16, 20.1))
    assert [e.event for e in picture.queue_log if e.callid == "c1"][-1] == "COMPLETEAGENT"


def test_a_rebuild_ends_sessions_whose_channel_is_gone() -> None:
    picture = _in_session()
    picture.rebuild({"op2": "NOT_INUSE"}, set(), [], 10.0)
    assert picture.sessions == {} and not picture.operators["op2"].session


def test_other_conferences_are_not_answers() -> None:
    assert translate({"Event": "ConfbridgeJoin", "Conference": "sales-meeting", "Uniqueid": "x"}, 1.0) is None


def test_a_dialers_call_goes_only_to_an_operator_in_session_mode() -> None:
    """op1 is free in ring mode, op2 busy in her session: the person waits for op2 (op1's phone would ring)."""
    picture = _in_session("op2")
    picture.apply(PhoneStateChanged("op1", "NOT_INUSE", 1.2))
    picture.route_call("c1", "+79120000001", "100", 2.0)  # op2 in her bridge takes the hotline caller
    arrival = picture.route_outbound("switchboard-out-1", "+79160000001", "general", 3.0)
    assert arrival.result is None and arrival.waiter is not None
    assert picture.calls["switchboard-out-1"].direction == "outbound"
    picture.apply(OperatorAnswered("c1", 2.5, "", "op2"))
    picture.apply(CallerHungUp("c1", 16, 4.0))
    picture.tick(9.5)  # her wrap-up over
    assert arrival.waiter.assigned is not None and arrival.waiter.assigned.operator == "op2"


def test_a_new_process_learns_who_is_in_session_mode_from_the_live_channels() -> None:
    """CoreShowChannels lists the phone in ConfBridge(switchboard-op-op2,...): after a restart op2 is in session."""
    from switchboard.ami.translate import sessions_in

    channels = [
        {"Channel": "PJSIP/op2-0000002a", "Uniqueid": "sess-9", "Application": "ConfBridge",
         "ApplicationData": "switchboard-op-op2,switchboard-session,switchboard-operator"},
        {"Channel": "PJSIP/op1-0000002b", "Uniqueid": "x", "Application": "ConfBridge",
         "ApplicationData": "switchboard-op-op2,switchboard-session,switchboard-caller"},  # a caller's leg: no
        {"Channel": "PJSIP/trunk-0000002c", "Uniqueid": "y", "Application": "AGI", "ApplicationData": "agi://"},
    ]  # fmt: skip
    assert sessions_in(channels) == {"sess-9": "op2"}
    picture = Picture(SITE)
    picture.rebuild({"op2": "INUSE"}, {"sess-9", "x", "y"}, [], 10.0, sessions=sessions_in(channels))
    assert picture.sessions == {"sess-9": "op2"} and picture.operators["op2"].session
    picture.login("op2", 10.0)
    assert picture.operators["op2"].presence(10.0) is Presence.AVAILABLE
