"""The `route` FastAGI script: the hotline hands each call here, and we tell the dialplan whom to dial.

With an operator free: one AGI command (MSet of the call id, recording path and Dial target), its reply not
awaited. Otherwise the caller is held here, with music and position announcements, until the engine gives them an
operator or the maximum wait passes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from agi_scripts.server import AgiSession
from asterisk_conf import variables
from switchboard.errors import AgiHangupError


class Routed(Protocol):
    @property
    def call_id(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def recording(self) -> str: ...


@dataclass(frozen=True, slots=True)
class HoldPlan:
    """How a queue holds its callers."""

    music_on_hold: str
    announce_every_s: float  # 0: no announcements
    deadline: float  # when the caller leaves the queue (arrival + max wait)
    on_max_wait: str = "apologise"  # apologise | callback | voicemail | overflow
    callback_prompt: str = ""  # played at the maximum wait: the key 1 asks for a callback
    voicemail: str = ""  # the file a voice message is recorded to


class Waiting(Protocol):
    # Any: the engine calls it with its own result type, which satisfies Routed.
    notify: Callable[[Any], None] | None

    @property
    def assigned(self) -> Routed | None: ...


class Arrived(Protocol):
    @property
    def result(self) -> Routed | None: ...
    @property
    def waiter(self) -> Waiting | None: ...


class CallRouter(Protocol):
    """The port the route script needs; decisions are made by the engine, from its live picture."""

    async def last_offer_settled(self, uniqueid: str) -> None: ...  # a caller back from a ring-no-answer
    def route_call(self, uniqueid: str, caller: str, hotline: str, now: float, choice: str = "") -> Arrived: ...
    def hold_plan(self, uniqueid: str) -> HoldPlan: ...
    def position(self, uniqueid: str) -> tuple[int, float | None]: ...  # place in line, expected wait (s)
    def waiting(self, uniqueid: str) -> Waiting | None: ...  # the caller's place in line, if still waiting
    def leave(self, uniqueid: str, now: float, outcome: str = "timeout", key: str = "") -> Arrived | None: ...
    def transfer(self, uniqueid: str, target: str, now: float, extension: str = "") -> Arrived: ...


Handler = Callable[[AgiSession], Awaitable[None]]


def routed_variables(routed: Routed) -> dict[str, str]:
    """What the dialplan needs to connect a routed call, set in one AGI command (the target last)."""
    return {variables.CALL_ID: routed.call_id, variables.RECORDING: routed.recording, variables.TARGET: routed.target}


CALLBACK_KEY = "1"
CALLBACK_WAIT_MS = 6000


@dataclass(frozen=True, slots=True)
class _Given:
    """An operator assigned while the caller heard the maximum-wait prompt: taken as any arrival with a result."""

    result: Routed
    waiter: None = None


def build_route_handler(router: CallRouter, clock: Callable[[], float] = time.time) -> Handler:
    async def route(session: AgiSession) -> None:
        request = session.request
        args = request.args
        # The hotline number comes from the dialplan argument (our config), never from the caller's digits.
        hotline = args[0] if args else request.extension
        choice = args[1] if len(args) > 1 else ""  # the menu digit, FILTER()ed to 0-9 by the dialplan
        transfer = args[2] if len(args) > 2 else ""  # queue:NAME or operator:SIP_USER, from our transfer context
        await router.last_offer_settled(request.uniqueid)  # the miss is counted before the caller is routed again
        if transfer:
            extension = args[3] if len(args) > 3 else ""
            arrival = router.transfer(request.uniqueid, transfer, clock(), extension)
        else:
            arrival = router.route_call(request.uniqueid, request.callerid, hotline, clock(), choice)
        routed = await wait_for_operator(session, router, arrival, clock)
        if routed is None:
            await session.set_variable(variables.TARGET, "")
            return
        await session.set_variables(routed_variables(routed), last=True)

    return route


async def wait_for_operator(
    session: AgiSession, router: CallRouter, arrival: Arrived, clock: Callable[[], float]
) -> Routed | None:
    """Hold the caller until an operator is chosen; at the maximum wait the queue's `on_max_wait` decides.

    Returns the operator (or a result with no target), or None when the caller leaves the queue (the EXIT variable
    says how: timeout, callback, voicemail).
    """
    while arrival.result is None and arrival.waiter is not None:
        routed = await hold(session, router, arrival.waiter, clock)
        if routed is not None:
            return routed
        given = arrival.waiter.assigned
        after = await at_max_wait(session, router, clock) if given is None else _Given(given)
        if after is None:
            return None
        arrival = after
    return arrival.result


async def at_max_wait(session: AgiSession, router: CallRouter, clock: Callable[[], float]) -> Arrived | None:
    """The maximum wait has passed: overflow to another queue (its arrival), or leave it (None, EXIT set)."""
    uniqueid = session.request.uniqueid
    plan = router.hold_plan(uniqueid)
    if plan.on_max_wait == "overflow":
        arrival = router.leave(uniqueid, clock(), "overflow")
        if arrival is not None:
            return arrival
    outcome = "timeout"
    if plan.on_max_wait == "callback":
        # Still in line while the prompt plays: an operator freed meanwhile still takes the call.
        key = await session.get_data(plan.callback_prompt, CALLBACK_WAIT_MS, 1)
        waiter = router.waiting(uniqueid)
        if waiter is not None and waiter.assigned is not None:
            return _Given(waiter.assigned)
        outcome = "callback" if key == CALLBACK_KEY else "timeout"
    elif plan.on_max_wait == "voicemail":
        outcome = "voicemail"
    router.leave(uniqueid, clock(), outcome, CALLBACK_KEY if outcome == "callback" else "")
    if outcome == "voicemail":
        await session.set_variable(variables.VOICEMAIL, plan.voicemail)
    await session.set_variable(variables.EXIT, outcome)
    return None


async def hold(session: AgiSession, router: CallRouter, waiter: Waiting, clock: Callable[[], float]) -> Routed | None:
    """Music and announcements until an operator is assigned (returned) or the maximum wait passes (None)."""
    uniqueid = session.request.uniqueid
    assigned: asyncio.Future[Routed] = asyncio.get_running_loop().create_future()
    waiter.notify = lambda routed: None if assigned.done() else assigned.set_result(routed)
    if waiter.assigned is not None:  # given an operator in the very step that queued it
        return waiter.assigned
    hangup = session.hangup_future()
    plan = router.hold_plan(uniqueid)
    every = plan.announce_every_s or math.inf
    next_announce = clock() + every
    await session.exec_app("StartMusicOnHold", plan.music_on_hold)
    while not assigned.done():
        now = clock()
        if now >= plan.deadline:
            await session.exec_app("StopMusicOnHold")
            return None
        timeout = max(0.0, min(plan.deadline, next_announce) - now)
        await asyncio.wait((assigned, hangup), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if hangup.done():
            raise AgiHangupError("the caller hung up while waiting")
        if not assigned.done() and clock() >= next_announce:
            await announce(session, *router.position(uniqueid), music=plan.music_on_hold)
            next_announce = clock() + every
    await session.exec_app("StopMusicOnHold")
    return assigned.result()


async def announce(session: AgiSession, position: int, expected_s: float | None, *, music: str) -> None:
    """'There are N calls waiting ahead of you', then the expected wait in minutes when we can estimate it."""
    await session.exec_app("StopMusicOnHold")
    if position > 1:
        await session.stream_file("queue-thereare")
        await session.command("SAY NUMBER", position - 1, "")
        await session.stream_file("queue-callswaiting")
    else:
        await session.stream_file("queue-youarenext")
    if expected_s is not None and expected_s >= 60:
        await session.stream_file("queue-holdtime")
        await session.command("SAY NUMBER", round(expected_s / 60), "")
        await session.stream_file("queue-minutes")
    await session.exec_app("StartMusicOnHold", music)


def build_benchmark_handler(operators: int = 200, busy_share: float = 0.8) -> Handler:
    """The real route script on a real live picture, for benchmarks/agi_throughput.py.

    A centre of `operators` at `busy_share` occupancy: that share of phones is in use, the rest free. Each routed
    call is answered and ended at once through the same event path a hangup takes, so the free ones stay free.
    """
    from switchboard.config import parse_site
    from switchboard.events import CallerHungUp, OperatorAnswered, PhoneStateChanged
    from switchboard.picture import Picture

    site = parse_site(
        {
            "skills": ["general"],
            "ami": {"secret": "benchmark-secret", "admin_secret": "benchmark-admin"},
            "acd": {"login_required": False},
            "queues": [{"name": "general", "requires": {"general": 1}, "wrapup_s": 0}],
            "hotlines": [{"number": "100", "queue": "general"}],
            "operators": [
                {"sip_user": f"op{i}", "secret": "benchmark-secret", "name": f"Op {i}", "skills": {"general": 3}}
                for i in range(operators)
            ],
            "recordings_dir": "/tmp/switchboard-benchmark-recordings",
            "queue_log": "/dev/null",
        }
    )
    picture = Picture(site)
    busy = round(operators * busy_share)
    for n, op in enumerate(site.operators):
        picture.apply(PhoneStateChanged(op.sip_user, "INUSE" if n < busy else "NOT_INUSE", 0.0))

    class _Router:
        async def last_offer_settled(self, uniqueid: str) -> None:
            return None

        def route_call(self, uniqueid: str, caller: str, hotline: str, now: float, choice: str = "") -> Arrived:
            arrival = picture.route_call(uniqueid, caller, hotline, now, choice)
            picture.apply(OperatorAnswered(uniqueid, now, ""))
            picture.apply(CallerHungUp(uniqueid, 16, now))
            picture.queue_log.clear()
            picture.take_dirty()
            return arrival

        def hold_plan(self, uniqueid: str) -> HoldPlan:
            return HoldPlan("default", 0, 0.0)

        def position(self, uniqueid: str) -> tuple[int, float | None]:
            return 1, None

        def waiting(self, uniqueid: str) -> Waiting | None:
            return picture.waiter_of(uniqueid)

        def leave(self, uniqueid: str, now: float, outcome: str = "timeout", key: str = "") -> Arrived | None:
            return picture.leave(uniqueid, now, outcome, key)

        def transfer(self, uniqueid: str, target: str, now: float, extension: str = "") -> Arrived:
            return picture.transfer(uniqueid, target, now, extension)

    return build_route_handler(_Router())
