"""The picture's call moves: transfers to a queue or a colleague, the maximum wait's outcomes, wrap-up codes."""

from __future__ import annotations

from acd import queue_log as qlog
from switchboard.config import parse_site
from switchboard.events import CallerHungUp, OperatorAnswered, PhoneStateChanged
from switchboard.picture import Arrival, Picture

SITE = parse_site(
    {
        "skills": ["general", "tax", "lead"],
        "ami": {"secret": "unit-test-secret-1", "admin_secret": "unit-test-secret-2"},
        "recordings_dir": "/srv/switchboard/recordings",
        "acd": {"login_required": False},
        "queues": [
            {
                "name": "general",
                "requires": {"general": 1},
                "wrapup_s": 5,
                "extension": "801",
                "on_max_wait": "overflow",
                "overflow_to": "tax",
                "wrapup_codes": {"1": "billing", "22": "address"},
            },
            {"name": "tax", "requires": {"tax": 1}, "on_max_wait": "callback", "extension": "802"},
            {"name": "supervisor", "requires": {"lead": 1}, "on_max_wait": "voicemail", "extension": "809"},
        ],
        "hotlines": [{"number": "100", "queue": "general"}, {"number": "200", "queue": "tax"}],
        "operators": [
            {
                "sip_user": "op1",
                "secret": "operator-secret-1",
                "name": "A",
                "skills": {"general": 3},
                "extension": "11",
            },
            {
                "sip_user": "op2",
                "secret": "operator-secret-2",
                "name": "B",
                "skills": {"general": 1},
                "extension": "12",
            },
            {"sip_user": "boss", "secret": "operator-secret-3", "name": "C", "skills": {"lead": 5}, "supervisor": True},
            {"sip_user": "taxman", "secret": "operator-secret-4", "name": "D", "skills": {"tax": 2}},
        ],
    }
)


def _picture(free: tuple[str, ...] = ("op1", "op2", "boss", "taxman")) -> Picture:
    picture = Picture(SITE)
    for op in SITE.operators:
        state = "NOT_INUSE" if op.sip_user in free else "INUSE"
        picture.apply(PhoneStateChanged(op.sip_user, state, 0.0))
    return picture


def _answered_call(picture: Picture, uniqueid: str = "c1", at: float = 1.0) -> str:
    """A caller on the general hotline, answered by whoever was offered it; returns that operator."""
    arrival = picture.route_call(uniqueid, "+79120000001", "100", at)
    assert arrival.result is not None and arrival.result.operator is not None
    picture.apply(OperatorAnswered(uniqueid, at + 2, f"{uniqueid}-agent"))
    return arrival.result.operator


def _events(picture: Picture, uniqueid: str) -> list[tuple[str, str]]:
    return [(e.queue, e.event) for e in picture.queue_log if e.callid == uniqueid]


def test_transfer_to_a_queue_closes_the_first_record_and_queues_the_caller_there() -> None:
    picture = _picture()
    operator = _answered_call(picture)
    first_id = picture.calls["c1"].id
    arrival = picture.transfer("c1", "queue:supervisor", 30.0, "809")
    assert arrival.result is not None and arrival.result.operator == "boss"
    records = {r.id: r for r in picture.take_dirty()}
    first = records[first_id]
    assert first.ended_at == 30.0 and first.outcome == "answered" and first.transferred_to == "queue:supervisor"
    second = picture.calls["c1"]
    assert second.id != first_id and second.queue == "supervisor" and second.caller == "+79120000001"
    assert second.recording == first.recording and first.recording  # MixMonitor goes on into the same file
    assert ("general", "BLINDTRANSFER") in _events(picture, "c1")
    blind = next(e for e in picture.queue_log if e.event == "BLINDTRANSFER")
    assert blind.agent == operator and blind.data[:2] == ("809", "switchboard-transfer")
    assert ("supervisor", "ENTERQUEUE") in _events(picture, "c1")
    assert picture.operators[operator].wrapup_until == 35.0  # the general queue's wrap-up
    assert picture.counters["transferred"] == 1


