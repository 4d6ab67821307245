"""Our asyncio FastAGI server: Asterisk connects, sends its request header, and a handler drives the call.

One asyncio.Protocol per connection, so a slow, silent or hostile peer only ever holds its own socket.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from agi_scripts.protocol import (
    AgiReply,
    AgiRequest,
    ReplyReader,
    format_command,
    parse_reply,
    parse_request,
)
from switchboard.errors import (
    AgiCommandError,
    AgiError,
    AgiHangupError,
    AgiProtocolError,
)

logger = logging.getLogger("switchboard.agi")

Handler = Callable[["AgiSession"], Awaitable[None]]

# Asterisk ends the header with a blank line and writes bare "\n"; a hand-made client may use "\r\n".
_HEADER_END = re.compile(rb"\r?\n\r?\n")
# Bounds the fail-extension redirect when the server stops, so stop() never hangs on a dead peer.
_STOP_REDIRECT_TIMEOUT = 2.0
# Phone numbers are long digit runs; Python line numbers and ports are short ones.
_LONG_DIGITS = re.compile(r"\d{6,}")


@dataclass(slots=True)
class AgiStats:
    """Counters since the server was made."""

    sessions_total: int = (
        0  # requests parsed and given to a handler or the fail extension
    )
    sessions_failed: int = (
        0  # handler error, unknown script or too busy: sent to the fail extension
    )
    protocol_errors: int = (
        0  # garbage, oversized or slow headers, bad or missing replies
    )


def mask_number(number: str) -> str:
    """Hide all digits but the last two: enough to match a complaint, not to call the person back."""
    digits = sum(ch.isdigit() for ch in number)
    masked, seen = [], 0
    for ch in number:
        if ch.isdigit():
            seen += 1
            ch = ch if seen > digits - 2 else "*"
        masked.append(ch)
    return "".join(masked)


class AgiSession:
    """One call's AGI conversation: one command at a time, each answered by exactly one reply."""

    __slots__ = ("_connection", "request")

    def __init__(self, request: AgiRequest, connection: _AgiConnection) -> None:
        self.request = request
        self._connection = connection

    async def command(self, verb: str, *args: str | int) -> AgiReply:
        """Send one command; HANGUP or result=-1 raise AgiHangupError, 510/511/520 AgiCommandError."""
        return parse_reply(await self._connection.exchange(format_command(verb, *args)))

    async def answer(self) -> AgiReply:
        return await self.command("ANSWER")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None when it is not set."""
        reply = await self.command("GET VARIABLE", name)
        return (reply.data or "") if reply.result == "1" else None

    async def exec_app(self, app: str, *args: str) -> AgiReply:
        """Run a dialplan application; its arguments are joined with commas into one option string.

        Asterisk passes EXEC only that one string, unevaluated unless the channel has AGIEXECFULL=yes:
        never set that variable, or a caller-supplied "${SHELL(...)}" would be run.
        """
        reply = await self.command("EXEC", app, ",".join(args))
        if reply.result == "-2":
            raise AgiCommandError(f"Asterisk has no application {app!r}")
        return reply

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
        """Where the dialplan goes on when this AGI returns (AGI has no GOTO of its own)."""
        await self.set_context(context)
        await self.set_extension(extension)
        await self.set_priority(priority)


class FastAgiServer:
    """Accepts Asterisk's FastAGI connections and runs the handler registered for each script."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        *,
        header_limit: int = 16384,
        header_timeout: float = 5.0,
        command_timeout: float = 30.0,
        fail_context: str = "switchboard-fail",
        fail_extension: str = "s",
        max_sessions: int = 1000,
    ) -> None:
        self.handlers = dict(handlers)
        self.header_limit = header_limit
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self.fail_context = fail_context
        self.fail_extension = fail_extension
        self.max_sessions = max_sessions
        self.stats = AgiStats()
        self.running_handlers = 0
        self.stopping = False
        self.connections: set[_AgiConnection] = set()
        self._listener: asyncio.Server | None = None
        self._drained: asyncio.Event | None = None

    @property
    def active_sessions(self) -> int:
        """Connections open right now, whatever their phase: 0 when no call is in an AGI."""
        return len(self.connections)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen, and return the address actually bound (port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        self.stopping = False
        self._listener = await loop.create_server(
            functools.partial(_AgiConnection, self), host, port, backlog=1024
        )
        bound = self._listener.sockets[0].getsockname()
        return bound[0], bound[1]

    async def stop(self) -> None:
        """Stop listening; send calls still in a handler to the fail extension; close everything."""
        self.stopping = True
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        tasks = [conn.task for conn in self.connections if conn.task is not None]
        for conn in list(self.connections):
            conn.stop()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.connections:
            self._drained = asyncio.Event()
            for conn in list(self.connections):
                conn.abort()
            try:
                await asyncio.wait_for(self._drained.wait(), timeout=1.0)
            except TimeoutError:
                logger.warning(
                    "%d AGI connections still open after stop", len(self.connections)
                )
        if listener is not None:
            # Last: from Python 3.12 on, wait_closed() also waits for every connection to close.
            await listener.wait_closed()

    def connection_closed(self, connection: _AgiConnection) -> None:
        self.connections.discard(connection)
        if self._drained is not None and not self.connections:
            self._drained.set()


class _AgiConnection(asyncio.Protocol):
    """One Asterisk connection: header bytes, then command replies handed to the waiting command."""

    __slots__ = (
        "_failure",
        "_header",
        "_loop",
        "_owed",
        "_reader",
        "_server",
        "_timeout",
        "_timer",
        "_transport",
        "_waiter",
        "task",
    )

    def __init__(self, server: FastAgiServer) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._header = bytearray()
        self._timer: asyncio.TimerHandle | None = None
        self._reader: ReplyReader | None = None  # set once the header is in
        self._waiter: asyncio.Future[str] | None = None
        self._owed = 0  # replies still due to commands whose caller went away
        self._failure: AgiError | None = None  # set once no more commands can be sent
        self._timeout = server.command_timeout
        self.task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections.add(self)
        if self._server.stopping:
            transport.close()
            return
        self._timer = self._loop.call_later(
            self._server.header_timeout, self._header_timed_out
        )

    def data_received(self, data: bytes) -> None:
        if self._reader is None:
            self._header_received(data)
            return
        try:
            replies = self._reader.feed(data)
        except AgiProtocolError as exc:
            self._protocol_error(exc)
            return
        for text in replies:
            self._reply_received(text)

    def eof_received(self) -> bool:
        if self._reader is None and self._header:
            self._protocol_error(
                AgiProtocolError("connection closed in the middle of the header")
            )
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._fail(AgiHangupError("Asterisk closed the AGI connection"))
        self._server.connection_closed(self)

    # -- the header -------------------------------------------------------------------------------

    def _header_received(self, data: bytes) -> None:
        header = self._header
        start = max(len(header) - 3, 0)  # the blank line may straddle two reads
        header += data
        end = _HEADER_END.search(header, start)
        limit = self._server.header_limit
        if end is None or end.end() > limit:
            if len(header) > limit:
                self._protocol_error(
                    AgiProtocolError(f"AGI header longer than {limit} bytes")
                )
            return
        assert self._timer is not None
        self._timer.cancel()
        try:
            request = parse_request(bytes(header[: end.start()]))
        except AgiProtocolError as exc:
            self._protocol_error(exc)
            return
        rest = bytes(header[end.end() :])
        self._header = bytearray()
        self._reader = ReplyReader()
        self._server.stats.sessions_total += 1
        self.task = self._loop.create_task(self._serve(request))
        if rest:  # a HANGUP can follow the header at once
            self.data_received(rest)

    def _header_timed_out(self) -> None:
        limit = self._server.header_timeout
        self._protocol_error(
            AgiProtocolError(f"no complete AGI header within {limit}s")
        )

    # -- commands and replies ---------------------------------------------------------------------

    async def exchange(self, line: bytes) -> str:
        """Write one command line and wait for its reply, as text."""
        if self._failure is not None:
            raise type(self._failure)(*self._failure.args)
        if self._waiter is not None:
            raise RuntimeError("an AGI session runs one command at a time")
        assert self._transport is not None
        waiter: asyncio.Future[str] = self._loop.create_future()
        self._waiter = waiter
        self._transport.write(line)
        timer = self._loop.call_later(self._timeout, self._reply_timed_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None
            if waiter.cancelled():  # its reply still comes, ahead of the next one's
                self._owed += 1

    def _reply_received(self, text: str) -> None:
        if text == "HANGUP":  # unsolicited, between or before replies
            self._fail(AgiHangupError("Asterisk sent HANGUP: the channel hung up"))
        elif self._owed:
            self._owed -= 1
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(text)
        elif self._failure is None:
            self._protocol_error(
                AgiProtocolError(f"a reply came to no command: {text[:40]!r}")
            )

    def _reply_timed_out(self, waiter: asyncio.Future[str]) -> None:
        if not waiter.done():
            # The late reply would be taken for the next command's: this connection is done.
            self._protocol_error(
                AgiProtocolError(f"no reply from Asterisk within {self._timeout}s")
            )

    def _fail(self, error: AgiError) -> None:
        """No more commands on this connection; the one waiting, if any, gets the error."""
        if self._failure is None:
            self._failure = error
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def _protocol_error(self, error: AgiProtocolError) -> None:
        if self._failure is None:
            self._server.stats.protocol_errors += 1
            peer = (
                self._transport.get_extra_info("peername") if self._transport else None
            )
            logger.warning("closing AGI connection from %s: %s", peer, error)
        self._fail(error)
        self.close()

    # -- the handler ------------------------------------------------------------------------------

    async def _serve(self, request: AgiRequest) -> None:
        server = self._server
        server.running_handlers += 1
        session = AgiSession(request, self)
        try:
            handler = server.handlers.get(request.script)
            if handler is None or server.running_handlers > server.max_sessions:
                server.stats.sessions_failed += 1
                why = "no handler for it" if handler is None else "too many sessions"
                logger.warning(
                    "AGI %r on call %s: %s", request.script, request.uniqueid, why
                )
                await self._send_to_fail(session)
            else:
                await handler(session)
        except AgiHangupError:
            pass  # the caller is gone: nothing to say, nobody to say it to
        except asyncio.CancelledError:
            self._timeout = min(self._timeout, _STOP_REDIRECT_TIMEOUT)
            await self._send_to_fail(session)
            raise
        except Exception as exc:  # noqa: BLE001 -- any failure: the caller must hear a message
            server.stats.sessions_failed += 1
            _log_handler_error(request, exc)
            await self._send_to_fail(session)
        finally:
            server.running_handlers -= 1
            self.close()

    async def _send_to_fail(self, session: AgiSession) -> None:
        """Point the dialplan at the fail extension, so the caller hears a message, not dead air."""
        server = self._server
        try:
            await session.goto(server.fail_context, server.fail_extension, 1)
        except AgiHangupError:
            pass
        except AgiError as exc:
            uniqueid = session.request.uniqueid
            logger.warning(
                "could not send call %s to the fail extension: %s", uniqueid, exc
            )

    # -- closing ----------------------------------------------------------------------------------

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def stop(self) -> None:
        """The server stops: cancel the handler (it redirects the call), or drop a bare header."""
        if self.task is not None:
            self.task.cancel()
        else:
            self.close()


def _log_handler_error(request: AgiRequest, exc: BaseException) -> None:
    # Tracebacks quote values, and values can be phone numbers: mask every long digit run.
    trace = "".join(traceback.format_exception(exc))
    trace = _LONG_DIGITS.sub(lambda match: mask_number(match.group()), trace)
    logger.error(
        "AGI %r failed on call %s from %s, sent to the fail extension:\n%s",
        request.script,
        request.uniqueid,
        mask_number(request.callerid),
        trace.rstrip(),
    )
