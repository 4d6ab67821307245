"""The operator's desk: their state and pause button, the screen pop of the call on, the disposition after it, their
figures today, and their requests for days off. An operator sees only their own: the account names their phone.

State changes go to the running platform over the command bus (as the phone's feature codes); the screen pop and
the disposition are switchboard/operator_screen.py and the store's, shared with `switchboard operator`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from switchboard import commands, keys
from switchboard.errors import (
    CommandError,
    CommandRefusedError,
    CommandTimeoutError,
    DaysOffError,
    DispositionError,
    SwitchboardError,
)
from switchboard.live import decode_hash
from switchboard.operator_screen import ATTEMPT_CHANNEL, current_call, screen_pop
from switchboard.store import days_off
from switchboard.store.accounts import Account
from switchboard.store.attempts import record_disposition
from switchboard.store.operator_day import operator_day
from switchboard.store.schema import attempts
from switchboard.web.app import WebContext
from switchboard.web.auth import require
from switchboard.web.event_stream import event_stream, frame
from switchboard.web.pages import page, render
from switchboard.web.roles import OPERATOR_DESK

router = APIRouter(tags=["operator desk"])
Operator = Annotated[Account, Depends(require(*OPERATOR_DESK))]
OperatorPage = Annotated[Account, Depends(page(*OPERATOR_DESK))]
EVENTS_EVERY_S = 0.5
UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _phone(ctx: WebContext, account: Account) -> str:
    """The operator this account works as; an account naming no phone of this site has no desk."""
    if not account.sip_user or all(op.sip_user != account.sip_user for op in ctx.site.operators):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"account {account.name!r}: sip_user = {account.sip_user!r} is no operator of this site (an admin sets it)",
        )
    return account.sip_user


def _refused(status_code: int, exc: SwitchboardError) -> JSONResponse:
    """A refusal the page can show beside its field: {detail, field}."""
    return JSONResponse({"detail": str(exc), "field": getattr(exc, "field", None)}, status_code=status_code)


def _redis(ctx: WebContext) -> Any:
    if ctx.redis is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the console has no Redis connection yet")
    return ctx.redis


def _unavailable(ctx: WebContext, exc: Exception) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, f"redis_url = {ctx.site.redis_url!r}: cannot read the live state: {exc}"
    )


def _day_bounds(ctx: WebContext) -> tuple[dt.date, float, float]:
    day = days_off.today(ctx.clock(), ctx.site.time_zone)
    start = dt.datetime.combine(day, dt.time(), ctx.site.zone)
    return day, start.timestamp(), (start + dt.timedelta(days=1)).timestamp()


# -- the page --------------------------------------------------------------------------------------------------------
@router.get("/operator", response_class=HTMLResponse)
def desk_page(request: Request, account: OperatorPage) -> HTMLResponse:
    ctx = _ctx(request)
    phone = account.sip_user or ""
    name = next((op.name for op in ctx.site.operators if op.sip_user == phone), phone)
    earliest = days_off.today(ctx.clock(), ctx.site.time_zone) + dt.timedelta(days=days_off.MIN_NOTICE_DAYS)
    reasons = commands.pause_reasons()
    return render(
        request, "operator.html", account, sip_user=phone, operator_name=name, pause_reasons=reasons,
        earliest_day=earliest.isoformat(),
    )  # fmt: skip


# -- state -----------------------------------------------------------------------------------------------------------
async def _state(ctx: WebContext, sip_user: str) -> dict[str, Any]:
    try:
        row = decode_hash(await _redis(ctx).hgetall(keys.operator(sip_user)))
    except (RedisError, OSError) as exc:
        raise _unavailable(ctx, exc) from None
    since = row.get("since")
    return {
        "sip_user": sip_user,
        "state": row.get("state", "unknown"),  # unknown: the platform has not published this operator
        "since": since,
        "seconds": round(max(0.0, ctx.clock() - since), 1) if isinstance(since, int | float) else None,
        "paused_reason": row.get("paused_reason"),
        "queues": row.get("queues") or [],
    }


@router.get("/api/operator/state")
async def state(request: Request, account: Operator) -> dict[str, Any]:
    """Your state as the platform publishes it (sb:operator:<you>): state, since, seconds in it, pause reason."""
    ctx = _ctx(request)
    reasons = [{"code": code, "name": name} for code, name in commands.pause_reasons().items()]
    return await _state(ctx, _phone(ctx, account)) | {"pause_reasons": reasons}


async def _command(request: Request, account: Account, name: str, args: dict[str, str] | None = None) -> Any:
    ctx = _ctx(request)
    sent = {"sip_user": _phone(ctx, account)} | (args or {})
    try:
        return await commands.send(ctx.site.redis_url, name, sent, sender=f"web:{account.name}")
    except CommandRefusedError as exc:
        return _refused(UNPROCESSABLE if exc.field not in (None, "sip_user") else status.HTTP_409_CONFLICT, exc)
    except CommandTimeoutError as exc:
        return _refused(status.HTTP_504_GATEWAY_TIMEOUT, exc)
    except CommandError as exc:
        return _refused(status.HTTP_503_SERVICE_UNAVAILABLE, exc)


@router.post("/api/operator/login", response_model=None)
async def login(request: Request, account: Operator) -> Any:
    """Log in to your queues (as *41 on the phone)."""
    return await _command(request, account, keys.COMMAND_OPERATOR_LOGIN)


@router.post("/api/operator/logout", response_model=None)
async def logout(request: Request, account: Operator) -> Any:
    """Log out of your queues (as *42)."""
    return await _command(request, account, keys.COMMAND_OPERATOR_LOGOUT)


class PauseBody(BaseModel):
    reason: str = Field(max_length=40, description="the reason's code (as *43X: 1 lunch ...) or name")


@router.post("/api/operator/pause", response_model=None)
async def pause(body: PauseBody, request: Request, account: Operator) -> Any:
    """Pause with a reason (as *43X)."""
    return await _command(request, account, keys.COMMAND_OPERATOR_PAUSE, {"reason": body.reason})


@router.post("/api/operator/unpause", response_model=None)
async def unpause(request: Request, account: Operator) -> Any:
    """Available again (as *44)."""
    return await _command(request, account, keys.COMMAND_OPERATOR_UNPAUSE)


# -- the call --------------------------------------------------------------------------------------------------------
async def _current(ctx: WebContext, sip_user: str) -> tuple[str, dict[str, Any]] | None:
    try:
        return await current_call(_redis(ctx), sip_user)
    except (RedisError, OSError) as exc:
        raise _unavailable(ctx, exc) from None


@router.get("/api/operator/call", response_model=None)
async def call(request: Request, account: Operator) -> Any:
    """The screen pop: the call on, else your last answered campaign call still waiting for its disposition."""
    ctx = _ctx(request)
    sip_user = _phone(ctx, account)
    on = await _current(ctx, sip_user)
    try:
        return await asyncio.to_thread(screen_pop, ctx.engine, ctx.site, sip_user, on, ctx.clock())
    except SwitchboardError as exc:
        return _refused(status.HTTP_409_CONFLICT, exc)


class DispositionBody(BaseModel):
    attempt_id: int
    code: str = Field(max_length=40, description="the disposition's code (sale, refused, callback ...)")
    refusal_reason: str | None = Field(None, max_length=40, description="a refusal's reason code")
    note: str | None = Field(None, max_length=2000)
    order_form: dict[str, Any] | None = Field(None, description="field -> value; required for a sale")
    survey: dict[str, Any] | None = None
    callback_at: str | None = Field(None, description="YYYY-MM-DDTHH:MM, wall-clock time in the lead's zone")
    callback_personal: bool = Field(False, description="the callback comes back to you, not anyone")


@router.post("/api/operator/disposition", response_model=None)
async def disposition(body: DispositionBody, request: Request, account: Operator) -> Any:
    """Record the disposition of your call: refusal reason for a refusal, callback time for a callback, the order
    form for a sale; a refusal names the field."""
    ctx = _ctx(request)
    sip_user = _phone(ctx, account)
    on = await _current(ctx, sip_user)
    on_now = on is not None and on[0] == f"{ATTEMPT_CHANNEL}{body.attempt_id}"
    owner = await asyncio.to_thread(_claim, ctx, body.attempt_id, sip_user, on_now)
    if owner != sip_user:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"attempt_id = {body.attempt_id}: not a call of yours")
    try:
        callback = _callback_time(body.callback_at)
        done = await asyncio.to_thread(
            record_disposition, ctx.engine, body.attempt_id, body.code,
            refusal_reason=body.refusal_reason or None, note=(body.note or "").strip() or None,
            order_form=body.order_form, survey=body.survey or None, callback_at=callback,
            callback_personal=body.callback_personal, now=ctx.clock(),
        )  # fmt: skip
    except DispositionError as exc:  # with a field: the operator's input; without: the call's state (disposed ...)
        return _refused(UNPROCESSABLE if exc.field else status.HTTP_409_CONFLICT, exc)
    except SwitchboardError as exc:
        return _refused(status.HTTP_409_CONFLICT, exc)
    return {
        "attempt_id": done.attempt_id, "lead_id": done.lead_id, "lead_status": done.status,
        "next_attempt_at": done.next_attempt_at, "dnc": done.dnc_added, "callback_id": done.callback_id,
    }  # fmt: skip


def _claim(ctx: WebContext, attempt_id: int, sip_user: str, on_now: bool) -> str | None:
    """The attempt's operator; the call on is claimed for its operator before the hangup writes it."""
    with ctx.engine.begin() as conn:
        owner = conn.execute(sa.select(attempts.c.operator).where(attempts.c.id == attempt_id)).first()
        if owner is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"attempt_id = {attempt_id}: no such attempt")
        if owner.operator is None and on_now:
            conn.execute(attempts.update().where(attempts.c.id == attempt_id).values(operator=sip_user))
            return sip_user
        return str(owner.operator) if owner.operator is not None else None


