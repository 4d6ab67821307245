"""Win-back campaigns: a new campaign from another campaign's leads who refused for chosen reasons.

"Too expensive" leads of last spring get the new, cheaper plan. A lead qualifies when its latest disposition was a
refusal with one of the reasons; numbers on a do-not-call list are never copied, and a lead is copied once however
often the win-back is run (the unique index on campaign and source lead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dialer.campaigns.model import LeadStatus
from switchboard.errors import CampaignError
from switchboard.store.campaigns import StoredCampaign, clock, find_campaign, transaction, write_campaign
from switchboard.store.dnc import load_dnc
from switchboard.store.leads import ensure_list
from switchboard.store.schema import attempts, campaigns, lead_lists, leads, refusal_reasons

# The person's own data, copied; the dialer's state starts afresh.
_COPIED = (
    "phone_e164", "alt_phones", "full_name", "first_name", "last_name", "middle_name", "email", "address", "city",
    "region", "time_zones", "consent", "consent_at", "consent_source", "custom",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class WinbackReport:
    campaign: str
    source: str
    reasons: tuple[str, ...]
    created: bool
    matched: int  # source leads whose latest disposition was a refusal for one of the reasons
    copied: int
    already: int  # copied by an earlier run, or the number is already in the campaign
    dnc: int  # marked do-not-call, or the number is on a do-not-call list: never copied

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "source": self.source,
            "reasons": list(self.reasons),
            "created": self.created,
            "matched": self.matched,
            "copied": self.copied,
            "already": self.already,
            "dnc": self.dnc,
        }


def create_winback(
    engine: Engine, source: str, name: str, reasons: Sequence[str], *, now: float | None = None
) -> WinbackReport:
    """Create (or top up) campaign `name` from `source`'s leads refused for `reasons`, with the source's settings."""
    at = clock(now)
    wanted = tuple(dict.fromkeys(r.strip() for r in reasons if r.strip()))
    if not wanted:
        raise CampaignError("--reasons: name at least one refusal reason code", field="reasons")
    if name.strip() != name or not name:
        raise CampaignError(f"--name {name!r}: a campaign name is 1 to 100 characters, no outer spaces", field="name")
    with transaction(engine, f"win-back campaign {name!r}") as conn:
        origin = find_campaign(conn, source)
        _check_reasons(conn, origin, wanted)
        target_id, created = _target(conn, origin, name, wanted, at)
        if target_id == origin.id:
            raise CampaignError(f"--name {name!r}: a win-back needs a new campaign, not its source", field="name")
        rows = _qualifying(conn, origin.id, wanted)
        blocked = _blocked(conn, [r["phone_e164"] for r in rows], origin.id, target_id)
        copied_before = set(
            conn.execute(sa.select(leads.c.source_lead_id).where(leads.c.campaign_id == target_id)).scalars()
        )
        numbers = set(conn.execute(sa.select(leads.c.phone_e164).where(leads.c.campaign_id == target_id)).scalars())
        fresh, already, dnc = [], 0, 0
        for row in rows:
            if row["phone_e164"] in blocked or row["status"] == LeadStatus.DNC.value:
                dnc += 1
            elif row["id"] in copied_before or row["phone_e164"] in numbers:
                already += 1
            else:
                numbers.add(row["phone_e164"])
                fresh.append(row)
        lists: dict[str, int] = {}
        copies = []
        for row in fresh:
            list_name = row["list_name"]
            if list_name not in lists:
                lists[list_name] = ensure_list(conn, target_id, list_name, at)
            copies.append(_copy(row, target_id, lists[list_name], at))
        if copies:
            conn.execute(leads.insert(), copies)
    return WinbackReport(name, source, wanted, created, len(rows), len(copies), already, dnc)


def _check_reasons(conn: Connection, origin: StoredCampaign, wanted: tuple[str, ...]) -> None:
    """Every code must be a refusal reason the source campaign has (or had: retired codes still match old refusals)."""
    scope = sa.or_(refusal_reasons.c.campaign_id == origin.id, refusal_reasons.c.campaign_id.is_(None))
    known = set(conn.execute(sa.select(refusal_reasons.c.code).where(scope)).scalars())
    known |= {r.code for r in origin.settings.refusal_reasons}
    for code in wanted:
        if code not in known:
            raise CampaignError(
                f"--reasons {code!r}: not a refusal reason of {origin.name!r} ({', '.join(sorted(known))})",
                field="reasons",
            )


def _target(
    conn: Connection, origin: StoredCampaign, name: str, wanted: tuple[str, ...], now: float
) -> tuple[int, bool]:
    """The win-back campaign: made with the source's settings, or the one an earlier run made from the same source."""
    row = conn.execute(sa.select(campaigns.c.id, campaigns.c.settings).where(campaigns.c.name == name)).first()
    if row is not None:
        winback = row.settings.get("winback") if isinstance(row.settings, dict) else None
        if not winback or winback.get("source") != origin.name:
            raise CampaignError(f"--name {name!r}: that campaign exists and is not a win-back of {origin.name!r}")
        merged = sorted({*winback.get("reasons", []), *wanted})
        stored = dict(row.settings) | {"winback": {"source": origin.name, "reasons": merged}}
        conn.execute(campaigns.update().where(campaigns.c.id == row.id).values(settings=stored))
        return int(row.id), False
    saved = write_campaign(
        conn, replace(origin.settings, name=name), now, winback={"source": origin.name, "reasons": sorted(wanted)}
    )
    return saved.id, True


def _qualifying(conn: Connection, source_id: int, wanted: tuple[str, ...]) -> list[dict[str, Any]]:
    """Source leads whose latest disposed attempt was refused for one of the reasons."""
    latest = (
        sa.select(attempts.c.lead_id, sa.func.max(attempts.c.id).label("attempt_id"))
        .where(attempts.c.campaign_id == source_id, attempts.c.disposition_id.is_not(None))
        .group_by(attempts.c.lead_id)
        .subquery()
    )
    query = (
        sa.select(leads, lead_lists.c.name.label("list_name"))
        .join(latest, latest.c.lead_id == leads.c.id)
        .join(attempts, attempts.c.id == latest.c.attempt_id)
        .join(refusal_reasons, refusal_reasons.c.id == attempts.c.refusal_reason_id)
        .join(lead_lists, lead_lists.c.id == leads.c.list_id)
        .where(refusal_reasons.c.code.in_(wanted))
        .order_by(leads.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def _blocked(conn: Connection, numbers: list[str], source_id: int, target_id: int) -> set[str]:
    """Numbers on the system-wide list, the source campaign's or the win-back campaign's own."""
    if not numbers:
        return set()
    series = pl.Series(numbers, dtype=pl.String)
    return load_dnc(conn, source_id).blocked(series) | load_dnc(conn, target_id).blocked(series)


def _copy(row: dict[str, Any], campaign_id: int, list_id: int, now: float) -> dict[str, Any]:
    return {k: row[k] for k in _COPIED} | {
        "campaign_id": campaign_id,
        "list_id": list_id,
        "source_lead_id": row["id"],
        "status": LeadStatus.NEW.value,
        "attempts": 0,
        "created_at": now,
    }
