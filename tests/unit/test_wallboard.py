"""The wallboard's live figures: waiting calls, the day's counts and ratios, operators by state and time in state."""

from __future__ import annotations

from switchboard.events import CallerHungUp, OperatorAnswered, PhoneStateChanged
from switchboard.picture import Picture
from switchboard.wallboard import TimeInState, queue_board
from tests.unit.test_picture_moves import SITE


def _picture() -> Picture:
    picture = Picture(SITE)
    for op in SITE.operators:
        picture.apply(PhoneStateChanged(op.sip_user, "NOT_INUSE", 0.0))
    return picture


def test_the_board_counts_waiting_calls_and_the_longest_wait() -> None:
    picture = _picture()
    picture.apply(PhoneStateChanged("taxman", "INUSE", 0.0))
    picture.route_call("c1", "+79120000001", "200", 10.0)
    picture.route_call("c2", "+79120000002", "200", 14.0)
    tax = queue_board(picture, 20.0)["tax"]
    assert (tax["waiting"], tax["longest_wait_s"], tax["offered"]) == (2, 10.0, 2)
    assert tax["operators"] == {"on_call": 1} and tax["occupancy"] == 1.0


def test_the_board_figures_follow_the_tallies() -> None:
    picture = _picture()
    picture.route_call("c1", "+79120000001", "100", 0.0)
    picture.apply(OperatorAnswered("c1", 5.0, "c1-agent"))  # within the 20 s target
    picture.apply(CallerHungUp("c1", 16, 65.0))
    picture.route_call("c2", "+79120000002", "100", 70.0)
    picture.apply(OperatorAnswered("c2", 100.0, "c2-agent"))  # 30 s: late
    general = queue_board(picture, 101.0)["general"]
    assert general["answered"] == 2 and general["answered_in_sl"] == 1 and general["service_level"] == 0.5
    assert general["asa_s"] == 17.5 and general["aht_s"] == 65.0  # 60 s talk + 5 s wrap-up
    assert general["operators"] == {"available": 1, "on_call": 1}  # one in c2, the other idle again
    assert general["occupancy"] == 0.5


def test_time_in_state_starts_when_the_state_changes() -> None:
    picture = _picture()
    clock = TimeInState()
    assert clock.board(picture, 10.0)["op1"] == {
        "state": "available", "since": 10.0, "seconds": 0.0, "paused_reason": None, "queues": ["general"],
    }  # fmt: skip
    assert clock.board(picture, 25.0)["op1"]["seconds"] == 15.0
    picture.pause("op1", "lunch", 30.0)
    row = clock.board(picture, 31.0)["op1"]
    assert (row["state"], row["since"], row["paused_reason"]) == ("paused", 31.0, "lunch")