def _callback_time(text: str | None) -> dt.datetime | None:
    if text is None or not text.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise DispositionError(f"callback_at = {text!r}: not a time (YYYY-MM-DDTHH:MM)", field="callback_at") from None
    if when.tzinfo is not None:
        raise DispositionError(f"callback_at = {text!r}: a wall-clock time in the lead's zone, without an offset",
                               field="callback_at")  # fmt: skip
    return when


# -- my day and my days off ------------------------------------------------------------------------------------------
@router.get("/api/operator/today")
async def today(request: Request, account: Operator) -> dict[str, Any]:
    """Your figures today (the site's day): calls, talk time, contacts, sales, conversion, average score."""
    ctx = _ctx(request)
    sip_user = _phone(ctx, account)
    day, since, until = _day_bounds(ctx)
    figures = await asyncio.to_thread(operator_day, ctx.engine, sip_user, since, until)
    return {"day": day.isoformat(), "zone": ctx.site.time_zone} | figures


class DaysOffBody(BaseModel):
    first_day: str = Field(description="YYYY-MM-DD, at least 7 days ahead")
    last_day: str | None = Field(None, description="YYYY-MM-DD; the first day when left out")
    reason: str | None = Field(None, max_length=200)


@router.get("/api/operator/days-off")
def my_days_off(request: Request, account: Operator) -> dict[str, Any]:
    """Your requests for days off and what became of them."""
    ctx = _ctx(request)
    zone_name = ctx.site.time_zone
    earliest = days_off.today(ctx.clock(), zone_name) + dt.timedelta(days=days_off.MIN_NOTICE_DAYS)
    mine = days_off.requests(ctx.engine, user_name=account.name)
    return {"earliest_day": earliest.isoformat(), "zone": zone_name, "requests": mine}


