"""Our asyncio FastAGI server: Asterisk connects, sends its request header, and a handler drives the call.

One non-blocking socket per connection, watched by the event loop: a slow or hostile peer holds only its own
(agi_scripts.connection reads and writes it).
"""

from __future__ import annotations

import asyncio
import logging
import select
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from agi_scripts.connection import AgiConnection, AgiSession

logger = logging.getLogger("switchboard.agi")

Handler = Callable[[AgiSession], Awaitable[None]]

_ACCEPT_BURST = 64  # accept this many at once, then let the sessions under way run
# On Linux the connections share one epoll of ours, which the event loop watches as one fd: a ready
# socket costs a dict lookup instead of a selector key and a Handle (about a tenth less CPU per call).
_USE_EPOLL = hasattr(select, "epoll")


@dataclass(slots=True)
class AgiStats:
    """Counters since the server was made."""

    sessions_total: int = 0  # requests parsed and given to a handler or to the fail extension
    sessions_failed: int = 0  # handler error, unknown script or too busy: sent to the fail extension
    protocol_errors: int = 0  # garbage, oversized or slow headers; bad, missing or late replies


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
        self.max_sessions = max_sessions  # handlers running at once; calls past it go to the fail extension
        self.stats = AgiStats()
        self.running_handlers = 0
        # One sweep over the deadlines a few times per timeout rather than a timer per command.
        self._tick = min(max(min(header_timeout, command_timeout) / 4, 0.01), 1.0)
        self._connections: set[AgiConnection] = set()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: socket.socket | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._epoll: select.epoll | None = None
        self._by_fd: dict[int, AgiConnection] = {}

    @property
    def active_sessions(self) -> int:
        """Connections open right now, whatever their phase: 0 when no call is in an AGI."""
        return len(self._connections)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen, and return the address actually bound (port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        info = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, address = info[0][0], info[0][4]
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(1024)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._loop, self._listener, self._stopping = loop, listener, False
        loop.add_reader(listener.fileno(), self._accept)
        if _USE_EPOLL:
            self._epoll = select.epoll()
            loop.add_reader(self._epoll.fileno(), self._dispatch)
        self._sweeper = loop.call_later(self._tick, self._sweep)
        bound = listener.getsockname()
        return bound[0], bound[1]

    async def stop(self) -> None:
        """Stop listening, send the calls still in a handler to the fail extension, close everything."""
        if self._loop is None:
            return
        self._stopping = True
        listener, self._listener = self._listener, None
        if listener is not None:
            self._loop.remove_reader(listener.fileno())
            listener.close()
        tasks = [conn.task for conn in self._connections if conn.task is not None]
        for conn in list(self._connections):
            conn.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for conn in list(self._connections):  # handlers cancelled before their first step
            conn.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._epoll is not None:
            self._loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
            self._epoll = None

    def _accept(self) -> None:
        assert self._loop is not None
        assert self._listener is not None
        for _ in range(_ACCEPT_BURST):
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # Out of file descriptors, say: the listener stays readable, so pause instead of spinning.
                logger.exception("cannot accept AGI connections for a second")
                self._loop.remove_reader(self._listener.fileno())
                self._loop.call_later(1.0, self._resume_accepting)
                return
            AgiConnection(self, sock, self._loop)

    def _resume_accepting(self) -> None:
        if self._listener is not None and self._loop is not None:
            self._loop.add_reader(self._listener.fileno(), self._accept)

    def _sweep(self) -> None:
        assert self._loop is not None
        now = time.monotonic()
        for conn in [conn for conn in self._connections if conn.due <= now]:
            conn.timed_out()
        self._sweeper = self._loop.call_later(self._tick, self._sweep)

    def _watch(self, conn: AgiConnection, fd: int) -> None:
        self._connections.add(conn)
        if self._epoll is not None:
            self._epoll.register(fd, select.EPOLLIN)
            self._by_fd[fd] = conn
        elif self._loop is not None:
            self._loop.add_reader(fd, conn.readable)

    def _unwatch(self, conn: AgiConnection, fd: int) -> None:
        self._connections.discard(conn)
        if self._epoll is not None:
            if self._by_fd.pop(fd, None) is not None:
                self._epoll.unregister(fd)
        elif self._loop is not None:
            self._loop.remove_reader(fd)

    def _dispatch(self) -> None:
        assert self._epoll is not None
        by_fd = self._by_fd
        for fd, _ in self._epoll.poll(0):
            conn = by_fd.get(fd)
            if conn is not None:  # else closed by an earlier one of this batch
                conn.readable()


__all__ = ["AgiSession", "AgiStats", "FastAgiServer", "Handler"]
