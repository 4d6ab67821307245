"""Days off: an operator's request (at least a week ahead), a supervisor's decision, and the roster of absences.

Days are calendar days in the site's time_zone; approved requests are the roster's absences.
Every request and decision is written to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from switchboard.config_sections import zone_named
from switchboard.errors import DaysOffError
from switchboard.store.campaigns import transaction
from switchboard.store.schema import audit_log, days_off, users

MIN_NOTICE_DAYS = 7  # a request's first day is at least this many days after today
MAX_SPAN_DAYS = 366  # one request, or one roster, covers at most this many days (a typing slip, not a plan)
MAX_REASON = 200
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
HOLDING = (PENDING, APPROVED)  # the requests a new one may not overlap


def today(now: float, zone_name: str = "UTC") -> dt.date:
    """The calendar day it is at `now` in the site's zone."""
    try:
        tz = zone_named(zone_name)
    except ValueError as exc:
        raise DaysOffError(f"zone = {zone_name!r}: {exc}", field="zone") from None
    return dt.datetime.fromtimestamp(now, tz).date()


def parse_day(value: object, field: str) -> dt.date:
    """A day given as a date or as YYYY-MM-DD text; anything else is refused naming the field."""
    if isinstance(value, dt.datetime):
        raise DaysOffError(f"{field} = {value!r}: a day, not a time (YYYY-MM-DD)", field=field)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DaysOffError(f"{field} = {value!r}: not a day (YYYY-MM-DD)", field=field)


def request_days_off(
    engine: Engine,
    user_name: str,
    first_day: object,
    last_day: object,
    reason: str | None,
    now: float,
    zone_name: str = "UTC",
) -> dict[str, Any]:
    """A pending request for first_day..last_day (both included); refused naming the field when too soon,
    backwards, too long, or overlapping the user's pending or approved days."""
    first, last = parse_day(first_day, "first_day"), parse_day(last_day, "last_day")
    earliest = today(now, zone_name) + dt.timedelta(days=MIN_NOTICE_DAYS)
    if first < earliest:
        raise DaysOffError(
            f"first_day = {first}: at least {MIN_NOTICE_DAYS} days ahead, so {earliest} or later", field="first_day"
        )
    if last < first:
        raise DaysOffError(f"last_day = {last}: before first_day {first}", field="last_day")
    if (last - first).days >= MAX_SPAN_DAYS:
        raise DaysOffError(f"last_day = {last}: more than {MAX_SPAN_DAYS} days after first_day", field="last_day")
    text = _reason(reason)
    with transaction(engine, f"the days off of {user_name!r}") as conn:
        if conn.execute(sa.select(users.c.name).where(users.c.name == user_name)).first() is None:
            raise DaysOffError(f"user = {user_name!r}: no such account", field="user")
        clash = conn.execute(
            sa.select(days_off)
            .where(days_off.c.user_name == user_name, days_off.c.status.in_(HOLDING))
            .where(days_off.c.first_day <= last, days_off.c.last_day >= first)
            .order_by(days_off.c.first_day)
        ).first()
        if clash is not None:
            raise DaysOffError(
                f"first_day..last_day = {first}..{last}: overlaps request {clash.id} "
                f"({clash.first_day}..{clash.last_day}, {clash.status})",
                field="first_day",
            )
        values = {"user_name": user_name, "first_day": first, "last_day": last, "reason": text, "requested_at": now}
        request_id = int(
            conn.execute(days_off.insert().values(status=PENDING, **values).returning(days_off.c.id)).scalar_one()
        )
        _audit(conn, user_name, "days_off.request", request_id, {"first_day": str(first), "last_day": str(last)}, now)
        return _one(conn, request_id)


def _reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    text = reason.strip()
    if len(text) > MAX_REASON or any(ord(c) < 32 for c in text):
        raise DaysOffError(f"reason = {text[:40]!r}: at most {MAX_REASON} characters on one line", field="reason")
    return text


def decide(engine: Engine, request_id: int, approve: bool, by: str, now: float) -> dict[str, Any]:
    """A supervisor approves (the days join the roster) or refuses a pending request."""
    status = APPROVED if approve else REFUSED
    with transaction(engine, f"the decision on days-off request {request_id}") as conn:
        row = conn.execute(sa.select(days_off).where(days_off.c.id == request_id)).first()
        if row is None:
            raise DaysOffError(f"request = {request_id}: no such request for days off", field="request")
        if row.status != PENDING:
            raise DaysOffError(f"request = {request_id}: already {row.status} by {row.decided_by}", field="request")
        conn.execute(
            days_off.update().where(days_off.c.id == request_id).values(status=status, decided_by=by, decided_at=now)
        )
        detail = {"user": row.user_name, "first_day": str(row.first_day), "last_day": str(row.last_day)}
        _audit(conn, by, f"days_off.{'approve' if approve else 'refuse'}", request_id, detail, now)
        return _one(conn, request_id)


def requests(engine: Engine, *, user_name: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Requests for days off, earliest first (one user's, or everyone's), with the account's phone."""
    if status is not None and status not in (PENDING, APPROVED, REFUSED):
        raise DaysOffError(f"status = {status!r}: one of {PENDING}, {APPROVED}, {REFUSED}", field="status")
    query = _listed()
    if user_name is not None:
        query = query.where(days_off.c.user_name == user_name)
    if status is not None:
        query = query.where(days_off.c.status == status)
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(query.order_by(days_off.c.first_day, days_off.c.id))]


def roster(engine: Engine, first_day: object, last_day: object) -> list[dict[str, Any]]:
    """Every day of first_day..last_day with who is off (approved requests), by name."""
    first, last = parse_day(first_day, "from"), parse_day(last_day, "to")
    if last < first:
        raise DaysOffError(f"to = {last}: before from {first}", field="to")
    if (last - first).days >= MAX_SPAN_DAYS:
        raise DaysOffError(f"to = {last}: more than {MAX_SPAN_DAYS} days after from", field="to")
    query = _listed().where(days_off.c.status == APPROVED, days_off.c.first_day <= last, days_off.c.last_day >= first)
    with engine.connect() as conn:
        approved = [_row(r) for r in conn.execute(query.order_by(days_off.c.user_name))]
    days = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        off = [
            {"user": r["user"], "sip_user": r["sip_user"], "request": r["id"]}
            for r in approved
            if r["first_day"] <= day.isoformat() <= r["last_day"]
        ]
        days.append({"day": day.isoformat(), "weekday": day.strftime("%a"), "off": off})
    return days


def _listed() -> sa.Select[Any]:
    return sa.select(days_off, users.c.sip_user).join(users, users.c.name == days_off.c.user_name)


def _one(conn: Connection, request_id: int) -> dict[str, Any]:
    return _row(conn.execute(_listed().where(days_off.c.id == request_id)).one())


def _row(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    return {
        "id": int(data["id"]),
        "user": data["user_name"],
        "sip_user": data["sip_user"],
        "first_day": str(data["first_day"]),
        "last_day": str(data["last_day"]),
        "days": (parse_day(data["last_day"], "last_day") - parse_day(data["first_day"], "first_day")).days + 1,
        "reason": data["reason"],
        "requested_at": data["requested_at"],
        "status": data["status"],
        "decided_by": data["decided_by"],
        "decided_at": data["decided_at"],
    }


def _audit(conn: Connection, user: str, action: str, request_id: int, detail: dict[str, Any], now: float) -> None:
    conn.execute(
        audit_log.insert().values(at=now, user_name=user, action=action, target=f"days_off:{request_id}", detail=detail)
    )
