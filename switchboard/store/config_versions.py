"""Saved versions of admin-edited configuration (config_versions: the admin's dialplan contexts, the site file), each
save, apply and rollback written to the audit log in the same transaction. History only grows: a rollback is a new
version repeating an earlier one's content (restored_from).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from switchboard.errors import StoreError
from switchboard.store.accounts import AccountStore, AuditEntry
from switchboard.store.schema import audit_log, config_versions

KINDS = ("dialplan", "site")
MAX_AUTHOR = 40  # the column's width
MAX_NOTE = 200


@dataclass(frozen=True)
class ConfigVersion:
    id: int
    kind: str
    content: str
    author: str
    note: str | None
    created_at: float
    applied_at: float | None  # when it went to Asterisk; None: saved, never applied (or refused by Asterisk)
    restored_from: int | None  # a rollback: the version whose content this repeats

    def to_json(self, *, content: bool = True) -> dict[str, Any]:
        data = {
            "id": self.id, "kind": self.kind, "author": self.author, "note": self.note, "created_at": self.created_at,
            "applied_at": self.applied_at, "restored_from": self.restored_from,
        }  # fmt: skip
        return data | {"content": self.content} if content else data


def _version(row: Any) -> ConfigVersion:
    m = row._mapping
    applied = m["applied_at"]
    return ConfigVersion(
        int(m["id"]), m["kind"], m["content"], m["author"], m["note"], float(m["created_at"]),
        None if applied is None else float(applied), None if m["restored_from"] is None else int(m["restored_from"]),
    )  # fmt: skip


def _write_audit(
    conn: Connection, user: str, action: str, target: str | None, detail: Mapping[str, Any], now: float
) -> None:
    values = {"at": now, "user_name": user[:MAX_AUTHOR], "action": action, "target": target, "detail": dict(detail)}
    conn.execute(audit_log.insert().values(**values))


class ConfigVersionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(
        self,
        kind: str,
        content: str,
        author: str,
        note: str | None,
        now: float,
        *,
        restored_from: int | None = None,
        audit_detail: Mapping[str, Any] | None = None,
    ) -> ConfigVersion:
        """A new version (audited as KIND.save, or KIND.rollback when it restores an earlier one)."""
        _check(kind, author, note)
        values = {
            "kind": kind, "content": content, "author": author, "note": note or None, "created_at": now,
            "restored_from": restored_from,
        }  # fmt: skip
        action = f"{kind}.rollback" if restored_from is not None else f"{kind}.save"
        with self.engine.begin() as conn:
            if restored_from is not None:
                self._get(conn, restored_from, kind)
            new_id = int(conn.execute(config_versions.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
            detail = {"version": new_id, "note": note, "restored_from": restored_from, **(audit_detail or {})}
            _write_audit(conn, author, action, f"version {new_id}", detail, now)
            return self._get(conn, new_id, kind)

    def mark_applied(
        self, version_id: int, kind: str, author: str, now: float, detail: Mapping[str, Any] | None = None
    ) -> ConfigVersion:
        """The version now runs in Asterisk (audited as KIND.apply)."""
        with self.engine.begin() as conn:
            self._get(conn, version_id, kind)
            query = config_versions.update().where(config_versions.c.id == version_id).values(applied_at=now)
            conn.execute(query)
            _write_audit(
                conn, author, f"{kind}.apply", f"version {version_id}", {"version": version_id, **(detail or {})}, now
            )
            return self._get(conn, version_id, kind)

    def audit(self, user: str, action: str, target: str | None, detail: Mapping[str, Any], now: float) -> None:
        """An audit line with no version change (a refused or failed apply)."""
        with self.engine.begin() as conn:
            _write_audit(conn, user, action, target, detail, now)

    def get(self, version_id: int, kind: str) -> ConfigVersion:
        with self.engine.connect() as conn:
            return self._get(conn, version_id, kind)

    def _get(self, conn: Connection, version_id: int, kind: str) -> ConfigVersion:
        query = sa.select(config_versions).where(config_versions.c.id == version_id, config_versions.c.kind == kind)
        row = conn.execute(query).first()
        if row is None:
            raise StoreError(f"version {version_id}: no such {kind} version")
        return _version(row)

    def history(self, kind: str, limit: int = 200) -> list[ConfigVersion]:
        """Newest first."""
        query = (
            sa.select(config_versions)
            .where(config_versions.c.kind == kind)
            .order_by(config_versions.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_version(row) for row in conn.execute(query)]

    def current(self, kind: str) -> ConfigVersion | None:
        """The version applied last: what Asterisk runs (unless the file was changed behind our back)."""
        query = (
            sa.select(config_versions)
            .where(config_versions.c.kind == kind, config_versions.c.applied_at.is_not(None))
            .order_by(config_versions.c.applied_at.desc(), config_versions.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _version(row) if row is not None else None

    def audit_log(self, action_prefix: str | None = None, limit: int = 200) -> list[AuditEntry]:
        """Newest first; `action_prefix` such as 'dialplan.' keeps one area's lines."""
        return AccountStore(self.engine).audit_entries(action=action_prefix, limit=limit)


def _check(kind: str, author: str, note: str | None) -> None:
    if kind not in KINDS:
        raise StoreError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not author or len(author) > MAX_AUTHOR:
        raise StoreError(f"author {author!r}: 1-{MAX_AUTHOR} characters")
    if note is not None and len(note) > MAX_NOTE:
        raise StoreError(f"note: {len(note)} characters, the limit is {MAX_NOTE}")
