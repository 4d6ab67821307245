"""Erase one person everywhere the platform put them (GDPR art. 17, 152-FZ art. 21), keeping them off every list.

What stays, and why: rows that campaign and queue reports count (leads, attempts, calls, callbacks) are kept with
the person taken out, so yesterday's figures do not change; rows of any other table about the person are deleted.
Recordings and voice messages are deleted. The number is masked digit for digit in queue_log, Asterisk's CDR
and logs. A do-not-call entry keeps only the keyed hash of the number, so the person is never called again.
Run it after the person's calls have ended: the platform writes a call that is still up again at hangup.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from switchboard.errors import PrivacyError, StoreError
from switchboard.privacy.files import Places, delete_file, mask_file
from switchboard.privacy.masking import mask_number
from switchboard.privacy.numbers import PersonNumber
from switchboard.privacy.tables import LEADS, Mention, Row, Rows, Store, mentions, person_rows, reflect
from switchboard.store.dnc import hash_key, number_hash
from switchboard.store.schema import dnc

ERASED = "erased"  # what the number becomes in a row that is kept (a lead's is '#' and its id: still unique)
ERASED_LEAD_PREFIX = "#"
# An erased lead's status: 'dnc' is what every part of the dialer (the pick, win-back, callbacks) already skips,
# and the person is on the do-not-call list by hash. Its '#id' number tells it from a lead merely on the list.
ERASED_LEAD_STATUS = "dnc"
CANCELLED = "cancelled"
OPEN_STATUSES = frozenset({"pending", "new", "retry", "callback"})


@dataclass(frozen=True, slots=True)
class Kept:
    """A table whose rows reports count: the person's rows stay, with the person taken out.

    Always removed: the number (-> 'erased'), recordings (file deleted, column NULL), free text and JSON. With
    `only`, every other column not named there is cleared too (for leads, whose every new column is about the
    person). An open task (status pending, new, retry, callback) is cancelled: nobody calls an erased person back.
    """

    only: frozenset[str] | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


KEPT: dict[str, Kept] = {
    LEADS: Kept(
        only=frozenset(
            {"id", "campaign_id", "list_id", "import_id", "attempts", "last_attempt_at", "last_result", "created_at"}
        ),
        values={"status": ERASED_LEAD_STATUS, "time_zones": []},
    ),
    "attempts": Kept(),
    "calls": Kept(),
    "callbacks": Kept(),
    "queue_callbacks": Kept(),
}


@dataclass(slots=True)
class Changes:
    """What an erasure (or a retention run) did, place by place."""

    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    mentions: dict[str, int] = field(default_factory=dict)
    files_deleted: list[str] = field(default_factory=list)
    files_missing: list[str] = field(default_factory=list)
    files_refused: list[str] = field(default_factory=list)  # named by a row but outside the recordings folder

    def count(self, table: str, what: str, n: int = 1) -> None:
        counts = self.tables.setdefault(table, {})
        counts[what] = counts.get(what, 0) + n


def anonymise(
    conn: Connection, store: Store, rows: Rows, places: Places, changes: Changes, dry_run: bool = False
) -> None:
    """Take the person out of `rows`: kept tables' rows cleared in place, other tables' rows deleted, files removed.

    Files go before the transaction commits: if the commit then fails, the rows still name them and a second
    run finds them gone and finishes; the other way round, a failed delete would leave a file nothing names.
    """
    for name in store.scanned():
        for row in rows.of(name).values():
            for column in store.file_columns(name):
                if row[column.name]:
                    remove_recording(Path(row[column.name]), places, changes, dry_run)
    deleted = {name: list(rows.of(name).values()) for name in store.scanned() if name not in KEPT and rows.of(name)}
    for name in reversed(store.scanned()):
        if name in deleted:
            changes.count(name, "deleted", len(deleted[name]))
            if not dry_run:
                for row in deleted[name]:
                    conn.execute(store.tables[name].delete().where(store.by_key(name, store.key(name, row))))
        elif rows.of(name):
            changes.count(name, "cleared", len(rows.of(name)))
            if not dry_run:
                for key, row in rows.of(name).items():
                    values = _cleared(store, name, row) | _unlinked(store, name, row, deleted)
                    conn.execute(store.tables[name].update().where(store.by_key(name, key)).values(**values))


def _unlinked(store: Store, name: str, row: Row, deleted: Mapping[str, list[Row]]) -> dict[str, Any]:
    """A kept row pointing at a deleted one points at nothing; refused when the link may not be empty."""
    values: dict[str, Any] = {}
    for link in store.links:
        if link.table != name or link.target not in deleted or row[link.column] is None:
            continue
        if row[link.column] in {gone[link.target_column] for gone in deleted[link.target]}:
            if not store.tables[name].c[link.column].nullable:
                raise PrivacyError(
                    f"{name}.{link.column} points at a row of {link.target} that an erasure deletes and may not be "
                    f"empty: add {link.target!r} to privacy.erase.KEPT so its rows are kept and cleared"
                )
            values[link.column] = None
    return values


def _cleared(store: Store, name: str, row: Row) -> dict[str, Any]:
    """The values that take the person out of a kept row."""
    policy = KEPT[name]
    linked = {link.column for link in store.links if link.table == name}
    keys = {c.name for c in store.key_columns(name)}
    phones = {c.name for c in store.phone_columns(name)}
    files = {c.name for c in store.file_columns(name)}
    unlisted = set() if policy.only is None else {c.name for c in store.tables[name].columns} - policy.only - linked
    values: dict[str, Any] = {}
    for column in store.tables[name].columns:
        if column.name in keys or column.name in policy.values:
            continue
        value = row[column.name]
        if column.name in phones:
            values[column.name] = _marker(name, row, column)
        elif column.name in files | unlisted or isinstance(column.type, sa.JSON | sa.Text):
            values[column.name] = _empty(column, value)
        elif column.name == "status" and value in OPEN_STATUSES:
            values[column.name] = CANCELLED
    return values | dict(policy.values)


def _marker(name: str, row: Row, column: sa.Column[Any]) -> str:
    """'erased'; a lead's own number becomes '#' and its id, as a lead's number is unique within its campaign."""
    if name == LEADS and column.name == "phone_e164":
        return f"{ERASED_LEAD_PREFIX}{row['id']}"
    return ERASED


