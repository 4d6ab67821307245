"""The AMI wire format: the incremental parser and the action serializer (pure, no I/O)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.ami import AmiMessage, AmiParser, serialize_action
from switchboard.errors import AmiError, AmiProtocolError, UnsafeHeaderError

KEYS = st.text(
    st.characters(exclude_characters=":\r\n", exclude_categories=["Cs"]),
    min_size=1,
    max_size=12,
)
# values as raw bytes: valid UTF-8 text and arbitrary non-UTF-8 bytes, never CR or LF
VALUES = st.one_of(
    st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"])).map(str.encode),
    st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)
EOL = st.sampled_from([b"\r\n", b"\n"])
GAP = st.sampled_from([b"", b"", b"\r\n", b"\n"])  # stray empty lines between messages
# a message: its (key, value, line ending) lines, the empty line that ends it, then a gap
MESSAGES = st.tuples(st.lists(st.tuples(KEYS, VALUES, EOL), min_size=1, max_size=6), EOL, GAP)


def decoded(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def feed_in_chunks(parser: AmiParser, data: bytes, cuts: list[int]) -> list[AmiMessage]:
    out: list[AmiMessage] = []
    bounds = [0, *sorted(cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        out += parser.feed(data[start:end])
    return out


@given(st.lists(MESSAGES, max_size=8), st.booleans(), st.lists(st.integers(min_value=0), max_size=20))
def test_any_chunking_gives_back_every_message_once(
    messages: list[tuple[list[tuple[str, bytes, bytes]], bytes, bytes]], banner: bool, cuts: list[int]
) -> None:
    """Messages with CRLF, LF and CRLF-LF endings, cut anywhere: same messages, none merged."""
    stream = b"Asterisk Call Manager/5.0.1\r\n" if banner else b""
    for lines, end, gap in messages:
        stream += b"".join(key.encode() + b": " + value + eol for key, value, eol in lines) + end + gap
    parser = AmiParser()
    got = feed_in_chunks(parser, stream, [cut % (len(stream) + 1) for cut in cuts])
    assert got == [AmiMessage(tuple((k, decoded(v)) for k, v, _ in lines)) for lines, _, _ in messages]
    assert parser.banner == ("Asterisk Call Manager/5.0.1" if banner else None)


def test_crlf_lf_ending_ends_the_message_fed_byte_by_byte() -> None:
    """``\\r\\n\\n`` ends a message; the next one is never merged into it."""
    data = b"Event: A\r\nX: 1\r\n\nEvent: B\r\nX: 2\r\n\n"
    parser = AmiParser()
    got = [m for i in range(len(data)) for m in parser.feed(data[i : i + 1])]
    assert [m.headers for m in got] == [
        (("Event", "A"), ("X", "1")),
        (("Event", "B"), ("X", "2")),
    ]


def test_non_utf8_bytes_are_kept_losslessly() -> None:
    """A Latin-1 byte never crashes nor loses the message, and encodes back to itself."""
    [msg] = AmiParser().feed(b"Event: Newchannel\r\nCallerIDName: Jos\xe9 \xff\r\n\r\n")
    assert msg["CallerIDName"].encode("utf-8", "surrogateescape") == b"Jos\xe9 \xff"


@pytest.mark.parametrize("chunk", [4096, 10**7])
def test_one_megabyte_value_is_read_whole(chunk: int) -> None:
    """A 1 MB value, fed in 4 KiB reads or at once, comes out intact."""
    value = b"v" * 1_000_000
    data = b"Response: Success\r\nOutput: " + value + b"\r\n\r\n"
    parser = AmiParser()
    got = [m for i in range(0, len(data), chunk) for m in parser.feed(data[i : i + chunk])]
    assert [m["Output"] for m in got] == [value.decode()]


def test_banner_is_exposed_and_is_not_a_message() -> None:
    """The first line without ': ', cut in two reads, becomes ``banner``."""
    parser = AmiParser()
    assert parser.feed(b"Asterisk Call Man") == []
    assert parser.feed(b"ager/5.0.1\r\nResponse: Success\r\n") == []
    assert parser.banner == "Asterisk Call Manager/5.0.1"
    [msg] = parser.feed(b"\r\n")
    assert msg.headers == (("Response", "Success"),)


def test_no_banner_when_the_stream_starts_with_a_header() -> None:
    """A stream that starts with a header line has no banner and loses no line."""
    parser = AmiParser()
    [msg] = parser.feed(b"Event: FullyBooted\r\n\r\n")
    assert parser.banner is None
    assert msg.name == "FullyBooted"


def test_line_without_colon_space_is_kept_under_the_empty_key() -> None:
    """Raw output lines (old Response: Follows) are kept, in order, under key ""."""
    data = b"Response: Follows\r\nPrivilege: Command\r\nline one\r\n--END COMMAND--\r\n\r\n"
    [msg] = AmiParser().feed(data)
    assert msg.get_all("") == ("line one", "--END COMMAND--")


@pytest.mark.parametrize("chunk", [1, 7, 5000])
def test_oversized_message_raises_and_the_stream_stays_refused(chunk: int) -> None:
    """A message over the limit raises AmiProtocolError, whatever the reads; later feeds raise too."""
    data = b"Event: Big\r\n" + b"".join(b"Line%d: %s\r\n" % (i, b"x" * 90) for i in range(20))
    parser = AmiParser(max_message_size=1000)
    with pytest.raises(AmiProtocolError, match="larger than 1000"):
        feed_in_chunks(parser, data, list(range(chunk, len(data), chunk)))
    with pytest.raises(AmiProtocolError):
        parser.feed(b"\r\n")


def test_flood_without_any_line_end_raises() -> None:
    """Bytes that never end a line cannot grow memory past the limit."""
    parser = AmiParser(max_message_size=1000)
    parser.feed(b"x" * 1000)
    with pytest.raises(AmiError):
        parser.feed(b"x")


def test_message_at_exactly_the_limit_is_accepted() -> None:
    """The limit counts header lines with their endings, not the empty line after them."""
    line = b"K: " + b"v" * 95 + b"\r\n"  # 100 bytes
    parser = AmiParser(max_message_size=1000)
    assert parser.feed(line * 10 + b"\r") == []
    [msg] = parser.feed(b"\n")
    assert len(msg.get_all("K")) == 10
    with pytest.raises(AmiError):
        AmiParser(max_message_size=999).feed(line * 10 + b"\r\n")


def test_messages_before_an_oversized_one_are_returned_first() -> None:
    """Messages completed in the same read come out; the error comes with the next feed."""
    parser = AmiParser(max_message_size=100)
    [msg] = parser.feed(b"Event: Small\r\n\r\nEvent: Big\r\nX: " + b"y" * 200 + b"\r\n")
    assert msg.name == "Small"
    with pytest.raises(AmiError):
        parser.feed(b"")


def test_lookup_ignores_case_and_keeps_repeated_keys() -> None:
    """msg[key] and get() ignore case and give the first value; get_all gives them all."""
    msg = AmiMessage.of(("Event", "VarSet"), ("ActionId", "ami-1"), ("ChanVariable", "A=1"), ("chanvariable", "B=2"))
    assert msg["ActionID"] == msg.action_id == "ami-1"
    assert msg.get("CHANVARIABLE") == "A=1"
    assert msg.get("Nope", "-") == "-"
    assert msg.get_all("ChanVariable") == ("A=1", "B=2")
    assert list(msg) == ["Event", "ActionId", "ChanVariable"]
    with pytest.raises(KeyError):
        msg["Nope"]


def test_kind_and_name_come_from_the_first_header() -> None:
    """OriginateResponse is an event even though it carries a Response header."""
    event = AmiMessage.of(("Event", "OriginateResponse"), ("Response", "Success"))
    response = AmiMessage.of(("Response", "Error"), ("Message", "Permission denied"))
    assert (event.kind, event.name) == ("event", "OriginateResponse")
    assert (response.kind, response.name) == ("response", "Error")
    assert AmiMessage.of(("Action", "Ping")).kind == "other"


def test_serialize_layout() -> None:
    """Action, ActionID, then headers in order; ints str()'d; lists repeat the key."""
    data = serialize_action(
        "Originate",
        {"Channel": "PJSIP/100", "Priority": 1, "Variable": ["A=1", "B=2"]},
        "ami-7",
    )
    assert data == (
        b"Action: Originate\r\nActionID: ami-7\r\nChannel: PJSIP/100\r\nPriority: 1\r\n"
        b"Variable: A=1\r\nVariable: B=2\r\n\r\n"
    )


