"""The `outbound` FastAGI script: a dialer's call answered by the network, in four moments.

`person`: a person answered (or AMD was off, or unsure): the campaign's queue gives an operator at once (session
mode: bridged in) or within the grace time, else the call is abandoned and the dialplan plays the identification
message. `machine`: AMD heard an answering machine (`message`: a recorded message was then left on it, the lead's
consent allowing). `dnc`: the person pressed the do-not-call key in the message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from agi_scripts.route import Arrived, Routed, Waiting, routed_variables
from agi_scripts.server import AgiSession
from asterisk_conf import variables
from switchboard.errors import AgiHangupError


class OutboundDesk(Protocol):
    """The port the script needs: the dialer's answered calls, by the channel the dialer originated."""

    def outbound_answered(self, uniqueid: str, now: float) -> tuple[Arrived, float] | None: ...  # arrival, grace (s)
    def outbound_abandoned(self, uniqueid: str, now: float) -> None: ...
    def outbound_machine(self, uniqueid: str, now: float, message: bool = False) -> None: ...
    def outbound_dnc(self, uniqueid: str, now: float) -> None: ...


def build_outbound_handler(
    desk: OutboundDesk, clock: Callable[[], float] = time.time
) -> Callable[[AgiSession], Awaitable[None]]:
    async def outbound(session: AgiSession) -> None:
        action = session.request.args[0] if session.request.args else ""
        uniqueid = session.request.uniqueid
        if action in ("machine", "message"):  # AMD said MACHINE; then, with consent, a message was left on it
            desk.outbound_machine(uniqueid, clock(), message=action == "message")
            return
        if action == "dnc":
            desk.outbound_dnc(uniqueid, clock())
            return
        await session.set_variable(variables.TARGET, "")
        answered = desk.outbound_answered(uniqueid, clock()) if action == "person" else None
        if answered is None:
            return  # not a call of ours: the dialplan hangs up
        arrival, grace_s = answered
        routed = arrival.result
        if routed is None and arrival.waiter is not None:
            routed = await within(session, arrival.waiter, grace_s) or arrival.waiter.assigned
        if routed is None or not routed.target:  # no await from here to the abandon: nobody is assigned between
            desk.outbound_abandoned(uniqueid, clock())
            return
        await session.set_variables(routed_variables(routed), last=True)

    return outbound


async def within(session: AgiSession, waiter: Waiting, grace_s: float) -> Routed | None:
    """The operator assigned within `grace_s`, or None: the person must not wait in silence any longer."""
    if waiter.assigned is not None:
        return waiter.assigned
    assigned: asyncio.Future[Routed] = asyncio.get_running_loop().create_future()
    waiter.notify = lambda routed: None if assigned.done() else assigned.set_result(routed)
    hangup = session.hangup_future()
    await asyncio.wait((assigned, hangup), timeout=grace_s, return_when=asyncio.FIRST_COMPLETED)
    if assigned.done():
        return assigned.result()
    if hangup.done():
        raise AgiHangupError("the person hung up before an operator came")
    return None
