"""The admin's view of console accounts: list them with their roles, disable or enable one, reset a password, and
read the audit log. Signing in and sessions are switchboard/store/accounts.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from switchboard.errors import StoreError
from switchboard.store.schema import audit_log, users, web_sessions

MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    role: str
    sip_user: str | None
    created_at: float
    disabled: bool


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    user: str
    action: str
    target: str | None
    detail: Mapping[str, Any] | None


class ConsoleUsers:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self) -> list[ConsoleUser]:
        query = sa.select(users.c.name, users.c.role, users.c.sip_user, users.c.created_at, users.c.disabled)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(users.c.name)).all()
        return [ConsoleUser(r.name, r.role, r.sip_user, float(r.created_at), bool(r.disabled)) for r in rows]

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (their sessions end at once) or enable an account."""
        with self.engine.begin() as conn:
            self._require(conn, name)
            conn.execute(users.update().where(users.c.name == name).values(disabled=disabled))
            if disabled:
                conn.execute(web_sessions.delete().where(web_sessions.c.user_name == name))

    def reset_password(self, name: str, password: str) -> None:
        """A new password; the account's open sessions end, so whoever knew the old one is out."""
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise StoreError(f"password for {name!r}: shorter than {MIN_PASSWORD} characters")
        with self.engine.begin() as conn:
            self._require(conn, name)
            conn.execute(users.update().where(users.c.name == name).values(password_hash=_hasher.hash(password)))
            conn.execute(web_sessions.delete().where(web_sessions.c.user_name == name))

    @staticmethod
    def _require(conn: sa.Connection, name: str) -> None:
        if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first() is None:
            raise StoreError(f"user = {name!r}: no such console user")

    def audit(self, *, action: str | None = None, user: str | None = None, limit: int = 200) -> list[AuditEntry]:
        """The audit log, newest first; `action` is an exact action, or a prefix ending in '.' or '*' ('site.*')."""
        query = sa.select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
        if action:
            prefix = action.rstrip("*")
            if action.endswith(("*", ".")):
                query = query.where(audit_log.c.action.startswith(prefix, autoescape=True))
            else:
                query = query.where(audit_log.c.action == action)
        if user:
            query = query.where(audit_log.c.user_name == user)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [AuditEntry(int(r.id), float(r.at), r.user_name, r.action, r.target, r.detail) for r in rows]
