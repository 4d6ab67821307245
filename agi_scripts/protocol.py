"""The FastAGI wire format as pure functions: the request header, command replies, quoted commands.

No I/O here: agi_scripts.server feeds the bytes it reads in and writes the bytes given back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

from switchboard.errors import AgiCommandError, AgiHangupError, AgiProtocolError

# res_agi.c reads one command with fgets() into char buf[AGI_BUF_LEN], AGI_BUF_LEN = 2048: a longer
# line is cut there and its tail is read as a *new command*, so an over-long argument would let a
# caller-controlled value inject a command. 2047 bytes, counting the final newline, always fit.
MAX_COMMAND_BYTES = 2047
# parse_args() in res_agi.c fills argv[MAX_ARGS = 128] and needs the last slot for its NULL:
# 127 words at most, verb words included (past that it truncates, or writes out of bounds).
MAX_COMMAND_WORDS = 127
# A reply (a GET VARIABLE value, a 520 usage text) is small; anything past this is not Asterisk.
MAX_REPLY_BYTES = 65536

_VERB_RE = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")
# Data in parentheses may itself hold parentheses: take up to the last ")" followed only by
# "key=value" words (STREAM FILE adds "endpos=1234", RECORD FILE and SPEECH add more).
_DATA_RE = re.compile(r" \((.*)\)((?: [^ =]+=[^ ]*)*)")
_RESULT_PREFIX = "200 result="
_NO_QUERY: Mapping[str, str] = MappingProxyType({})
_CHECKED_VERBS: set[str] = set()
_BETWEEN_ARGS = '" "'
_LINE_BREAKERS = re.compile("[\r\n\0]")


@dataclass(frozen=True, slots=True)
class AgiRequest:
    """What Asterisk tells us when it connects: the agi_* header, the script asked for, its args."""

    env: Mapping[str, str] = field(hash=False)
    script: str
    query: Mapping[str, str] = field(hash=False)
    args: tuple[str, ...]

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel", "")

    @property
    def callerid(self) -> str:
        return self.env.get("agi_callerid", "")

    @property
    def calleridname(self) -> str:
        return self.env.get("agi_calleridname", "")

    @property
    def extension(self) -> str:
        return self.env.get("agi_extension", "")

    @property
    def context(self) -> str:
        return self.env.get("agi_context", "")


class AgiReply(NamedTuple):
    """A 200 answer: result is text (GET DATA digits keep their leading zeros), data the (...) part."""

    code: int
    result: str
    data: str | None = None
    extra: str = ""  # what follows the data, e.g. "endpos=1234"


def find_header_end(buffer: bytes | bytearray, start: int = 0) -> tuple[int, int] | None:
    """Where the header block ends and what follows it begins; None while its blank line is not in."""
    # Asterisk writes bare "\n"; a hand-made client may end its lines with "\r\n".
    end = buffer.find(b"\n\n", start)
    if end >= 0:
        return end, end + 2
    end = buffer.find(b"\n\r\n", start)
    return (end, end + 3) if end >= 0 else None


def parse_request(block: bytes) -> AgiRequest:
    """Parse the header ("agi_key: value" lines, up to the blank line) into an AgiRequest."""
    # Caller names come in whatever charset the trunk used: never fail a call over a byte.
    text = block.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.rstrip("\r\n").split("\n")
    env = {key: value for key, _, value in [line.partition(": ") for line in lines]}
    keys = "".join(env)
    # Checked all at once, in C: every line starts "agi_", keys are ASCII identifiers, none twice.
    if not (
        len(env) == len(lines)
        and text.startswith("agi_")
        and text.count("\nagi_") == len(lines) - 1
        and keys.isascii()
        and keys.isidentifier()
    ):
        env = _parse_lines_one_by_one(lines)
    if "agi_request" not in env:
        raise AgiProtocolError("the AGI request has no agi_request line")
    return _build_request(env)


def _parse_lines_one_by_one(lines: list[str]) -> dict[str, str]:
    """The slow path: say which line is wrong, and take "agi_key:value" without the blank too."""
    env: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        key, sep, value = line.partition(":")
        if not (sep and key.startswith("agi_") and key.isascii() and key.isidentifier()):
            raise AgiProtocolError(f"line {number} of the AGI request is not an agi_* header")
        env[key] = value[1:] if value[:1] == " " else value
    return env


def request_from_env(env: Mapping[str, str]) -> AgiRequest:
    """Build an AgiRequest from agi_* values already split into a mapping."""
    return _build_request(dict(env))


def _build_request(env: dict[str, str]) -> AgiRequest:
    # agi_network_script is what followed host[:port]/ in the dialplan's agi:// URL.
    location = env.get("agi_network_script")
    if location is None:
        url = urlsplit(env.get("agi_request", ""))
        path, query = url.path, url.query
    else:
        path, _, query = location.partition("?")
    # Asterisk numbers the arguments 1..N without gaps; stop at the first one missing.
    args: list[str] = []
    while (arg := env.get(f"agi_arg_{len(args) + 1}")) is not None:
        args.append(arg)
    return AgiRequest(
        env=MappingProxyType(env),
        script=path.strip("/"),
        query=MappingProxyType(dict(parse_qsl(query, keep_blank_values=True))) if query else _NO_QUERY,
        args=tuple(args),
    )


def parse_reply(text: str) -> AgiReply:
    """Parse one whole reply (a 520- block joined by newlines); raise the typed error it means."""
    if text.startswith(_RESULT_PREFIX):
        rest = text[len(_RESULT_PREFIX) :]
        if " " not in rest:  # the common case, "200 result=1": no regex
            result, data, extra = rest, None, ""
        else:
            result, _, tail = rest.partition(" ")
            data, extra = _split_data(" " + tail)
        if result == "-1":
            # Also what Asterisk answers for a few failures (STREAM FILE of a missing file):
            # the reply alone cannot tell them apart, and the channel is unusable either way.
            raise AgiHangupError("Asterisk answered result=-1: the channel hung up")
        return AgiReply(200, result, data, extra)
    if text == "HANGUP":
        raise AgiHangupError("Asterisk sent HANGUP: the channel hung up")
    code = text[:3]
    if code in ("510", "511", "520") and text[3:4] in (" ", "-", ""):
        raise AgiCommandError(f"Asterisk refused the command: {text}")
    raise AgiProtocolError(f"not an AGI reply: {text[:80]!r}")


def _split_data(tail: str) -> tuple[str | None, str]:
    match = _DATA_RE.fullmatch(tail)
    if match is not None:
        return match.group(1), match.group(2).strip()
    if tail.startswith(" ("):  # odd words after the data (SPEECH text with spaces), or no ")"
        data, closed, extra = tail[2:].rpartition(")")
        return (data, extra.strip()) if closed else (tail[2:], "")
    return None, tail.strip()


def format_command(verb: str, *args: str | int) -> bytes:
    """Encode one AGI command line, every argument quoted so res_agi's parse_args gives it back."""
    if verb not in _CHECKED_VERBS:
        if not _VERB_RE.fullmatch(verb):
            raise AgiProtocolError(f"not an AGI command verb: {verb[:40]!r}")
        if len(_CHECKED_VERBS) < 256:  # verbs are constants in our code: a small set
            _CHECKED_VERBS.add(verb)
    if verb.count(" ") + 1 + len(args) > MAX_COMMAND_WORDS:
        raise AgiProtocolError(f"{verb} has more than {MAX_COMMAND_WORDS} words")
    quoted = []
    for arg in args:
        text = arg if type(arg) is str else str(arg)
        if "\\" in text or '"' in text:
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        quoted.append(text)
    joined = _BETWEEN_ARGS.join(quoted)
    if "\n" in joined or "\r" in joined or "\0" in joined:
        # The message names the argument, never its value: it may be a caller's number.
        index = next(n for n, text in enumerate(quoted, 1) if _LINE_BREAKERS.search(text))
        raise AgiProtocolError(f"{verb} argument {index} holds CR, LF or NUL")
    try:
        data = (f'{verb} "{joined}"\n' if args else f"{verb}\n").encode()
    except UnicodeEncodeError as exc:
        raise AgiProtocolError(f"{verb} has an argument that is not valid text") from exc
    if len(data) > MAX_COMMAND_BYTES:
        raise AgiProtocolError(f"{verb} is {len(data)} bytes long, {MAX_COMMAND_BYTES} at most")
    return data