def test_the_transferring_operators_hangup_does_not_end_the_callers_new_call() -> None:
    picture = _picture()
    _answered_call(picture)
    picture.transfer("c1", "queue:supervisor", 30.0)
    picture.apply(CallerHungUp("c1-agent", 16, 30.1))  # the operator's leg goes once the transfer is done
    picture.apply(OperatorAnswered("c1", 32.0, "c1-agent2"))
    picture.apply(CallerHungUp("c1", 16, 90.0))
    assert _events(picture, "c1")[-1] == ("supervisor", "COMPLETECALLER")


def test_transfer_to_a_colleague_by_name_waits_for_that_colleague_alone() -> None:
    picture = _picture(free=("op1", "op2"))
    operator = _answered_call(picture)
    colleague = "op2" if operator == "op1" else "op1"
    picture.apply(PhoneStateChanged(colleague, "INUSE", 10.0))  # busy now
    arrival = picture.transfer("c1", f"operator:{colleague}", 30.0)
    assert arrival.result is None and arrival.waiter is not None
    picture.tick(31.0)  # the transferring operator is in wrap-up; no one else may take it anyway
    picture.apply(PhoneStateChanged(colleague, "NOT_INUSE", 40.0))
    assert arrival.waiter.assigned is not None and arrival.waiter.assigned.operator == colleague


def test_transfer_to_a_colleague_skips_a_free_better_qualified_operator() -> None:
    picture = _picture(free=("op1", "op2"))
    picture.route_call("c1", "+79120000001", "100", 1.0)  # to op2, the closest match
    picture.apply(OperatorAnswered("c1", 2.0, "c1-agent"))
    picture.apply(PhoneStateChanged("op2", "INUSE", 2.0))
    picture.route_call("c2", "+79120000002", "100", 3.0)  # to op1
    picture.apply(OperatorAnswered("c2", 4.0, "c2-agent"))
    picture.apply(CallerHungUp("c2", 16, 5.0))
    picture.tick(20.0)  # op1 is free again
    arrival = picture.transfer("c1", "operator:op2", 21.0)
    assert arrival.result is None and arrival.waiter is not None  # op1 is free, but the call is for op2


def test_an_unknown_transfer_target_sends_the_caller_back_to_their_own_queue() -> None:
    picture = _picture()
    _answered_call(picture)
    arrival = picture.transfer("c1", "back", 30.0, "4711")
    assert arrival.result is not None and picture.calls["c1"].queue == "general"


def test_a_transfer_of_a_call_not_yet_answered_is_a_plain_requeue() -> None:
    picture = _picture(free=())
    arrival = picture.route_call("c1", "+79120000001", "100", 1.0)
    assert arrival.waiter is not None
    again = picture.transfer("c1", "queue:supervisor", 2.0)
    assert again.result is None and again.waiter is not None  # still waiting, at its old place
    assert picture.calls["c1"].queue == "general" and picture.counters["transferred"] == 0


def test_overflow_at_the_maximum_wait_moves_the_caller_to_the_next_queue() -> None:
    picture = _picture(free=("taxman",))
    arrival = picture.route_call("c1", "+79120000001", "100", 1.0)
    first_id = arrival.waiter.call.call_id if arrival.waiter else ""
    moved = picture.leave("c1", 301.0, "overflow")
    assert isinstance(moved, Arrival) and moved.result is not None and moved.result.operator == "taxman"
    first = next(r for r in picture.take_dirty() if r.id == first_id)
    assert first.outcome == "overflow" and first.ended_at == 301.0
    assert _events(picture, "c1") == [
        ("general", "ENTERQUEUE"), ("general", "EXITWITHTIMEOUT"), ("tax", "ENTERQUEUE"),
    ]  # fmt: skip
    assert picture.tallies["general"].timed_out == 1 and picture.tallies["tax"].offered == 1


