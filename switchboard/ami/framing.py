"""The AMI wire format: an incremental parser for the bytes Asterisk sends, and the serializer for our actions.
Pure code, no I/O: the client feeds the parser what it reads and writes what ``serialize_action`` returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from switchboard.errors import AmiProtocolError, UnsafeHeaderError

DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024
ENCODING = "utf-8"
ENCODING_ERRORS = "surrogateescape"

MessageKind = Literal["event", "response", "other"]
Headers = Mapping[str, str | int | Sequence[str | int]]


@dataclass(frozen=True, slots=True)
class AmiMessage(Mapping[str, str]):
    """One AMI message, immutable: its (key, value) pairs in wire order, repeated keys included.

    As a Mapping it ignores the case of keys (``ActionID`` and ``ActionId`` both occur) and gives the first value
    of a key; ``get_all`` gives every value of a key (``ChanVariable``, ``Output``), ``headers`` every pair.
    """

    headers: tuple[tuple[str, str], ...]
    _index: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _keys: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        headers = tuple((str(k), str(v)) for k, v in self.headers)
        index: dict[str, list[str]] = {}
        keys: list[str] = []
        for key, value in headers:
            if key.lower() not in index:
                keys.append(key)
            index.setdefault(key.lower(), []).append(value)
        # frozen: set once, here, never changed afterwards
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})
        object.__setattr__(self, "_keys", tuple(keys))

    @classmethod
    def of(cls, *pairs: tuple[str, str]) -> AmiMessage:
        """Build a message from (key, value) pairs, in order (handy in tests and fakes)."""
        return cls(tuple(pairs))

    def __getitem__(self, key: str) -> str:
        values = self._index.get(key.lower())
        if not values:
            raise KeyError(key)
        return values[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def get_all(self, key: str) -> tuple[str, ...]:
        """Every value of ``key`` (any case), in wire order; empty if it is absent."""
        return self._index.get(key.lower(), ())

    @property
    def kind(self) -> MessageKind:
        """From the FIRST header: an OriginateResponse event has a Response key too."""
        first = self.headers[0][0].lower() if self.headers else ""
        if first == "response":
            return "response"
        if first == "event":
            return "event"
        return "other"

    @property
    def name(self) -> str:
        """The Event or Response value ("" for any other message)."""
        return self.headers[0][1] if self.kind != "other" else ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")


class AmiParser:
    """Turns the AMI byte stream into messages, whatever the chunking of the reads.

    Framing: lines are split on bytes before decoding. A message ends at its first empty line; lines end in CRLF
    or a bare LF, so the ``\\r\\n\\n`` endings some Asterisk versions sent end a message too, and empty lines
    between messages are skipped. The first line of the stream, if it is not a header
    (``Asterisk Call Manager/5.0.1``), is the banner: see ``banner``.

    Text: UTF-8 with ``errors="surrogateescape"``. A byte that is not UTF-8 (a Latin-1 caller name from a trunk)
    never crashes the parser nor loses the message, and is kept exactly: ``value.encode("utf-8",
    "surrogateescape")`` gives the bytes back, and ``serialize_action`` encodes the same way, so a channel name read
    from an event goes back out in a ``Hangup`` byte for byte. Code that hands such a value to a strict UTF-8 sink
    (Redis, JSON) re-encodes it with ``errors="replace"``.

    A line without ``": "`` inside a message (raw output of an old ``Response: Follows``) is kept, in order, under
    the empty key: ``msg.get_all("")``.

    Size: a message over ``max_message_size`` bytes (its lines with their endings) raises ``AmiProtocolError``.
    The stream is then out of step, so every later ``feed`` raises too and the caller drops the connection. Messages
    completed before the oversized one in the same chunk are returned first; the error comes with the next ``feed``.
    """

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.banner: str | None = None
        self._max = max_message_size
        self._buf = bytearray()
        # _buf[:_scanned] holds no LF: a 1 MB value read in small chunks is scanned once
        self._scanned = 0
        self._lines: list[tuple[str, str]] = []
        self._size = 0  # bytes of the message being read, line endings included
        self._stream_start = True
        self._failed: str | None = None

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Consume ``data``; return the messages it completed, in order."""
        if self._failed is not None:
            raise AmiProtocolError(self._failed)
        self._buf += data
        out: list[AmiMessage] = []
        buf, start, search_from = self._buf, 0, self._scanned
        while (end := buf.find(b"\n", search_from)) >= 0:
            if not self._take_line(bytes(buf[start:end]), end + 1 - start, out):
                return self._fail(out)
            start = search_from = end + 1
        del buf[:start]
        self._scanned = len(buf)
        # a CR at the very end may be the start of the empty line: not the message's
        partial = len(buf) - 1 if buf.endswith(b"\r") else len(buf)
        if self._size + partial > self._max:
            return self._fail(out)
        return out

    def _take_line(self, line: bytes, size: int, out: list[AmiMessage]) -> bool:
        """Add one line to the message being read; False if it got too large."""
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            if self._lines:
                out.append(AmiMessage(tuple(self._lines)))
                self._lines, self._size = [], 0
            return True
        text = line.decode(ENCODING, ENCODING_ERRORS)
        key, sep, value = text.partition(": ")
        if self._stream_start:
            self._stream_start = False
            if not sep:
                self.banner = text
                return True
        self._size += size
        self._lines.append((key, value) if sep else ("", text))
        return self._size <= self._max

    def _fail(self, out: list[AmiMessage]) -> list[AmiMessage]:
        self._failed = f"AMI message larger than {self._max} bytes: stream dropped"
        self._buf.clear()
        self._lines, self._size = [], 0
        if out:
            return out
        raise AmiProtocolError(self._failed)


def serialize_action(name: str, headers: Headers, action_id: str) -> bytes:
    """The bytes of one action: Action, ActionID, then the headers in order.

    A sequence value repeats its key (Originate's ``Variable``); other values are str()'d. Raises
    ``UnsafeHeaderError`` before producing anything if a key or value holds CR or LF, a key is empty or holds ":",
    or ``headers`` sets ``Action`` or ``ActionID`` (the client owns those: it matches answers on them).
    """
    lines = [_header_line("Action", name), _header_line("ActionID", action_id)]
    for key, value in headers.items():
        if key.lower() in ("action", "actionid"):
            raise UnsafeHeaderError(f"header {key!r} is the client's to set")
        for item in _values(key, value):
            lines.append(_header_line(key, item))
    lines.append(b"\r\n")
    return b"".join(lines)


def _values(key: str, value: object) -> list[str]:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"header {key!r}: pass text, not bytes")
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    return [str(value)]


def _header_line(key: str, value: str) -> bytes:
    if not key or ":" in key or "\r" in key or "\n" in key:
        raise UnsafeHeaderError(f"unsafe AMI header name {key!r}")
    if "\r" in value or "\n" in value:
        # the value is not echoed: it may be a secret, or what someone tried to inject
        raise UnsafeHeaderError(f"AMI header {key!r} has a CR or LF in its value")
    try:
        return f"{key}: {value}\r\n".encode(ENCODING, ENCODING_ERRORS)
    except UnicodeEncodeError as exc:
        reason = f"AMI header {key!r} cannot be encoded: {exc.reason}"
        raise UnsafeHeaderError(reason) from None
