"""The admin's console accounts (/api/admin/users): list them with their roles, create one, disable or enable one,
reset a password. Each change is in the audit log.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status

from switchboard.errors import StoreError, UnknownUserError
from switchboard.store.accounts import ROLES, Account
from switchboard.web.app import WebContext
from switchboard.web.auth import require
from switchboard.web.roles import ADMINISTRATION

router = APIRouter(tags=["admin"])
AdminAccount = Annotated[Account, Depends(require(*ADMINISTRATION))]
Fields = Annotated[dict[str, Any], Body()]


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _refused(exc: StoreError) -> HTTPException:
    code = status.HTTP_404_NOT_FOUND if isinstance(exc, UnknownUserError) else status.HTTP_422_UNPROCESSABLE_CONTENT
    return HTTPException(code, str(exc))


def _text(fields: dict[str, Any], name: str, *, optional: bool = False) -> str | None:
    value = fields.get(name)
    if value in (None, "") and optional:
        return None
    if not isinstance(value, str) or not value:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} = {value!r}: a text is required")
    return value


@router.get("/api/admin/users")
def list_users(request: Request, account: AdminAccount) -> dict[str, Any]:
    """Every console account with its role, its phone (operators) and whether it is disabled."""
    return {"users": [asdict(user) for user in _ctx(request).accounts.list_users()], "roles": list(ROLES)}


@router.post("/api/admin/users", status_code=status.HTTP_201_CREATED)
def add_user(request: Request, fields: Fields, account: AdminAccount) -> dict[str, Any]:
    """A new account: {name, role, password, sip_user (an operator's phone, for the operator role)}."""
    ctx = _ctx(request)
    name, role, password = _text(fields, "name"), _text(fields, "role"), _text(fields, "password")
    sip_user = _text(fields, "sip_user", optional=True)
    assert name is not None and role is not None and password is not None
    if sip_user is not None and sip_user not in {op.sip_user for op in ctx.site.operators}:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"sip_user = {sip_user!r}: no operator of the site has this phone"
        )
    try:
        ctx.accounts.add_user(name, role, password, ctx.clock(), sip_user=sip_user)
    except StoreError as exc:
        raise _refused(exc) from None
    ctx.accounts.audit(account.name, "user.add", f"user {name}", {"role": role, "sip_user": sip_user}, ctx.clock())
    return {"user": name, "role": role, "sip_user": sip_user}


def _set_disabled(request: Request, account: Account, name: str, disabled: bool) -> dict[str, Any]:
    ctx = _ctx(request)
    if disabled and name == account.name:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"user = {name!r}: you cannot disable yourself")
    try:
        if disabled:
            ctx.accounts.disable(name)
        else:
            ctx.accounts.enable(name)
    except StoreError as exc:
        raise _refused(exc) from None
    action = "user.disable" if disabled else "user.enable"
    ctx.accounts.audit(account.name, action, f"user {name}", None, ctx.clock())
    return {"user": name, "disabled": disabled}


@router.post("/api/admin/users/{name}/disable")
def disable_user(request: Request, name: str, account: AdminAccount) -> dict[str, Any]:
    """The account may no longer sign in; its open sessions end at once."""
    return _set_disabled(request, account, name, True)


@router.post("/api/admin/users/{name}/enable")
def enable_user(request: Request, name: str, account: AdminAccount) -> dict[str, Any]:
    return _set_disabled(request, account, name, False)


@router.post("/api/admin/users/{name}/password")
def reset_password(request: Request, name: str, fields: Fields, account: AdminAccount) -> dict[str, Any]:
    """A new password: {password}; the account's open sessions end."""
    ctx = _ctx(request)
    password = _text(fields, "password")
    assert password is not None
    try:
        ctx.accounts.set_password(name, password)
    except StoreError as exc:
        raise _refused(exc) from None
    ctx.accounts.audit(account.name, "user.password", f"user {name}", None, ctx.clock())
    return {"user": name, "password_reset": True}
