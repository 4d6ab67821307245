"""One FastAGI connection: the header read in pieces, then each command's reply handed to the command waiting.

AgiSession is what a handler drives (one command at a time); AgiConnection is its socket, watched by the server's
event loop. The server (agi_scripts.server) accepts the connections and counts them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import socket
import time
import traceback
from collections import deque
from typing import TYPE_CHECKING

from agi_scripts.protocol import (
    AgiCommands,
    AgiReply,
    AgiRequest,
    ReplyReader,
    find_header_end,
    format_command,
    parse_reply,
    parse_request,
)
from switchboard.errors import AgiError, AgiHangupError, AgiProtocolError
from switchboard.privacy import mask_number

if TYPE_CHECKING:
    from agi_scripts.server import FastAgiServer

logger = logging.getLogger("switchboard.agi")

_READ_SIZE = 16384
_STOP_REDIRECT_TIMEOUT = 2.0  # bounds the fail redirect on stop(): it never hangs on a dead peer
_DRAIN_TIMEOUT = 5.0  # after a last command: Asterisk closes its half well within this, else we close ours
# Phone numbers are long digit runs; line numbers and ports in a traceback are short ones.
_LONG_DIGITS = re.compile(r"\d{6,}")
_NEVER = math.inf


class AgiSession(AgiCommands):
    """One call's AGI conversation: one command at a time, each answered by one reply."""

    __slots__ = ("_connection", "request")

    def __init__(self, request: AgiRequest, connection: AgiConnection) -> None:
        self.request = request
        self._connection = connection

    async def command(self, verb: str, *args: str | int) -> AgiReply:
        """Send one command; HANGUP or result=-1 raise AgiHangupError, 510/511/520 AgiCommandError."""
        return parse_reply(await self._connection.send(format_command(verb, *args)))

    async def last_command(self, verb: str, *args: str | int) -> None:
        """Send the handler's final command and end the session without waiting for the reply.

        Our half of the connection is shut right after the command, so Asterisk runs it and at once reads the end
        of the script: the dialplan goes on one round trip sooner (about half a millisecond, most of the route
        script's time on a busy machine). The reply, and whatever follows it, is read and dropped until Asterisk
        closes its half. No command may follow.
        """
        self._connection.send_last(format_command(verb, *args))

    def hangup_future(self) -> asyncio.Future[None]:
        """Done when the channel hangs up, for a handler that waits on something else (a caller in a queue)."""
        return self._connection.hangup_future()


