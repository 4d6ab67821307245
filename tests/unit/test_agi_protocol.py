"""The FastAGI wire format: request header, replies, and command quoting checked against Asterisk's own parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_scripts.protocol import (
    MAX_COMMAND_BYTES,
    MAX_COMMAND_WORDS,
    AgiCommands,
    AgiReply,
    ReplyReader,
    find_header_end,
    format_command,
    parse_reply,
    parse_request,
    request_from_env,
)
from switchboard.errors import AgiCommandError, AgiHangupError, AgiProtocolError

MAX_ARGS = 128  # res_agi.c


def asterisk_parse_args(line: bytes) -> list[bytes]:
    """A line-by-line port of parse_args() in Asterisk's res/res_agi.c (unchanged from 1.4 to 20).

    Asterisk rewrites the command line in place: `cur` trails `s`, argv[] points into the buffer and
    each word ends at the next NUL. Here the buffer is a bytearray and argv holds start offsets.
    """
    out = bytearray()
    argv: list[int] = []
    quoted = escaped = False
    whitespace = True
    for char in line:
        if char == ord('"') and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                # "If we're starting a quote, coming off white space start a new word, too"
                argv.append(len(out))
                whitespace = False
            escaped = False
            continue
        if char in b" \t" and not quoted and not escaped:
            whitespace = True
            out.append(0)
            continue
        if char == ord("\\") and not escaped:
            escaped = True
            continue
        # normal: (also an escaped quote, backslash or blank)
        if whitespace:
            if len(argv) >= MAX_ARGS - 1:
                continue  # "Too many arguments, truncating": the C code breaks out, dropping the char
            argv.append(len(out))
            whitespace = False
        out.append(char)
        escaped = False
    out.append(0)
    return [bytes(out[start : out.index(0, start)]) for start in argv]


def split_like_asterisk(line: bytes) -> list[str]:
    """What Asterisk's command handlers see: run_agi() strips the newline, then parse_args() splits."""
    assert line.endswith(b"\n")
    return [word.decode("utf-8") for word in asterisk_parse_args(line[:-1])]


# Anything a caller, a CRM or an operator could type, except what a line-based protocol cannot carry.
line_safe_text = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)))


