"""The live picture and the AMI translation: offers, outcomes, counters and rebuilds, from events in any order.

Pure code: a Picture over a parsed site, AMI messages built in memory; Hypothesis drives the event sequences.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from acd.model import CallView, Presence
from acd.routing import is_qualified
from switchboard.ami import AmiMessage
from switchboard.ami.translate import translate
from switchboard.config import Site, parse_site
from switchboard.events import CallerHungUp, OperatorAnswered, OperatorMissed, PhoneStateChanged
from switchboard.picture import COUNTERS, Picture
from switchboard.store.calls import CallRecord

SITE: Site = parse_site(
    {
        "skills": ["general", "tax"],
        "ami": {"secret": "unit-test-secret-1", "admin_secret": "unit-test-secret-2"},
        "recordings_dir": "/srv/switchboard/recordings",
        "queues": [
            {"name": "general", "requires": {"general": 1}},
            {"name": "tax", "requires": {"tax": 3}, "recording": False},
        ],
        "hotlines": [{"number": "100", "queue": "general"}, {"number": "200", "queue": "tax"}],
        "operators": [
            {"sip_user": "op1001", "secret": "operator-secret-1", "name": "A", "skills": {"general": 5, "tax": 5}},
            {"sip_user": "op1002", "secret": "operator-secret-2", "name": "B", "skills": {"general": 3}},
            {"sip_user": "op1003", "secret": "operator-secret-3", "name": "C", "skills": {"general": 1, "tax": 3}},
            {"sip_user": "op1004", "secret": "operator-secret-4", "name": "D", "skills": {"tax": 1}},
        ],
    }
)
OPERATORS = [op.sip_user for op in SITE.operators]
STRANGERS = ["op9999", "trunk", "trunk-00000001"]  # device names that are nobody's phone
STATES = ["NOT_INUSE", "INUSE", "RINGING", "RINGINUSE", "ONHOLD", "BUSY", "UNAVAILABLE", "INVALID", "UNKNOWN"]
MISS_STATUSES = ["NOANSWER", "BUSY", "CANCEL", "CHANUNAVAIL", "CONGESTION"]
HOTLINES = ["100", "200", "+100", "999"]  # 999 is no hotline: no queue, no skill required
UNIQUEIDS = [f"switchboard-1700000000.{n}" for n in range(10)]
TERMINAL = {"answered", "abandoned", "missed", "no_operator"}


def _picture(free: list[str] | None = None, at: float = 0.0) -> Picture:
    picture = Picture(SITE)
    for user in free if free is not None else OPERATORS:
        picture.apply(PhoneStateChanged(user, "NOT_INUSE", at))
    return picture


def _undecided(picture: Picture) -> int:
    return sum(1 for record in picture.calls.values() if record.outcome is None)


def _assert_consistent(picture: Picture) -> None:
    """The invariants every picture keeps, whatever happened to it."""
    offers = [op.offered_call for op in picture.operators.values() if op.offered_call is not None]
    assert len(offers) == len(set(offers)), f"a call offered to two operators: {offers}"
    for op in picture.operators.values():
        if op.offered_call is not None:
            record = picture.calls[op.offered_call]
            assert record.operator == op.sip_user
            assert record.outcome is None, f"{op.sip_user} still offered a decided call: {record}"
    c = picture.counters
    assert set(c) == set(COUNTERS)
    assert c["offered"] == c["answered"] + c["abandoned"] + c["missed"] + c["no_operator"] + _undecided(picture)
    assert all(record.ended_at is None for record in picture.calls.values())


class PictureMachine(RuleBasedStateMachine):
    """Phones, routes, dial ends and hangups in any order, with duplicates, AMI reconnects and platform restarts."""

    @initialize(states=st.dictionaries(st.sampled_from(OPERATORS), st.sampled_from(STATES)))
    def boot(self, states: dict[str, str]) -> None:
        self.now = 1_000.0
        self.picture = Picture(SITE)
        assert self.picture.rebuild(states, set(), [], self.now) == []
        self.routed: set[str] = set()
        self.sql: dict[str, CallRecord] = {}  # the store: the last version of each record handed out
        self.terminal: dict[str, int] = {}  # uniqueid -> how many closed versions were handed out

    def _tick(self) -> float:
        self.now += 0.5
        return self.now

    def _persist(self, record: CallRecord | None) -> None:
        if record is None:
            return
        self.sql[record.id] = record
        if record.ended_at is not None:
            assert record.outcome in TERMINAL, record
            self.terminal[record.uniqueid] = self.terminal.get(record.uniqueid, 0) + 1

    @rule(user=st.sampled_from(OPERATORS + STRANGERS), state=st.sampled_from(STATES))
    def phone(self, user: str, state: str) -> None:
        self.picture.apply(PhoneStateChanged(user, state, self._tick()))

    @precondition(lambda self: len(self.routed) < len(UNIQUEIDS))
    @rule(data=st.data(), hotline=st.sampled_from(HOTLINES))
    def route(self, data: st.DataObject, hotline: str) -> None:
        uniqueid = data.draw(st.sampled_from([u for u in UNIQUEIDS if u not in self.routed]))
        queue = SITE.hotline_queue(hotline)
        wanted = CallView("c", hotline, "", dict(queue.requires) if queue else {})
        before = {user: (op.presence(), is_qualified(op.view(), wanted)) for user, op in self.picture.operators.items()}
        result, record = self.picture.route_inbound(uniqueid, "5550001", hotline, self._tick())
        self.routed.add(uniqueid)
        self._persist(record)
        assert record.operator == result.operator
        assert record.id == result.call_id
        if result.operator is None:
            assert record.outcome == "no_operator"
            assert result.target == ""
            assert not any(presence is Presence.AVAILABLE and ok for presence, ok in before.values())
        else:
            assert before[result.operator] == (Presence.AVAILABLE, True)
            assert self.picture.operators[result.operator].offered_call == uniqueid
            assert result.target == f"PJSIP/{result.operator}"

    @rule(uniqueid=st.sampled_from([*UNIQUEIDS, "", "unknown-1.1"]))
    def answered(self, uniqueid: str) -> None:
        self._persist(self.picture.apply(OperatorAnswered(uniqueid, self._tick())))

    @rule(uniqueid=st.sampled_from([*UNIQUEIDS, "unknown-1.1"]), status=st.sampled_from(MISS_STATUSES))
    def missed(self, uniqueid: str, status: str) -> None:
        self._persist(self.picture.apply(OperatorMissed(uniqueid, status, self._tick())))

    @rule(uniqueid=st.sampled_from([*UNIQUEIDS, "unknown-1.1"]), cause=st.sampled_from([0, 16, 17, 19, 127]))
    def hung_up(self, uniqueid: str, cause: int) -> None:
        was_live = uniqueid in self.picture.calls
        closed = self.picture.apply(CallerHungUp(uniqueid, cause, self._tick()))
        self._persist(closed)
        if was_live:
            assert closed is not None and closed.ended_at == self.now and closed.hangup_cause == cause
        else:
            assert closed is None
        assert uniqueid not in self.picture.calls

    @rule(data=st.data(), states=st.dictionaries(st.sampled_from(OPERATORS), st.sampled_from(STATES)))
    def ami_reconnect(self, data: st.DataObject, states: dict[str, str]) -> None:
        """The same picture, rebuilt after Asterisk restarted or the link dropped: only live calls survive."""
        before = dict(self.picture.calls)
        live = data.draw(st.sets(st.sampled_from([*UNIQUEIDS, "other-1.1"])))
        open_records = [r for r in self.sql.values() if r.ended_at is None]
        closed = self.picture.rebuild(states, live, open_records, self._tick())
        for record in closed:
            self._persist(record)
        assert {r.uniqueid for r in closed} == set(before) - live
        assert set(self.picture.calls) == set(before) & live
        self._check_rebuilt(states, closed)

    @rule(data=st.data(), states=st.dictionaries(st.sampled_from(OPERATORS), st.sampled_from(STATES)))
    def platform_restart(self, data: st.DataObject, states: dict[str, str]) -> None:
        """A new process's picture, built from the open SQL records: those still live are kept, the rest closed."""
        open_records = {r.uniqueid: r for r in self.sql.values() if r.ended_at is None}
        live = data.draw(st.sets(st.sampled_from([*UNIQUEIDS, "other-1.1"])))
        self.picture = Picture(SITE)
        closed = self.picture.rebuild(states, live, list(open_records.values()), self._tick())
        for record in closed:
            self._persist(record)
        assert {r.uniqueid for r in closed} == set(open_records) - live
        assert {u: r.id for u, r in self.picture.calls.items()} == {
            u: r.id for u, r in open_records.items() if u in live
        }
        self._check_rebuilt(states, closed)

    def _check_rebuilt(self, states: dict[str, str], closed: list[CallRecord]) -> None:
        for record in closed:
            assert record.ended_at == self.now
            assert record.hangup_cause is None
        for user, op in self.picture.operators.items():
            assert op.phone_state == states.get(user, "UNAVAILABLE")
            # Undecided calls still live are ringing; two for one operator only after a CANCEL not yet hung up.
            ringing = [u for u, r in self.picture.calls.items() if r.operator == user and r.outcome is None]
            assert op.offered_call in ringing if ringing else op.offered_call is None

    @invariant()
    def consistent(self) -> None:
        _assert_consistent(self.picture)

    @invariant()
    def each_call_closed_once(self) -> None:
        """Every routed call gets exactly one closed record once it is gone; none while it is in progress."""
        assert all(count == 1 for count in self.terminal.values()), self.terminal
        for uniqueid in self.routed:
            assert self.terminal.get(uniqueid, 0) == (0 if uniqueid in self.picture.calls else 1)


