"""The asyncio AMI client: one link to Asterisk, answers matched by ActionID, events in order.

It pings, fails every pending action when the link drops, reconnects, and never re-sends.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from switchboard.ami.framing import AmiMessage, AmiParser, Headers, serialize_action
from switchboard.errors import (
    AmiActionError,
    AmiConnectionError,
    AmiDisconnectedError,
    AmiError,
    AmiLoginError,
    AmiTimeoutError,
)

log = logging.getLogger("switchboard.ami")

_READ_SIZE = 64 * 1024
_MAX_ABANDONED = 1024  # timed-out actions whose late answers we still expect, per link
_QUEUE_WARN_EVERY = 10_000  # events waiting for the consumer: warn at each multiple
_LOGOFF_TIMEOUT = 1.0


@dataclass(frozen=True)
class ConnectionChange:
    """A marker in the event stream: the link came up (after login and hooks) or went down.

    After ``up=False`` the consumer's picture is stale; the events after ``up=True`` apply
    on top of the picture the connect hooks rebuilt.
    """

    up: bool
    reason: str


AmiEvent = AmiMessage | ConnectionChange
ConnectHook = Callable[["AmiClient"], Awaitable[None]]
_Answer = tuple[AmiMessage, list[AmiMessage]]  # the response, a list action's items


@dataclass(eq=False)
class _Pending:
    future: asyncio.Future[_Answer]
    is_list: bool
    response: AmiMessage | None = None
    items: list[AmiMessage] = field(default_factory=list)

    def finish(self, outcome: _Answer | AmiError) -> None:
        if self.future.done():
            return
        if isinstance(outcome, AmiError):
            self.future.set_exception(outcome)
        else:
            self.future.set_result(outcome)


class _Link:
    """One TCP connection and everything that dies with it."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.reader, self.writer = reader, writer
        self.parser = AmiParser()
        self.pending: dict[str, _Pending] = {}
        # action id -> True while a list's items may still come: late answers are dropped
        self.abandoned: OrderedDict[str, bool] = OrderedDict()
        self.held: list[AmiMessage] = []  # events read before the up marker went out
        self.logged_in = self.announced = self.dead = False
        self.tasks: list[asyncio.Task[None]] = []

    def abandon(self, action_id: str, is_list: bool) -> None:
        self.abandoned[action_id] = is_list
        while len(self.abandoned) > _MAX_ABANDONED:
            self.abandoned.popitem(last=False)

    def route(self, msg: AmiMessage) -> bool:
        """Give ``msg`` to the action it answers; False if it answers none."""
        action_id = msg.action_id
        if action_id is None:
            return False
        pending = self.pending.get(action_id)
        if pending is not None and self._answer(action_id, pending, msg):
            return True
        return action_id in self.abandoned and self._swallow_late(action_id, msg)

    def _answer(self, action_id: str, pending: _Pending, msg: AmiMessage) -> bool:
        event_list = msg.get("EventList", "").lower()
        if msg.kind == "response" and pending.response is None:
            if msg.name.lower() == "error":
                del self.pending[action_id]
                text = msg.get("Message", "Response: Error")
                pending.finish(AmiActionError(text, response=msg))
            elif pending.is_list and event_list == "start":
                pending.response = msg  # the items follow, as events
            else:
                del self.pending[action_id]
                pending.finish((msg, []))
            return True
        if msg.kind == "event" and pending.is_list:
            if event_list == "complete":
                del self.pending[action_id]
                pending.finish((pending.response or msg, pending.items))
            else:
                pending.items.append(msg)
            return True
        return (
            False  # e.g. an event that names a plain action: it belongs to the stream
        )

    def _swallow_late(self, action_id: str, msg: AmiMessage) -> bool:
        listing = self.abandoned[action_id]
        event_list = msg.get("EventList", "").lower()
        if msg.kind == "response":
            if not (listing and msg.name.lower() != "error" and event_list == "start"):
                del self.abandoned[action_id]
            return True
        if listing and msg.kind == "event":
            if event_list == "complete":
                del self.abandoned[action_id]
            return True
        return False


class _EventStream:
    """Iterates the client's event queue; ends once the client is closed."""

    def __init__(self, queue: asyncio.Queue[AmiEvent | None]) -> None:
        self._queue = queue

    def __aiter__(self) -> _EventStream:
        return self

    async def __anext__(self) -> AmiEvent:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # so that every other iterator ends too
            raise StopAsyncIteration
        return item


