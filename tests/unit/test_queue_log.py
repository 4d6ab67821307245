"""queue_log lines exactly as Asterisk 16's app_queue writes them, their parser, and the append-only writer."""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd import queue_log as ql
from acd.queue_log import QueueLogEntry, QueueLogError, format_line, parse_line
from switchboard.queue_log import QueueLogWriter, read_entries

CALL = "1700000000.12"  # the caller's channel uniqueid
ENTERED = 1700000000.9
ANSWERED = 1700000012.2
ENDED = 1700000100.5


class Talk(TypedDict):
    entered_at: float
    answered_at: float
    original_position: int


TALK: Talk = {"entered_at": ENTERED, "answered_at": ANSWERED, "original_position": 1}

# Each expected line is written out by hand from the printf format at the app_queue.c call site.
GOLDEN = [
    (
        ql.enter_queue(now=1700000000.75, callid=CALL, queue="sales", caller_id="5551234", position=1),
        "1700000000|1700000000.12|sales|NONE|ENTERQUEUE||5551234|1",
    ),
    (
        ql.connect(
            now=ANSWERED,
            callid=CALL,
            queue="sales",
            agent="alice",
            entered_at=ENTERED,
            member_callid="1700000010.15",
            ringing=2.75,
        ),
        "1700000012|1700000000.12|sales|alice|CONNECT|12|1700000010.15|2",
    ),
    (
        ql.complete_caller(now=ENDED, callid=CALL, queue="sales", agent="alice", **TALK),
        "1700000100|1700000000.12|sales|alice|COMPLETECALLER|12|88|1",
    ),
    (
        ql.complete_agent(now=ENDED, callid=CALL, queue="sales", agent="alice", **TALK),
        "1700000100|1700000000.12|sales|alice|COMPLETEAGENT|12|88|1",
    ),
    (
        ql.abandon(now=1700000045.0, callid=CALL, queue="sales", position=2, original_position=3, entered_at=ENTERED),
        "1700000045|1700000000.12|sales|NONE|ABANDON|2|3|45",
    ),
    (
        ql.ring_no_answer(now=1700000030.0, callid=CALL, queue="sales", agent="alice", ringing=15.0),
        "1700000030|1700000000.12|sales|alice|RINGNOANSWER|15000",
    ),
    (
        ql.ring_canceled(now=1700000030.0, callid=CALL, queue="sales", agent="bob", ringing=4.2506),
        "1700000030|1700000000.12|sales|bob|RINGCANCELED|4250",
    ),
    (
        ql.exit_with_timeout(
            now=1700000300.0, callid=CALL, queue="sales", position=1, original_position=2, entered_at=ENTERED
        ),
        "1700000300|1700000000.12|sales|NONE|EXITWITHTIMEOUT|1|2|300",
    ),
    (
        ql.exit_empty(
            now=1700000005.0, callid=CALL, queue="sales", position=1, original_position=1, entered_at=ENTERED
        ),
        "1700000005|1700000000.12|sales|NONE|EXITEMPTY|1|1|5",
    ),
    (
        ql.exit_with_key(
            now=1700000007.0, callid=CALL, queue="sales", key="5", position=1, original_position=1, entered_at=ENTERED
        ),
        "1700000007|1700000000.12|sales|NONE|EXITWITHKEY|5|1|1|7",
    ),
    (
        ql.blind_transfer(
            now=ENDED, callid=CALL, queue="sales", agent="alice", extension="200", context="from-internal", **TALK
        ),
        "1700000100|1700000000.12|sales|alice|BLINDTRANSFER|200|from-internal|12|88|1",
    ),
    (
        ql.attended_transfer(
            now=ENDED, callid=CALL, queue="sales", agent="alice", method="BRIDGE", method_data=["b-42"], **TALK
        ),
        "1700000100|1700000000.12|sales|alice|ATTENDEDTRANSFER|BRIDGE|b-42|12|88|1",
    ),
    (
        ql.attended_transfer(
            now=ENDED, callid=CALL, queue="sales", agent="alice", method="APP", method_data=["VoiceMail"], **TALK
        ),
        "1700000100|1700000000.12|sales|alice|ATTENDEDTRANSFER|APP|VoiceMail|12|88|1",
    ),
    (
        ql.attended_transfer(
            now=ENDED,
            callid=CALL,
            queue="sales",
            agent="alice",
            method="LINK",
            method_data=["Local/200@internal-00000001;1", "Local/200@internal-00000001;2"],
            **TALK,
        ),
        "1700000100|1700000000.12|sales|alice|ATTENDEDTRANSFER|LINK|Local/200@internal-00000001;1"
        "|Local/200@internal-00000001;2|12|88|1",
    ),
    (ql.add_member(now=1700000000.0, queue="sales", agent="alice"), "1700000000|MANAGER|sales|alice|ADDMEMBER|"),
    (
        ql.add_member(now=1700000000.0, queue="sales", agent="alice", source="1699999990.3", paused=True),
        "1700000000|1699999990.3|sales|alice|ADDMEMBER|PAUSED",
    ),
    (ql.remove_member(now=1700000000.0, queue="sales", agent="alice"), "1700000000|MANAGER|sales|alice|REMOVEMEMBER|"),
    (
        ql.pause(now=1700000000.0, queue="sales", agent="alice", reason="lunch"),
        "1700000000|NONE|sales|alice|PAUSE|lunch",
    ),
    (ql.unpause(now=1700000000.0, queue="sales", agent="alice"), "1700000000|NONE|sales|alice|UNPAUSE|"),
    (ql.pause_all(now=1700000000.0, agent="alice", reason="lunch"), "1700000000|NONE|NONE|alice|PAUSEALL|lunch"),
    (ql.unpause_all(now=1700000000.0, agent="alice"), "1700000000|NONE|NONE|alice|UNPAUSEALL|"),
]


