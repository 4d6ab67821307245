"""An operator's own figures for a day: calls and talk time (hotline and campaign calls alike, from the call
records), contacts, sales, conversion and average quality score (campaign calls, from the attempts).

Exact counts by the database, as the campaign report counts them: conversion = sales / contacts, average score =
sum / scored attempts; a call counts on the day it was answered, an attempt on the day it started.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard.store.schema import attempts, calls, dispositions


def _flag(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((column == sa.true(), 1), else_=0)), 0)


def operator_day(engine: Engine, sip_user: str, since: float, until: float) -> dict[str, Any]:
    """Figures of the calls `sip_user` answered, and the attempts they handled, in [since, until)."""
    talk = sa.case((calls.c.ended_at.is_not(None), calls.c.ended_at - calls.c.answered_at), else_=0.0)
    answered = (calls.c.operator == sip_user, calls.c.answered_at >= since, calls.c.answered_at < until)
    handled = (attempts.c.operator == sip_user, attempts.c.started_at >= since, attempts.c.started_at < until)
    with engine.connect() as conn:
        by_direction = {
            direction: (int(n), float(t))
            for direction, n, t in conn.execute(
                sa.select(calls.c.direction, sa.func.count(calls.c.id), sa.func.coalesce(sa.func.sum(talk), 0.0))
                .where(*answered)
                .group_by(calls.c.direction)
            )
        }
        contacts, sales, refusals, scored, score_sum = conn.execute(
            sa.select(
                _flag(dispositions.c.contact),
                _flag(dispositions.c.success),
                _flag(dispositions.c.refusal),
                sa.func.count(attempts.c.score),
                sa.func.coalesce(sa.func.sum(attempts.c.score), 0),
            )
            .select_from(attempts.outerjoin(dispositions, dispositions.c.id == attempts.c.disposition_id))
            .where(*handled)
        ).one()
    count = sum(n for n, _ in by_direction.values())
    return {
        "calls": count,
        "inbound": by_direction.get("inbound", (0, 0.0))[0],
        "outbound": by_direction.get("outbound", (0, 0.0))[0],
        "talk_s": round(sum(t for _, t in by_direction.values()), 1),
        "contacts": int(contacts),
        "sales": int(sales),
        "refusals": int(refusals),
        "conversion": None if not contacts else round(int(sales) / int(contacts), 4),
        "scored": int(scored),
        "average_score": None if not scored else round(int(score_sum) / int(scored), 2),
    }