def header(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n\n").encode("utf-8")


# -- format_command and Asterisk's parse_args --------------------------------------------------


def test_port_of_parse_args_matches_known_asterisk_behaviour() -> None:
    """Our port splits as res_agi does: blanks separate, quotes group, backslash takes the next char."""
    assert asterisk_parse_args(b'SET VARIABLE "a b" c\\ d "e\\"f" g\\\\h \\x') == [
        b"SET",
        b"VARIABLE",
        b"a b",
        b"c d",
        b'e"f',
        b"g\\h",
        b"x",
    ]
    assert asterisk_parse_args(b'EXEC Wait ""') == [b"EXEC", b"Wait", b""]


@pytest.mark.parametrize(
    "value",
    ['"', "\\", ";", "$(", "${SHELL(id)}", "a b  c", "\t", "", "ends with \\", '\\"', "Zoë 東京 🚀", 'x" EXEC Dial(y'],
)
def test_format_command_round_trips_awkward_values(value: str) -> None:
    """Quotes, backslashes, shell and dialplan syntax, blanks and unicode reach Asterisk unchanged."""
    line = format_command("SET VARIABLE", "NAME", value)
    assert split_like_asterisk(line) == ["SET", "VARIABLE", "NAME", value]


@given(st.lists(line_safe_text, max_size=8))
def test_format_command_round_trips_any_text(args: list[str]) -> None:
    """Any arguments without CR, LF or NUL come out of Asterisk's parse_args exactly as we sent them."""
    # verb, then per argument a blank, two quotes, the UTF-8 bytes and one backslash per escape; then LF
    size = len("SET VARIABLE") + sum(3 + len(a.encode()) + a.count("\\") + a.count('"') for a in args) + 1
    if size > MAX_COMMAND_BYTES:
        with pytest.raises(AgiProtocolError):
            format_command("SET VARIABLE", *args)
        return
    line = format_command("SET VARIABLE", *args)
    assert len(line) == size
    assert split_like_asterisk(line) == ["SET", "VARIABLE", *args]


@given(line_safe_text, line_safe_text, st.sampled_from(["\r", "\n", "\x00", "\r\n"]))
def test_format_command_refuses_cr_lf_nul(before: str, after: str, bad: str) -> None:
    """A CR, LF or NUL anywhere in an argument is refused, never sent."""
    with pytest.raises(AgiProtocolError):
        format_command("SET VARIABLE", "NAME", before + bad + after)


def test_format_command_refuses_lines_asterisk_would_cut() -> None:
    """res_agi reads 2047 bytes a line: a longer one would be cut and its tail run as a new command."""
    room = MAX_COMMAND_BYTES - len(b'SET VARIABLE "N" ""\n')
    assert len(format_command("SET VARIABLE", "N", "x" * room)) == MAX_COMMAND_BYTES
    with pytest.raises(AgiProtocolError):
        format_command("SET VARIABLE", "N", "x" * (room + 1))
    with pytest.raises(AgiProtocolError):
        format_command("SET VARIABLE", "N", "é" * (room // 2 + 1))  # counted in bytes, not characters


def test_format_command_refuses_more_words_than_parse_args_keeps() -> None:
    """parse_args keeps 127 words: more would be truncated (or overflow argv) in Asterisk."""
    assert format_command("EXEC", *["a"] * (MAX_COMMAND_WORDS - 1))
    with pytest.raises(AgiProtocolError):
        format_command("EXEC", *["a"] * MAX_COMMAND_WORDS)


@pytest.mark.parametrize("verb", ["", "SET  VARIABLE", "SET VARIABLE 1", 'SET "x"', "NOOP\n", " ANSWER"])
def test_format_command_refuses_odd_verbs(verb: str) -> None:
    """The verb is words of letters only: it is never quoted, so it must never carry data."""
    with pytest.raises(AgiProtocolError):
        format_command(verb)


def test_format_command_writes_numbers_as_text() -> None:
    """SET PRIORITY 1 is written as a quoted "1", which Asterisk reads as the number 1."""
    assert format_command("SET PRIORITY", 1) == b'SET PRIORITY "1"\n'


# -- parse_request ------------------------------------------------------------------------------

env_keys = st.from_regex(r"agi_[a-z][a-z0-9_]{0,20}", fullmatch=True).filter(lambda key: not key.startswith("agi_arg_"))


@given(st.dictionaries(env_keys, line_safe_text, max_size=20))
def test_request_env_round_trips(extra: dict[str, str]) -> None:
    """Every agi_* value comes back as sent, colons, leading blanks and unicode included."""
    env = {"agi_request": "agi://127.0.0.1:4573/route", **extra}
    request = parse_request(header([f"{key}: {value}" for key, value in env.items()]))
    assert dict(request.env) == env


@given(st.lists(line_safe_text, max_size=12), st.randoms(use_true_random=False))
def test_request_args_come_in_numeric_order(args: list[str], shuffle: object) -> None:
    """agi_arg_1..agi_arg_12 give args in numeric order (10 after 9), whatever order the lines came in."""
    lines = [f"agi_arg_{n}: {value}" for n, value in enumerate(args, 1)]
    shuffle.shuffle(lines)  # type: ignore[attr-defined]
    request = parse_request(header(["agi_network: yes", "agi_request: agi://h/route", *lines]))
    assert request.args == tuple(args)


def test_request_from_a_real_asterisk_16_header() -> None:
    """A FastAGI header as Asterisk 16 writes it gives script, query, args and the call's identity."""
    request = parse_request(
        header(
            [
                "agi_network: yes",
                "agi_network_script: route?hotline=sales&lang=fr",
                "agi_request: agi://127.0.0.1:4573/route?hotline=sales&lang=fr",
                "agi_channel: PJSIP/trunk-0000002a",
                "agi_uniqueid: 1718000000.42",
                "agi_callerid: 0612345678",
                "agi_calleridname: Martin: Jeanne",
                "agi_context: from-trunk",
                "agi_extension: 0140000000",
                "agi_accountcode: ",
                "agi_arg_1: sales",
                "agi_arg_2: fr",
            ]
        )
    )
    assert request.script == "route"
    assert dict(request.query) == {"hotline": "sales", "lang": "fr"}
    assert request.args == ("sales", "fr")
    assert (request.uniqueid, request.channel, request.context) == (
        "1718000000.42",
        "PJSIP/trunk-0000002a",
        "from-trunk",
    )
    assert (request.callerid, request.calleridname, request.extension) == ("0612345678", "Martin: Jeanne", "0140000000")
    assert request.env["agi_accountcode"] == ""


def test_request_with_only_agi_request_has_empty_identity() -> None:
    """Optional keys may be missing: the script comes from agi_request, the properties are empty."""
    request = parse_request(b"agi_request: agi://10.0.0.1/queues/route?x=1\n\n")
    assert (request.script, dict(request.query), request.args) == ("queues/route", {"x": "1"}, ())
    assert request.uniqueid == request.callerid == request.channel == request.context == ""


def test_request_accepts_crlf_lines() -> None:
    """A header written with CRLF reads the same as Asterisk's bare LF."""
    request = parse_request(b"agi_request: agi://h/route\r\nagi_callerid: 0612345678\r\n\r\n")
    assert (request.script, request.callerid) == ("route", "0612345678")


def test_request_takes_lines_without_the_blank_after_the_colon() -> None:
    """A hand-made client's "agi_key:value" reads like Asterisk's "agi_key: value"."""
    request = parse_request(b"agi_request:agi://h/route\nagi_arg_1:sales\nagi_callerid: 0612345678\n\n")
    assert (request.script, request.args, request.callerid) == ("route", ("sales",), "0612345678")


@pytest.mark.parametrize(
    ("buffer", "start", "end"),
    [
        (b"agi_a: 1\nagi_b: 2\n\nHANGUP\n", 0, (17, 19)),
        (b"agi_a: 1\r\nagi_b: 2\r\n\r\n", 0, (19, 22)),
        (b"agi_a: 1\nagi_b: 2\n", 0, None),
        (b"agi_a: 1\n\n", 6, (8, 10)),
    ],
)
def test_find_header_end(buffer: bytes, start: int, end: tuple[int, int] | None) -> None:
    """The header ends at its first blank line, LF or CRLF; the search may start part-way in."""
    assert find_header_end(buffer, start) == end


def test_request_from_env_copies_the_mapping() -> None:
    """An AgiRequest built from a dict does not change when the dict does."""
    env = {"agi_request": "agi://h/route", "agi_arg_1": "a"}
    request = request_from_env(env)
    env["agi_arg_1"] = "b"
    assert request.args == ("a",)
    assert request.env["agi_arg_1"] == "a"


@pytest.mark.parametrize(
    "block",
    [
        b"GET / HTTP/1.1\r\nHost: switchboard\r\n\r\n",
        b"agi_request: agi://h/route\nnot a header line\n\n",
        b"agi_request: agi://h/route\nHost: x\n\n",
        b"agi_network: yes\nagi_channel: PJSIP/x\n\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ],
)
def test_request_refuses_garbage(block: bytes) -> None:
    """Non-agi lines, a missing agi_request or binary noise are a protocol error, not a call."""
    with pytest.raises(AgiProtocolError):
        parse_request(block)


# -- parse_reply and ReplyReader ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("200 result=1", AgiReply(200, "1")),
        ("200 result=0", AgiReply(200, "0")),
        ("200 result=1 (sales)", AgiReply(200, "1", "sales")),
        ("200 result=0 endpos=1234", AgiReply(200, "0", None, "endpos=1234")),
        ("200 result=49 (dtmf) endpos=5120", AgiReply(200, "49", "dtmf", "endpos=5120")),
        ("200 result= (timeout)", AgiReply(200, "", "timeout")),
        ("200 result=0123 (timeout)", AgiReply(200, "0123", "timeout")),
        ("200 result=1 ()", AgiReply(200, "1", "")),
        ("200 result=1 (a (b) c)", AgiReply(200, "1", "a (b) c")),
        ("200 result=1 (x) y) endpos=9", AgiReply(200, "1", "x) y", "endpos=9")),
        (
            "200 result=1 (speech) endpos=0 results=1 score0=900 text0=oui",
            AgiReply(200, "1", "speech", "endpos=0 results=1 score0=900 text0=oui"),
        ),
    ],
)
def test_reply_200(line: str, reply: AgiReply) -> None:
    """200 replies give the result as text, the data in parentheses (nested ones kept) and the rest."""
    assert parse_reply(line) == reply


@given(st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))), st.booleans())
def test_reply_data_with_any_parentheses(data: str, endpos: bool) -> None:
    """Whatever the data holds (parentheses, '=' or blanks), it comes back whole, with or without endpos."""
    line = f"200 result=1 ({data})" + (" endpos=42" if endpos else "")
    assert parse_reply(line) == AgiReply(200, "1", data, "endpos=42" if endpos else "")