TestPictureMachine = PictureMachine.TestCase
TestPictureMachine.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)


# -- the picture, case by case -------------------------------------------------------------------


def test_answered_call_counts_once_and_frees_the_operator_at_hangup() -> None:
    """Route, answer, hang up: one offered, one answered; the operator is offered then on the call, then idle."""
    picture = _picture(["op1002"])
    result, _ = picture.route_inbound("u1", "5550001", "100", 10.0)
    assert result.operator == "op1002"
    assert picture.operators["op1002"].presence() is Presence.OFFERED
    answered = picture.apply(OperatorAnswered("u1", 11.0))
    assert answered is not None and answered.answered_at == 11.0 and answered.outcome == "answered"
    assert picture.operators["op1002"].offered_call is None
    picture.apply(PhoneStateChanged("op1002", "INUSE", 11.0))
    assert picture.operators["op1002"].presence() is Presence.ON_CALL
    ended = picture.apply(CallerHungUp("u1", 16, 30.0))
    assert ended is not None and (ended.ended_at, ended.hangup_cause, ended.outcome) == (30.0, 16, "answered")
    picture.apply(PhoneStateChanged("op1002", "NOT_INUSE", 30.5))
    assert picture.operators["op1002"].presence() is Presence.AVAILABLE
    assert picture.operators["op1002"].idle_since == 30.5
    assert picture.counters == {"offered": 1, "answered": 1, "abandoned": 0, "missed": 0, "no_operator": 0}
    assert picture.calls == {}