@pytest.mark.parametrize(("entry", "line"), GOLDEN, ids=[line.split("|")[4] for _, line in GOLDEN])
def test_each_event_formats_as_asterisk_writes_it(entry: QueueLogEntry, line: str) -> None:
    """Every constructor produces the exact line app_queue writes, and that line parses back to the entry."""
    assert format_line(entry) == line
    assert parse_line(line) == entry


def test_the_time_is_the_whole_second_time_null_would_return() -> None:
    """The time field is the floor of the instant, printed like %ld: no fraction, no rounding up."""
    entry = ql.unpause(now=1700000000.999, queue="q", agent="a")
    assert format_line(entry).startswith("1700000000|")


def test_waits_subtract_whole_seconds_like_time_t() -> None:
    """99.9 -> 101.1 is 2 s for Asterisk (101 - 99), not the 1 s a rounded float difference gives."""
    entry = ql.abandon(now=101.1, callid="c", queue="q", position=1, original_position=1, entered_at=99.9)
    assert entry.data == ("1", "1", "2")


@given(st.floats(0, 2e9), st.floats(0, 1e6), st.floats(0, 1e6))
def test_hold_and_talk_times_are_differences_of_whole_seconds(entered: float, hold: float, talk: float) -> None:
    """COMPLETE* fields are floor(answered) - floor(entered) and floor(now) - floor(answered), never negative."""
    answered, now = entered + hold, entered + hold + talk
    entry = ql.complete_caller(
        now=now, callid="c", queue="q", agent="a", entered_at=entered, answered_at=answered, original_position=4
    )
    assert entry.data == (
        str(math.floor(answered) - math.floor(entered)),
        str(math.floor(now) - math.floor(answered)),
        "4",
    )


def test_ring_times_are_milliseconds_rounded_down() -> None:
    """RINGNOANSWER counts milliseconds like ast_tvdiff_ms; CONNECT's ringtime cuts them to whole seconds."""
    ring = ql.ring_no_answer(now=10, callid="c", queue="q", agent="a", ringing=1.0019)
    assert ring.data == ("1001",)
    connected = ql.connect(now=10, callid="c", queue="q", agent="a", entered_at=0, member_callid="m", ringing=1.999)
    assert connected.data[2] == "1"


