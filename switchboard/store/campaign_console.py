"""What the campaign manager's console reads and changes in SQL beyond the CLI's: the campaigns list with today's
figures, the campaign's status (start, pause, stop), its lead imports, and its abandon rate over a window.

The dialer reads the status column every two seconds (switchboard.outbound): a paused or stopped campaign launches
no new call, and the calls under way end as usual.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dialer.campaigns.hours import zone
from dialer.campaigns.model import DIALABLE, Result
from switchboard.errors import CampaignError
from switchboard.store.campaigns import transaction
from switchboard.store.schema import attempts, campaigns, lead_imports, lead_lists, leads

STATUSES = ("active", "paused", "archived")
PEOPLE = (Result.ANSWERED.value, Result.ABANDONED.value)  # a person answered: what the abandon rate divides by


def campaign_row(conn: Connection, campaign_id: int) -> Any:
    row = conn.execute(sa.select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise CampaignError(f"campaign {campaign_id}: no such campaign", field="id")
    return row


def local_midnight(now: float, zone_name: str) -> float:
    """The start of today in the zone (the campaign's default zone: its reports' day)."""
    local = dt.datetime.fromtimestamp(now, zone(zone_name))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def abandon_figures(conn: Connection, campaign_id: int, since: float) -> dict[str, Any]:
    """People who answered since `since`, the abandoned among them, and the rate (None before the first answer)."""
    query = sa.select(
        sa.func.count(attempts.c.id),
        sa.func.coalesce(sa.func.sum(sa.case((attempts.c.result == Result.ABANDONED.value, 1), else_=0)), 0),
    ).where(
        attempts.c.campaign_id == campaign_id,
        attempts.c.started_at >= since - 86400.0,  # the index's range; no call lasts a day
        attempts.c.ended_at >= since,
        attempts.c.result.in_(PEOPLE),
    )
    answered, abandoned = conn.execute(query).one()
    answered, abandoned = int(answered), int(abandoned)
    return {"answered": answered, "abandoned": abandoned, "rate": round(abandoned / answered, 4) if answered else None}


def campaign_overview(engine: Engine, now: float, windows: dict[str, float]) -> list[dict[str, Any]]:
    """Every campaign: status, leads (and how many may still be dialled), attempts today in its zone, and the
    abandon rate over its dialer's window (`windows` by campaign name; 30 days without a dialer)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(campaigns).order_by(campaigns.c.status, campaigns.c.name)).all()
        lead_counts = _lead_counts(conn)
        found = []
        for row in rows:
            total, dialable = lead_counts.get(row.id, (0, 0))
            window = windows.get(row.name, 30 * 86400.0)
            today = conn.execute(
                sa.select(sa.func.count(attempts.c.id)).where(
                    attempts.c.campaign_id == row.id,
                    attempts.c.started_at >= local_midnight(now, row.default_zone),
                )
            ).scalar_one()
            winback = row.settings.get("winback") if isinstance(row.settings, dict) else None
            found.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "status": row.status,
                    "leads": total,
                    "dialable": dialable,
                    "attempts_today": int(today),
                    "abandon": abandon_figures(conn, row.id, now - window) | {"window_s": window},
                    "winback_of": winback.get("source") if winback else None,
                }
            )
    return found


def _lead_counts(conn: Connection) -> dict[int, tuple[int, int]]:
    dialable = sa.case((leads.c.status.in_([s.value for s in DIALABLE]), 1), else_=0)
    query = sa.select(leads.c.campaign_id, sa.func.count(leads.c.id), sa.func.sum(dialable)).group_by(
        leads.c.campaign_id
    )
    return {int(cid): (int(total), int(ready or 0)) for cid, total, ready in conn.execute(query)}


def set_status(engine: Engine, campaign_id: int, status: str) -> tuple[str, str]:
    """Start (active), pause (paused) or stop (archived) a campaign; (its name, the status it had)."""
    if status not in STATUSES:
        raise CampaignError(f"status {status!r}: one of {', '.join(STATUSES)}", field="status")
    with transaction(engine, f"the status of campaign {campaign_id}") as conn:
        row = campaign_row(conn, campaign_id)
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status=status))
    return str(row.name), str(row.status)


def import_history(engine: Engine, campaign_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The campaign's finished lead imports, newest first (an import is written in one transaction: a row here
    is a whole file stored)."""
    query = (
        sa.select(lead_imports, lead_lists.c.name.label("list_name"))
        .join(lead_lists, lead_lists.c.id == lead_imports.c.list_id)
        .where(lead_imports.c.campaign_id == campaign_id)
        .order_by(lead_imports.c.id.desc())
        .limit(limit)
    )
    fields = (
        "id", "list_name", "file_name", "started_at", "finished_at", "rows", "imported", "rejected", "duplicates",
        "dnc", "no_consent",
    )  # fmt: skip
    with engine.connect() as conn:
        return [{f: getattr(r, f) for f in fields} for r in conn.execute(query)]
