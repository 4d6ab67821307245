"""The `operator` FastAGI script: feature codes from an operator's phone (log in, out, pause, unpause, wrap-up code).

The operator is the calling PJSIP endpoint, passed by the dialplan as ${CHANNEL(endpoint)}; we answer with a prompt.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from agi_scripts.server import AgiSession
from asterisk_conf import variables

COMMANDS = frozenset({"login", "logout", "pause", "unpause", "wrapup"})
SESSION = "session"


class OperatorDesk(Protocol):
    """The port the script needs: carry out one operator command and say which prompt confirms it."""

    def operator_command(self, sip_user: str, command: str, reason_code: str, now: float) -> str: ...
    def start_session(self, sip_user: str, channel: str, now: float) -> str | None: ...  # the bridge, or refused


def build_operator_handler(
    desk: OperatorDesk, clock: Callable[[], float] = time.time
) -> Callable[[AgiSession], Awaitable[None]]:
    async def operator(session: AgiSession) -> None:
        args = (*session.request.args, "", "", "")
        command, sip_user, reason_code = args[0], args[1], args[2]
        prompt = "beeperr"
        if command == SESSION and sip_user:
            # The phone stays on the line in its holding bridge: calls are bridged in without ringing.
            bridge = desk.start_session(sip_user, session.request.uniqueid, clock())
            await session.set_variable(variables.BRIDGE, bridge or "")
            prompt = "agent-loginok" if bridge else prompt
        elif command in COMMANDS and sip_user:
            prompt = desk.operator_command(sip_user, command, reason_code, clock())
        await session.set_variable(variables.PROMPT, prompt)

    return operator