def test_empty_payload_leaves_a_trailing_bar() -> None:
    """Asterisk's own "%s", "" lines (QUEUESTART, CONFIGRELOAD) end in '|' and read as one empty data field."""
    entry = parse_line("1700000000|NONE|NONE|NONE|QUEUESTART|")
    assert entry.data == ("",)
    assert format_line(entry) == "1700000000|NONE|NONE|NONE|QUEUESTART|"


def test_bars_and_line_breaks_in_a_caller_id_are_replaced() -> None:
    """A '|' in a caller ID becomes '/', CR/LF/NUL a space, so the line keeps its 8 fields."""
    entry = ql.enter_queue(now=1, callid="c", queue="q", caller_id="55|51\r\n2\x00", position=1)
    assert format_line(entry) == "1|c|q|NONE|ENTERQUEUE||55/51  2 |1"
    assert ql.pause(now=1, queue="q", agent="a", reason="a|b").data == ("a/b",)


@pytest.mark.parametrize("bad", ["a|b", "a\rb", "a\nb", "a\x00b"])
def test_identifiers_holding_a_separator_are_refused(bad: str) -> None:
    """Queue, agent, callid and every other identifier with '|', CR, LF or NUL raise instead of being rewritten."""
    with pytest.raises(QueueLogError, match="would break the line"):
        ql.unpause(now=1, queue=bad, agent="a")
    with pytest.raises(QueueLogError):
        ql.ring_no_answer(now=1, callid="c", queue="q", agent=bad, ringing=1)
    with pytest.raises(QueueLogError):
        ql.blind_transfer(now=2, callid="c", queue="q", agent="a", extension=bad, context="x", **TALK)
    with pytest.raises(QueueLogError):
        QueueLogEntry(1, "c", "q", "a", "EVENT", (bad,))


def test_bad_numbers_and_instants_are_refused() -> None:
    """Negative or non-finite instants, time running backwards and negative positions raise QueueLogError."""
    with pytest.raises(QueueLogError):
        ql.unpause(now=-1, queue="q", agent="a")
    with pytest.raises(QueueLogError):
        ql.unpause(now=math.nan, queue="q", agent="a")
    with pytest.raises(QueueLogError, match="later one comes first"):
        ql.abandon(now=10, callid="c", queue="q", position=1, original_position=1, entered_at=20)
    with pytest.raises(QueueLogError):
        ql.enter_queue(now=1, callid="c", queue="q", caller_id="1", position=-1)
    with pytest.raises(QueueLogError):
        ql.ring_canceled(now=1, callid="c", queue="q", agent="a", ringing=-0.5)


def test_attended_transfer_method_data_must_match_the_method() -> None:
    """BRIDGE and APP carry one field, LINK two; anything else is refused."""
    with pytest.raises(QueueLogError, match="LINK 2"):
        ql.attended_transfer(now=2, callid="c", queue="q", agent="a", method="LINK", method_data=["x"], **TALK)


@pytest.mark.parametrize(
    "line",
    ["", "1700000000|c|q|a|EVENT", "17e8|c|q|a|EVENT|", "0170|c|q|a|EVENT|", "-1|c|q|a|EVENT|", "1|c|q|a|E|x\r"],
)
def test_malformed_lines_are_refused(line: str) -> None:
    """Too few fields, a time %ld would not print, or a stray CR raise QueueLogError."""
    with pytest.raises(QueueLogError):
        parse_line(line)


def test_a_raw_bar_from_asterisk_still_parses_and_round_trips() -> None:
    """Asterisk writes caller IDs raw: the extra field lands in data and the line is rebuilt byte for byte."""
    line = "1700000000|1700000000.1|sales|NONE|ENTERQUEUE||555|1234|1"
    assert parse_line(line).data == ("", "555", "1234", "1")
    assert format_line(parse_line(line)) == line


