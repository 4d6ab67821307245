"""A campaign's report, counted by the database: per campaign and list, per operator, per hour of the day.

Operators' pay often follows these figures, so each is an exact count or sum over the attempt rows:
attempts (rows), answered (result 'answered'), contacts (a disposition flagged contact), sales (flagged success),
conversion = sales / contacts, refusal shares = count / refusals, average score = sum / scored attempts.
Ratios are worked out here from the counts; talk time is summed by the database and rounded to 0.1 s.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dialer.campaigns.hours import zone
from dialer.campaigns.model import Result
from switchboard.store.campaigns import find_campaign
from switchboard.store.schema import attempts, dispositions, lead_lists, leads, refusal_reasons

QUARTER_HOUR = 900  # every zone's offset is a whole number of quarter hours: a bucket falls in one local hour
PENDING = "pending"  # an attempt without a result yet (the call is on)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _flag(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """1 for rows where a (possibly outer-joined, NULL) flag holds, to be summed."""
    return sa.func.coalesce(sa.func.sum(sa.case((column == sa.true(), 1), else_=0)), 0)


def _bucket(conn: Connection) -> sa.ColumnElement[Any]:
    """The attempt's quarter hour since the epoch: SQLite's CAST truncates (epochs are positive), PostgreSQL floors."""
    quarters = attempts.c.started_at / QUARTER_HOUR
    if conn.dialect.name == "sqlite":
        return sa.cast(quarters, sa.Integer)
    return sa.cast(sa.func.floor(quarters), sa.BigInteger)


def campaign_report(engine: Engine, name: str) -> dict[str, Any]:
    with engine.connect() as conn:
        stored = find_campaign(conn, name)
        cid = stored.id
        lists = dict(
            conn.execute(
                sa.select(lead_lists.c.id, lead_lists.c.name)
                .where(lead_lists.c.campaign_id == cid)
                .order_by(lead_lists.c.id)
            ).all()
        )
        scopes = {list_id: _Scope() for list_id in lists}
        _count_leads(conn, cid, scopes)
        _count_attempts(conn, cid, scopes)
        reasons = _reason_labels(conn)
        operators = _operators(conn, cid)
        hours = _hours(conn, cid, stored.settings.default_zone)
    total = _Scope()
    for scope in scopes.values():
        total.add(scope)
    return {
        "campaign": name,
        "zone": stored.settings.default_zone,
        "totals": total.figures(reasons),
        "lists": [{"name": lists[i]} | scopes[i].figures(reasons) for i in lists],
        "operators": operators,
        "hours": hours,
    }


class _Scope:
    """The counts of one list (or, added up, of the campaign)."""

    def __init__(self) -> None:
        self.leads: dict[str, int] = defaultdict(int)
        self.outcomes: dict[str, int] = defaultdict(int)
        self.dispositions: dict[str, int] = defaultdict(int)
        self.refusals: dict[int, int] = defaultdict(int)
        self.attempts = self.answered = self.contacts = self.sales = 0
        self.talk_s = 0.0

    def add(self, other: _Scope) -> None:
        for mine, theirs in (
            (self.leads, other.leads),
            (self.outcomes, other.outcomes),
            (self.dispositions, other.dispositions),
            (self.refusals, other.refusals),
        ):
            for key, value in theirs.items():
                mine[key] += value  # type: ignore[index]
        self.attempts += other.attempts
        self.answered += other.answered
        self.contacts += other.contacts
        self.sales += other.sales
        self.talk_s += other.talk_s

    def figures(self, reasons: dict[int, tuple[str, str]]) -> dict[str, Any]:
        refused = sum(self.refusals.values())
        shares: list[dict[str, Any]] = [
            {"code": reasons[i][0], "label": reasons[i][1], "count": n, "share": _ratio(n, refused)}
            for i, n in self.refusals.items()
        ]
        shares.sort(key=lambda r: (-r["count"], r["code"]))
        return {
            "leads": sum(self.leads.values()),
            "leads_by_status": dict(sorted(self.leads.items())),
            "attempts": self.attempts,
            "answered": self.answered,
            "contacts": self.contacts,
            "sales": self.sales,
            "conversion": _ratio(self.sales, self.contacts),
            "talk_s": round(self.talk_s, 1),
            "outcomes": dict(sorted(self.outcomes.items())),
            "dispositions": dict(sorted(self.dispositions.items())),
            "refusals": {"total": refused, "reasons": shares},
        }


def _count_leads(conn: Connection, campaign_id: int, scopes: dict[int, _Scope]) -> None:
    query = (
        sa.select(leads.c.list_id, leads.c.status, sa.func.count(leads.c.id))
        .where(leads.c.campaign_id == campaign_id)
        .group_by(leads.c.list_id, leads.c.status)
    )
    for list_id, status, number in conn.execute(query):
        scopes[list_id].leads[status] += int(number)


def _count_attempts(conn: Connection, campaign_id: int, scopes: dict[int, _Scope]) -> None:
    """One grouped query: per list, result, disposition and refusal reason, the attempts and their talk time."""
    query = (
        sa.select(
            leads.c.list_id,
            attempts.c.result,
            dispositions.c.code,
            dispositions.c.contact,
            dispositions.c.success,
            attempts.c.refusal_reason_id,
            sa.func.count(attempts.c.id),
            sa.func.coalesce(sa.func.sum(attempts.c.talk_s), 0.0),
        )
        .select_from(attempts.join(leads, leads.c.id == attempts.c.lead_id).outerjoin(dispositions, _disposed()))
        .where(attempts.c.campaign_id == campaign_id)
        .group_by(
            leads.c.list_id,
            attempts.c.result,
            dispositions.c.code,
            dispositions.c.contact,
            dispositions.c.success,
            attempts.c.refusal_reason_id,
        )
    )
    for list_id, result, code, contact, success, reason_id, number, talk in conn.execute(query):
        scope, n = scopes[list_id], int(number)
        scope.attempts += n
        scope.talk_s += float(talk)
        scope.outcomes[result or PENDING] += n
        scope.answered += n if result == Result.ANSWERED.value else 0
        if code is not None:
            scope.dispositions[code] += n
            scope.contacts += n if contact else 0
            scope.sales += n if success else 0
        if reason_id is not None:
            scope.refusals[int(reason_id)] += n


def _disposed() -> sa.ColumnElement[bool]:
    return dispositions.c.id == attempts.c.disposition_id


def _reason_labels(conn: Connection) -> dict[int, tuple[str, str]]:
    rows = conn.execute(sa.select(refusal_reasons.c.id, refusal_reasons.c.code, refusal_reasons.c.label))
    return {int(i): (code, label) for i, code, label in rows}


def _operators(conn: Connection, campaign_id: int) -> list[dict[str, Any]]:
    query = (
        sa.select(
            attempts.c.operator,
            sa.func.count(attempts.c.id),
            sa.func.coalesce(sa.func.sum(attempts.c.talk_s), 0.0),
            _flag(dispositions.c.contact),
            _flag(dispositions.c.success),
            sa.func.count(attempts.c.score),
            sa.func.coalesce(sa.func.sum(attempts.c.score), 0),
        )
        .select_from(attempts.outerjoin(dispositions, _disposed()))
        .where(attempts.c.campaign_id == campaign_id, attempts.c.operator.is_not(None))
        .group_by(attempts.c.operator)
        .order_by(attempts.c.operator)
    )
    return [
        {
            "operator": operator,
            "calls": int(calls),
            "talk_s": round(float(talk), 1),
            "contacts": int(contacts),
            "sales": int(sales),
            "conversion": _ratio(int(sales), int(contacts)),
            "scored": int(scored),
            "average_score": None if not scored else round(int(score_sum) / int(scored), 2),
        }
        for operator, calls, talk, contacts, sales, scored, score_sum in conn.execute(query)
    ]


def _hours(conn: Connection, campaign_id: int, zone_name: str) -> list[dict[str, Any]]:
    """Per hour of the day in the campaign's zone: quarter hours counted by the database, folded into local hours."""
    bucket = _bucket(conn).label("bucket")
    query = (
        sa.select(
            bucket,
            sa.func.count(attempts.c.id),
            sa.func.sum(sa.case((attempts.c.result == Result.ANSWERED.value, 1), else_=0)),
            _flag(dispositions.c.contact),
            _flag(dispositions.c.success),
        )
        .select_from(attempts.outerjoin(dispositions, _disposed()))
        .where(attempts.c.campaign_id == campaign_id)
        .group_by(bucket)
    )
    return _fold_hours(conn.execute(query).all(), zone_name)


def _fold_hours(rows: Iterable[Any], zone_name: str) -> list[dict[str, Any]]:
    tz = zone(zone_name)
    hours = [{"hour": h, "attempts": 0, "answered": 0, "contacts": 0, "sales": 0} for h in range(24)]
    for quarter, number, answered, contacts, sales in rows:
        hour = hours[dt.datetime.fromtimestamp(int(quarter) * QUARTER_HOUR, tz).hour]
        hour["attempts"] += int(number)
        hour["answered"] += int(answered or 0)
        hour["contacts"] += int(contacts)
        hour["sales"] += int(sales)
    return hours
