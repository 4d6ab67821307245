"""Operators' SIP softphones for the integration tests and the demo: pjsua2 in child processes.

SoftphoneBank drives `python -m switchboard.lab.softphone` (phonebank.py) with JSON lines.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchboard.errors import LabError

_PROTOCOL = """
Commands (one JSON object a line on the bank's stdin; "id" is echoed in its done/error reply):
  {"cmd":"register","user":"op1001","secret":"..","registrar":"127.0.0.1:5060","display":"Anna"}
  {"cmd":"unregister","user":..}    {"cmd":"hangup","user":..}    {"cmd":"quit"}
  {"cmd":"set","user":..,"answer_after_s":0.5,"talk_s":3.0,"auto_answer":true}
  {"cmd":"dial","user":..,"uri":"sip:*41@127.0.0.1:5060"}    {"cmd":"dtmf","user":..,"digits":"1"}
Events (one JSON object a line on its stdout):
  ready{port}  done{id,cmd,user,..}  error{message,id?}  stopped{clean}
  registered/registration_failed/unregistered{user,code,reason}
  incoming{user,call_id,from}  answered{user,call_id}  dialing{user,call_id,uri}
  confirmed{user,call_id}  disconnected{user,call_id,duration_s,code,reason}
A softphone auto-answers after 0.5 s and stays until the far end hangs up unless told otherwise;
talk_s applies to calls it answers, not to calls it dials. call_id is the SIP Call-ID.
SoftphoneBank adds "bank": the index of the process (3 softphones each) the event came from.
"""


@dataclass(frozen=True)
class PhoneEvent:
    """One event of the phone bank, stamped with the event loop's clock when it was read."""

    ev: str
    user: str | None
    fields: Mapping[str, Any]
    at: float

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


@dataclass
class OperatorCounters:
    """What one operator's softphone did: calls offered, answered, and seconds talked."""

    offered: int = 0
    answered: int = 0
    talk_s: float = 0.0


# The pjsua2 wheel's pjsua is built for 4 calls at once per process (PJSUA_MAX_CALLS; a
# larger maxCalls is silently clipped) and 8 accounts. Each phone bank process keeps one
# call for its doorbell, so it carries 3 operators; more operators, more processes.
SOFTPHONES_PER_PROCESS = 3


@dataclass
class _Child:
    index: int
    proc: asyncio.subprocess.Process
    port: int = 0
    users: set[str] = field(default_factory=set)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class SoftphoneBank:
    """Operators' softphones in pjsua2 child processes (one Endpoint, 3 softphones each)."""

    __doc__ = (__doc__ or "") + _PROTOCOL

    def __init__(self, *, log_path: str | os.PathLike[str] | None = None) -> None:
        self._log_path = log_path
        self._children: list[_Child] = []
        self._owner: dict[str, _Child] = {}
        self._stopping = False
        self._next_id = 0
        self._changed = asyncio.Condition()
        self._exited = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=60)
        self._counters: dict[str, OperatorCounters] = {}
        self.events: list[PhoneEvent] = []

    async def __aenter__(self) -> SoftphoneBank:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def ports(self) -> list[int]:
        """The SIP ports of the bank's processes (each listens on 127.0.0.1)."""
        return [child.port for child in self._children]

    async def start(self, timeout: float = 15.0) -> None:
        """Start the first bank process and wait until its SIP transport listens."""
        if not self._children:
            await self._spawn(timeout)

    async def _spawn(self, timeout: float) -> _Child:
        index = len(self._children)
        args = [sys.executable, "-m", "switchboard.lab.softphone"]
        if self._log_path is not None:
            args += ["--log", f"{os.fspath(self._log_path)}.{index}"]
        pipe = asyncio.subprocess.PIPE
        proc = await asyncio.create_subprocess_exec(*args, stdin=pipe, stdout=pipe, stderr=pipe)
        child = _Child(index, proc)
        self._children.append(child)
        assert proc.stdout is not None
        assert proc.stderr is not None
        child.tasks.append(asyncio.create_task(self._read_events(child, proc.stdout)))
        child.tasks.append(asyncio.create_task(self._read_stderr(proc.stderr)))
        ready = await self.wait_for(lambda e: e.ev in ("ready", "error") and e.get("bank") == index, timeout)
        if ready.ev != "ready":
            raise LabError(f"a phone bank did not start: {ready.get('message')}{self._tail()}")
        child.port = int(ready.get("port"))
        return child

    async def _child_for(self, user: str, timeout: float) -> _Child:
        if user in self._owner:
            return self._owner[user]
        for child in self._children:
            if len(child.users) < SOFTPHONES_PER_PROCESS:
                break
        else:
            child = await self._spawn(timeout)
        child.users.add(user)
        self._owner[user] = child
        return child

    async def register(
        self,
        user: str,
        secret: str,
        registrar: str,
        display: str | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        """Register a softphone (registrar "host:port") and wait for the registrar's 2xx."""
        since = len(self.events)
        child = await self._child_for(user, timeout)
        cmd = {"cmd": "register", "user": user, "secret": secret, "registrar": registrar}
        await self._command({**cmd, "display": display}, timeout, child)
        outcome = await self.wait_for(
            lambda e: e.user == user and e.ev in ("registered", "registration_failed"),
            timeout,
            since=since,
        )
        if outcome.ev != "registered":
            code, reason = outcome.get("code"), outcome.get("reason")
            raise LabError(f"{user} could not register at {registrar}: {code} {reason}")

    async def unregister(self, user: str, *, timeout: float = 10.0) -> None:
        """Unregister a softphone and wait until the registrar confirms."""
        since = len(self.events)
        await self._command({"cmd": "unregister", "user": user}, timeout)
        outcome = await self.wait_for(
            lambda e: e.user == user and e.ev in ("unregistered", "registration_failed"),
            timeout,
            since=since,
        )
        if outcome.ev != "unregistered":
            raise LabError(f"{user} could not unregister: {outcome.get('code')}")

    async def configure(
        self,
        user: str,
        *,
        answer_after_s: float = 0.5,
        talk_s: float | None = None,
        auto_answer: bool = True,
        timeout: float = 10.0,
    ) -> None:
        """Set how the softphone answers: after a delay, then hangs up after talk_s (None: stays)."""
        cmd = {"cmd": "set", "user": user, "answer_after_s": answer_after_s, "talk_s": talk_s}
        await self._command({**cmd, "auto_answer": auto_answer}, timeout)

    async def hangup(self, user: str, *, timeout: float = 10.0) -> int:
        """Hang up every call of the softphone; returns how many there were."""
        done = await self._command({"cmd": "hangup", "user": user}, timeout)
        return int(done.get("calls", 0))

    async def dial(self, user: str, uri: str, *, timeout: float = 10.0) -> str:
        """Place a call from the softphone (e.g. a feature code); returns its SIP Call-ID."""
        done = await self._command({"cmd": "dial", "user": user, "uri": uri}, timeout)
        return str(done.get("call_id"))

    async def dtmf(self, user: str, digits: str, *, timeout: float = 10.0) -> None:
        """Send RFC 2833 DTMF on the softphone's call in progress."""
        await self._command({"cmd": "dtmf", "user": user, "digits": digits}, timeout)

    def counters(self, user: str) -> OperatorCounters:
        """Calls offered and answered, and seconds talked, by one operator's softphone."""
        return self._counters.setdefault(user, OperatorCounters())

    def mark(self) -> int:
        """Index to pass as wait_for(since=...) to look only at events from now on."""
        return len(self.events)

    async def wait_for(
        self,
        predicate: Callable[[PhoneEvent], bool],
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> PhoneEvent:
        """The first event from index `since` on that matches; LabError after `timeout` s."""
        try:
            return await asyncio.wait_for(self._scan(predicate, since), timeout)
        except TimeoutError:
            recent = [f"{e.ev}:{e.user}" for e in self.events[-8:]]
            raise LabError(f"no such softphone event in {timeout}s; last: {recent}") from None

    async def stop(self, timeout: float = 10.0) -> None:
        """Quit every bank process (each hangs up and unregisters), killing any that lingers."""
        self._stopping = True
        children, self._children = self._children, []
        self._owner.clear()
        await asyncio.gather(*(self._stop_child(child, timeout) for child in children))

    async def _stop_child(self, child: _Child, timeout: float) -> None:
        proc = child.proc
        if proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                proc.stdin.write(b'{"cmd":"quit"}\n')
                await proc.stdin.drain()
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        await asyncio.gather(*child.tasks, return_exceptions=True)

    async def _scan(self, predicate: Callable[[PhoneEvent], bool], index: int) -> PhoneEvent:
        async with self._changed:
            while True:
                while index < len(self.events):
                    event = self.events[index]
                    index += 1
                    if predicate(event):
                        return event
                if self._exited and not self._stopping:
                    raise LabError(f"a phone bank process exited{self._tail()}")
                await self._changed.wait()

    async def _command(self, cmd: dict[str, Any], timeout: float, child: _Child | None = None) -> PhoneEvent:
        if child is None:
            child = self._owner.get(str(cmd.get("user")))
            if child is None:
                raise LabError(f"no softphone registered for {cmd.get('user')!r}")
        stdin = child.proc.stdin
        if stdin is None or child.proc.returncode is not None:
            raise LabError("the phone bank is not running")
        self._next_id += 1
        ident = self._next_id
        since = len(self.events)
        stdin.write((json.dumps({**cmd, "id": ident}) + "\n").encode())
        await stdin.drain()
        reply = await self.wait_for(lambda e: e.ev in ("done", "error") and e.get("id") == ident, timeout, since=since)
        if reply.ev == "error":
            raise LabError(f"softphone command failed: {reply.get('message')}")
        return reply

    async def _read_events(self, child: _Child, stream: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        async for line in stream:
            try:
                raw = json.loads(line)
            except ValueError:
                self._stderr.append(f"(stdout) {line.decode(errors='replace').rstrip()}")
                continue
            raw["bank"] = child.index
            user = raw.get("user")
            event = PhoneEvent(str(raw.pop("ev", "")), user, raw, loop.time())
            self._count(event)
            self.events.append(event)
            async with self._changed:
                self._changed.notify_all()
        self._exited = True
        async with self._changed:
            self._changed.notify_all()

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self._stderr.append(line.decode(errors="replace").rstrip())

    def _count(self, event: PhoneEvent) -> None:
        if event.user is None:
            return
        counters = self.counters(event.user)
        if event.ev == "incoming":
            counters.offered += 1
        elif event.ev == "answered":
            counters.answered += 1
        elif event.ev == "disconnected":
            counters.talk_s += float(event.get("duration_s", 0.0))

    def _tail(self) -> str:
        return ("; stderr: " + " | ".join(self._stderr)) if self._stderr else ""


if __name__ == "__main__":
    from switchboard.lab.phonebank import main

    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: it would destroy pjsua2 objects after the library is gone.
    os._exit(code)
