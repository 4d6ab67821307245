"""Callbacks in SQL: a promise to call a lead back at a wall-clock time in its zone, by one operator or anyone.

The time is checked by the core (it exists there, is ahead, and is within the campaign's calling hours) and kept
as an instant with the zone it was given in; the lead waits with status 'callback' until then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from dialer.campaigns.hours import check_zone, zone
from dialer.campaigns.model import CampaignDataError, LeadStatus
from dialer.campaigns.rules import LeadState, callback_time, primary_zone
from dialer.campaigns.settings import CampaignSettings
from switchboard.errors import CampaignError
from switchboard.store.campaigns import campaign_by_id, clock, find_campaign, transaction
from switchboard.store.schema import callbacks, leads

PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Callback:
    id: int
    lead_id: int
    phone_e164: str
    due_at: float
    zone: str
    operator: str | None  # None: anyone in the campaign
    note: str | None

    @property
    def local_time(self) -> str:
        """The time as the person gave it, in their zone."""
        return dt.datetime.fromtimestamp(self.due_at, zone(self.zone)).isoformat(timespec="minutes")


def callback_instant(local: dt.datetime, zone_name: str, settings: CampaignSettings, now: float) -> dt.datetime:
    """A wall-clock time (naive: in `zone_name`) as an instant, checked by the core; errors name field and value."""
    check_zone(zone_name, "callback_zone")
    return callback_time(local, zone_name, settings, dt.datetime.fromtimestamp(now, dt.UTC))


def insert_callback(
    conn: Connection,
    lead: Row[Any],
    phone: str,
    due_at: float,
    zone_name: str,
    operator: str | None,
    now: float,
    note: str | None = None,
    *,
    attempt_id: int | None = None,
) -> int:
    values = {
        "lead_id": lead.id,
        "campaign_id": lead.campaign_id,
        "attempt_id": attempt_id,
        "phone_e164": phone,
        "due_at": due_at,
        "zone": zone_name,
        "operator": operator,
        "status": PENDING,
        "note": note,
        "created_at": now,
    }
    return int(conn.execute(callbacks.insert().values(**values).returning(callbacks.c.id)).scalar_one())


def settle_callbacks(conn: Connection, lead_id: int, now: float) -> None:
    """A disposition on the lead settles the callbacks it had pending: one due was this call, a later one is replaced
    by what the disposition decided (a new callback among them)."""
    pending = (callbacks.c.lead_id == lead_id) & (callbacks.c.status == PENDING)
    conn.execute(callbacks.update().where(pending, callbacks.c.due_at <= now).values(status="done", done_at=now))
    conn.execute(callbacks.update().where(pending, callbacks.c.due_at > now).values(status="cancelled", done_at=now))


def schedule_callback(
    engine: Engine,
    lead_id: int,
    local: dt.datetime,
    *,
    zone_name: str | None = None,
    operator: str | None = None,
    note: str | None = None,
    now: float | None = None,
) -> int:
    """A callback at a wall-clock time in the lead's (first) zone, or `zone_name`; for `operator`, or anyone."""
    at = clock(now)
    with transaction(engine, f"the callback for lead {lead_id}") as conn:
        lead = conn.execute(sa.select(leads).where(leads.c.id == lead_id)).first()
        if lead is None:
            raise CampaignError(f"lead {lead_id}: no such lead")
        if lead.status in (LeadStatus.DNC.value, LeadStatus.INVALID.value):
            raise CampaignError(f"lead {lead_id}: the lead is {lead.status}, it may not be called back")
        campaign = campaign_by_id(conn, lead.campaign_id)
        state = LeadState(LeadStatus(lead.status), tuple(lead.time_zones or ()))
        where = zone_name or primary_zone(state, campaign.settings)
        try:
            due = callback_instant(local, where, campaign.settings, at).timestamp()
        except CampaignDataError as exc:
            raise CampaignError(f"lead {lead_id}: {exc}", field=exc.field) from None
        callback_id = insert_callback(conn, lead, lead.phone_e164, due, where, operator, at, note)
        conn.execute(
            leads.update().where(leads.c.id == lead_id).values(status=LeadStatus.CALLBACK.value, next_attempt_at=due)
        )
        return callback_id


def due_callbacks(
    engine: Engine, campaign: str, *, operator: str | None = None, now: float | None = None
) -> list[Callback]:
    """Pending callbacks due by now, earliest first: everyone's, plus `operator`'s own when one is named."""
    at = clock(now)
    with engine.connect() as conn:
        campaign_id = find_campaign(conn, campaign).id
        mine: sa.ColumnElement[bool] = callbacks.c.operator.is_(None)
        if operator is not None:
            mine = sa.or_(mine, callbacks.c.operator == operator)
        rows = conn.execute(
            sa.select(callbacks)
            .where(
                callbacks.c.campaign_id == campaign_id,
                callbacks.c.status == PENDING,
                callbacks.c.due_at <= at,
                mine,
            )
            .order_by(callbacks.c.due_at, callbacks.c.id)
        ).all()
    return [
        Callback(int(r.id), int(r.lead_id), r.phone_e164, float(r.due_at), r.zone or "UTC", r.operator, r.note)
        for r in rows
    ]
