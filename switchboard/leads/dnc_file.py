"""`dnc import` and `dnc add`: numbers onto the system's or a campaign's do-not-call list, in one transaction.

A DNC file is often one number a line with no header; a file with headers has its phone columns found as for leads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.engine import Connection, Engine

from dialer.leads.headers import HeaderMap, map_headers
from dialer.leads.model import Reason, Rejection
from dialer.leads.phones import check_region, is_phone, normalise_cell
from dialer.leads.phones_bulk import normalise_numbers
from switchboard.errors import LeadFileError, StoreError
from switchboard.leads.files import LeadFile, open_lead_file
from switchboard.store.dnc import DncAdded, add_numbers
from switchboard.store.leads import ensure_campaign


@dataclass(frozen=True, slots=True)
class DncReport:
    rows: int
    added: int
    already: int
    leads_marked: int
    errors: tuple[Rejection, ...]
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "added": self.added,
            "already": self.already,
            "rejected": len(self.errors),
            "leads_marked": self.leads_marked,
            "errors": [e.as_json() for e in self.errors],
            "seconds": round(self.seconds, 3),
        }


def add_dnc_number(
    engine: Engine, number: str, *, campaign: str | None, region: str = "RU", reason: str | None = None
) -> DncAdded:
    """One number onto a list; an invalid number is refused with the value."""
    region = _region(region)
    found = normalise_cell(number, region)
    if not found:
        raise LeadFileError(f"{number!r}: not a valid phone number (default region {region})")
    return _in_transaction(
        engine,
        lambda conn, now: add_numbers(
            conn, [n.e164 for n in found], campaign_id=_campaign_id(conn, campaign, now), now=now, source="cli",
            reason=reason,
        ),
    )  # fmt: skip


def import_dnc(
    engine: Engine, path: Path, *, campaign: str | None, region: str = "RU", encoding: str | None = None
) -> DncReport:
    """Every valid number of the file onto the list; rows without one are listed with their lines."""
    started = time.perf_counter()
    region = _region(region)
    source = open_lead_file(path, encoding)
    header, header_line = _header(source, region)
    numbers: list[str] = []
    errors: list[Rejection] = []
    rows = 0
    for frame, refused in source.chunks(header.width, header_line=header_line):
        found, blank, invalid = _numbers(frame, header, region)
        numbers.extend(found)
        errors.extend(refused)
        errors.extend(invalid)
        rows += frame.height - blank + len(refused)

    def store(conn: Connection, now: float) -> DncAdded:
        campaign_id = _campaign_id(conn, campaign, now)
        return add_numbers(conn, numbers, campaign_id=campaign_id, now=now, source=path.name[-200:])

    added = _in_transaction(engine, store)
    errors.sort(key=lambda e: e.line)
    seconds = time.perf_counter() - started
    return DncReport(rows, added.added, added.already, added.leads_marked, tuple(errors), seconds)


def _region(region: str) -> str:
    try:
        return check_region(region)
    except ValueError as exc:
        raise LeadFileError(str(exc)) from None


def _header(source: LeadFile, region: str) -> tuple[HeaderMap, int | None]:
    first = source.first_record()
    if first is None:
        raise LeadFileError(f"{source.path.name}: the file holds no rows")
    if isinstance(first, Rejection):
        raise LeadFileError(f"{source.path.name}: line {first.line}: the first row has {first.message}")
    try:
        header = map_headers(first[1], is_phone=lambda c: is_phone(c, region), line=first[0])
    except ValueError as exc:
        raise LeadFileError(f"{source.path.name}: {exc}") from None
    return header, (first[0] if header.has_header else None)


def _numbers(frame: pl.DataFrame, header: HeaderMap, region: str) -> tuple[list[str], int, list[Rejection]]:
    """Every valid number in the phone columns, the blank rows, and the rows with no valid number."""
    columns = [f"c{c.index}" for c in header.phones]
    cells = frame.select("line", *(pl.col(c).str.strip_chars().replace("", None) for c in columns))
    blank = cells.filter(pl.all_horizontal(pl.col(c).is_null() for c in columns)).height
    found = cells.select("line")
    for k, column in enumerate(columns):
        parsed = normalise_numbers(cells.get_column(column), region)
        more = parsed.get_column("more").fill_null("[]").str.json_decode(pl.List(pl.String))
        found = found.with_columns(pl.concat_list(parsed.get_column("e164"), more).alias(f"n{k}"))
    every = found.select("line", numbers=pl.concat_list(pl.exclude("line")).list.drop_nulls())
    filled = pl.any_horizontal(pl.col(c).is_not_null() for c in columns)
    empty = every.filter((every.get_column("numbers").list.len() == 0) & cells.select(filled).to_series())
    detail = "no valid number in the phone columns"
    refused = [Rejection(line, Reason.INVALID_NUMBER, detail) for line in empty.get_column("line").to_list()]
    return every.get_column("numbers").explode().drop_nulls().unique(maintain_order=True).to_list(), blank, refused


def _campaign_id(conn: Connection, campaign: str | None, now: float) -> int | None:
    if campaign is None:
        return None
    name = campaign.strip()
    if not name or len(name) > 100:
        raise LeadFileError(f"--campaign {campaign!r}: must be 1 to 100 characters")
    return ensure_campaign(conn, name, now).id


def _in_transaction(engine: Engine, work: Callable[[Connection, float], DncAdded]) -> DncAdded:
    import sqlalchemy as sa

    try:
        with engine.begin() as conn:
            return work(conn, time.time())
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"the do-not-call list was not changed: {exc}") from exc