@pytest.mark.parametrize("line", ["HANGUP", "200 result=-1", "200 result=-1 endpos=0"])
def test_reply_hangup(line: str) -> None:
    """HANGUP and result=-1 mean the channel is gone."""
    with pytest.raises(AgiHangupError):
        parse_reply(line)


@pytest.mark.parametrize(
    "line",
    [
        "510 Invalid or unknown command",
        "511 Command Not Permitted on a dead channel",
        "520 Invalid command syntax.  Proper usage not available.",
        "520-Invalid command syntax.  Proper usage follows:\nUsage: SET VARIABLE <name> <value>\n520 End of usage.",
    ],
)
def test_reply_refusals(line: str) -> None:
    """510, 511 and 520 (one line or a usage block) are command errors that quote Asterisk."""
    with pytest.raises(AgiCommandError, match=line.split("\n")[-1][:3]):
        parse_reply(line)


@pytest.mark.parametrize("line", ["", "hello", "200 resultat=1", "5100 x", "999 result=1"])
def test_reply_garbage(line: str) -> None:
    """Anything else is a protocol error."""
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


USAGE_BLOCK = b"520-Invalid command syntax.  Proper usage follows:\n Usage: GET DATA <file>\n520 End of proper usage.\n"
STREAM = (
    b"200 result=1\nHANGUP\n" + USAGE_BLOCK + b"200 result=1 (a\xc3\xa9) endpos=3\r\n510 Invalid or unknown command\n"
)
EXPECTED = [
    "200 result=1",
    "HANGUP",
    USAGE_BLOCK.decode().rstrip("\n"),
    "200 result=1 (aé) endpos=3",
    "510 Invalid or unknown command",
]