def test_caller_giving_up_while_ringing_is_an_abandon_not_a_miss() -> None:
    """DialEnd CANCEL frees the operator at once; the hangup that follows counts one abandoned call."""
    picture = _picture(["op1001"])
    picture.route_inbound("u1", "5550001", "200", 10.0)
    assert picture.apply(OperatorMissed("u1", "CANCEL", 12.0)) is None
    assert picture.operators["op1001"].offered_call is None
    assert picture.operators["op1001"].idle_since == 12.0
    ended = picture.apply(CallerHungUp("u1", 16, 12.1))
    assert ended is not None and ended.outcome == "abandoned"
    assert picture.counters["abandoned"] == 1 and picture.counters["missed"] == 0


def test_nobody_qualified_and_free_gives_no_operator_and_dials_nobody() -> None:
    """The tax hotline with only an unqualified operator free: no target, no recording, outcome no_operator."""
    picture = _picture(["op1002"])  # general 3, no tax
    result, record = picture.route_inbound("u1", "5550001", "200", 10.0)
    assert (result.operator, result.target, result.recording) == (None, "", "")
    assert result.reason == "no qualified operator available"
    assert record.outcome == "no_operator" and record.recording is None
    assert picture.operators["op1002"].offered_call is None


def test_recording_path_follows_the_site_and_the_queue_setting() -> None:
    """The general queue records under the site's folder; the tax queue turns recording off."""
    picture = _picture()
    general, _ = picture.route_inbound("u1", "5550001", "100", 10.0)
    assert general.recording == f"/srv/switchboard/recordings/{general.call_id}.wav"
    tax, record = picture.route_inbound("u2", "5550001", "200", 10.0)
    assert tax.operator is not None and tax.recording == "" and record.recording is None