@router.post("/api/operator/days-off", response_model=None)
def request_days_off(body: DaysOffBody, request: Request, account: Operator) -> Any:
    """Ask for days off (at least a week ahead); a supervisor approves them into the roster."""
    ctx = _ctx(request)
    try:
        return days_off.request_days_off(
            ctx.engine, account.name, body.first_day, body.last_day or body.first_day, body.reason, ctx.clock(),
            ctx.site.time_zone,
        )  # fmt: skip
    except DaysOffError as exc:
        return _refused(UNPROCESSABLE, exc)


# -- live updates ----------------------------------------------------------------------------------------------------
@router.get("/api/operator/events", response_class=StreamingResponse)
async def events(request: Request, account: Operator) -> StreamingResponse:
    """Server-sent events: `state` (as /api/operator/state) and `call` ({"call": id or null}) when they change,
    read from Redis twice a second; `unavailable` while Redis cannot be read."""
    ctx = _ctx(request)
    sip_user = _phone(ctx, account)
    last: dict[str, Any] = {}  # what the page was last sent

    async def poll() -> list[str]:
        try:
            return await _changes(ctx, sip_user, last)
        except HTTPException as exc:
            last.clear()  # everything is news again once Redis is back
            return [frame("unavailable", {"detail": exc.detail})]

    return event_stream(request, ctx, poll, EVENTS_EVERY_S)


async def _changes(ctx: WebContext, sip_user: str, last: dict[str, Any]) -> list[str]:
    """The frames for what changed since `last` (updated): the state without its ticking seconds, the call's id."""
    frames = []
    now_state = await _state(ctx, sip_user)
    shown = {k: v for k, v in now_state.items() if k != "seconds"}
    if last.get("state") != shown:
        last["state"] = shown
        frames.append(frame("state", now_state))
    on = await _current(ctx, sip_user)
    call_id = on[0] if on is not None else None
    if "call" not in last or last["call"] != call_id:
        last["call"] = call_id
        frames.append(frame("call", {"call": call_id}))
    return frames
