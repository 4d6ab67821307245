"""Campaigns in SQL: created or updated from a campaign file, read back as settings, shown with their lists.

The settings column keeps the file's JSON form; the columns the dialer queries (caller ID, caps, hours, zone)
are written beside it. Dispositions and refusal reasons are rows, so attempts can point at them.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from dialer.campaigns.forms import LEAD_FIELDS, prefilled
from dialer.campaigns.model import CampaignDataError, Disposition, RefusalReason
from dialer.campaigns.script import render_script
from dialer.campaigns.settings import CampaignSettings, as_json, parse_campaign
from switchboard.errors import CampaignError, StoreError
from switchboard.store.schema import campaigns, dispositions, lead_lists, leads, refusal_reasons

_OWN = ("dispositions", "refusal_reasons", "name")  # kept as rows and in the name column, not in the JSON


@dataclass(frozen=True, slots=True)
class SavedCampaign:
    id: int
    name: str
    created: bool


@dataclass(frozen=True, slots=True)
class StoredCampaign:
    """A campaign row with its settings as the core reads them, and what the settings JSON holds beside them."""

    id: int
    name: str
    status: str
    settings: CampaignSettings
    winback: dict[str, Any] | None = None  # {"source": NAME, "reasons": [...]} for a win-back campaign


def read_campaign_file(path: Path) -> tuple[CampaignSettings, frozenset[str]]:
    """A campaign file (TOML) as settings, with the keys it gave; a mistake is a CampaignError naming the file,
    the field and the value."""
    try:
        with path.open("rb") as raw:
            data = tomllib.load(raw)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{path.name}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise CampaignError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return parse_campaign(data), frozenset(data)
    except CampaignDataError as exc:
        raise CampaignError(f"{path.name}: {exc}", field=exc.field) from None


@contextmanager
def transaction(engine: Engine, what: str) -> Iterator[Connection]:
    """One transaction; a database failure becomes a StoreError saying what was not stored."""
    try:
        with engine.begin() as conn:
            yield conn
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"{what} was not stored: {exc}") from exc


def clock(now: float | None) -> float:
    return time.time() if now is None else now


def save_campaign(
    engine: Engine, settings: CampaignSettings, *, now: float | None = None, given: Collection[str] | None = None
) -> SavedCampaign:
    """Create the campaign, or update it (a campaign made by a lead import takes the file's settings).

    `given`: the keys the file named. A consent requirement already on the campaign (set by an import) is only
    dropped by a file that says `require_consent = false`, never by one that says nothing.
    """
    with transaction(engine, f"campaign {settings.name!r}") as conn:
        if given is not None and "require_consent" not in given and not settings.require_consent:
            query = sa.select(campaigns.c.require_consent).where(campaigns.c.name == settings.name)
            if conn.execute(query).scalar_one_or_none():
                settings = replace(settings, require_consent=True)
        return write_campaign(conn, settings, clock(now))


def write_campaign(
    conn: Connection, settings: CampaignSettings, now: float, winback: dict[str, Any] | None = None
) -> SavedCampaign:
    stored = {k: v for k, v in as_json(settings).items() if k not in _OWN}
    found = conn.execute(
        sa.select(campaigns.c.id, campaigns.c.settings).where(campaigns.c.name == settings.name)
    ).first()
    if winback is None and found is not None and isinstance(found.settings, dict):
        winback = found.settings.get("winback")
    if winback is not None:
        stored["winback"] = winback
    values = _columns(settings) | {"settings": stored}
    if found is None:
        inserted = campaigns.insert().values(name=settings.name, created_at=now, **values)
        campaign_id = int(conn.execute(inserted.returning(campaigns.c.id)).scalar_one())
    else:
        campaign_id = int(found.id)
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(**values))
    _write_outcomes(conn, campaign_id, settings.dispositions, settings.refusal_reasons)
    return SavedCampaign(campaign_id, settings.name, created=found is None)


def _columns(settings: CampaignSettings) -> dict[str, Any]:
    """The columns the dialer and imports query; weekday and weekend hours are Monday's and Saturday's."""
    monday, saturday = settings.hours.days[0], settings.hours.days[5]
    return {
        "caller_id": settings.caller_id,
        "require_consent": settings.require_consent,
        "max_attempts": settings.max_attempts,
        "retry_after_s": settings.default_retry_s,
        "default_zone": settings.default_zone,
        "dedupe_days": settings.dedupe_days,
        "weekday_from_min": monday.start_min if monday else 0,
        "weekday_to_min": monday.end_min if monday else 0,
        "weekend_from_min": saturday.start_min if saturday else 0,
        "weekend_to_min": saturday.end_min if saturday else 0,
    }


def _write_outcomes(
    conn: Connection, campaign_id: int, wanted: tuple[Disposition, ...], reasons: tuple[RefusalReason, ...]
) -> None:
    """Upsert by code; codes no longer listed become inactive (old attempts still point at them)."""
    pairs: tuple[tuple[sa.Table, tuple[Disposition | RefusalReason, ...]], ...] = (
        (dispositions, wanted),
        (refusal_reasons, reasons),
    )
    for table, items in pairs:
        known = dict(conn.execute(sa.select(table.c.code, table.c.id).where(table.c.campaign_id == campaign_id)).all())
        for order, item in enumerate(items):
            values = _outcome_values(item) | {"sort_order": order, "active": True}
            if item.code in known:
                conn.execute(table.update().where(table.c.id == known[item.code]).values(**values))
            else:
                conn.execute(table.insert().values(campaign_id=campaign_id, code=item.code, **values))
        gone = set(known) - {item.code for item in items}
        if gone:
            where = (table.c.campaign_id == campaign_id) & table.c.code.in_(sorted(gone))
            conn.execute(table.update().where(where).values(active=False))


def _outcome_values(item: Disposition | RefusalReason) -> dict[str, Any]:
    if isinstance(item, RefusalReason):
        return {"label": item.label, "dnc": item.dnc}
    flags = ("success", "contact", "final", "callback", "dnc", "refusal")
    return {"label": item.label, "retry_after_s": item.retry_after_s} | {f: getattr(item, f) for f in flags}


def find_campaign(conn: Connection, name: str) -> StoredCampaign:
    row = conn.execute(sa.select(campaigns).where(campaigns.c.name == name)).first()
    if row is None:
        raise CampaignError(f"campaign {name!r}: no such campaign")
    return _stored(conn, row)


def campaign_by_id(conn: Connection, campaign_id: int) -> StoredCampaign:
    row = conn.execute(sa.select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise CampaignError(f"campaign {campaign_id}: no such campaign")
    return _stored(conn, row)


def _stored(conn: Connection, row: Row[Any]) -> StoredCampaign:
    data = dict(row.settings) if isinstance(row.settings, dict) else _from_columns(row)
    winback = data.pop("winback", None)
    data["name"] = row.name
    data["dispositions"] = [_disposition_data(r) for r in outcome_rows(conn, row.id, dispositions)] or None
    data["refusal_reasons"] = [
        {"code": r.code, "label": r.label, "dnc": r.dnc} for r in outcome_rows(conn, row.id, refusal_reasons)
    ] or None
    try:
        settings = parse_campaign(data)
    except CampaignDataError as exc:
        raise CampaignError(f"campaign {row.name!r}: stored settings refused: {exc}", field=exc.field) from None
    return StoredCampaign(int(row.id), row.name, row.status, settings, winback)


def _from_columns(row: Row[Any]) -> dict[str, Any]:
    """The settings of a campaign no file has described yet (made by a lead import): its columns and the defaults."""

    def window(start: int, end: int) -> str:
        return "off" if start >= end else f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"

    data: dict[str, Any] = {
        "require_consent": bool(row.require_consent),
        "default_zone": row.default_zone,
        "max_attempts": int(row.max_attempts),
        "default_retry": int(row.retry_after_s),
        "hours": {
            "weekdays": window(row.weekday_from_min, row.weekday_to_min),
            "weekend": window(row.weekend_from_min, row.weekend_to_min),
        },
    }
    if row.caller_id is not None:
        data["caller_id"] = row.caller_id
    if row.dedupe_days is not None:
        data["dedupe_days"] = int(row.dedupe_days)
    return data


def _disposition_data(r: Row[Any]) -> dict[str, Any]:
    data = {"code": r.code, "label": r.label} | {
        f: bool(getattr(r, f)) for f in ("success", "contact", "final", "callback", "dnc", "refusal")
    }
    return data | ({"retry_after": int(r.retry_after_s)} if r.retry_after_s is not None else {})


def outcome_rows(conn: Connection, campaign_id: int, table: sa.Table) -> list[Row[Any]]:
    """The campaign's active dispositions (or refusal reasons), else the ones for every campaign, in their order."""
    for scope in (table.c.campaign_id == campaign_id, table.c.campaign_id.is_(None)):
        rows = list(
            conn.execute(sa.select(table).where(scope, table.c.active).order_by(table.c.sort_order, table.c.id))
        )
        if rows:
            return rows
    return []


def outcome_ids(conn: Connection, campaign: StoredCampaign) -> tuple[dict[str, int], dict[str, int]]:
    """Code -> row id for the campaign's dispositions and refusal reasons, writing the defaults if it has none."""
    found = [{r.code: int(r.id) for r in outcome_rows(conn, campaign.id, t)} for t in (dispositions, refusal_reasons)]
    if not found[0] or not found[1]:
        _write_outcomes(conn, campaign.id, campaign.settings.dispositions, campaign.settings.refusal_reasons)
        found = [
            {r.code: int(r.id) for r in outcome_rows(conn, campaign.id, t)} for t in (dispositions, refusal_reasons)
        ]
    return found[0], found[1]


def campaign_summary(engine: Engine, name: str) -> dict[str, Any]:
    """`campaign show`: the settings as the file would write them, and the lists with their leads by status."""
    with engine.connect() as conn:
        stored = find_campaign(conn, name)
        counts = conn.execute(
            sa.select(lead_lists.c.name, leads.c.status, sa.func.count(leads.c.id))
            .select_from(lead_lists.outerjoin(leads, leads.c.list_id == lead_lists.c.id))
            .where(lead_lists.c.campaign_id == stored.id)
            .group_by(lead_lists.c.name, leads.c.status)
            .order_by(lead_lists.c.name)
        ).all()
    lists: dict[str, dict[str, int]] = {}
    for list_name, status, number in counts:
        statuses = lists.setdefault(list_name, {})
        if status is not None:
            statuses[status] = int(number)
    return {
        "id": stored.id,
        "status": stored.status,
        "settings": as_json(stored.settings),
        "winback": stored.winback,
        "lists": [{"name": k, "leads": sum(v.values()), "by_status": v} for k, v in lists.items()],
    }


def lead_values(lead: Mapping[str, Any]) -> dict[str, Any]:
    """A lead row as the script and the forms name its fields (`phone`, `full_name`, ..., `custom`)."""
    values = {name: lead.get(name) for name in LEAD_FIELDS if name != "phone"}
    return values | {"phone": lead.get("phone_e164"), "custom": lead.get("custom") or {}}


def operator_view(engine: Engine, lead_id: int, *, operator: str = "", html: bool = False) -> dict[str, Any]:
    """What the operator's screen shows for a lead: the script filled in, the order form prefilled, the choices."""
    with engine.connect() as conn:
        lead = conn.execute(sa.select(leads).where(leads.c.id == lead_id)).first()
        if lead is None:
            raise CampaignError(f"lead {lead_id}: no such lead")
        stored = campaign_by_id(conn, lead.campaign_id)
    settings, values = stored.settings, lead_values(dict(lead._mapping))
    try:
        script = render_script(settings.script, values, operator=operator, campaign=stored.name, html=html)
    except CampaignDataError as exc:
        raise CampaignError(f"campaign {stored.name!r}: {exc}", field="script") from None
    data = as_json(settings)
    return {
        "lead_id": lead_id,
        "campaign": stored.name,
        "script": script,
        "order_form": {"fields": data["order_form"], "values": prefilled(settings.order_form, values)},
        "survey": {"fields": data["survey"], "values": prefilled(settings.survey, values)},
        "dispositions": data["dispositions"],
        "refusal_reasons": data["refusal_reasons"],
    }
