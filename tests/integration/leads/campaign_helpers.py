"""Helpers for the campaign store tests: a campaign from a dict, leads written straight into lists, calls' outcomes
as the dialer and operators write them, counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dialer.campaigns.settings import parse_campaign
from switchboard.store.attempts import finish_attempt, record_attempt, record_disposition
from switchboard.store.campaigns import save_campaign
from switchboard.store.leads import ensure_list
from switchboard.store.schema import attempts, leads, refusal_reasons

T0 = 1_772_611_200.0  # 2026-03-04 08:00 UTC, a Wednesday: 11:00 in Moscow


def make_campaign(engine: Engine, name: str = "Весна", **settings: Any) -> int:
    return save_campaign(engine, parse_campaign({"name": name, **settings}), now=T0).id


def add_leads(
    engine: Engine, campaign_id: int, list_name: str, phones: Sequence[str], zones: Sequence[str] = ("Europe/Moscow",)
) -> list[int]:
    """Leads as an import would leave them (status new), in the named list; returns their ids."""
    with engine.begin() as conn:
        list_id = ensure_list(conn, campaign_id, list_name, T0)
        ids = []
        for i, phone in enumerate(phones):
            values = {
                "campaign_id": campaign_id,
                "list_id": list_id,
                "phone_e164": phone,
                "full_name": f"Лид {phone[-4:]}",
                "time_zones": list(zones),
                "custom": {"Тариф": "Базовый", "row": str(i)},
                "created_at": T0,
            }
            ids.append(int(conn.execute(leads.insert().values(**values).returning(leads.c.id)).scalar_one()))
        return ids


def lead(engine: Engine, lead_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(leads).where(leads.c.id == lead_id)).one()._mapping)


def rows(engine: Engine, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(*where).order_by(table.c.id))]


def record_outcomes(
    engine: Engine,
    lead_ids: Sequence[int],
    plans: Sequence[str],
    now: float,
    order: Mapping[str, Any] | None = None,
) -> None:
    """One call to each lead, as the dialer and the operator (op1001) record it: plan "busy" (not answered),
    "sale" (with its `order` form), or a refusal reason's code (answered, refused for that reason)."""
    for lead_id, plan in zip(lead_ids, plans, strict=False):
        attempt = record_attempt(engine, lead_id, now=now)
        if plan == "busy":
            finish_attempt(engine, attempt, "busy", now=now + 15)
            continue
        finish_attempt(engine, attempt, "answered", now=now + 60, operator="op1001", talk_s=45.0)
        if plan == "sale":
            record_disposition(engine, attempt, "sale", order_form=order, now=now + 70)
        else:
            record_disposition(engine, attempt, "refused", refusal_reason=plan, now=now + 70)


def refusal_counts(engine: Engine, campaign_id: int) -> dict[str, int]:
    """The campaign's refused calls by reason code, counted straight from the attempt rows."""
    query = (
        sa.select(refusal_reasons.c.code, sa.func.count(attempts.c.id))
        .join(attempts, attempts.c.refusal_reason_id == refusal_reasons.c.id)
        .where(attempts.c.campaign_id == campaign_id)
        .group_by(refusal_reasons.c.code)
    )
    with engine.connect() as conn:
        return {str(code): int(count) for code, count in conn.execute(query).all()}
