"""Console accounts in SQL: users with argon2id password hashes, signed-in sessions, failed sign-ins, audit log.
The one place that reads and writes these tables: the CLI, sign-in and the admin's pages all go through it.

A session cookie carries a random token; only its SHA-256 is stored, with the session's CSRF token beside it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from switchboard.errors import StoreError, UnknownUserError
from switchboard.store.schema import audit_log, login_failures, users, web_sessions

ROLES = ("operator", "supervisor", "campaign_manager", "admin")
MIN_PASSWORD = 8
SESSION_S = 12 * 3600.0  # a working shift and some; a session idle for the whole of it ends
_hasher = PasswordHasher()
# Verifying against this when the account does not exist takes as long as a real check: names do not leak.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    sip_user: str | None = None


@dataclass(frozen=True)
class UserRow:
    """An account as `switchboard users list` shows it."""

    name: str
    role: str
    sip_user: str | None
    created_at: float
    disabled: bool


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who did what to which target, and when."""

    id: int
    at: float
    user: str
    action: str  # area.verb: site.save, dialplan.apply, user.disable, campaign.create ...
    target: str | None
    detail: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str
    expires_at: float


def _check_new_password(name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StoreError(f"the password for {name!r} is shorter than {MIN_PASSWORD} characters")
    if password != password.strip():
        raise StoreError(f"the password for {name!r} starts or ends with a space: it would be easy to mistype")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_user(self, name: str, role: str, password: str, now: float, sip_user: str | None = None) -> Account:
        if role not in ROLES:
            raise StoreError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not name or len(name) > 40 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise StoreError(f"user name {name!r}: 1-40 letters, digits, '.', '-' or '_'")
        _check_new_password(name, password)
        row = {"name": name, "role": role, "password_hash": _hasher.hash(password), "sip_user": sip_user}
        with self.engine.begin() as conn:
            if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first() is not None:
                raise StoreError(f"user {name!r} exists already")
            conn.execute(users.insert().values(created_at=now, **row))
        return Account(name, role, sip_user)

    def check_password(self, name: str, password: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name, users.c.disabled.is_(False))).first()
        try:
            _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return Account(row.name, row.role, row.sip_user) if row is not None else None

    def list_users(self) -> list[UserRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
        return [UserRow(r.name, r.role, r.sip_user, r.created_at, bool(r.disabled)) for r in rows]

    def disable(self, name: str) -> None:
        """The account can no longer sign in, and its open sessions end now."""
        self._change(name, disabled=True)

    def enable(self, name: str) -> None:
        """A disabled account may sign in again."""
        self._change(name, disabled=False)

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session opened with the old one ends."""
        _check_new_password(name, password)
        self._change(name, password_hash=_hasher.hash(password))

    def _change(self, name: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            if conn.execute(users.update().where(users.c.name == name).values(**values)).rowcount == 0:
                raise UnknownUserError(f"no user {name!r}")
            conn.execute(web_sessions.delete().where(web_sessions.c.user_name == name))

    def recent_failures(self, name: str, address: str, since: float) -> tuple[int, int]:
        """Failed sign-ins since `since`: (for this account, from this address)."""
        count = sa.func.count()
        with self.engine.connect() as conn:
            by_user = conn.execute(
                sa.select(count).where(login_failures.c.user_name == name, login_failures.c.at >= since)
            ).scalar_one()
            by_address = conn.execute(
                sa.select(count).where(login_failures.c.address == address, login_failures.c.at >= since)
            ).scalar_one()
        return int(by_user), int(by_address)

    def record_failure(self, name: str, address: str, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(login_failures.insert().values(user_name=name[:40], address=address[:64], at=now))

    def open_session(self, account: Account, now: float) -> tuple[str, Session]:
        """A new session: returns the cookie's token (never stored) and the session."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                web_sessions.insert().values(
                    token_hash=_token_hash(token),
                    user_name=account.name,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + SESSION_S,
                )
            )
        return token, Session(account, csrf, now + SESSION_S)

    def session(self, token: str, now: float) -> Session | None:
        """The live session for a cookie's token, sliding its expiry; None when unknown, expired or disabled."""
        key = _token_hash(token)
        query = (
            sa.select(web_sessions.c.csrf_token, users.c.name, users.c.role, users.c.sip_user)
            .join(users, users.c.name == web_sessions.c.user_name)
            .where(web_sessions.c.token_hash == key, web_sessions.c.expires_at > now, users.c.disabled.is_(False))
        )
        with self.engine.begin() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            conn.execute(
                web_sessions.update()
                .where(web_sessions.c.token_hash == key)
                .values(last_seen_at=now, expires_at=now + SESSION_S)
            )
        return Session(Account(row.name, row.role, row.sip_user), row.csrf_token, now + SESSION_S)

    def close_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == _token_hash(token)))

    def audit(self, user: str, action: str, target: str | None, detail: Mapping[str, Any] | None, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                audit_log.insert().values(
                    at=now, user_name=user, action=action, target=target, detail=dict(detail) if detail else None
                )
            )

    def audit_entries(
        self, *, action: str | None = None, user: str | None = None, limit: int = 200
    ) -> list[AuditEntry]:
        """The audit log, newest first; `action` is an exact action, or a prefix ending in '.' or '*' ('site.*')."""
        query = sa.select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
        if action and action.endswith(("*", ".")):
            query = query.where(audit_log.c.action.startswith(action.rstrip("*"), autoescape=True))
        elif action:
            query = query.where(audit_log.c.action == action)
        if user:
            query = query.where(audit_log.c.user_name == user)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(int(r.id), float(r.at), r.user_name, r.action, r.target, dict(r.detail) if r.detail else None)
            for r in rows
        ]