def test_late_or_repeated_dial_ends_do_not_count_a_call_twice() -> None:
    """ANSWER twice, then NOANSWER, then BUSY: the first outcome stands and each counter moves once."""
    picture = _picture(["op1001"])
    picture.route_inbound("u1", "5550001", "100", 10.0)
    assert picture.apply(OperatorAnswered("u1", 11.0)) is not None
    assert picture.apply(OperatorAnswered("u1", 11.5)) is None
    assert picture.apply(OperatorMissed("u1", "NOANSWER", 12.0)) is None
    assert picture.apply(OperatorMissed("u1", "BUSY", 12.0)) is None
    assert picture.calls["u1"].answered_at == 11.0 and picture.calls["u1"].outcome == "answered"
    assert picture.counters == {"offered": 1, "answered": 1, "abandoned": 0, "missed": 0, "no_operator": 0}
    ended = picture.apply(CallerHungUp("u1", 16, 20.0))
    assert ended is not None and ended.outcome == "answered"
    assert picture.apply(CallerHungUp("u1", 16, 20.5)) is None


def test_dial_end_for_a_call_nobody_was_dialed_for_changes_nothing() -> None:
    """A no_operator call stays no_operator whatever DialEnd arrives for its uniqueid."""
    picture = Picture(SITE)
    picture.route_inbound("u1", "5550001", "100", 10.0)
    assert picture.apply(OperatorAnswered("u1", 11.0)) is None
    assert picture.apply(OperatorMissed("u1", "NOANSWER", 11.0)) is None
    assert picture.counters == {"offered": 1, "answered": 0, "abandoned": 0, "missed": 0, "no_operator": 1}


def test_phone_changes_of_unknown_devices_are_ignored() -> None:
    """PhoneStateChanged for a device that is nobody's phone leaves every operator as it was."""
    picture = _picture()
    before = {user: (op.phone_state, op.idle_since) for user, op in picture.operators.items()}
    for stranger in STRANGERS:
        assert picture.apply(PhoneStateChanged(stranger, "INUSE", 5.0)) is None
    assert {user: (op.phone_state, op.idle_since) for user, op in picture.operators.items()} == before


# -- rebuilds ---------------------------------------------------------------------------------------


def _open(uniqueid: str, operator: str | None, *, answered: bool = False, outcome: str | None = None) -> CallRecord:
    record = CallRecord(f"id-{uniqueid}", uniqueid, "inbound", "5550001", "100", "general", operator, 100.0)
    if answered:
        record = replace(record, answered_at=101.0, outcome="answered")
    return replace(record, outcome=outcome) if outcome else record


