"""Who is asking: the session cookie, the role check every endpoint makes on the server, and CSRF.

`require(*roles)` is the only gate: a route that depends on it answers 401 without a session and 403 to a role
not listed. The roles a route allows are also written into the OpenAPI document as `x-roles` (app.py does it), so
a test can call every endpoint with every wrong role.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import HTTPException, Request, status

from switchboard.store.accounts import Account, Session
from switchboard.web.roles import Role

COOKIE = "sb_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_of(request: Request) -> Session | None:
    """The request's session (looked up once per request), or None."""
    if "sb_session" not in request.scope:
        token = request.cookies.get(COOKIE)
        ctx = request.app.state.ctx
        request.scope["sb_session"] = ctx.accounts.session(token, ctx.clock()) if token else None
    session: Session | None = request.scope["sb_session"]
    return session


async def _check_csrf(request: Request, session: Session) -> None:
    """Unsafe methods carry the session's CSRF token, in the X-CSRF-Token header or a form field."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if sent is None or not hmac.compare_digest(sent, session.csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")


class RoleGate:
    """A FastAPI dependency: the signed-in account, if its role is one of `roles` (else 401/403)."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles = tuple(roles)

    async def __call__(self, request: Request) -> Account:
        session = session_of(request)
        if session is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first", headers={"WWW-Authenticate": "Cookie"})
        if session.account.role not in self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {session.account.role} role may not do this")
        await _check_csrf(request, session)
        return session.account


def require(*roles: Role) -> Callable[..., Any]:
    """`account: Account = Depends(require(Role.ADMIN))`, or in a router's `dependencies`."""
    if not roles:
        raise ValueError("require() needs at least one role")
    return RoleGate(roles)