field_text = st.text(st.characters(blacklist_characters="|\r\n\x00"), max_size=20)
entries = st.builds(
    QueueLogEntry,
    time=st.integers(0, 2**40),
    callid=field_text,
    queue=field_text,
    agent=field_text,
    event=field_text,
    data=st.lists(field_text, min_size=1, max_size=6).map(tuple),
)


@given(entries)
def test_entries_round_trip_through_lines(entry: QueueLogEntry) -> None:
    """parse_line(format_line(e)) == e, and the line is one line with exactly 5 + len(data) separators."""
    line = format_line(entry)
    assert parse_line(line) == entry
    assert parse_line(line + "\n") == entry
    assert line.count("|") == 4 + len(entry.data)
    assert "\n" not in line


@given(entries)
def test_lines_round_trip_through_entries(entry: QueueLogEntry) -> None:
    """Any line we can write is rebuilt unchanged after parsing."""
    line = format_line(entry)
    assert format_line(parse_line(line)) == line


def test_writer_appends_whole_lines_after_existing_ones(tmp_path: Path) -> None:
    """The writer keeps what Asterisk already wrote and adds one newline-terminated line per entry."""
    path = tmp_path / "queue_log"
    path.write_bytes(b"1700000000|NONE|NONE|NONE|QUEUESTART|\n")
    with QueueLogWriter(path) as writer:
        for entry, _ in GOLDEN[:3]:
            writer.append(entry)
    expected = ["1700000000|NONE|NONE|NONE|QUEUESTART|"] + [line for _, line in GOLDEN[:3]]
    assert path.read_text().splitlines() == expected
    assert path.read_bytes().endswith(b"\n")
    assert read_entries(path) == [parse_line(line) for line in expected]


def test_concurrent_writers_never_interleave_mid_line(tmp_path: Path) -> None:
    """Several writers on one file (as with Asterisk's logger) leave only whole, parseable lines."""
    path = tmp_path / "queue_log"
    per_writer, writers = 200, 4

    def run(name: str) -> None:
        with QueueLogWriter(path) as writer:
            for i in range(per_writer):
                writer.append(ql.pause(now=i, queue=name, agent=name * 500, reason=str(i)))

    threads = [threading.Thread(target=run, args=(f"w{n}",)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries_read = read_entries(path)
    assert len(entries_read) == per_writer * writers
    for entry in entries_read:
        assert entry.agent == entry.queue * 500


def test_writer_follows_rotation_to_the_new_file(tmp_path: Path) -> None:
    """After `logger rotate` renames the file, the next line goes to a fresh file at the same path."""
    path = tmp_path / "queue_log"
    writer = QueueLogWriter(path)
    writer.append(ql.unpause(now=1, queue="q", agent="a"))
    os.rename(path, tmp_path / "queue_log.0")
    writer.append(ql.unpause(now=2, queue="q", agent="a"))
    writer.close()
    writer.close()
    assert (tmp_path / "queue_log.0").read_text() == "1|NONE|q|a|UNPAUSE|\n"
    assert path.read_text() == "2|NONE|q|a|UNPAUSE|\n"
    with pytest.raises(ValueError, match="closed"):
        writer.append(ql.unpause(now=3, queue="q", agent="a"))


def test_read_entries_keeps_odd_bytes_and_names_the_bad_line(tmp_path: Path) -> None:
    """Non-UTF-8 bytes survive a read and a rewrite; blank lines are skipped; a bad line is reported by number."""
    path = tmp_path / "queue_log"
    raw = b"1|NONE|q|caf\xe9|PAUSE|\n"
    path.write_bytes(raw + b"\n")
    (entry,) = read_entries(path)
    copy = tmp_path / "copy"
    with QueueLogWriter(copy) as writer:
        writer.append(entry)
    assert copy.read_bytes() == raw
    path.write_bytes(raw + b"garbage\n")
    with pytest.raises(QueueLogError, match=r"queue_log:2: "):
        read_entries(path)