def test_restart_closes_records_no_longer_live_and_keeps_live_ones() -> None:
    """A new picture from SQL: gone calls closed at `now` (answered stays answered, ringing becomes abandoned)."""
    records = [
        _open("gone-ringing", "op1001"),
        _open("gone-answered", "op1002", answered=True),
        _open("live-ringing", "op1003"),
        _open("live-answered", "op1004", answered=True),
    ]
    picture = Picture(SITE)
    states = {"op1001": "NOT_INUSE", "op1002": "NOT_INUSE", "op1003": "RINGING", "op1004": "INUSE"}
    closed = picture.rebuild(states, {"live-ringing", "live-answered", "other"}, records, now=200.0)
    assert {r.uniqueid: r.outcome for r in closed} == {"gone-ringing": "abandoned", "gone-answered": "answered"}
    assert all(r.ended_at == 200.0 and r.hangup_cause is None for r in closed)
    assert set(picture.calls) == {"live-ringing", "live-answered"}
    offered = {user: op.offered_call for user, op in picture.operators.items()}
    assert offered == {"op1001": None, "op1002": None, "op1003": "live-ringing", "op1004": None}
    assert picture.operators["op1004"].presence() is Presence.ON_CALL
    assert picture.counters == {"offered": 4, "answered": 2, "abandoned": 1, "missed": 0, "no_operator": 0}
    _assert_consistent(picture)


def test_reconnect_closes_calls_that_died_with_asterisk_and_releases_their_operators() -> None:
    """The same picture after Asterisk's restart: no channel is live, every call is closed, nobody stays offered."""
    picture = _picture(["op1001", "op1002"])
    picture.route_inbound("u1", "5550001", "100", 10.0)
    picture.route_inbound("u2", "5550001", "100", 10.0)
    picture.apply(OperatorAnswered("u1", 11.0))
    closed = picture.rebuild({"op1001": "UNAVAILABLE"}, set(), [], now=50.0)
    assert {(r.uniqueid, r.outcome, r.ended_at) for r in closed} == {
        ("u1", "answered", 50.0),
        ("u2", "abandoned", 50.0),
    }
    assert picture.calls == {}
    assert all(op.offered_call is None for op in picture.operators.values())
    assert all(op.phone_state == "UNAVAILABLE" for op in picture.operators.values())
    _assert_consistent(picture)


def test_rebuild_does_not_offer_again_a_live_call_the_operator_already_missed() -> None:
    """A call whose DialEnd said NOANSWER is still live at the rebuild: its operator is free, not offered."""
    picture = _picture(["op1001"])
    picture.route_inbound("u1", "5550001", "100", 10.0)
    picture.apply(OperatorMissed("u1", "NOANSWER", 25.0))
    picture.rebuild({"op1001": "NOT_INUSE"}, {"u1"}, [], now=26.0)
    assert picture.operators["op1001"].offered_call is None
    assert picture.operators["op1001"].presence() is Presence.AVAILABLE


def test_record_of_an_operator_gone_from_the_site_is_kept_without_failing() -> None:
    """An open record names an operator no longer configured: the rebuild keeps the live call and raises nothing."""
    picture = Picture(SITE)
    closed = picture.rebuild({}, {"u1"}, [_open("u1", "op7777"), _open("u2", "op7777")], now=200.0)
    assert [r.uniqueid for r in closed] == ["u2"]
    assert set(picture.calls) == {"u1"}
    assert picture.apply(CallerHungUp("u1", 16, 201.0)) is not None


def test_a_built_picture_ignores_stale_sql_records_of_calls_it_already_ended() -> None:
    """SQL still says open for a call the picture closed (not flushed yet): a reconnect neither reopens nor counts."""
    picture = _picture(["op1001"])
    assert picture.rebuild({"op1001": "NOT_INUSE"}, set(), [], now=1.0) == []
    _, record = picture.route_inbound("u1", "5550001", "100", 10.0)
    picture.apply(CallerHungUp("u1", 16, 12.0))
    counters = dict(picture.counters)
    assert picture.rebuild({"op1001": "NOT_INUSE"}, set(), [record], now=13.0) == []
    assert picture.calls == {}
    assert picture.counters == counters