@given(st.lists(st.integers(0, len(STREAM)), max_size=10))
def test_reply_reader_any_chunking(cuts: list[int]) -> None:
    """However TCP cuts the stream, the reader gives the same replies, a 520 block as one."""
    reader, replies, start = ReplyReader(), [], 0
    for cut in [*sorted(cuts), len(STREAM)]:
        replies += reader.feed(STREAM[start:cut])
        start = cut
    assert replies == EXPECTED


def test_reply_reader_refuses_endless_lines() -> None:
    """A reply that never ends is cut off at 64 KiB instead of growing forever."""
    reader = ReplyReader()
    for _ in range(64):
        reader.feed(b"x" * 1024)
    with pytest.raises(AgiProtocolError):
        reader.feed(b"x")


class ScriptedCommands(AgiCommands):
    """An in-memory stand-in for a session, as a handler's unit test would use one."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.sent: list[str] = []

    async def command(self, verb: str, *args: str | int) -> AgiReply:
        self.sent.append(format_command(verb, *args).decode().rstrip("\n"))
        return parse_reply(self.replies.pop(0))


async def test_agi_commands_vocabulary() -> None:
    """The convenience commands write what Asterisk expects and read its replies."""
    agi = ScriptedCommands("200 result=1 (sales)", "200 result=0", "200 result=0", "200 result=0", "200 result=0")
    assert await agi.get_variable("QUEUE") == "sales"
    assert await agi.get_variable("MISSING") is None
    await agi.goto("switchboard-fail", "s")
    assert agi.sent == [
        'GET VARIABLE "QUEUE"',
        'GET VARIABLE "MISSING"',
        'SET CONTEXT "switchboard-fail"',
        'SET EXTENSION "s"',
        'SET PRIORITY "1"',
    ]


async def test_exec_of_a_missing_application_is_an_error() -> None:
    """EXEC joins the application's arguments with commas; result=-2 (no such application) raises."""
    agi = ScriptedCommands("200 result=0", "200 result=-2")
    assert await agi.exec_app("Playback", "hello-world", "noanswer") == AgiReply(200, "0")
    with pytest.raises(AgiCommandError):
        await agi.exec_app("NoSuchApp")
    assert agi.sent == ['EXEC "Playback" "hello-world,noanswer"', 'EXEC "NoSuchApp" ""']


