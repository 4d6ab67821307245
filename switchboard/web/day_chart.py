"""The day by hour for the supervisor's charts, from the SQL call records: offered, answered, abandoned, service
level and AHT of the hotline's queues, per hour of the day in one time zone.

`hour_rows` is pure; `day_by_hour` reads the records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard.config_sections import zone_named
from switchboard.errors import SupervisionError
from switchboard.store.schema import calls

DEFAULT_SL_SECONDS = 20.0  # a queue gone from the site file since its calls: the site's default target


@dataclass(frozen=True)
class Day:
    """One calendar day in a zone, as epoch bounds [start, end)."""

    date: dt.date
    zone: dt.tzinfo
    start: float
    end: float


def parse_day(date_text: str | None, zone_name: str | None, today: float, site_zone: str) -> Day:
    """`date=YYYY-MM-DD` (default: today) in `zone` (an IANA name; default: `site_zone`, the site's time_zone)."""
    try:
        zone: dt.tzinfo = zone_named(zone_name or site_zone)
    except ValueError as exc:
        raise SupervisionError(f"zone = {zone_name or site_zone!r}: {exc}") from None
    if date_text:
        try:
            date = dt.date.fromisoformat(date_text)
        except ValueError:
            raise SupervisionError(f"date = {date_text!r}: expected YYYY-MM-DD") from None
    else:
        date = dt.datetime.fromtimestamp(today, zone).date()
    start = dt.datetime.combine(date, dt.time(), zone)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), zone)
    return Day(date, zone, start.timestamp(), end.timestamp())


def hour_rows(
    records: Iterable[Mapping[str, Any]], zone: dt.tzinfo, sl_seconds: Mapping[str, float]
) -> list[dict[str, Any]]:
    """24 rows, one per hour the calls started in: counts, service level (answered within the queue's target over
    answered + abandoned, as the wallboard counts it) and AHT (talk from answer to hang-up over `ended` calls)."""
    hours: list[dict[str, Any]] = [
        {"hour": h, "offered": 0, "answered": 0, "abandoned": 0, "answered_in_sl": 0, "talk_s": 0.0, "ended": 0}
        for h in range(24)
    ]
    for record in records:
        row = hours[dt.datetime.fromtimestamp(record["started_at"], zone).hour]
        row["offered"] += 1
        if record["outcome"] == "abandoned":
            row["abandoned"] += 1
        if record["answered_at"] is None:
            continue
        row["answered"] += 1
        wait = record["answered_at"] - record["started_at"]
        row["answered_in_sl"] += wait <= sl_seconds.get(record["queue"], DEFAULT_SL_SECONDS)
        if record["ended_at"] is not None:
            row["ended"] += 1
            row["talk_s"] += record["ended_at"] - record["answered_at"]
    for row in hours:
        row.update(_rates(row))
    return hours


def _rates(row: Mapping[str, Any]) -> dict[str, float | None]:
    finished = row["answered"] + row["abandoned"]
    return {
        "service_level": round(row["answered_in_sl"] / finished, 4) if finished else None,
        "aht_s": round(row["talk_s"] / row["ended"], 1) if row["ended"] else None,
    }


def day_totals(hours: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The whole day: the hours' counts added up, and its service level and AHT."""
    totals: dict[str, Any] = {
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "answered_in_sl": 0,
        "talk_s": 0.0,
        "ended": 0,
    }
    for row in hours:
        for key in totals:
            totals[key] += row[key]
    totals.update(_rates(totals))
    return totals


def day_by_hour(
    engine: Engine, day: Day, sl_seconds: Mapping[str, float], queue: str | None = None
) -> list[dict[str, Any]]:
    """The hotline's calls (inbound, with a queue) that started on `day`, by hour; one queue's only when named."""
    where = [
        calls.c.direction == "inbound",
        calls.c.queue.is_not(None),
        calls.c.started_at >= day.start,
        calls.c.started_at < day.end,
    ]
    if queue:
        where.append(calls.c.queue == queue)
    columns = [calls.c.queue, calls.c.started_at, calls.c.answered_at, calls.c.ended_at, calls.c.outcome]
    with engine.connect() as conn:
        records = [dict(row._mapping) for row in conn.execute(sa.select(*columns).where(*where))]
    return hour_rows(records, day.zone, sl_seconds)