def test_calls_routed_after_the_channel_list_was_asked_are_kept() -> None:
    """A call routed while CoreShowChannels was on its way cannot be in the list: the rebuild keeps it ringing."""
    picture = _picture(["op1001", "op1002"])
    picture.route_inbound("old", "5550001", "100", 10.0)
    result, _ = picture.route_inbound("new", "5550001", "100", 20.0)
    closed = picture.rebuild({"op1001": "NOT_INUSE", "op1002": "NOT_INUSE"}, set(), [], now=21.0, listed_at=19.0)
    assert [r.uniqueid for r in closed] == ["old"]
    assert set(picture.calls) == {"new"}
    assert result.operator is not None
    assert picture.operators[result.operator].offered_call == "new"
    _assert_consistent(picture)


# -- translate: raw AMI in, our events out ----------------------------------------------------------


def _msg(*pairs: tuple[str, str]) -> AmiMessage:
    return AmiMessage.of(*pairs)


def test_device_state_of_an_operator_phone_is_a_phone_state_change() -> None:
    """DeviceStateChange for PJSIP/op1001 becomes PhoneStateChanged with the state and Asterisk's timestamp."""
    msg = _msg(("Event", "DeviceStateChange"), ("Timestamp", "1700000000.250000"), ("Device", "PJSIP/op1001"),
               ("State", "INUSE"))  # fmt: skip
    assert translate(msg, now=5.0) == PhoneStateChanged("op1001", "INUSE", 1700000000.25)


def test_device_state_without_a_state_is_unknown() -> None:
    """A DeviceStateChange with no State header says UNKNOWN, which the picture counts as offline."""
    assert translate(_msg(("Event", "DeviceStateChange"), ("Device", "PJSIP/op1001")), 5.0) == PhoneStateChanged(
        "op1001", "UNKNOWN", 5.0
    )


def test_devices_that_are_no_single_pjsip_endpoint_are_dropped() -> None:
    """Local/..., Queue:..., Custom:... and PJSIP/x/y devices give no event."""
    for device in ["Local/100@switchboard-inbound", "Local/s@ctx/n", "Queue:general", "Custom:x", "PJSIP/op1001/sip:a",
                   "SIP/op1001", ""]:  # fmt: skip
        msg = _msg(("Event", "DeviceStateChange"), ("Device", device), ("State", "INUSE"))
        assert translate(msg, 5.0) is None, device


def test_trunk_device_states_reach_the_picture_as_nobody_s_phone() -> None:
    """PJSIP/trunk or a PJSIP/trunk-00000001 name is not dropped by translate; the picture ignores it (no operator)."""
    picture = _picture()
    before = {user: op.phone_state for user, op in picture.operators.items()}
    for device in ["PJSIP/trunk", "PJSIP/trunk-00000001"]:
        event = translate(_msg(("Event", "DeviceStateChange"), ("Device", device), ("State", "INUSE")), 5.0)
        assert isinstance(event, PhoneStateChanged)
        assert picture.apply(event) is None
    assert {user: op.phone_state for user, op in picture.operators.items()} == before


def test_dial_end_answer_is_operator_answered_for_the_caller_channel() -> None:
    """DialEnd ANSWER names the caller's Uniqueid (not DestUniqueid) and Asterisk's timestamp."""
    msg = _msg(("Event", "DialEnd"), ("Timestamp", "1700000001.5"), ("Uniqueid", "sw-1.1"),
               ("DestUniqueid", "sw-1.2"), ("DialStatus", "ANSWER"))  # fmt: skip
    assert translate(msg, 5.0) == OperatorAnswered("sw-1.1", 1700000001.5)