DTMF_KEYS = "0123456789*#"


_APP_ARG_SPECIAL = re.compile(r'[\\,|"()\[\]{}]')


def app_arg_escape(value: str) -> str:
    """A value as one dialplan application argument: a backslash before each character Asterisk's argument splitter
    (ast_app_separate_args) treats as syntax, which it removes again, keeping the character."""
    return _APP_ARG_SPECIAL.sub(lambda match: "\\" + match.group(), value)


class AgiCommands:
    """The AGI commands a handler uses, built on command(): a session, or a test's in-memory fake."""

    __slots__ = ()

    async def command(self, verb: str, *args: str | int) -> AgiReply:
        raise NotImplementedError

    async def last_command(self, verb: str, *args: str | int) -> None:
        """The handler's final command: a live session sends it and ends at once, without waiting for the reply
        (Asterisk runs it, then reads our end of the connection and moves on in the dialplan). Here: command()."""
        await self.command(verb, *args)

    async def answer(self) -> AgiReply:
        return await self.command("ANSWER")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def set_variables(self, values: Mapping[str, str], *, last: bool = False) -> None:
        """Set several channel variables in one round trip (MSet, Asterisk 13.8 and later), else SET VARIABLE.

        One command instead of one per variable: each round trip is two wake-ups of two processes, the largest part
        of the time from the AGI request to the operator's Dial. MSet splits its arguments as every application does
        (commas, '|', quotes, brackets), so each value's special characters are escaped with a backslash.
        `last`: the handler's final command, sent without waiting for its reply (see last_command).
        """
        if len(values) == 1:
            [(name, value)] = values.items()
            command: tuple[str, ...] = ("SET VARIABLE", name, value)
        else:
            command = ("EXEC", "MSet", ",".join(f"{name}={app_arg_escape(value)}" for name, value in values.items()))
        if last:
            await self.last_command(*command)
            return
        reply = await self.command(*command)
        if command[0] == "EXEC" and reply.result == "-2":
            raise AgiCommandError("Asterisk has no application 'MSet'")

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None when it is not set (Asterisk cuts it at 1023 characters)."""
        reply = await self.command("GET VARIABLE", name)
        return (reply.data or "") if reply.result == "1" else None

    async def exec_app(self, app: str, *args: str) -> AgiReply:
        """Run a dialplan application; Asterisk takes its arguments as one string, joined here with commas.

        Asterisk evaluates that string only if the channel has AGIEXECFULL=yes: never set it, or a
        caller-supplied "${SHELL(...)}" would run.
        """
        reply = await self.command("EXEC", app, ",".join(args))
        if reply.result == "-2":
            raise AgiCommandError(f"Asterisk has no application {app!r}")
        return reply

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        """Play `prompt` (sound names joined by '&'), any key cutting it short, and collect up to `max_digits` keys,
        each within `timeout_ms`: "" when none came. (AGI's own GET DATA plays one file only.)"""
        keys = ""
        for sound in prompt.split("&"):
            reply = await self.stream_file(sound, DTMF_KEYS)
            if reply.result not in ("", "0"):
                keys += chr(int(reply.result))
                break
        while len(keys) < max_digits:
            reply = await self.command("WAIT FOR DIGIT", timeout_ms)
            if reply.result in ("", "0"):
                break
            keys += chr(int(reply.result))
        return keys

    async def stream_file(self, name: str, escape_digits: str = "") -> AgiReply:
        return await self.command("STREAM FILE", name, escape_digits)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, level)

    async def hangup(self) -> None:
        await self.command("HANGUP")

    async def set_context(self, context: str) -> None:
        await self.command("SET CONTEXT", context)

    async def set_extension(self, extension: str) -> None:
        await self.command("SET EXTENSION", extension)

    async def set_priority(self, priority: int | str) -> None:
        await self.command("SET PRIORITY", priority)

    async def goto(self, context: str, extension: str, priority: int | str = 1) -> None:
        """Where the dialplan goes on once this AGI returns (AGI has no GOTO of its own)."""
        await self.set_context(context)
        await self.set_extension(extension)
        await self.set_priority(priority)


