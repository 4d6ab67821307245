"""Server-sent events for the console's live pages: a stream that asks for new frames at a steady pace, ends soon
after its session does (sign-out, expiry, a disabled account) and keeps an idle connection open with comments.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from switchboard.web.app import WebContext
from switchboard.web.auth import COOKIE

SESSION_CHECK_EVERY_S = 15.0  # an open event stream ends soon after its session does
KEEPALIVE_S = 15.0  # proxies close a connection silent for a minute or so
# Frames to send now: what changed since the last call (an empty list when nothing did).
Poll = Callable[[], Awaitable[list[str]]]


def frame(event: str, data: Any) -> str:
    """One server-sent event named `event` carrying `data` as JSON."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def event_stream(request: Request, ctx: WebContext, poll: Poll, every_s: float) -> StreamingResponse:
    """The response that sends `poll`'s frames every `every_s` seconds while the client listens and is signed in."""
    return StreamingResponse(
        _frames(request, ctx, poll, every_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(request: Request, ctx: WebContext, poll: Poll, every_s: float) -> AsyncIterator[str]:
    token = request.cookies.get(COOKIE) or ""
    checked_at = sent_at = ctx.clock()
    while not await request.is_disconnected():
        now = ctx.clock()
        if now - checked_at >= SESSION_CHECK_EVERY_S:
            checked_at = now
            if await asyncio.to_thread(ctx.accounts.session, token, now) is None:
                yield frame("ended", {"detail": "the session has ended: sign in again"})
                return
        frames = await poll()
        if frames:
            sent_at = now
        elif now - sent_at >= KEEPALIVE_S:
            sent_at, frames = now, [": keep-alive\n\n"]
        for one in frames:
            yield one
        await asyncio.sleep(every_s)