class _Scripted(AgiCommands):
    """Answers each command with the next scripted reply and keeps what was sent."""

    __slots__ = ("replies", "sent")

    def __init__(self, *results: str) -> None:
        self.replies = [AgiReply(200, result) for result in results]
        self.sent: list[tuple[str, tuple[str | int, ...]]] = []

    async def command(self, verb: str, *args: str | int) -> AgiReply:
        self.sent.append((verb, args))
        return self.replies.pop(0)


async def test_get_data_plays_each_sound_until_a_key_cuts_it_short() -> None:
    session = _Scripted("0", str(ord("1")))
    assert await session.get_data("vm-press&digits/1&beep", 6000, 1) == "1"
    assert [verb for verb, _ in session.sent] == ["STREAM FILE", "STREAM FILE"]
    assert session.sent[0][1] == ("vm-press", "0123456789*#")


async def test_get_data_waits_for_keys_after_the_prompt_and_gives_empty_on_timeout() -> None:
    session = _Scripted("0", str(ord("4")), "0")
    assert await session.get_data("beep", 3000, 3) == "4"
    assert session.sent[1:] == [("WAIT FOR DIGIT", (3000,)), ("WAIT FOR DIGIT", (3000,))]
    assert await _Scripted("0", "0").get_data("beep", 3000, 1) == ""


def asterisk_separate_args(buf: str, delim: str, limit: int) -> list[str]:
    """A port of __ast_app_separate_args() in Asterisk's main/app.c with remove_chars (16 to 22): parentheses,
    brackets and quotes group, quotes and backslashes are removed, a backslash keeps the next character as is."""
    text, args, scan, wasdelim = list(buf), [], 0, -1
    paren = quote = bracket = 0
    while scan < len(text) and len(args) < limit - 1:
        start = scan
        while scan < len(text):
            char = text[scan]
            if char == "(":
                paren += 1
            elif char == ")":
                paren = max(paren - 1, 0)
            elif char == "[":
                bracket += 1
            elif char == "]":
                bracket = max(bracket - 1, 0)
            elif char == '"' and delim != '"':
                quote ^= 1
                del text[scan]
                continue
            elif char == "\\":
                del text[scan]  # then the loop steps over the character it kept
            elif char == delim and not paren and not quote and not bracket:
                wasdelim = scan
                break
            scan += 1
        args.append("".join(text[start:scan]))
        scan += 1 if scan < len(text) else 0
    if scan < len(text) or (scan > 0 and scan - 1 == wasdelim):
        args.append("".join(text[scan:]))
    return args


def asterisk_mset(data: str) -> dict[str, str]:
    """What pbx_builtin_setvar_multiple() (MSet) sets from its argument string."""
    pairs = [asterisk_separate_args(pair, "=", 2) for pair in asterisk_separate_args(data, ",", 99)]
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


@given(st.lists(line_safe_text, min_size=2, max_size=4))
async def test_set_variables_round_trips_any_value_through_mset(values: list[str]) -> None:
    """Several variables go in one EXEC MSet whose escaped values Asterisk's two argument splits give back."""
    wanted = {f"SWITCHBOARD_V{n}": value for n, value in enumerate(values)}
    agi = ScriptedCommands("200 result=0")
    await agi.set_variables(wanted)
    [line] = agi.sent
    verb, app, data = split_like_asterisk(line.encode() + b"\n")
    assert (verb, app) == ("EXEC", "MSet")
    assert asterisk_mset(data) == wanted


async def test_set_variables_with_one_variable_is_a_plain_set_variable() -> None:
    """One variable needs no MSet (and none of its escaping)."""
    agi = ScriptedCommands("200 result=1")
    await agi.set_variables({"A": "x,y"})
    assert agi.sent == ['SET VARIABLE "A" "x,y"']


def test_separate_args_port_matches_known_asterisk_behaviour() -> None:
    """Grouping and escapes as Asterisk documents them for application arguments."""
    assert asterisk_separate_args('a,"b,c",d(e,f),[g,h],i\\,j', ",", 99) == ["a", "b,c", "d(e,f)", "[g,h]", "i,j"]
    assert asterisk_separate_args("a,", ",", 99) == ["a", ""]
    assert asterisk_separate_args("N=v=w,x", "=", 2) == ["N", "v=w,x"]