def _empty(column: sa.Column[Any], value: Any) -> Any:
    """SQL NULL, or the empty value of the column's kind where NULL is not allowed."""
    if column.nullable:
        return sa.null()
    if isinstance(column.type, sa.JSON):
        return {} if isinstance(value, dict) else []
    if isinstance(column.type, sa.String):
        return "" if isinstance(column.type, sa.Text) or not column.type.length else ERASED[: column.type.length]
    return value


def remove_recording(path: Path, places: Places, changes: Changes, dry_run: bool) -> None:
    """Delete a recording a row names, only if it lies in the recordings folder; noted in `changes` either way."""
    if not places.is_recording(path):
        changes.files_refused.append(str(path))
    elif dry_run:
        (changes.files_deleted if path.exists() else changes.files_missing).append(str(path))
    elif delete_file(path):
        changes.files_deleted.append(str(path))
    else:
        changes.files_missing.append(str(path))


def mask_mentions(
    conn: Connection, store: Store, number: PersonNumber, found: Sequence[Mention], changes: Changes
) -> None:
    """The number masked where other rows mention it (a relative's lead listing it as an alternate, a note)."""
    for mention in found:
        values = {}
        for name in mention.columns:
            value = mention.row[name]
            values[name] = number.mask(value) if isinstance(value, str) else number.mask_json(value)
            changes.mentions[f"{mention.table}.{name}"] = changes.mentions.get(f"{mention.table}.{name}", 0) + 1
        conn.execute(
            store.tables[mention.table].update().where(store.by_key(mention.table, mention.key)).values(values)
        )


@dataclass(frozen=True, slots=True)
class DncResult:
    hashed: int  # entries whose number was dropped (the hash kept)
    added: bool  # a system-wide hash-only entry was added


def keep_off_lists(conn: Connection, e164: str, now: float) -> DncResult:
    """Erasure implies never calling again: every entry keeps only the hash, and a system-wide one exists."""
    digest = number_hash(e164, hash_key(conn))
    with_number = sa.and_(dnc.c.phone_hash == digest, dnc.c.phone_e164.isnot(None))
    hashed = conn.execute(dnc.update().where(with_number).values(phone_e164=None)).rowcount
    query = sa.select(dnc.c.id).where(dnc.c.campaign_id.is_(None), dnc.c.phone_hash == digest).limit(1)
    if conn.execute(query).first() is not None:
        return DncResult(hashed, False)
    entry = {"campaign_id": None, "phone_e164": None, "phone_hash": digest, "added_at": now, "source": "erasure"}
    conn.execute(dnc.insert().values(**entry, reason="the person asked for erasure"))
    return DncResult(hashed, True)


def erase_person(
    engine: Engine,
    number: PersonNumber,
    places: Places,
    *,
    lead_ids: Sequence[int] = (),
    now: float | None = None,
) -> dict[str, Any]:
    """Erase the person everywhere; a second run finds nothing more to do. Returns the report, place by place."""
    when = time.time() if now is None else now
    changes = Changes()
    try:
        with engine.begin() as conn:
            store = reflect(conn)
            rows = person_rows(conn, store, number, lead_ids)
            anonymise(conn, store, rows, places, changes)
            mask_mentions(conn, store, number, mentions(conn, store, number, skip=None), changes)
            listed = keep_off_lists(conn, number.e164, when)
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"the erasure was not written (nothing in the store changed): {exc}") from exc
    for path in places.recordings_named(number):
        remove_recording(path, places, changes, dry_run=False)
    files = {str(path): n for path in places.log_files() if (n := mask_file(path, number))}
    return {
        "number": mask_number(number.e164),
        "tables": changes.tables,
        "mentions": changes.mentions,
        "dnc": {"entries_hashed": listed.hashed, "system_entry_added": listed.added},
        "recordings": {
            "deleted": [number.mask(p) for p in changes.files_deleted],
            "already_gone": [number.mask(p) for p in changes.files_missing],
            "refused_outside_recordings": [number.mask(p) for p in changes.files_refused],
        },
        "files": files,
        "unkeyed_tables": store.unkeyed(),
        "unchecked": places.unchecked(),
        "found_anything": bool(changes.tables or changes.mentions or files or changes.files_deleted)
        or listed.hashed > 0,
    }