def test_a_key_pressed_at_the_maximum_wait_leaves_a_callback_task() -> None:
    picture = _picture(free=())
    picture.route_call("c1", "+79120000001", "200", 1.0)
    assert picture.leave("c1", 301.0, "callback", "1") is None
    (request,) = picture.callback_requests
    assert (request.queue, request.phone, request.kind, request.requested_at) == (
        "tax",
        "+79120000001",
        "callback",
        301.0,
    )
    assert picture.calls["c1"].outcome == "callback" and picture.counters["callback"] == 1
    line = next(e for e in picture.queue_log if e.event == "EXITWITHKEY")
    assert line.data[0] == "1" and qlog.format_line(line).count("|") == 8
    assert picture.waiting == {}


def test_a_voice_message_at_the_maximum_wait_is_a_task_with_its_file() -> None:
    picture = _picture(free=())
    picture.route_call("c1", "+79120000001", "100", 1.0)
    picture.leave("c1", 2.0, "overflow")  # to tax, then nobody there either: say the caller leaves a message
    picture.leave("c1", 400.0, "voicemail")
    (request,) = picture.callback_requests
    assert request.kind == "voicemail" and request.message == picture.voicemail_path("c1")
    assert request.message.startswith("/srv/switchboard/recordings/voicemail/")


def test_leave_for_a_caller_no_longer_waiting_changes_nothing() -> None:
    picture = _picture()
    _answered_call(picture)
    assert picture.leave("c1", 400.0, "callback", "1") is None
    assert picture.callback_requests == [] and picture.calls["c1"].outcome == "answered"


def test_a_wrap_up_code_lands_on_the_operators_last_call() -> None:
    picture = _picture()
    operator = _answered_call(picture)
    assert picture.set_wrapup_code(operator, "1") is None  # still on the call: no call ended yet
    picture.apply(CallerHungUp("c1", 16, 60.0))
    picture.take_dirty()
    assert picture.set_wrapup_code(operator, "22") == "address"
    (record,) = picture.take_dirty()
    assert record.uniqueid == "c1" and record.wrapup_code == "address" and record.ended_at == 60.0
    assert picture.set_wrapup_code(operator, "7") is None  # not one of the queue's codes
    assert picture.take_dirty() == []


def test_an_operator_in_three_queues_gets_the_call_furthest_past_its_target() -> None:
    """Three queues with their own targets each hold a late caller; the operator freed serves the queue furthest
    behind (not the caller who arrived first), then the next furthest."""
    site = parse_site(
        {
            "skills": ["a", "b", "c"],
            "ami": {"secret": "unit-test-secret-1", "admin_secret": "unit-test-secret-2"},
            "acd": {"login_required": False},
            "queues": [
                {"name": "qa", "requires": {"a": 1}, "sl_seconds": 60, "wrapup_s": 0},
                {"name": "qb", "requires": {"b": 1}, "sl_seconds": 10, "wrapup_s": 0},
                {"name": "qc", "requires": {"c": 1}, "sl_seconds": 20, "wrapup_s": 0},
            ],
            "hotlines": [
                {"number": "101", "queue": "qa"},
                {"number": "102", "queue": "qb"},
                {"number": "103", "queue": "qc"},
            ],
            "operators": [
                {"sip_user": "all3", "secret": "operator-secret-1", "name": "A", "skills": {"a": 2, "b": 2, "c": 2}}
            ],
        }
    )
    picture = Picture(site)
    picture.apply(PhoneStateChanged("all3", "INUSE", 0.0))
    picture.route_call("a1", "+79120000001", "101", 0.0)  # waits 70 s at 70: 10 s past its 60 s target
    picture.route_call("c1", "+79120000003", "103", 35.0)  # waits 35 s: 15 s past its 20 s target
    picture.route_call("b1", "+79120000002", "102", 40.0)  # waits 30 s: 20 s past its 10 s target
    served = []
    for at in (70.0, 80.0, 90.0):
        picture.apply(PhoneStateChanged("all3", "NOT_INUSE", at))
        served.append(picture.operators["all3"].offered_call)
        uniqueid = served[-1] or ""
        picture.apply(OperatorAnswered(uniqueid, at, f"{uniqueid}-agent"))
        picture.apply(PhoneStateChanged("all3", "INUSE", at))
        picture.apply(CallerHungUp(uniqueid, 16, at + 1))
    assert served == ["b1", "c1", "a1"]
