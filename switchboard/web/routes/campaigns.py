"""The campaign manager's console: the campaigns list, a campaign's file edited as text (the CLI's checks), its
report with charts, start / pause / stop, live dialer figures and win-back campaigns. Lead uploads and exports are
in campaigns_leads.py. Every change is in the audit log.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from dialer.campaigns.settings import as_json
from switchboard.errors import CampaignError, StoreError
from switchboard.outbound_board import read_figures
from switchboard.store.accounts import Account
from switchboard.store.campaign_console import (
    abandon_figures,
    campaign_overview,
    import_history,
    set_status,
)
from switchboard.store.campaign_report import campaign_report
from switchboard.store.campaigns import campaign_summary, save_campaign
from switchboard.store.schema import campaigns
from switchboard.store.winback import create_winback
from switchboard.web.app import WebContext
from switchboard.web.campaign_toml import STARTER, campaign_toml, read_campaign_text
from switchboard.web.pages import render
from switchboard.web.routes import campaigns_leads
from switchboard.web.routes.campaigns_base import (
    Manager,
    ManagerPage,
    context,
    dialer_settings,
    refused,
    stored_campaign,
    window_s,
)

router = APIRouter(tags=["campaigns"])
router.include_router(campaigns_leads.router)

ACTIONS = {"start": "active", "pause": "paused", "stop": "archived"}


class CampaignFile(BaseModel):
    toml: str = Field(max_length=1_000_000, description="The campaign file, as `switchboard campaign create` reads it")


class WinbackRequest(BaseModel):
    name: str = Field(max_length=100, description="The new campaign (made with the source's settings)")
    reasons: list[str] = Field(max_length=100, description="Refusal reason codes of the source campaign")


def _overview(ctx: WebContext) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        names = list(conn.execute(sa.select(campaigns.c.name)).scalars())
    return campaign_overview(ctx.engine, ctx.clock(), {n: window_s(ctx.site, n) for n in names})


def _details(ctx: WebContext, campaign_id: int) -> dict[str, Any]:
    stored = stored_campaign(ctx, campaign_id)
    summary = campaign_summary(ctx.engine, stored.name)
    return {
        "id": stored.id,
        "name": stored.name,
        "status": stored.status,
        "winback": stored.winback,
        "settings": summary["settings"],
        "toml": campaign_toml(as_json(stored.settings)),
        "lists": summary["lists"],
        "dialer": dialer_settings(ctx.site, stored.name),
    }


# -- pages ---------------------------------------------------------------------------------------------------------
@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, account: ManagerPage) -> HTMLResponse:
    return render(request, "campaigns.html", account, campaigns=_overview(context(request)))


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign_page(request: Request, account: ManagerPage) -> HTMLResponse:
    return render(request, "campaigns_edit.html", account, campaign=None, toml=STARTER)


@router.get("/campaigns/{campaign_id}/edit", response_class=HTMLResponse)
def edit_campaign_page(request: Request, campaign_id: int, account: ManagerPage) -> HTMLResponse:
    details = _details(context(request), campaign_id)
    return render(request, "campaigns_edit.html", account, campaign=details, toml=details["toml"])


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, campaign_id: int, account: ManagerPage) -> HTMLResponse:
    ctx = context(request)
    details = _details(ctx, campaign_id)
    report = campaign_report(ctx.engine, details["name"])
    return render(
        request,
        "campaigns_report.html",
        account,
        campaign=details,
        report=report,
        imports=import_history(ctx.engine, campaign_id, limit=10),
    )


# -- the API behind them ---------------------------------------------------------------------------------------------
@router.get("/api/campaigns")
def list_campaigns(request: Request, account: Manager) -> list[dict[str, Any]]:
    """Every campaign: status, leads, attempts today (in its zone), abandon rate over its dialer's window."""
    return _overview(context(request))


@router.post("/api/campaigns", status_code=status.HTTP_201_CREATED)
def create_campaign(body: CampaignFile, request: Request, account: Manager) -> dict[str, Any]:
    """A new campaign from its file; a mistake names the field and the value, and nothing is stored."""
    ctx = context(request)
    try:
        settings, given = read_campaign_text(body.toml)
    except CampaignError as exc:
        raise refused(exc) from None
    with ctx.engine.connect() as conn:
        taken = conn.execute(sa.select(campaigns.c.id).where(campaigns.c.name == settings.name)).scalar()
    if taken is not None:
        message = f"name = {settings.name!r}: a campaign of that name exists (edit it: /campaigns/{taken}/edit)"
        raise HTTPException(status.HTTP_409_CONFLICT, message)
    saved = _save(ctx, settings, given)
    ctx.accounts.audit(account.name, "campaign.create", saved.name, {"id": saved.id}, ctx.clock())
    return {"id": saved.id, "name": saved.name, "created": True}


@router.get("/api/campaigns/{campaign_id}")
def get_campaign(campaign_id: int, request: Request, account: Manager) -> dict[str, Any]:
    """The campaign's settings (JSON and as its file), lists, and its dialer's pacing (read-only: the site file)."""
    return _details(context(request), campaign_id)


