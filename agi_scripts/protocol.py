"""The FastAGI wire format as pure functions: the request header, command replies, quoted commands.

No I/O here: agi_scripts.server feeds the bytes it reads in and writes the bytes given back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
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


@dataclass(frozen=True, slots=True)
class AgiReply:
    """A 200 answer: result is text (GET DATA digits keep their leading zeros), data the (...) part."""

    code: int
    result: str
    data: str | None = None
    extra: str = ""  # what follows the data, e.g. "endpos=1234"


def parse_request(block: bytes) -> AgiRequest:
    """Parse the header block ("agi_key: value" lines up to the blank line) into an AgiRequest."""
    # Caller names come in whatever charset the trunk used: never fail a call over a byte.
    env: dict[str, str] = {}
    for number, line in enumerate(block.decode("utf-8", "replace").split("\n"), 1):
        line = line.removesuffix("\r")
        if not line:
            continue
        key, sep, value = line.partition(":")
        if (
            not sep
            or not key.startswith("agi_")
            or not (key.isascii() and key.isidentifier())
        ):
            raise AgiProtocolError(
                f"line {number} of the AGI request is not an agi_* header"
            )
        # Asterisk writes "agi_key: %s": drop exactly that one space, keep the value as it is.
        env[key] = value[1:] if value[:1] == " " else value
    if "agi_request" not in env:
        raise AgiProtocolError("the AGI request has no agi_request line")
    return request_from_env(env)


def request_from_env(env: Mapping[str, str]) -> AgiRequest:
    """Build an AgiRequest from agi_* values already split into a mapping."""
    # agi_network_script is what followed host[:port]/ in the dialplan's AGI(agi://...) URL.
    location = env.get("agi_network_script")
    if location is None:
        url = urlsplit(env.get("agi_request", ""))
        path, query = url.path, url.query
    else:
        path, _, query = location.partition("?")
    numbered = [
        (int(key[8:]), value)
        for key, value in env.items()
        if key.startswith("agi_arg_") and key[8:].isdigit()
    ]
    numbered.sort()
    return AgiRequest(
        env=MappingProxyType(dict(env)),
        script=path.strip("/"),
        query=MappingProxyType(dict(parse_qsl(query, keep_blank_values=True))),
        args=tuple(value for _, value in numbered),
    )


def parse_reply(text: str) -> AgiReply:
    """Parse one whole reply (a 520- block joined by newlines); raise the typed error it means."""
    if text.startswith(_RESULT_PREFIX):
        rest = text[11:]
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
    if tail.startswith(
        " ("
    ):  # odd words after the data (SPEECH text with spaces), or no ")"
        data, closed, extra = tail[2:].rpartition(")")
        return (data, extra.strip()) if closed else (tail[2:], "")
    return None, tail.strip()


def format_command(verb: str, *args: str | int) -> bytes:
    """Encode one AGI command line, every argument quoted so res_agi's parse_args gives it back."""
    if not _VERB_RE.fullmatch(verb):
        raise AgiProtocolError(f"not an AGI command verb: {verb[:40]!r}")
    parts = [verb]
    for index, arg in enumerate(args, 1):
        text = arg if isinstance(arg, str) else str(arg)
        if "\n" in text or "\r" in text or "\0" in text:
            # The message names the argument, never its value: it may be a caller's number.
            raise AgiProtocolError(f"{verb} argument {index} holds CR, LF or NUL")
        if "\\" in text:
            text = text.replace("\\", "\\\\")
        if '"' in text:
            text = text.replace('"', '\\"')
        parts.append(f'"{text}"')
    if verb.count(" ") + 1 + len(args) > MAX_COMMAND_WORDS:
        raise AgiProtocolError(f"{verb} has more than {MAX_COMMAND_WORDS} words")
    parts.append("\n")
    try:
        line = " ".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AgiProtocolError(
            f"{verb} has an argument that is not valid text"
        ) from exc
    if len(line) > MAX_COMMAND_BYTES:
        raise AgiProtocolError(
            f"{verb} is {len(line)} bytes long, {MAX_COMMAND_BYTES} at most"
        )
    return line


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
            raise AgiProtocolError(
                f"an AGI reply is longer than {MAX_REPLY_BYTES} bytes"
            )
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
