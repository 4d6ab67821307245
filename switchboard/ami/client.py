"""The asyncio AMI client: one link to Asterisk, answers matched by ActionID, events in order.
It pings, fails every pending action when the link drops, reconnects, and never re-sends an action.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from switchboard.ami.framing import AmiMessage, Headers, serialize_action
from switchboard.ami.link import Answer, Link
from switchboard.errors import (
    AmiActionError,
    AmiConnectionError,
    AmiDisconnectedError,
    AmiError,
    AmiLoginError,
    AmiProtocolError,
    AmiTimeoutError,
)

log = logging.getLogger("switchboard.ami")

_READ_SIZE = 64 * 1024
_QUEUE_WARN_EVERY = 10_000  # events waiting for the consumer: warn at each multiple
_LOGOFF_TIMEOUT = 1.0


@dataclass(frozen=True)
class ConnectionChange:
    """A marker in the event stream: the link came up (after login and the connect hooks) or went down.

    After ``up=False`` the consumer's picture is stale; the events after ``up=True`` apply on top of the
    picture the connect hooks rebuilt (events read while the hooks ran wait behind the marker).
    """

    up: bool
    reason: str


AmiEvent = AmiMessage | ConnectionChange
ConnectHook = Callable[["AmiClient"], Awaitable[None]]


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
        events: bool | str = True,
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
        self._link: Link | None = None
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
        """Run ``hook(client)`` after each login, before the up marker and ``connected``; it may send actions.

        A hook that raises fails that attempt: ``connect`` raises it, a reconnect retries with backoff.
        """
        self._hooks.append(hook)

    def events(self) -> AsyncIterator[AmiEvent]:
        """Events and ``ConnectionChange`` markers in the order received, for ONE consumer; ends at close().

        Unbounded, so that a slow consumer never stalls the reader (and with it the pings); a warning is
        logged at every 10,000 events of backlog.
        """
        return _EventStream(self._queue)

    async def connect(self) -> None:
        """Connect, log in, run the hooks; raises ``AmiLoginError``/``AmiConnectionError`` (no retry here).

        Once up, a supervisor reconnects after every drop (``reconnect=True``) with jittered backoff.
        """
        if self._closed:
            raise AmiConnectionError(f"{self._name}: client is closed")
        if self._supervisor is not None or (self._link is not None and not self._link.dead):
            return  # already up, or the supervisor owns the reconnecting
        await self._start_link("connected")
        if self._reconnect and self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name=f"{self._name}-reconnect")

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

    async def action(self, name: str, headers: Headers | None = None, *, timeout: float | None = None) -> AmiMessage:
        """Send one action, return its response (Success, Goodbye, Follows...).

        ``Response: Error`` raises ``AmiActionError``; no answer in time raises ``AmiTimeoutError`` (the late
        answer is dropped); a drop raises ``AmiDisconnectedError``; not connected: ``AmiConnectionError`` at once.
        """
        wait = self._action_timeout if timeout is None else timeout
        response, _ = await self._send(self._live_link(), name, headers, wait, False)
        return response

    async def list_action(
        self, name: str, headers: Headers | None = None, *, timeout: float | None = None
    ) -> list[AmiMessage]:
        """Send a list action, return its item events (never seen by ``events()``), in order.

        The ``EventList: Complete`` event is not included; ``timeout`` covers the whole list. A Success without
        ``EventList: start`` gives []; errors as for ``action``.
        """
        wait = self._action_timeout if timeout is None else timeout
        _, items = await self._send(self._live_link(), name, headers, wait, True)
        return items

    def _live_link(self) -> Link:
        link = self._link
        if link is None or link.dead or not link.logged_in:
            raise AmiConnectionError(f"{self._name}: not connected to AMI")
        return link

    async def _send(self, link: Link, name: str, headers: Headers | None, timeout: float, is_list: bool) -> Answer:
        action_id = f"{self._name}-{next(self._ids)}"
        # refuses CR/LF in any header before anything is written
        data = serialize_action(name, headers or {}, action_id)
        if link.dead:
            raise AmiConnectionError(f"{self._name}: not connected to AMI")
        pending = link.expect(action_id, is_list)
        log.debug("%s: sending %s %s", self._name, name, action_id)  # no headers: Secret
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
            link.give_up(action_id, is_list)  # if it timed out or was cancelled, its late answer is dropped
            if pending.future.done() and not pending.future.cancelled():
                pending.future.exception()  # retrieved: what we raised says it all

    def _dispatch(self, link: Link, msg: AmiMessage) -> None:
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

    async def _open(self) -> Link:
        where = f"{self._host}:{self._port}"
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as exc:
            message = f"{self._name}: cannot connect to AMI at {where}: {exc!r}"
            raise AmiConnectionError(message) from None
        link = Link(reader, writer)
        reading = self._read_loop(link)
        link.tasks.append(asyncio.create_task(reading, name=f"{self._name}-read"))
        return link

    async def _login(self, link: Link) -> None:
        headers = {
            "Username": self._username,
            "Secret": self._secret,
            # True/False, or the event classes to receive ("system,call"): Asterisk then never sends the others.
            "Events": self._events if isinstance(self._events, str) else "on" if self._events else "off",
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

    def _announce(self, link: Link, reason: str) -> None:
        # no await in here: marker and held events go out before anything read later
        link.announced = True
        self._down.clear()
        self._queue.put_nowait(ConnectionChange(up=True, reason=reason))
        for event in link.held:
            self._queue.put_nowait(event)
        link.held.clear()

    def _drop(self, link: Link, reason: str) -> None:
        """The link is dead: fail its pending actions (never re-sent), close it, say so."""
        if link.dead:
            return
        link.dead = True
        if self._closed:
            reason = "closed by the client"  # Asterisk hung up because of our Logoff
        link.fail_all(self._name, reason)
        link.writer.transport.abort()
        if link.announced:
            log.log(logging.INFO if self._closed else logging.WARNING, "%s: AMI link lost: %s", self._name, reason)
            self._queue.put_nowait(ConnectionChange(up=False, reason=reason))
        if self._link is link:
            self._down.set()

    async def _reap(self, link: Link) -> None:
        tasks = [task for task in link.tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read_loop(self, link: Link) -> None:
        reason = "connection closed by Asterisk"
        try:
            while data := await link.reader.read(_READ_SIZE):
                for msg in link.parser.feed(data):
                    self._dispatch(link, msg)
        except OSError as exc:
            reason = f"connection error: {exc!r}"
        except AmiProtocolError as exc:
            reason = f"protocol error: {exc}"
        finally:
            self._drop(link, reason)

    async def _ping_loop(self, link: Link) -> None:
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