class AgiConnection:
    """One Asterisk connection: header bytes, then replies handed to the waiting command."""

    __slots__ = (
        "_draining", "_error", "_hangup", "_header", "_loop", "_reader", "_server", "_sock", "_timeout", "_waiters",
        "due", "task",
    )  # fmt: skip

    def __init__(self, server: FastAgiServer, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._server, self._sock, self._loop = server, sock, loop
        self._header = bytearray()
        self._reader: ReplyReader | None = None  # set once the header is in
        # Replies come in order; a cancelled command stays here until its reply comes and is skipped.
        self._waiters: deque[asyncio.Future[str]] = deque()
        self._error: AgiError | None = None  # set once no more commands can be sent
        self._hangup: asyncio.Future[None] | None = None  # made on demand by AgiSession.hangup_future
        self._timeout = server.command_timeout
        self._draining = False  # a last command was sent: replies are dropped until Asterisk's end of file
        self.due = time.monotonic() + server.header_timeout
        self.task: asyncio.Task[None] | None = None
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server._watch(self, sock.fileno())
        if server._stopping:
            self.close()

    def readable(self) -> None:
        try:
            data = self._sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # reset by the peer: the same as its end of file here
            data = b""
        if not data:
            if self._reader is None and self._header:
                self._protocol_error(AgiProtocolError("connection closed inside the AGI header"))
            self.close()
        elif self._reader is None:
            self._header_received(data)
        else:
            try:
                replies = self._reader.feed(data)
            except AgiProtocolError as exc:
                self._protocol_error(exc)
                return
            for text in replies:
                self._reply_received(text)

    def _header_received(self, data: bytes) -> None:
        header = self._header
        buffer: bytes | bytearray = data  # the whole header in one read, as Asterisk's usually comes
        start = 0
        if header:  # in pieces: search only the new bytes (and the 3 before), never copy it all
            start = max(len(header) - 3, 0)
            header += data
            buffer = header
        end = find_header_end(buffer, start)
        limit = self._server.header_limit
        if end is None or end[1] > limit:
            if len(buffer) > limit:
                self._protocol_error(AgiProtocolError(f"AGI header over {limit} bytes"))
            elif buffer is data:
                header += data
            return
        block, rest = bytes(buffer[: end[0]]), bytes(buffer[end[1] :])
        header.clear()
        try:
            request = parse_request(block)
        except AgiProtocolError as exc:
            self._protocol_error(exc)
            return
        self.due = _NEVER
        self._reader = ReplyReader()
        self._server.stats.sessions_total += 1
        self.task = self._loop.create_task(self._serve(request))
        if rest:  # a HANGUP can follow the header at once
            for text in self._reader.feed(rest):
                self._reply_received(text)

    def send(self, line: bytes) -> asyncio.Future[str]:
        """Write one command line; the future gets its reply, as text."""
        if self._error is not None:
            raise type(self._error)(*self._error.args)
        if self._waiters and not self._waiters[-1].done():
            raise RuntimeError("an AGI session runs one command at a time")
        try:
            sent = self._sock.send(line)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self.close()
            raise AgiHangupError("Asterisk closed the AGI connection") from exc
        if sent != len(line):
            # One command of 2 KB at most is ever in flight: a socket that cannot take it is a stuck peer.
            self._protocol_error(AgiProtocolError("Asterisk does not read its AGI connection"))
            raise AgiProtocolError("Asterisk does not read its AGI connection")
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        self.due = time.monotonic() + self._timeout
        return waiter

    def _reply_received(self, text: str) -> None:
        if self._draining:
            return  # the last command's reply, or a HANGUP after it: nobody waits for either
        if text == "HANGUP":  # unsolicited: between replies, or before one
            self._fail(AgiHangupError("Asterisk sent HANGUP: the channel hung up"))
        elif self._waiters:
            waiter = self._waiters.popleft()
            if not self._waiters:
                self.due = _NEVER
            if not waiter.done():  # else its command was cancelled, and its reply is skipped
                waiter.set_result(text)
        elif self._error is None:
            self._protocol_error(AgiProtocolError(f"a reply to no command: {text[:40]!r}"))

    def send_last(self, line: bytes) -> None:
        """Write the final command and shut our half of the connection (see AgiSession.last_command)."""
        self.send(line).cancel()  # no one awaits its reply: _reply_received drops it
        self._draining = True
        self._waiters.clear()
        self.due = time.monotonic() + _DRAIN_TIMEOUT
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:  # Asterisk is gone already: its end of file follows (or the drain times out)
            pass

    def _finished(self) -> None:
        """The handler is done: close now, or after Asterisk has read the last command and closed its half."""
        if not self._draining:
            self.close()

    def timed_out(self) -> None:
        if self._draining:
            self.close()  # Asterisk kept the connection open after the script's end: nothing to report
        elif self._reader is None:
            self._protocol_error(AgiProtocolError(f"no whole AGI header in {self._server.header_timeout}s"))
        else:  # a late reply would be taken for the next command's: this connection is done
            self._protocol_error(AgiProtocolError(f"no reply from Asterisk in {self._timeout}s"))

    def hangup_future(self) -> asyncio.Future[None]:
        if self._hangup is None:
            self._hangup = self._loop.create_future()
            if self._error is not None:
                self._hangup.set_result(None)
        return self._hangup

    def _fail(self, error: AgiError) -> None:
        """No more commands on this connection; the command waiting, if any, gets the error."""
        if self._hangup is not None and not self._hangup.done():
            self._hangup.set_result(None)
        if self._error is None:
            self._error = error
        self.due = _NEVER
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(type(error)(*error.args))

    def _protocol_error(self, error: AgiProtocolError) -> None:
        if self._error is None:
            self._server.stats.protocol_errors += 1
            try:
                peer: object = self._sock.getpeername()
            except OSError:
                peer = "a peer already gone"
            logger.warning("closing AGI connection from %s: %s", peer, _redact(str(error)))
        self._fail(error)
        self.close()

    async def _serve(self, request: AgiRequest) -> None:
        server = self._server
        server.running_handlers += 1
        session = AgiSession(request, self)
        try:
            handler = server.handlers.get(request.script)
            if handler is None or server.running_handlers > server.max_sessions:
                server.stats.sessions_failed += 1
                why = "no handler for it" if handler is None else "too many sessions"
                logger.warning("AGI %r on call %s: %s", request.script, request.uniqueid, why)
                await self._send_to_fail(session)
            else:
                await handler(session)
        except AgiHangupError:
            pass  # the caller is gone: nothing to say, nobody to say it to
        except asyncio.CancelledError:  # the server stops
            self._timeout = min(self._timeout, _STOP_REDIRECT_TIMEOUT)
            await self._send_to_fail(session)
            raise
        except Exception as exc:  # whatever failed, the caller must hear a message
            server.stats.sessions_failed += 1
            _log_handler_error(request, exc)
            await self._send_to_fail(session)
        finally:
            server.running_handlers -= 1
            self._finished()

    async def _send_to_fail(self, session: AgiSession) -> None:
        """Point the dialplan at the fail extension, so the caller hears a message, not silence."""
        for waiter in self._waiters:  # a stray command of the handler's: its reply will be skipped
            waiter.cancel()
        server = self._server
        try:
            await session.goto(server.fail_context, server.fail_extension, 1)
        except AgiHangupError:
            pass
        except AgiError as exc:
            logger.warning(
                "could not send call %s to the fail extension: %s", session.request.uniqueid, _redact(str(exc))
            )

    def stop(self) -> None:
        """The server stops: cancel the handler (which redirects the call), or drop a bare connection."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        else:
            self.close()

    def close(self) -> None:
        if (fd := self._sock.fileno()) >= 0:  # -1 once closed
            self._server._unwatch(self, fd)
            self._sock.close()
            self._fail(AgiHangupError("the AGI connection is closed"))


def _redact(text: str) -> str:
    """Mask every long digit run: errors and tracebacks quote values, and a value can be a phone number."""
    return _LONG_DIGITS.sub(lambda match: mask_number(match.group()), text)


def _log_handler_error(request: AgiRequest, exc: BaseException) -> None:
    trace = _redact("".join(traceback.format_exception(exc)))
    logger.error(
        "AGI %r failed on call %s from %s, sent to the fail extension:\n%s",
        request.script,
        request.uniqueid,
        mask_number(request.callerid),
        trace.rstrip(),
    )