class AmiClient:
    """An AMI link that stays up; actions are never queued, replayed or re-sent."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        action_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        reconnect: bool = True,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        events: bool = True,
        name: str = "ami",
    ) -> None:
        self._host, self._port = host, port
        self._username, self._secret = username, secret
        self._ping_interval, self._ping_timeout = ping_interval, ping_timeout
        self._action_timeout, self._connect_timeout = action_timeout, connect_timeout
        self._reconnect = reconnect
        self._backoff_initial, self._backoff_max = backoff_initial, backoff_max
        self._events, self._name = events, name
        self._ids = itertools.count(1)
        self._hooks: list[ConnectHook] = []
        self._queue: asyncio.Queue[AmiEvent | None] = asyncio.Queue()
        self._link: _Link | None = None
        self._down = asyncio.Event()  # the current link died: wakes the supervisor
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        """True from the up marker (login and hooks done) until the link drops."""
        link = self._link
        return link is not None and link.announced and not link.dead

    @property
    def banner(self) -> str | None:
        """The banner of the current link, e.g. ``Asterisk Call Manager/5.0.1``."""
        return self._link.parser.banner if self._link is not None else None

    def add_connect_hook(self, hook: ConnectHook) -> None:
        """Run ``hook(client)`` after each login, before the up marker; it may send actions.

        A hook that raises fails that attempt: ``connect`` raises it, a reconnect retries.
        """
        self._hooks.append(hook)

    def events(self) -> AsyncIterator[AmiEvent]:
        """Events and ``ConnectionChange`` markers in the order received, for ONE consumer.

        Unbounded, so that a slow consumer never stalls the reader (and with it the pings);
        a warning is logged as the backlog grows.
        """
        return _EventStream(self._queue)

    async def connect(self) -> None:
        """Connect and log in once: ``AmiLoginError``, ``AmiConnectionError``, no retry."""
        if self._closed:
            raise AmiConnectionError(f"{self._name}: client is closed")
        if self._link is not None and not self._link.dead:
            return
        await self._start_link("connected")
        if self._reconnect and self._supervisor is None:
            supervise = self._supervise()
            self._supervisor = asyncio.create_task(supervise, name=f"{self._name}-up")

    async def close(self) -> None:
        """Log off if possible, stop every task, fail pending actions, end ``events()``."""
        if self._closed:
            return
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        link = self._link
        if link is not None:
            if link.logged_in and not link.dead:
                try:
                    await self._send(link, "Logoff", None, _LOGOFF_TIMEOUT, False)
                except AmiError as exc:
                    log.debug("%s: Logoff failed: %s", self._name, exc)
            self._drop(link, "closed by the client")
            await self._reap(link)
        self._queue.put_nowait(None)

    async def action(
        self, name: str, headers: Headers | None = None, *, timeout: float | None = None
    ) -> AmiMessage:
        """Send one action, return its response; ``Response: Error`` -> AmiActionError."""
        wait = self._action_timeout if timeout is None else timeout
        response, _ = await self._send(self._live_link(), name, headers, wait, False)
        return response

    async def list_action(
        self, name: str, headers: Headers | None = None, *, timeout: float | None = None
    ) -> list[AmiMessage]:
        """Send a list action, return its item events (never seen by ``events()``).

        The ``EventList: Complete`` event is not included; ``timeout`` covers the list.
        """
        wait = self._action_timeout if timeout is None else timeout
        _, items = await self._send(self._live_link(), name, headers, wait, True)
        return items

    def _live_link(self) -> _Link:
        link = self._link
        if link is None or link.dead or not link.logged_in:
            raise AmiConnectionError(f"{self._name}: not connected to AMI")
        return link

    async def _send(
        self,
        link: _Link,
        name: str,
        headers: Headers | None,
        timeout: float,
        is_list: bool,
    ) -> _Answer:
        action_id = f"{self._name}-{next(self._ids)}"
        # refuses CR/LF in any header before anything is written
        data = serialize_action(name, headers or {}, action_id)
        if link.dead:
            raise AmiConnectionError(f"{self._name}: not connected to AMI")
        pending = _Pending(asyncio.get_running_loop().create_future(), is_list)
        link.pending[action_id] = pending
        log.debug(
            "%s: sending %s %s", self._name, name, action_id
        )  # no headers: Secret
        try:
            async with asyncio.timeout(timeout):
                link.writer.write(data)
                await link.writer.drain()
                return await pending.future
        except TimeoutError:
            late = f"{self._name}: no answer to {name} {action_id} in {timeout}s"
            raise AmiTimeoutError(late) from None
        except ConnectionError as exc:
            lost = f"{self._name}: link lost while sending {name}: {exc!r}"
            raise AmiDisconnectedError(lost) from None
        finally:
            if link.pending.pop(action_id, None) is not None and not link.dead:
                link.abandon(action_id, is_list)  # timed out or cancelled
            if pending.future.done() and not pending.future.cancelled():
                pending.future.exception()  # retrieved: what we raised says it all

    def _dispatch(self, link: _Link, msg: AmiMessage) -> None:
        if link.route(msg):
            return
        if msg.kind != "event":
            log.warning("%s: dropped unmatched %s %r", self._name, msg.kind, msg.name)
        elif not link.announced:
            link.held.append(msg)
        else:
            self._queue.put_nowait(msg)
            if self._queue.qsize() % _QUEUE_WARN_EVERY == 0:
                backlog = self._queue.qsize()
                log.warning("%s: %d events wait for a consumer", self._name, backlog)

    async def _start_link(self, reason: str) -> None:
        """Connect, log in, run the hooks, announce; on any failure leave nothing behind."""
        link = await self._open()
        try:
            await self._login(link)
            self._link = link
            pinging = self._ping_loop(link)
            link.tasks.append(asyncio.create_task(pinging, name=f"{self._name}-ping"))
            for hook in self._hooks:
                await hook(self)
            if link.dead:
                raise AmiConnectionError(f"{self._name}: link lost during the hooks")
        except BaseException:
            self._drop(link, "connection attempt failed")
            await self._reap(link)
            raise
        self._announce(link, reason)

    async def _open(self) -> _Link:
        where = f"{self._host}:{self._port}"
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as exc:
            message = f"{self._name}: cannot connect to AMI at {where}: {exc!r}"
            raise AmiConnectionError(message) from None
        link = _Link(reader, writer)
        reading = self._read_loop(link)
        link.tasks.append(asyncio.create_task(reading, name=f"{self._name}-read"))
        return link

    async def _login(self, link: _Link) -> None:
        headers = {
            "Username": self._username,
            "Secret": self._secret,
            "Events": "on" if self._events else "off",
        }
        user = self._username
        try:
            await self._send(link, "Login", headers, self._connect_timeout, False)
        except AmiActionError as exc:
            raise AmiLoginError(f"{self._name}: AMI refused {user!r}: {exc}") from None
        except AmiTimeoutError:
            raise AmiConnectionError(f"{self._name}: no answer to Login") from None
        link.logged_in = True
        log.info("%s: logged in as %r (%s)", self._name, user, link.parser.banner)

    def _announce(self, link: _Link, reason: str) -> None:
        # no await in here: marker and held events go out before anything read later
        link.announced = True
        self._down.clear()
        self._queue.put_nowait(ConnectionChange(up=True, reason=reason))
        for event in link.held:
            self._queue.put_nowait(event)
        link.held.clear()

    def _drop(self, link: _Link, reason: str) -> None:
        """The link is dead: fail its pending actions (never re-sent), close it, say so."""
        if link.dead:
            return
        link.dead = True
        if self._closed:
            reason = "closed by the client"  # Asterisk hung up because of our Logoff
        for action_id, pending in link.pending.items():
            lost = f"{self._name}: link lost while {action_id} was pending: {reason}"
            pending.finish(AmiDisconnectedError(lost))
        link.pending.clear()
        link.abandoned.clear()
        link.held.clear()  # never announced: the consumer has no picture to apply them to
        link.writer.transport.abort()
        if link.announced:
            log.warning("%s: AMI link lost: %s", self._name, reason)
            self._queue.put_nowait(ConnectionChange(up=False, reason=reason))
        if self._link is link:
            self._down.set()

    async def _reap(self, link: _Link) -> None:
        tasks = [task for task in link.tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read_loop(self, link: _Link) -> None:
        reason = "connection closed by Asterisk"
        try:
            while data := await link.reader.read(_READ_SIZE):
                for msg in link.parser.feed(data):
                    self._dispatch(link, msg)
        except OSError as exc:
            reason = f"connection error: {exc!r}"
        except AmiError as exc:
            reason = f"protocol error: {exc}"
        finally:
            self._drop(link, reason)

    async def _ping_loop(self, link: _Link) -> None:
        # panoramisk sends pings but never checks them: a half-open link must be noticed
        while not link.dead:
            await asyncio.sleep(self._ping_interval)
            try:
                await self._send(link, "Ping", None, self._ping_timeout, False)
            except AmiTimeoutError:
                self._drop(link, f"no answer to Ping in {self._ping_timeout}s")
            except AmiActionError:
                pass  # an answer, even an odd one, proves the link is alive
            except AmiConnectionError:
                return

    async def _supervise(self) -> None:
        while True:
            await self._down.wait()
            if self._link is not None:
                await self._reap(self._link)
            delay = self._backoff_initial
            while not await self._try_reconnect(delay):
                delay = min(delay * 2, self._backoff_max)

    async def _try_reconnect(self, delay: float) -> bool:
        # jitter: the clients cut off by one Asterisk restart do not all knock at once
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        try:
            await self._start_link("reconnected")
            return True
        except AmiError as exc:
            log.warning("%s: reconnect failed: %s", self._name, exc)
        except Exception:  # a connect hook's own failure: retry all the same
            log.exception("%s: reconnect failed in a connect hook", self._name)
        return False
