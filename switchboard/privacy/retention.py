"""Retention: personal data older than the site's periods removed, as an erasure would remove it, batch by batch.

Leads untouched for leads_days lose their number and personal fields (with their attempts, callbacks and answers);
recordings older than recordings_days are deleted; call records older than calls_days lose the caller's number.
Do-not-call entries never expire. Each batch is its own transaction: a run stopped half-way is finished by the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard.config import RetentionSection
from switchboard.errors import StoreError
from switchboard.privacy.erase import ERASED, ERASED_LEAD_PREFIX, OPEN_STATUSES, Changes, anonymise, remove_recording
from switchboard.privacy.files import Places, delete_file
from switchboard.privacy.tables import LEADS, Row, Rows, Store, linked_rows, reflect

DAY = 86400.0
# When a row happened, by the first of these a table has (epoch seconds, as every table of ours keeps time).
TIME_COLUMNS = ("started_at", "requested_at", "created_at")
_BATCH = 1000
# A lead being dialled right now is left alone (the next run takes it).
_IN_PROGRESS = "in_progress"


def apply_retention(
    engine: Engine, periods: RetentionSection, places: Places, now: float, *, dry_run: bool = False
) -> dict[str, Any]:
    """Remove what is older than each period set; with dry_run, count it and change nothing."""
    report: dict[str, Any] = {"dry_run": dry_run, "now": now}
    try:
        with engine.connect() as conn:
            store = reflect(conn)
        report["leads"] = _leads(engine, store, places, periods.leads_days, now, dry_run)
        report["calls"] = _calls(engine, store, places, periods.calls_days, now, dry_run)
        report["recordings"] = _recordings(engine, store, places, periods.recordings_days, now, dry_run)
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"retention stopped (batches done so far stay done; run it again): {exc}") from exc
    return report


def _leads(engine: Engine, store: Store, places: Places, days: int | None, now: float, dry_run: bool) -> dict[str, Any]:
    """Leads neither imported nor dialled within `days`: cleared with every row about them, as an erasure does."""
    if days is None or LEADS not in store.tables:
        return {"days": None}
    cutoff = now - days * DAY
    leads = store.tables[LEADS]
    where = sa.and_(
        leads.c.status != _IN_PROGRESS,
        sa.not_(leads.c.phone_e164.startswith(ERASED_LEAD_PREFIX, autoescape=True)),
        leads.c.created_at < cutoff,
        sa.or_(leads.c.last_attempt_at.is_(None), leads.c.last_attempt_at < cutoff),
    )
    changes = Changes()
    expired = 0
    for batch in _batches(engine, leads, where, leads.c.id):
        expired += len(batch)
        with engine.begin() as conn:
            rows = Rows()
            rows.add(store, LEADS, batch)
            anonymise(conn, store, linked_rows(conn, store, rows), places, changes, dry_run)
    return {"days": days, "before": cutoff, "leads": expired, **_counts(changes)}


def _calls(engine: Engine, store: Store, places: Places, days: int | None, now: float, dry_run: bool) -> dict[str, Any]:
    """Rows of inbound tables (calls, queue callbacks: not about a lead) older than `days` lose the number."""
    if days is None:
        return {"days": None}
    cutoff = now - days * DAY
    changes = Changes()
    for name in _inbound_tables(store):
        table = store.tables[name]
        when = _time_column(table)
        phones = store.phone_columns(name)
        if when is None:
            changes.count(name, "skipped_no_time_column")
            continue
        where = sa.and_(when < cutoff, sa.or_(*(c != ERASED for c in phones)))
        if "status" in table.c:
            where = sa.and_(where, table.c.status.not_in(OPEN_STATUSES))
        for batch in _batches(engine, table, where, store.key_columns(name)[0]):
            with engine.begin() as conn:
                rows = Rows()
                rows.add(store, name, batch)
                anonymise(conn, store, rows, places, changes, dry_run)
    return {"days": days, "before": cutoff, **_counts(changes)}


def _recordings(
    engine: Engine, store: Store, places: Places, days: int | None, now: float, dry_run: bool
) -> dict[str, Any]:
    """Recordings and voice messages older than `days`: the files deleted, the rows naming them cleared."""
    if days is None:
        return {"days": None}
    cutoff = now - days * DAY
    changes = Changes()
    for name in store.scanned():
        table, files = store.tables[name], store.file_columns(name)
        when = _time_column(table)
        if not files or when is None:
            continue
        key = store.key_columns(name)[0]
        where = sa.and_(when < cutoff, sa.or_(*(c.isnot(None) for c in files)))
        for batch in _batches(engine, table, where, key):
            with engine.begin() as conn:
                for row in batch:
                    cleared: dict[str, None] = {}
                    for column in (c for c in files if row[c.name]):
                        remove_recording(Path(row[column.name]), places, changes, dry_run)
                        # A file outside the recordings folder stays named, to be listed again next time.
                        if places.is_recording(Path(row[column.name])):
                            cleared[column.name] = None
                    if cleared:
                        changes.count(name, "cleared")
                    if cleared and not dry_run:
                        conn.execute(table.update().where(key == row[key.name]).values(**cleared))
    orphans = 0
    if places.recordings.is_dir():
        for path in sorted(places.recordings.rglob("*")):
            # Hidden files (.gitkeep, a tool's state) are not recordings.
            if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff:
                orphans += 1
                if not dry_run:
                    delete_file(path)
    return {"days": days, "before": cutoff, **_counts(changes), "old_files_deleted": orphans}


def _counts(changes: Changes) -> dict[str, Any]:
    return {
        "tables": changes.tables,
        "recordings_deleted": len(changes.files_deleted),
        "recordings_already_gone": len(changes.files_missing),
        "recordings_refused_outside_folder": changes.files_refused[:20],
    }


def _inbound_tables(store: Store) -> list[str]:
    """Personal tables not about a lead: their rows are calls from people, expired by calls_days."""
    lead_bound = {link.table for link in store.links if link.target == LEADS}
    return [name for name in store.scanned() if store.personal(name) and name != LEADS and name not in lead_bound]


def _time_column(table: sa.Table) -> sa.Column[Any] | None:
    for name in TIME_COLUMNS:
        if name in table.c and isinstance(table.c[name].type, sa.Float | sa.Integer | sa.Numeric):
            return table.c[name]
    return None


def _batches(
    engine: Engine, table: sa.Table, where: sa.ColumnElement[bool], key: sa.Column[Any]
) -> Iterator[list[Row]]:
    """The rows matching `where`, a batch at a time in key order (each batch read in its own short transaction)."""
    last: Any = None
    while True:
        query = sa.select(table).where(where).order_by(key).limit(_BATCH)
        if last is not None:
            query = query.where(key > last)
        with engine.connect() as conn:
            batch = [dict(r._mapping) for r in conn.execute(query)]
        if not batch:
            return
        yield batch
        last = batch[-1][key.name]
