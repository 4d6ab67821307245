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
    @property
    def call_id(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def recording(self) -> str: ...


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


def build_benchmark_handler(operators: int = 200) -> Handler:
    """The real route script on a real live picture of `operators` free phones, for benchmarks/agi_throughput.py.

    Each routed call is ended at once through the same event path a hangup takes, so operators stay free.
    """
    from switchboard.config import parse_site
    from switchboard.events import CallerHungUp, PhoneStateChanged
    from switchboard.picture import Picture

    site = parse_site(
        {
            "skills": ["general"],
            "ami": {"secret": "benchmark-secret", "admin_secret": "benchmark-admin"},
            "queues": [{"name": "general", "requires": {"general": 1}}],
            "hotlines": [{"number": "100", "queue": "general"}],
            "operators": [
                {"sip_user": f"op{i}", "secret": "benchmark-secret", "name": f"Op {i}", "skills": {"general": 3}}
                for i in range(operators)
            ],
            "recordings_dir": "/tmp/switchboard-benchmark-recordings",
        }
    )
    picture = Picture(site)
    for op in site.operators:
        picture.apply(PhoneStateChanged(op.sip_user, "NOT_INUSE", 0.0))

    class _Router:
        def route_call(self, uniqueid: str, caller: str, hotline: str, now: float) -> Routed:
            result, _record = picture.route_inbound(uniqueid, caller, hotline, now)
            picture.apply(CallerHungUp(uniqueid, 16, now))
            return result

    return build_route_handler(_Router())
