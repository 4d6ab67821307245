"""The supervisor's wallboard: queues against their targets, operators by state, calls in progress (live from Redis,
pushed every second over SSE), listen / whisper / barge, the day's charts by hour, and the staffing calculator.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel

from switchboard.errors import SupervisionError
from switchboard.store.accounts import Account
from switchboard.web.app import WebContext
from switchboard.web.auth import require
from switchboard.web.day_chart import day_by_hour, day_totals, parse_day
from switchboard.web.event_stream import event_stream, frame
from switchboard.web.pages import page, render
from switchboard.web.roles import SUPERVISION
from switchboard.web.spying import SpyError, ask_platform_to_spy
from switchboard.web.staffing_calc import staffing
from switchboard.web.wallboard_view import build_board, read_live

router = APIRouter(tags=["supervisor"])
Supervisor = Annotated[Account, Depends(require(*SUPERVISION))]
SupervisorPage = Annotated[Account, Depends(page(*SUPERVISION))]

EVENTS_EVERY_S = 1.0
REDIS_KEY = "supervisor.redis"


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def live_redis(ctx: WebContext) -> redis.Redis:
    """The console's own Redis client for the live state (a thread-safe pool, created on first use)."""
    client = ctx.extras.get(REDIS_KEY)
    if client is None:
        client = redis.Redis.from_url(
            ctx.site.redis_url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
        )
        ctx.extras[REDIS_KEY] = client
    return client


def _board(ctx: WebContext) -> dict[str, Any]:
    return build_board(read_live(live_redis(ctx)), ctx.site, ctx.clock())


async def _read_board(ctx: WebContext) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(_board, ctx)
    except (redis.RedisError, OSError) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"redis_url = {ctx.site.redis_url!r}: cannot read the live figures: {exc}",
        ) from None


@router.get("/supervisor", response_class=HTMLResponse)
def wallboard_page(request: Request, account: SupervisorPage) -> HTMLResponse:
    ctx = _ctx(request)
    targets = {q.abandon_target for q in ctx.site.queues}
    return render(
        request,
        "supervisor.html",
        account,
        queues=[q.name for q in ctx.site.queues],
        has_phone=bool(account.sip_user),
        abandon_target=targets.pop() if len(targets) == 1 else None,  # the one the queues share, if they do
    )


@router.get("/api/supervisor/board")
async def board(request: Request, account: Supervisor) -> dict[str, Any]:
    """Each queue's figures with targets and `late` flags, operators with their time in state, calls in progress."""
    return await _read_board(_ctx(request))


@router.get("/api/supervisor/events", response_class=StreamingResponse)
async def events(request: Request, account: Supervisor) -> StreamingResponse:
    """Server-sent events: the board (event `board`) every second; `unavailable` while Redis cannot be read."""
    ctx = _ctx(request)

    async def poll() -> list[str]:
        try:
            return [frame("board", await asyncio.to_thread(_board, ctx))]
        except (redis.RedisError, OSError) as exc:
            return [frame("unavailable", {"detail": f"cannot read the live figures from Redis: {exc}"})]

    return event_stream(request, ctx, poll, EVENTS_EVERY_S)


@router.get("/api/supervisor/day")
def day(
    request: Request,
    account: Supervisor,
    date: str | None = Query(None, description="YYYY-MM-DD; today by default"),
    zone: str | None = Query(None, description="an IANA time zone; the site's time_zone by default"),
    queue: str | None = Query(None, description="one queue; all of them by default"),
) -> dict[str, Any]:
    """The day by hour from the call records: offered, answered, abandoned, service level, AHT."""
    ctx = _ctx(request)
    targets = {q.name: float(q.sl_seconds) for q in ctx.site.queues}
    if queue and queue not in targets:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"queue = {queue!r}: no such queue in the site")
    try:
        chosen = parse_day(date, zone, ctx.clock(), ctx.site.time_zone)
    except SupervisionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    hours = day_by_hour(ctx.engine, chosen, targets, queue or None)
    shares = {q.sl_target for q in ctx.site.queues if not queue or q.name == queue}
    return {
        "date": chosen.date.isoformat(),
        "zone": str(chosen.zone),
        "queue": queue or None,
        "sl_target": shares.pop() if len(shares) == 1 else None,  # the target line, when the queues share one
        "hours": hours,
        "totals": day_totals(hours),
    }


@router.get("/api/supervisor/staffing")
def staffing_calculator(
    account: Supervisor,
    calls_per_hour: str | None = Query(None, description="calls offered per hour"),
    aht: str | None = Query(None, description="average handling time, seconds"),
    sl: str | None = Query(None, description="service-level target SHARE/SECONDS, e.g. 0.8/20"),
    patience: str | None = Query(None, description="callers' mean patience in seconds: Erlang A"),
    operators: str | None = Query(None, description="the figures for this many operators"),
) -> dict[str, Any]:
    """Operators needed for the target, or the figures for `operators`: as `switchboard staffing --json`."""
    try:
        return staffing(calls_per_hour, aht, sl, patience, operators)
    except SupervisionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


class SpyRequest(BaseModel):
    operator: str
    mode: str


@router.post("/api/supervisor/spy")
async def spy(body: SpyRequest, request: Request, account: Supervisor) -> dict[str, Any]:
    """Listen to, whisper to or barge in on an operator's call: your own phone rings, answer it to join."""
    ctx = _ctx(request)
    try:
        started = await ask_platform_to_spy(ctx, account, body.operator, body.mode)
    except SpyError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    await asyncio.to_thread(
        ctx.accounts.audit, account.name, f"supervisor.{body.mode}", body.operator, started, ctx.clock()
    )
    return started
