"""The `route` FastAGI script: the hotline hands each call here, and we tell the dialplan whom to dial.

Exactly three AGI commands per call: the call id, the recording path and the Dial target ("" = nobody free).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from agi_scripts.server import AgiSession
from asterisk_conf import variables


class Routed(Protocol):
    call_id: str
    target: str
    recording: str


class CallRouter(Protocol):
    """The port the route script needs: decide, from the live picture, with time passed in."""

    def route_call(self, uniqueid: str, caller: str, hotline: str, now: float) -> Routed: ...


Handler = Callable[[AgiSession], Awaitable[None]]


def build_route_handler(router: CallRouter, clock: Callable[[], float] = time.time) -> Handler:
    async def route(session: AgiSession) -> None:
        request = session.request
        # The hotline number comes from the dialplan argument (our config), never from the caller's digits.
        hotline = request.args[0] if request.args else request.extension
        routed = router.route_call(request.uniqueid, request.callerid, hotline, clock())
        await session.set_variable(variables.CALL_ID, routed.call_id)
        await session.set_variable(variables.RECORDING, routed.recording)
        await session.set_variable(variables.TARGET, routed.target)

    return route
