"""Everything the platform holds about one person, found by their number (GDPR art. 15, 152-FZ art. 14), as JSON.

The same search the erasure uses: the rows about the person, other rows mentioning the number, the do-not-call
entries, the lines of queue_log, Asterisk's CDR and logs, and the recordings.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from switchboard.errors import StoreError
from switchboard.privacy.files import Places, lines_with
from switchboard.privacy.numbers import PersonNumber
from switchboard.privacy.tables import Rows, Store, mentions, person_rows, reflect
from switchboard.store.dnc import hash_key, number_hash
from switchboard.store.schema import dnc


def export_person(
    engine: Engine, number: PersonNumber, places: Places, *, lead_ids: Sequence[int] = ()
) -> dict[str, Any]:
    """The whole export as a JSON-ready dict; reading only (the store's hash key is made if it never was)."""
    try:
        with engine.begin() as conn:
            store = reflect(conn)
            rows = person_rows(conn, store, number, lead_ids)
            mentioned = mentions(conn, store, number, skip=rows)
            entries = _dnc_entries(conn, number.e164)
            references = _references(conn, store, rows)
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"could not read the store: {exc}") from exc
    return {
        "number": number.e164,
        "tables": {name: [_plain(r) for r in rows.of(name).values()] for name in store.scanned() if rows.of(name)},
        "mentions": [
            {"table": m.table, "key": _plain(list(m.key)), "columns": list(m.columns), "row": _plain(m.row)}
            for m in mentioned
        ],
        "referenced": references,
        "dnc": entries,
        "recordings": _recordings(store, rows, places, number),
        "lines": [
            {"file": str(line.path), "line": line.number, "text": line.text}
            for path in places.log_files()
            for line in lines_with(path, number)
        ],
        "unkeyed_tables": store.unkeyed(),
        "unchecked": places.unchecked(),
    }


def summary(data: dict[str, Any]) -> dict[str, int]:
    """How many things the export found, by place: what the CLI prints without --json."""
    counts = {f"table {name}": len(rows) for name, rows in data["tables"].items()}
    counts["mentions in other rows"] = len(data["mentions"])
    counts["do-not-call entries"] = len(data["dnc"])
    counts["recordings"] = len(data["recordings"])
    counts["log lines"] = len(data["lines"])
    return counts


def _dnc_entries(conn: Connection, e164: str) -> list[dict[str, Any]]:
    """Entries by hash, so erased ones (number dropped) show too; the hash itself is not personal data to show."""
    digest = number_hash(e164, hash_key(conn))
    query = sa.select(dnc.c.id, dnc.c.campaign_id, dnc.c.phone_e164, dnc.c.added_at, dnc.c.source, dnc.c.reason)
    return [_plain(dict(r._mapping)) for r in conn.execute(query.where(dnc.c.phone_hash == digest))]


def _references(conn: Connection, store: Store, rows: Rows) -> dict[str, list[dict[str, Any]]]:
    """The rows the person's rows point at in other tables: the campaign, the disposition, the refusal reason."""
    wanted: dict[tuple[str, str], set[Any]] = {}
    for link in store.links:
        if store.personal(link.target) or link.target not in store.tables:
            continue
        values = {r[link.column] for r in rows.of(link.table).values()} - {None}
        if values:
            wanted.setdefault((link.target, link.target_column), set()).update(values)
    found: dict[str, list[dict[str, Any]]] = {}
    for (name, column), values in sorted(wanted.items()):
        table = store.tables[name]
        result = conn.execute(sa.select(table).where(table.c[column].in_(sorted(values, key=repr))))
        found.setdefault(name, []).extend(_plain(dict(r._mapping)) for r in result)
    return found


def _recordings(store: Store, rows: Rows, places: Places, number: PersonNumber) -> list[dict[str, Any]]:
    paths: dict[str, str] = {}
    for name in store.scanned():
        for column in store.file_columns(name):
            for row in rows.of(name).values():
                if row[column.name]:
                    paths.setdefault(str(row[column.name]), f"{name}.{column.name}")
    for path in places.recordings_named(number):
        paths.setdefault(str(path), "file name")
    return [{"path": p, "found_by": how, "exists": Path(p).is_file()} for p, how in sorted(paths.items())]


def _plain(value: Any) -> Any:
    """A value JSON can hold: dates as ISO text, bytes as base64, decimals as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value