@router.put("/api/campaigns/{campaign_id}")
def update_campaign(campaign_id: int, body: CampaignFile, request: Request, account: Manager) -> dict[str, Any]:
    """The campaign's new file; it keeps its name (a renamed file would be another campaign)."""
    ctx = context(request)
    stored = stored_campaign(ctx, campaign_id)
    try:
        settings, given = read_campaign_text(body.toml)
    except CampaignError as exc:
        raise refused(exc) from None
    if settings.name != stored.name:
        message = f"name = {settings.name!r}: this campaign is {stored.name!r}; make a new campaign for a new name"
        raise refused(CampaignError(message, field="name"))
    saved = _save(ctx, settings, given)
    ctx.accounts.audit(account.name, "campaign.update", saved.name, {"id": saved.id}, ctx.clock())
    return {"id": saved.id, "name": saved.name, "created": False}


def _save(ctx: WebContext, settings: Any, given: frozenset[str]) -> Any:
    try:
        return save_campaign(ctx.engine, settings, now=ctx.clock(), given=given)
    except StoreError as exc:
        raise refused(exc, status.HTTP_503_SERVICE_UNAVAILABLE) from None


def _set_status(ctx: WebContext, campaign_id: int, action: str, account: Account) -> dict[str, Any]:
    stored_campaign(ctx, campaign_id)  # 404 before anything changes
    name, before = set_status(ctx.engine, campaign_id, ACTIONS[action])
    ctx.accounts.audit(
        account.name,
        f"campaign.{action}",
        name,
        {"id": campaign_id, "from": before, "to": ACTIONS[action]},
        ctx.clock(),
    )
    return {"id": campaign_id, "name": name, "status": ACTIONS[action], "was": before}


@router.post("/api/campaigns/{campaign_id}/start")
def start_campaign(campaign_id: int, request: Request, account: Manager) -> dict[str, Any]:
    """Status active: the dialer starts placing its calls within two seconds."""
    return _set_status(context(request), campaign_id, "start", account)


@router.post("/api/campaigns/{campaign_id}/pause")
def pause_campaign(campaign_id: int, request: Request, account: Manager) -> dict[str, Any]:
    """Status paused: no new call within two seconds; the calls under way end as usual."""
    return _set_status(context(request), campaign_id, "pause", account)


@router.post("/api/campaigns/{campaign_id}/stop")
def stop_campaign(campaign_id: int, request: Request, account: Manager) -> dict[str, Any]:
    """Status archived: the campaign is over (start makes it active again)."""
    return _set_status(context(request), campaign_id, "stop", account)


@router.get("/api/campaigns/{campaign_id}/report")
def report(campaign_id: int, request: Request, account: Manager) -> dict[str, Any]:
    """`switchboard campaign report`: attempts, outcomes, refusal reasons with counts; per list, operator, hour."""
    ctx = context(request)
    return campaign_report(ctx.engine, stored_campaign(ctx, campaign_id).name)


@router.get("/api/campaigns/{campaign_id}/live")
async def live(campaign_id: int, request: Request, account: Manager) -> dict[str, Any]:
    """What the running dialer publishes (dial level, answer rate, abandon rate over its window, operators idle,
    calls ringing), and the window's abandon rate counted from the attempt rows."""
    ctx = context(request)
    stored = await run_in_threadpool(stored_campaign, ctx, campaign_id)
    window = window_s(ctx.site, stored.name)

    def counted() -> dict[str, Any]:
        with ctx.engine.connect() as conn:
            return abandon_figures(conn, campaign_id, ctx.clock() - window) | {"window_s": window}

    figures, error = None, None
    if ctx.redis is None:
        error = "the console has no Redis client"
    else:
        try:
            figures = await read_figures(ctx.redis, stored.name)
        except (aioredis.RedisError, OSError) as exc:
            error = f"redis_url = {ctx.site.redis_url!r}: cannot read the live figures: {exc}"
    return {
        "campaign": stored.name,
        "status": stored.status,
        "dialer": dialer_settings(ctx.site, stored.name),
        "live": figures,
        "live_error": error,
        "counted": await run_in_threadpool(counted),
        "now": ctx.clock(),
    }


@router.post("/api/campaigns/{campaign_id}/winback", status_code=status.HTTP_201_CREATED)
def winback(campaign_id: int, body: WinbackRequest, request: Request, account: Manager) -> dict[str, Any]:
    """A win-back campaign from this one's leads whose last answer was a refusal for the chosen reasons."""
    ctx = context(request)
    source = stored_campaign(ctx, campaign_id)
    try:
        made = create_winback(ctx.engine, source.name, body.name, body.reasons, now=ctx.clock())
    except CampaignError as exc:
        raise refused(exc) from None
    except StoreError as exc:
        raise refused(exc, status.HTTP_503_SERVICE_UNAVAILABLE) from None
    with ctx.engine.connect() as conn:
        new_id = conn.execute(sa.select(campaigns.c.id).where(campaigns.c.name == made.campaign)).scalar_one()
    data = made.as_json() | {"id": int(new_id)}
    ctx.accounts.audit(account.name, "campaign.winback", made.campaign, data, ctx.clock())
    return data