class ReplyReader:
    """Cut the bytes Asterisk sends after the header into whole replies (a 520- block is one)."""

    __slots__ = ("_block", "_buffer")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._block: list[str] = []  # lines of a "520-" usage block still open

    def feed(self, data: bytes) -> list[str]:
        """Take bytes as they come; return the replies they complete (often none, usually one)."""
        # Fast path: exactly one whole line, as almost every read is.
        if (
            not self._buffer
            and not self._block
            and data
            and data.find(b"\n") == len(data) - 1
            and not data.startswith(b"520-")
        ):
            return [data[:-1].decode("utf-8", "replace").removesuffix("\r")]
        self._buffer += data
        replies: list[str] = []
        start = 0
        buffer = self._buffer
        while (end := buffer.find(b"\n", start)) >= 0:
            line = buffer[start:end].decode("utf-8", "replace").removesuffix("\r")
            start = end + 1
            reply = self._take_line(line)
            if reply is not None:
                replies.append(reply)
        del buffer[:start]
        if len(buffer) + sum(map(len, self._block)) > MAX_REPLY_BYTES:
            raise AgiProtocolError(f"an AGI reply is longer than {MAX_REPLY_BYTES} bytes")
        return replies

    def _take_line(self, line: str) -> str | None:
        if self._block:
            self._block.append(line)
            if not line.startswith("520 "):
                return None
            reply = "\n".join(self._block)
            self._block = []
            return reply
        if line.startswith("520-"):
            self._block.append(line)
            return None
        return line
