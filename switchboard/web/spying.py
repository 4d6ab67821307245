"""The console's side of listen / whisper / barge: the checks the site file answers at once (your phone, the
operator), then the command to the running platform, which checks the call on Asterisk and rings your phone.
"""

from __future__ import annotations

from typing import Any

from fastapi import status

from switchboard import commands, keys
from switchboard.errors import CommandError, CommandRefusedError, CommandTimeoutError, SpyRefusedError, SwitchboardError
from switchboard.store.accounts import Account
from switchboard.supervise import SpyMode, spied_operator, supervisor_phone
from switchboard.web.app import WebContext

COMMAND_OF = {
    SpyMode.LISTEN: keys.COMMAND_SUPERVISOR_LISTEN,
    SpyMode.WHISPER: keys.COMMAND_SUPERVISOR_WHISPER,
    SpyMode.BARGE: keys.COMMAND_SUPERVISOR_BARGE,
}


class SpyError(SwitchboardError):
    """Spying refused or failed, with the HTTP status to answer."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


async def ask_platform_to_spy(ctx: WebContext, account: Account, operator: str, mode: str) -> dict[str, Any]:
    """What the platform started (its SpyOrder as a dict); SpyError naming the field or the reason otherwise."""
    try:
        chosen = SpyMode(mode)
    except ValueError:
        choices = ", ".join(m.value for m in SpyMode)
        raise SpyError(f"mode = {mode!r}: expected one of {choices}", status.HTTP_422_UNPROCESSABLE_CONTENT) from None
    try:
        phone = supervisor_phone(ctx.site, account.sip_user)
        spied_operator(ctx.site, operator, phone)
    except SpyRefusedError as exc:
        raise SpyError(str(exc), status.HTTP_409_CONFLICT) from None
    args = {"supervisor": phone.sip_user, "operator": operator}
    try:
        return await commands.send(ctx.site.redis_url, COMMAND_OF[chosen], args, sender=f"web:{account.name}")
    except CommandRefusedError as exc:
        raise SpyError(str(exc), status.HTTP_409_CONFLICT) from None
    except CommandTimeoutError as exc:
        raise SpyError(str(exc), status.HTTP_504_GATEWAY_TIMEOUT) from None
    except CommandError as exc:
        raise SpyError(str(exc), status.HTTP_503_SERVICE_UNAVAILABLE) from None
