"""The store as the privacy code sees it: every table, reflected, with its phone, file, link and text columns.

Reflected from the database rather than taken from schema.py, so tables other parts add later are covered too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from switchboard.privacy.numbers import PersonNumber

# Tables with no personal data of their own; dnc is handled by hash (see erase.py).
NOT_SCANNED = frozenset({"alembic_version", "store_meta"})
DNC = "dnc"
LEADS = "leads"
# A column holding the number of the person a row is about, as the network or the lead file gave it.
PHONE_NAMES = frozenset({"phone_e164", "phone", "caller", "msisdn"})
PHONE_SUFFIXES = ("_phone", "_phone_e164", "_msisdn")
# A column naming a file of the person's voice (a call recording, a voice message).
FILE_NAMES = frozenset({"recording", "message", "voicemail"})
FILE_SUFFIXES = ("_recording", "_audio")
# Links by name where no foreign key is declared: calls.id is no FK target anywhere, and a win-back lead names
# the lead it was copied from in source_lead_id. 'lead_id' and any '..._lead_id' point at leads.id, and so on.
LINK_NAMES = {"lead_id": (LEADS, "id"), "attempt_id": ("attempts", "id"), "call_id": ("calls", "id")}
_CHUNK = 2000

Key = tuple[Any, ...]
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Link:
    """`table.column` holds values of `target.target_column` (a foreign key, declared or by name)."""

    table: str
    column: str
    target: str
    target_column: str


@dataclass(frozen=True, slots=True)
class Store:
    """The reflected tables and what the privacy code needs to know of each."""

    tables: dict[str, sa.Table]
    links: tuple[Link, ...]

    def phone_columns(self, name: str) -> list[sa.Column[Any]]:
        return [c for c in self.tables[name].columns if _is_phone(c)]

    def file_columns(self, name: str) -> list[sa.Column[Any]]:
        return [c for c in self.tables[name].columns if _is_file(c)]

    def text_columns(self, name: str) -> list[sa.Column[Any]]:
        """Columns that can hold a number written as text: strings, free text and JSON."""
        return [c for c in self.tables[name].columns if isinstance(c.type, sa.String | sa.JSON)]

    def personal(self, name: str) -> bool:
        """A table whose rows are each about one person: it holds that person's number."""
        return name not in NOT_SCANNED and name != DNC and bool(self.phone_columns(name))

    def key_columns(self, name: str) -> list[sa.Column[Any]]:
        return list(self.tables[name].primary_key.columns)

    def key(self, name: str, row: Row) -> Key:
        return tuple(row[c.name] for c in self.key_columns(name))

    def by_key(self, name: str, key: Key) -> sa.ColumnElement[bool]:
        return sa.and_(*(c == v for c, v in zip(self.key_columns(name), key, strict=True)))

    def scanned(self) -> list[str]:
        """Tables to scan, in dependency order (a table before those that point at it)."""
        return [t for t in self.tables if t not in NOT_SCANNED and self.key_columns(t)]

    def unkeyed(self) -> list[str]:
        """Tables the privacy code cannot address row by row (no primary key): reported, never silently skipped."""
        return [t for t in self.tables if t not in NOT_SCANNED and not self.key_columns(t)]


def reflect(conn: Connection) -> Store:
    metadata = sa.MetaData()
    metadata.reflect(bind=conn)
    tables = {t.name: t for t in metadata.sorted_tables}
    links: dict[tuple[str, str], Link] = {}
    for table in tables.values():
        for fk in table.foreign_keys:
            links[(table.name, fk.parent.name)] = Link(table.name, fk.parent.name, fk.column.table.name, fk.column.name)
        for column in table.columns:
            target = _named_link(column.name)
            if target is None or (table.name, column.name) in links:
                continue
            if target[0] in tables and target[1] in tables[target[0]].columns:
                links[(table.name, column.name)] = Link(table.name, column.name, *target)
    return Store(tables, tuple(links.values()))


def _named_link(name: str) -> tuple[str, str] | None:
    for suffix, target in LINK_NAMES.items():
        if name == suffix or name.endswith("_" + suffix):
            return target
    return None


def _is_phone(column: sa.Column[Any]) -> bool:
    name = column.name.lower()
    return isinstance(column.type, sa.String) and (name in PHONE_NAMES or name.endswith(PHONE_SUFFIXES))


def _is_file(column: sa.Column[Any]) -> bool:
    name = column.name.lower()
    return isinstance(column.type, sa.String) and (name in FILE_NAMES or name.endswith(FILE_SUFFIXES))