@given(status=st.sampled_from(["NOANSWER", "BUSY", "CANCEL", "CHANUNAVAIL", "CONGESTION", "DONTCALL", ""]))
def test_dial_end_other_statuses_are_operator_missed_with_the_status(status: str) -> None:
    """Any DialEnd status but ANSWER is OperatorMissed carrying that status."""
    msg = _msg(("Event", "DialEnd"), ("Uniqueid", "sw-1.1"), ("DialStatus", status))
    assert translate(msg, 5.0) == OperatorMissed("sw-1.1", status, 5.0)


def test_dial_end_without_a_uniqueid_is_dropped() -> None:
    """A DialEnd that names no caller channel gives no event."""
    assert translate(_msg(("Event", "DialEnd"), ("DialStatus", "ANSWER")), 5.0) is None


def test_hangup_carries_the_numeric_cause_and_a_non_numeric_cause_reads_as_zero() -> None:
    """Hangup Cause 16 stays 16; a Cause that is no number (or none) becomes 0 instead of raising."""
    assert translate(_msg(("Event", "Hangup"), ("Uniqueid", "sw-1.1"), ("Cause", "16")), 5.0) == CallerHungUp(
        "sw-1.1", 16, 5.0
    )
    for cause in ["Normal Clearing", "", "16a", "0x10"]:
        msg = _msg(("Event", "Hangup"), ("Uniqueid", "sw-1.1"), ("Cause", cause), ("Timestamp", "17.5"))
        assert translate(msg, 5.0) == CallerHungUp("sw-1.1", 0, 17.5), cause
    assert translate(_msg(("Event", "Hangup"), ("Uniqueid", "sw-1.1")), 5.0) == CallerHungUp("sw-1.1", 0, 5.0)


@given(stamp=st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_timestamp_header_is_the_event_time(stamp: float) -> None:
    """With timestampevents=yes the Timestamp header, not our read time, is the event's `at`."""
    msg = _msg(("Event", "Hangup"), ("Uniqueid", "sw-1.1"), ("Timestamp", repr(stamp)))
    event = translate(msg, now=-1.0)
    assert event is not None and event.at == stamp


@given(stamp=st.sampled_from(["", "soon", "1700000000,5", "12:00:00"]))
def test_an_unreadable_timestamp_falls_back_to_the_read_time(stamp: str) -> None:
    """A Timestamp that is no number is replaced by the time we read the message."""
    msg = _msg(("Event", "DialEnd"), ("Uniqueid", "sw-1.1"), ("DialStatus", "ANSWER"), ("Timestamp", stamp))
    assert translate(msg, now=42.0) == OperatorAnswered("sw-1.1", 42.0)


@given(
    name=st.text(max_size=20).filter(lambda n: n not in {"DeviceStateChange", "DialEnd", "Hangup"}),
    headers=st.lists(st.tuples(st.sampled_from(["Uniqueid", "Device", "State", "Cause"]), st.text(max_size=10))),
)
def test_other_events_give_nothing(name: str, headers: list[tuple[str, str]]) -> None:
    """Newchannel, DialBegin, VarSet... (any other name) are not our events."""
    assert translate(_msg(("Event", name), *headers), 5.0) is None


@given(
    name=st.sampled_from(["DeviceStateChange", "DialEnd", "Hangup"]),
    headers=st.lists(
        st.tuples(st.sampled_from(["Uniqueid", "Device", "State", "Cause", "DialStatus", "Timestamp"]), st.text())
    ),
)
def test_translate_never_raises_on_odd_header_values(name: str, headers: list[tuple[str, str]]) -> None:
    """Whatever the values of the headers we read, translate returns an event or None."""
    event = translate(_msg(("Event", name), *headers), 5.0)
    assert event is None or isinstance(event, PhoneStateChanged | OperatorAnswered | OperatorMissed | CallerHungUp)
