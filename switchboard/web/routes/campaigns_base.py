"""What the campaign manager's routes share: the context, a campaign by id (404 if none), refusals as HTTP errors,
and the site's dialer for a campaign (pacing lives in the site file's [[dialers]], edited by the admin)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status

from switchboard.config import DialerSection, Site
from switchboard.errors import CampaignError, SwitchboardError
from switchboard.outbound_board import settings_of
from switchboard.outbound_pacing import WINDOWS_S
from switchboard.store.accounts import Account
from switchboard.store.campaigns import StoredCampaign, campaign_by_id
from switchboard.store.schema import campaigns
from switchboard.web.app import WebContext
from switchboard.web.auth import require
from switchboard.web.pages import page
from switchboard.web.roles import CAMPAIGNS

Manager = Annotated[Account, Depends(require(*CAMPAIGNS))]  # the API: a campaign manager or an admin
ManagerPage = Annotated[Account, Depends(page(*CAMPAIGNS))]  # the same for a page (a browser signs in first)


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def stored_campaign(ctx: WebContext, campaign_id: int) -> StoredCampaign:
    """The campaign, its settings read as the core reads them; 404 when there is none."""
    with ctx.engine.connect() as conn:
        if conn.execute(sa.select(campaigns.c.id).where(campaigns.c.id == campaign_id)).first() is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"campaign {campaign_id}: no such campaign")
        try:
            return campaign_by_id(conn, campaign_id)
        except CampaignError as exc:  # settings stored by an older version that no longer read
            raise refused(exc) from None


def refused(exc: SwitchboardError, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> HTTPException:
    """A refusal the page shows as it is: the message names the field and the value."""
    return HTTPException(code, str(exc))


def dialer_of(site: Site, campaign: str) -> DialerSection | None:
    return next((d for d in site.dialers if d.campaign == campaign), None)


def dialer_settings(site: Site, campaign: str) -> dict[str, Any] | None:
    """The pacing method and abandon cap of the campaign's dialer, read-only here: they live in the site file."""
    dialer = dialer_of(site, campaign)
    if dialer is None:
        return None
    return settings_of(dialer) | {"queue": dialer.queue, "grace_s": dialer.grace_s, "amd": dialer.amd}


def window_s(site: Site, campaign: str) -> float:
    """The abandon rate's legal window for the campaign: its dialer's, else 30 days."""
    dialer = dialer_of(site, campaign)
    return WINDOWS_S[dialer.window] if dialer is not None else WINDOWS_S["30d"]
