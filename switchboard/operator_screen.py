"""The screen pop of an operator's call, shared by `switchboard operator screen` and the console's operator desk.

Who is on which call comes from the running platform's live state in Redis; the rest from the store: for a campaign
call the lead, its past contacts, the script filled in, the order form prefilled and the choices; for a hotline call
the caller's number, the queue and the earlier calls from that number.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard import keys
from switchboard.config import Site
from switchboard.errors import CampaignError
from switchboard.store.campaigns import operator_view
from switchboard.store.schema import attempts, calls, campaigns, dispositions, leads, refusal_reasons

ATTEMPT_CHANNEL = "switchboard-out-"  # switchboard.outbound.CHANNEL_PREFIX: the dialer's calls name their attempt
AFTER_CALL_S = 3600.0  # an answered campaign call left without a disposition stays on the screen this long
HISTORY = 20  # past contacts, past calls shown
LEAD_SHOWN = (
    "full_name", "first_name", "last_name", "middle_name", "phone_e164", "alt_phones", "email", "address", "city",
    "region", "time_zones", "custom", "status", "attempts",
)  # fmt: skip


async def current_call(redis: Any, sip_user: str) -> tuple[str, dict[str, Any]] | None:
    """The call the operator is talking on (answered), from the platform's live calls: (uniqueid, its data)."""
    found: dict[Any, Any] = await redis.hgetall(keys.calls_in_progress())
    for uniqueid, text in found.items():
        data = json.loads(text)
        if data.get("operator") == sip_user and data.get("answered_at"):
            return str(uniqueid), data
    return None


def attempt_of(uniqueid: str) -> int | None:
    """The attempt a dialer's call belongs to (its channel is named after it), None for a hotline call."""
    if not uniqueid.startswith(ATTEMPT_CHANNEL):
        return None
    number = uniqueid.removeprefix(ATTEMPT_CHANNEL)
    return int(number) if number.isdigit() else None


def screen_pop(
    engine: Engine, site: Site, sip_user: str, call: tuple[str, dict[str, Any]] | None, now: float
) -> dict[str, Any]:
    """What the operator's screen shows: the call on (`status` on_call), else the last answered campaign call still
    waiting for its disposition (`after_call`), else `call` None."""
    if call is not None:
        uniqueid, data = call
        attempt_id = attempt_of(uniqueid)
        head = {"operator": sip_user, "call": uniqueid, "status": "on_call"}
        if attempt_id is None:
            return head | {"direction": "inbound"} | hotline_view(engine, uniqueid, data.get("queue"))
        return head | {"direction": "outbound"} | campaign_view(engine, site, sip_user, attempt_id)
    waiting = undisposed_attempt(engine, sip_user, now)
    if waiting is None:
        return {"operator": sip_user, "call": None}
    head = {"operator": sip_user, "call": f"{ATTEMPT_CHANNEL}{waiting}", "status": "after_call"}
    return head | {"direction": "outbound"} | campaign_view(engine, site, sip_user, waiting)


def campaign_view(engine: Engine, site: Site, sip_user: str, attempt_id: int) -> dict[str, Any]:
    """The lead, its past contacts, and the campaign's script, forms and choices for this attempt."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(attempts.c.lead_id, attempts.c.disposition_id).where(attempts.c.id == attempt_id))
        attempt = row.first()
        if attempt is None:
            raise CampaignError(f"attempt {attempt_id}: no such attempt", field="attempt_id")
        lead = conn.execute(sa.select(leads).where(leads.c.id == attempt.lead_id)).one()
        past = past_contacts(conn, int(attempt.lead_id), attempt_id)
    view = operator_view(engine, int(attempt.lead_id), operator=_name(site, sip_user))
    zones = list(lead.time_zones or [])
    return {
        "attempt_id": attempt_id,
        "disposed": attempt.disposition_id is not None,
        "lead": {name: lead._mapping[name] for name in LEAD_SHOWN},
        "callback_zone": zones[0] if zones else _default_zone(engine, int(lead.campaign_id)),
        "past_contacts": past,
    } | view


def past_contacts(conn: sa.Connection, lead_id: int, attempt_id: int) -> list[dict[str, Any]]:
    """The lead's earlier attempts, newest first, with what the operator recorded."""
    query = (
        sa.select(
            attempts.c.id,
            attempts.c.started_at,
            attempts.c.result,
            attempts.c.operator,
            attempts.c.talk_s,
            attempts.c.note,
            dispositions.c.code.label("disposition"),
            dispositions.c.label.label("disposition_label"),
            refusal_reasons.c.code.label("refusal_reason"),
            refusal_reasons.c.label.label("refusal_reason_label"),
        )
        .select_from(
            attempts.outerjoin(dispositions, dispositions.c.id == attempts.c.disposition_id).outerjoin(
                refusal_reasons, refusal_reasons.c.id == attempts.c.refusal_reason_id
            )
        )
        .where(attempts.c.lead_id == lead_id, attempts.c.id != attempt_id)
        .order_by(attempts.c.started_at.desc(), attempts.c.id.desc())
        .limit(HISTORY)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def hotline_view(engine: Engine, uniqueid: str, queue: str | None) -> dict[str, Any]:
    """The caller's number, hotline and queue, and the earlier calls from that number, newest first."""
    with engine.connect() as conn:
        record = conn.execute(
            sa.select(calls).where(calls.c.uniqueid == uniqueid).order_by(calls.c.started_at.desc())
        ).first()
        caller = record.caller if record is not None else None
        earlier: list[dict[str, Any]] = []
        if caller:
            query = (
                sa.select(
                    calls.c.started_at,
                    calls.c.queue,
                    calls.c.operator,
                    calls.c.outcome,
                    calls.c.wrapup_code,
                    calls.c.answered_at,
                    calls.c.ended_at,
                )
                .where(calls.c.caller == caller, calls.c.uniqueid != uniqueid)
                .order_by(calls.c.started_at.desc())
                .limit(HISTORY)
            )
            earlier = [_talk(dict(r._mapping)) for r in conn.execute(query)]
    return {
        "caller": caller,
        "hotline": record.hotline if record is not None else None,
        "queue": queue or (record.queue if record is not None else None),
        "past_calls": earlier,
    }


def undisposed_attempt(engine: Engine, sip_user: str, now: float) -> int | None:
    """The operator's latest answered campaign call without a disposition, within the last hour."""
    query = (
        sa.select(attempts.c.id)
        .where(
            attempts.c.operator == sip_user,
            attempts.c.result == "answered",
            attempts.c.disposition_id.is_(None),
            attempts.c.ended_at >= now - AFTER_CALL_S,
        )
        .order_by(attempts.c.ended_at.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else int(found)


def _talk(row: dict[str, Any]) -> dict[str, Any]:
    answered, ended = row.pop("answered_at"), row.pop("ended_at")
    return row | {"talk_s": round(ended - answered, 1) if answered and ended else None}


def _name(site: Site, sip_user: str) -> str:
    """The operator's name as the script says it ("my name is ..."), else the SIP user."""
    return next((op.name for op in site.operators if op.sip_user == sip_user), sip_user)


def _default_zone(engine: Engine, campaign_id: int) -> str:
    with engine.connect() as conn:
        found = conn.execute(sa.select(campaigns.c.default_zone).where(campaigns.c.id == campaign_id)).scalar()
    return str(found)
