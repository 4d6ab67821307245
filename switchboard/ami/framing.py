"""The AMI wire format: an incremental parser for what Asterisk sends, a serializer for what we send.

Pure code, no I/O: the client feeds the parser the bytes it reads and writes the bytes the serializer returns.

Text choice: bytes are decoded as UTF-8 with ``errors="surrogateescape"``. A byte that is not UTF-8 (a Latin-1
caller name from a trunk, say) never crashes the parser nor drops the message, and the decoding is lossless:
``value.encode("utf-8", "surrogateescape")`` gives back the exact bytes, and ``serialize_action`` encodes the same
way, so a channel name read from an event can be sent back in a ``Hangup`` byte for byte. Code that hands such a
value to a strict UTF-8 sink (Redis, a JSON API) must re-encode it with ``errors="replace"`` first.

Lines without ``": "``: a message line that holds no ``": "`` (the raw output of an old ``Response: Follows``) is
kept under the empty key ``""``, in order: ``msg.get_all("")`` returns those lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

from switchboard.errors import AmiError, UnsafeHeaderError

DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024
ENCODING = "utf-8"
ENCODING_ERRORS = "surrogateescape"

MessageKind = Literal["event", "response", "other"]
Headers = Mapping[str, str | int | Sequence[str | int]]


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI message: its (key, value) pairs in wire order, keys repeated as Asterisk sent them.

    Lookups ignore the case of keys (Asterisk is not consistent: ``ActionID`` and ``ActionId`` both occur).
    """

    headers: tuple[tuple[str, str], ...]
    _index: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        headers = tuple((str(k), str(v)) for k, v in self.headers)
        index: dict[str, list[str]] = {}
        for key, value in headers:
            index.setdefault(key.lower(), []).append(value)
        # frozen: the tuple and the index are set once, here, and never change afterwards
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})

    @classmethod
    def of(cls, *pairs: tuple[str, str]) -> AmiMessage:
        """Build a message from (key, value) pairs, in order (handy in tests and fakes)."""
        return cls(tuple(pairs))

    def __getitem__(self, key: str) -> str:
        values = self._index.get(key.lower())
        if not values:
            raise KeyError(key)
        return values[0]

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (any case), or ``default``."""
        values = self._index.get(key.lower())
        return values[0] if values else default

    def get_all(self, key: str) -> tuple[str, ...]:
        """Every value of ``key`` (any case), in wire order; empty if the key is absent."""
        return self._index.get(key.lower(), ())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __len__(self) -> int:
        return len(self.headers)

    @property
    def kind(self) -> MessageKind:
        """Response or event, from the FIRST header (an OriginateResponse event has a Response key too)."""
        if not self.headers:
            return "other"
        first = self.headers[0][0].lower()
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

    A message ends at its first empty line; lines end in CRLF or a bare LF, so the ``\\r\\n\\n`` endings some
    Asterisk versions send end the message, and stray empty lines between messages are skipped. The first line
    of the stream, if it is not a header (``Asterisk Call Manager/5.0.1``), is the banner: see ``banner``.
    A message over ``max_message_size`` bytes (its lines and their endings) raises ``AmiError``: the stream is
    then out of step and the parser refuses any further data; the caller drops the connection. Messages that
    completed before the oversized one in the same chunk are returned first, the error comes on the next feed.
    """

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.banner: str | None = None
        self._max = max_message_size
        self._buf = bytearray()
        self._scanned = 0  # _buf[:_scanned] holds no LF: never search those bytes again (1 MB values, small reads)
        self._lines: list[tuple[str, str]] = []
        self._size = 0  # bytes of the message being read, line endings included
        self._stream_start = True
        self._failed: str | None = None

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Consume ``data``; return the messages it completed, in order."""
        if self._failed is not None:
            raise AmiError(self._failed)
        self._buf += data
        out: list[AmiMessage] = []
        buf, start, search_from = self._buf, 0, self._scanned
        while (end := buf.find(b"\n", search_from)) >= 0:
            if not self._take_line(bytes(buf[start:end]), end + 1 - start, out):
                return self._fail(out)
            start = search_from = end + 1
        del buf[:start]
        self._scanned = len(buf)
        partial = (
            len(buf) - 1 if buf.endswith(b"\r") else len(buf)
        )  # a lone CR may start the empty line
        if self._size + partial > self._max:
            return self._fail(out)
        return out

    def _take_line(self, line: bytes, size: int, out: list[AmiMessage]) -> bool:
        """Add one line to the message being read; False if the message got too large."""
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
        raise AmiError(self._failed)


def serialize_action(name: str, headers: Headers, action_id: str) -> bytes:
    """The bytes of one action: ``Action``, ``ActionID``, the headers (a sequence value repeats its key).

    Raises ``UnsafeHeaderError`` before producing anything if a key or value holds CR or LF, a key is empty or
    holds ":", or ``headers`` tries to set ``Action``/``ActionID`` (the client owns those: it matches on them).
    """
    lines = [_header_line("Action", name), _header_line("ActionID", action_id)]
    for key, value in headers.items():
        if key.lower() in ("action", "actionid"):
            raise UnsafeHeaderError(
                f"header {key!r} is set by the client, not by the caller"
            )
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
        # the value is not echoed: it may hold a secret, and it is what a caller tried to inject
        raise UnsafeHeaderError(f"AMI header {key!r} has a CR or LF in its value")
    try:
        return f"{key}: {value}\r\n".encode(ENCODING, ENCODING_ERRORS)
    except UnicodeEncodeError as exc:
        raise UnsafeHeaderError(
            f"AMI header {key!r} cannot be encoded: {exc.reason}"
        ) from None