@given(st.lists(st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"])), max_size=5))
def test_repeated_keys_round_trip(values: list[str]) -> None:
    """A list value goes out as repeated keys and parses back to the same values, in order."""
    [msg] = AmiParser().feed(serialize_action("Originate", {"Variable": values}, "ami-1"))
    assert msg.get_all("Variable") == tuple(values)
    assert (msg["Action"], msg["ActionID"]) == ("Originate", "ami-1")


UNSAFE = st.builds(
    lambda a, b, c: a + b + c,
    st.text(max_size=10),
    st.sampled_from(["\r", "\n", "\r\n"]),
    st.text(max_size=10),
)


@given(UNSAFE, st.sampled_from(["value", "list", "key", "name", "action_id"]))
def test_cr_or_lf_anywhere_is_refused(text: str, where: str) -> None:
    """CR or LF in a value, a list item, a key, the action name or the ActionID is refused."""
    name, action_id = "Originate", "ami-1"
    headers: dict[str, str | list[str]] = {"Channel": "PJSIP/1"}
    if where == "value":
        headers["Channel"] = text
    elif where == "list":
        headers["Variable"] = ["A=1", text]
    elif where == "key":
        headers[text] = "x"
    elif where == "name":
        name = text
    else:
        action_id = text
    with pytest.raises(UnsafeHeaderError):
        serialize_action(name, headers, action_id)


@pytest.mark.parametrize("key", ["", "Bad:Key", "Action", "actionid"])
def test_bad_keys_are_refused(key: str) -> None:
    """An empty key, a key with ':', or Action/ActionID set by the caller is refused."""
    with pytest.raises(UnsafeHeaderError):
        serialize_action("Ping", {key: "x"}, "ami-1")


def test_bytes_values_are_a_type_error() -> None:
    """bytes are not silently written as "b'...'"."""
    with pytest.raises(TypeError):
        serialize_action("Ping", {"X": b"abc"}, "ami-1")


def test_value_read_with_odd_bytes_goes_back_out_byte_for_byte() -> None:
    """A channel name holding a non-UTF-8 byte is sent back exactly as Asterisk sent it."""
    [event] = AmiParser().feed(b"Event: Newchannel\r\nChannel: SIP/caf\xe9-1\r\n\r\n")
    data = serialize_action("Hangup", {"Channel": event["Channel"]}, "ami-1")
    assert b"Channel: SIP/caf\xe9-1\r\n" in data