def chunks(values: Iterable[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(slots=True)
class Rows:
    """Rows found, by table then key, each the whole row as the database holds it."""

    by_table: dict[str, dict[Key, Row]] = field(default_factory=dict)

    def add(self, store: Store, name: str, rows: Iterable[Row]) -> int:
        held = self.by_table.setdefault(name, {})
        before = len(held)
        for row in rows:
            held.setdefault(store.key(name, row), row)
        return len(held) - before

    def of(self, name: str) -> dict[Key, Row]:
        return self.by_table.get(name, {})

    def count(self) -> int:
        return sum(len(rows) for rows in self.by_table.values())


def select_rows(conn: Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> list[Row]:
    return [dict(r._mapping) for r in conn.execute(sa.select(table).where(where))]


def rows_where_in(conn: Connection, table: sa.Table, column: str, values: Iterable[Any]) -> list[Row]:
    found: list[Row] = []
    for batch in chunks(sorted(set(values), key=repr)):
        found.extend(select_rows(conn, table, table.c[column].in_(batch)))
    return found


def person_rows(conn: Connection, store: Store, number: PersonNumber, lead_ids: Sequence[int] = ()) -> Rows:
    """Every row about the person: rows holding their number, the leads named, and what points at those."""
    found = Rows()
    for name in store.scanned():
        phones = store.phone_columns(name) if store.personal(name) else []
        if phones:
            where = sa.or_(*(c.in_(number.shapes) for c in phones))
            found.add(store, name, select_rows(conn, store.tables[name], where))
    if lead_ids and LEADS in store.tables:
        found.add(store, LEADS, rows_where_in(conn, store.tables[LEADS], "id", lead_ids))
    return linked_rows(conn, store, found)


def linked_rows(conn: Connection, store: Store, found: Rows) -> Rows:
    """`found` grown, to a fixpoint, by the rows linked to it.

    A row pointing at one of the person's rows is the person's (an attempt on their lead, an answer given in their
    call). A row one of theirs points at is theirs only in a table of personal rows other than leads: the call of
    their attempt is theirs, but the campaign or the disposition is not, and a lead is the person's only by its
    own number or by being named (a lead that lists the number as an alternate may be a relative's).
    """
    asked: set[tuple[Link, bool, Any]] = set()
    grew = True
    while grew:
        grew = False
        for link in store.links:
            if link.table in NOT_SCANNED or link.table == DNC or not store.key_columns(link.table):
                continue
            wanted = {r[link.target_column] for r in found.of(link.target).values()} - {None}
            grew |= _follow(conn, store, found, asked, (link, True), link.table, link.column, wanted)
            if link.target == LEADS or not store.personal(link.target) or not store.key_columns(link.target):
                continue
            wanted = {r[link.column] for r in found.of(link.table).values()} - {None}
            grew |= _follow(conn, store, found, asked, (link, False), link.target, link.target_column, wanted)
    return found


def _follow(
    conn: Connection,
    store: Store,
    found: Rows,
    asked: set[tuple[Link, bool, Any]],
    way: tuple[Link, bool],
    name: str,
    column: str,
    wanted: set[Any],
) -> bool:
    """Add the rows of `name` whose `column` is one of `wanted` (each value asked once per link and way)."""
    fresh = [v for v in wanted if (*way, v) not in asked]
    asked.update((*way, v) for v in fresh)
    return bool(fresh) and found.add(store, name, rows_where_in(conn, store.tables[name], column, fresh)) > 0


@dataclass(frozen=True, slots=True)
class Mention:
    """The number written in a row that is not the person's (a relative's lead listing it as an alternate, a note)."""

    table: str
    key: Key
    columns: tuple[str, ...]
    row: Row


def mentions(conn: Connection, store: Store, number: PersonNumber, skip: Rows | None = None) -> list[Mention]:
    """Rows, outside `skip`, with the number in any text or JSON column (a full scan: erasures are rare)."""
    found: list[Mention] = []
    for name in store.scanned():
        columns = [c for c in store.text_columns(name) if not (name == DNC and c.name in ("phone_hash", "phone_e164"))]
        if not columns:
            continue
        like = f"%{number.core}%"
        where = sa.or_(*(sa.cast(c, sa.Text).like(like) for c in columns))
        held = skip.of(name) if skip else {}
        for row in select_rows(conn, store.tables[name], where):
            key = store.key(name, row)
            if key in held:
                continue
            hits = tuple(c.name for c in columns if _holds(number, row[c.name]))
            if hits:
                found.append(Mention(name, key, hits, row))
    return found


def _holds(number: PersonNumber, value: Any) -> bool:
    if value is None:
        return False
    return number.found_in(value) if isinstance(value, str) else number.found_in_json(value)
