"""What the outbound dialer reads from the store: a campaign's state, its due leads, and attempts left open.

The attempt row itself is written by store.attempts.record_attempt, which checks hours, caps and do-not-call again
inside its transaction: the pick here is only a shortlist, so a lead picked twice is still dialled once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dialer.campaigns.model import DIALABLE, Result
from switchboard.errors import CampaignError, StoreError
from switchboard.store.schema import attempts, campaigns, leads


@dataclass(frozen=True, slots=True)
class CampaignState:
    id: int
    name: str
    status: str  # active | paused | archived
    caller_id: str | None


@dataclass(frozen=True, slots=True)
class DueLead:
    id: int
    phone: str
    consent: bool = False  # the lead agreed to recorded messages: one may be left on their answering machine


@dataclass(frozen=True, slots=True)
class OpenAttempt:
    """An attempt row with no result yet: in flight, or left behind by a process that died."""

    id: int
    lead_id: int
    campaign_id: int
    phone: str
    started_at: float


def campaign_state(engine: Engine, name: str) -> CampaignState:
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(campaigns).where(campaigns.c.name == name)).first()
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"campaign {name!r} could not be read: {exc}") from exc
    if row is None:
        raise CampaignError(f"campaign {name!r}: no such campaign (switchboard campaign create FILE)", field="campaign")
    return CampaignState(row.id, row.name, row.status, row.caller_id)


def due_leads(engine: Engine, campaign_id: int, now: float, limit: int, skip: Collection[str] = ()) -> list[DueLead]:
    """Up to `limit` leads due now (new first, then the longest due), leaving out the numbers in `skip` (on a call
    already). Hours, caps and do-not-call are checked again by record_attempt."""
    query = (
        sa.select(leads.c.id, leads.c.phone_e164, leads.c.consent)
        .where(
            leads.c.campaign_id == campaign_id,
            leads.c.status.in_([s.value for s in DIALABLE]),
            sa.or_(leads.c.next_attempt_at.is_(None), leads.c.next_attempt_at <= now),
        )
        .order_by(leads.c.next_attempt_at.is_not(None), leads.c.next_attempt_at, leads.c.id)
        .limit(limit + len(skip))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [DueLead(r.id, r.phone_e164, bool(r.consent)) for r in rows if r.phone_e164 not in skip][:limit]


def open_attempts(engine: Engine, campaign_id: int) -> list[OpenAttempt]:
    """The campaign's attempts without a result: after a restart, those whose call is gone are closed."""
    query = sa.select(attempts).where(attempts.c.campaign_id == campaign_id, attempts.c.result.is_(None))
    with engine.connect() as conn:
        return [
            OpenAttempt(r.id, r.lead_id, r.campaign_id, r.phone_e164, r.started_at) for r in conn.execute(query).all()
        ]


def remaining(engine: Engine, campaign_id: int) -> dict[str, int]:
    """Leads per status: how far the campaign has come."""
    query = (
        sa.select(leads.c.status, sa.func.count()).where(leads.c.campaign_id == campaign_id).group_by(leads.c.status)
    )
    with engine.connect() as conn:
        return {status: int(n) for status, n in conn.execute(query).all()}


@dataclass(frozen=True, slots=True)
class EndedAttempt:
    started_at: float
    ended_at: float
    result: Result
    answered_at: float | None
    talk_s: float | None


def pacing_history(engine: Engine, campaign_id: int, since: float, recent: int = 2000) -> list[EndedAttempt]:
    """The campaign's ended attempts for its pacing's memory, oldest first: every answered one since `since` (the
    legal window), and the `recent` latest of any result (what the estimates learn from)."""
    cols = (
        attempts.c.id, attempts.c.started_at, attempts.c.ended_at, attempts.c.result, attempts.c.answered_at,
        attempts.c.talk_s,
    )  # fmt: skip
    ended = sa.and_(attempts.c.campaign_id == campaign_id, attempts.c.ended_at.is_not(None))
    answered = attempts.c.result.in_([Result.ANSWERED.value, Result.ABANDONED.value])
    in_window = sa.select(*cols).where(ended, answered, attempts.c.ended_at >= since)
    latest = sa.select(*cols).where(ended).order_by(attempts.c.id.desc()).limit(recent)
    try:
        with engine.connect() as conn:
            rows = {tuple(r) for r in conn.execute(in_window).all()} | {tuple(r) for r in conn.execute(latest).all()}
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"campaign {campaign_id}: attempts could not be read: {exc}") from exc
    known = {r.value for r in Result}
    return [
        EndedAttempt(started, ended_at, Result(result), answered_at, talk)
        for _, started, ended_at, result, answered_at, talk in sorted(rows, key=lambda r: (r[2], r[0]))
        if result in known
    ]
