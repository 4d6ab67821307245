"""Days off for supervisors: the requests waiting for a decision, approve or refuse (audited), and the roster of who is
off which day. Operators ask for days off from their desk (routes/operator_desk.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse

from switchboard.errors import DaysOffError
from switchboard.store import days_off
from switchboard.store.accounts import Account
from switchboard.web.app import WebContext
from switchboard.web.auth import require
from switchboard.web.pages import page, render
from switchboard.web.roles import SUPERVISION

router = APIRouter(tags=["days off"])
Supervisor = Annotated[Account, Depends(require(*SUPERVISION))]
SupervisorPage = Annotated[Account, Depends(page(*SUPERVISION))]
ROSTER_DAYS = 28  # the page's roster: the next four weeks


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _refused(exc: DaysOffError) -> JSONResponse:
    code = status.HTTP_409_CONFLICT if exc.field == "request" else status.HTTP_422_UNPROCESSABLE_CONTENT
    return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=code)


def _today(ctx: WebContext) -> dt.date:
    return days_off.today(ctx.clock(), ctx.site.time_zone)


@router.get("/supervisor/days-off", response_class=HTMLResponse)
def days_off_page(request: Request, account: SupervisorPage) -> HTMLResponse:
    ctx = _ctx(request)
    first = _today(ctx)
    last = first + dt.timedelta(days=ROSTER_DAYS - 1)
    return render(
        request,
        "days_off.html",
        account,
        pending=days_off.requests(ctx.engine, status=days_off.PENDING),
        roster=days_off.roster(ctx.engine, first, last),
        zone=ctx.site.time_zone,
    )


@router.get("/api/days-off", response_model=None)
def requests(
    request: Request,
    account: Supervisor,
    status_: str | None = Query(None, alias="status", description="pending, approved or refused; all by default"),
    user: str | None = Query(None, description="one account's requests"),
) -> Any:
    """Requests for days off, earliest first."""
    try:
        return {"requests": days_off.requests(_ctx(request).engine, user_name=user, status=status_)}
    except DaysOffError as exc:
        return _refused(exc)


def _decide(request: Request, request_id: int, approve: bool, account: Account) -> Any:
    ctx = _ctx(request)
    try:
        return days_off.decide(ctx.engine, request_id, approve, account.name, ctx.clock())
    except DaysOffError as exc:
        return _refused(exc)


@router.post("/api/days-off/{request_id}/approve", response_model=None)
def approve(request: Request, request_id: int, account: Supervisor) -> Any:
    """Approve a pending request: its days join the roster."""
    return _decide(request, request_id, True, account)


@router.post("/api/days-off/{request_id}/refuse", response_model=None)
def refuse(request: Request, request_id: int, account: Supervisor) -> Any:
    """Refuse a pending request."""
    return _decide(request, request_id, False, account)


@router.get("/api/roster", response_model=None)
def roster(
    request: Request,
    account: Supervisor,
    from_: str | None = Query(None, alias="from", description="YYYY-MM-DD; today by default"),
    to: str | None = Query(None, description="YYYY-MM-DD; four weeks from `from` by default"),
) -> Any:
    """Who is off which day (approved days off), every day of from..to."""
    ctx = _ctx(request)
    try:
        first = days_off.parse_day(from_, "from") if from_ else _today(ctx)
        last = days_off.parse_day(to, "to") if to else first + dt.timedelta(days=ROSTER_DAYS - 1)
        return {"from": first.isoformat(), "to": last.isoformat(), "days": days_off.roster(ctx.engine, first, last)}
    except DaysOffError as exc:
        return _refused(exc)
