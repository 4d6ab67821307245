"""A small, honest AMI server for unit tests: a real asyncio TCP server on 127.0.0.1, port 0.

It speaks the text protocol as Asterisk 16 does (banner, Login, Ping, Logoff, a list action)
and records every action it received, per connection, so tests assert on what hit the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

BANNER = b"Asterisk Call Manager/5.0.1\r\n"
Pair = tuple[str, str]


@dataclass(frozen=True)
class ReceivedAction:
    """One action as the server read it, parsed independently of the client's parser."""

    connection: int  # 1 for the first connection, 2 after a reconnect...
    headers: tuple[Pair, ...]

    def get(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.headers if k.lower() == key.lower()), default)

    @property
    def name(self) -> str:
        return self.get("Action")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")


Handler = Callable[["FakeConnection", ReceivedAction], Awaitable[None] | None]


def encode(pairs: tuple[Pair, ...], eol: bytes = b"\r\n", end: bytes = b"\r\n") -> bytes:
    """One message on the wire: each line ends in ``eol``, the message in ``end``."""
    lines = (f"{k}: {v}".encode("utf-8", "surrogateescape") + eol for k, v in pairs)
    return b"".join(lines) + end


class FakeConnection:
    """The server's side of one client connection."""

    def __init__(self, server: FakeAmi, number: int, writer: asyncio.StreamWriter) -> None:
        self.server, self.number, self.writer = server, number, writer
        self.raw = bytearray()  # every byte the client sent on this connection
        self.logged_in = False

    def send(self, *pairs: Pair) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(pairs, self.server.eol, self.server.end))

    def respond(self, action: ReceivedAction, response: str, *pairs: Pair) -> None:
        self.send(("Response", response), ("ActionID", action.action_id), *pairs)

    def event(self, name: str, *pairs: Pair) -> None:
        self.send(("Event", name), ("Privilege", "call,all"), *pairs)

    def drop(self) -> None:
        """Cut the connection at once, as a crashed Asterisk would."""
        self.writer.transport.abort()


class FakeAmi:
    """The server: ``handlers`` (by lowercase action name) override the built-in answers."""

    def __init__(self, username: str = "switchboard", secret: str = "s3cret", *, end: bytes = b"\r\n") -> None:
        self.username, self.secret = username, secret
        self.eol, self.end = b"\r\n", end
        self.handlers: dict[str, Handler] = {}
        self.actions: list[ReceivedAction] = []
        self.connections: list[FakeConnection] = []
        self.channels = ["PJSIP/op1-00000001", "PJSIP/op2-00000002"]
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for conn in self.connections:
            conn.drop()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def named(self, name: str) -> list[ReceivedAction]:
        return [a for a in self.actions if a.name.lower() == name.lower()]

    async def wait_until(self, check: Callable[[], object], timeout: float = 2.0) -> None:
        """Wait until ``check()`` holds, re-checking whenever an action or connection came."""
        deadline = time.monotonic() + timeout
        while not check():
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("fake AMI: condition not met in time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.05))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = FakeConnection(self, len(self.connections) + 1, writer)
        self.connections.append(conn)
        self._changed.set()
        writer.write(BANNER)
        buffer = b""
        try:
            while data := await reader.read(65536):
                conn.raw += data
                buffer += data
                while b"\r\n\r\n" in buffer:
                    block, buffer = buffer.split(b"\r\n\r\n", 1)
                    await self._handle(conn, _parse(conn.number, block))
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()

    async def _handle(self, conn: FakeConnection, action: ReceivedAction) -> None:
        self.actions.append(action)
        self._changed.set()
        handler = self.handlers.get(action.name.lower()) or _BUILT_IN.get(action.name.lower())
        if handler is None:
            conn.respond(action, "Error", ("Message", "Invalid/unknown command"))
            return
        result = handler(conn, action)
        if inspect.isawaitable(result):
            await result


def _parse(number: int, block: bytes) -> ReceivedAction:
    lines = block.decode("utf-8", "surrogateescape").split("\r\n")
    parts = (line.partition(": ") for line in lines)
    return ReceivedAction(number, tuple((key, value) for key, _, value in parts))


def _login(conn: FakeConnection, action: ReceivedAction) -> None:
    server = conn.server
    if action.get("Username") != server.username or action.get("Secret") != server.secret:
        conn.respond(action, "Error", ("Message", "Authentication failed"))
        conn.writer.close()  # Asterisk hangs up after a failed login
        return
    conn.logged_in = True
    conn.respond(action, "Success", ("Message", "Authentication accepted"))
    conn.send(("Event", "FullyBooted"), ("Privilege", "system,all"), ("Status", "Fully Booted"))


def _ping(conn: FakeConnection, action: ReceivedAction) -> None:
    conn.respond(action, "Success", ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))


def _logoff(conn: FakeConnection, action: ReceivedAction) -> None:
    conn.respond(action, "Goodbye", ("Message", "Thanks for all the fish."))
    conn.writer.close()


def _core_show_channels(conn: FakeConnection, action: ReceivedAction) -> None:
    action_id = ("ActionID", action.action_id)
    conn.respond(action, "Success", ("EventList", "start"), ("Message", "Channels will follow"))
    for channel in conn.server.channels:
        conn.send(("Event", "CoreShowChannel"), action_id, ("Channel", channel))
    count = str(len(conn.server.channels))
    conn.send(
        ("Event", "CoreShowChannelsComplete"),
        action_id,
        ("EventList", "Complete"),
        ("ListItems", count),
    )


_BUILT_IN: dict[str, Handler] = {
    "login": _login,
    "ping": _ping,
    "logoff": _logoff,
    "coreshowchannels": _core_show_channels,
}
