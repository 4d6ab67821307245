"""Signing in and out, who am I, and the start page that sends each role to its area.

Sign-in is throttled per account and per address (failures kept in SQL, so every console process sees them),
audited, and refused to cross-site form posts by the Origin header (there is no session yet to carry a CSRF token).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from switchboard.store.accounts import Account
from switchboard.web.app import WebContext, api_routes
from switchboard.web.auth import COOKIE, require, session_of
from switchboard.web.pages import nav_for, page, render, safe_next
from switchboard.web.roles import EVERYONE, Role

router = APIRouter(tags=["session"])

FAILURE_WINDOW_S = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_NAME = 40
MAX_PASSWORD = 1024  # argon2 hashes any length; a megabyte "password" would only cost us CPU
WRONG_CREDENTIALS = "wrong user name or password"

# Where each role starts (the first area of its nav).
HOME_OF = {
    Role.OPERATOR: "/operator",
    Role.SUPERVISOR: "/supervisor",
    Role.CAMPAIGN_MANAGER: "/campaigns",
    Role.ADMIN: "/admin",
}

_LOGIN_BODY = {
    "required": True,
    "content": {
        media: {
            "schema": {
                "type": "object",
                "required": ["name", "password"],
                "properties": {
                    "name": {"type": "string", "maxLength": MAX_NAME},
                    "password": {"type": "string", "format": "password"},
                    "next": {"type": "string", "description": "a path on this site to go to (form posts)"},
                },
            }
        }
        for media in ("application/json", "application/x-www-form-urlencoded")
    },
}


class SignInRefused(Exception):
    """A sign-in refused: the status to answer, the message to show, and headers (Retry-After)."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers or {}


def throttled(by_account: int, by_address: int) -> bool:
    """Too many recent failures for this account, or from this address: refuse without checking the password."""
    return by_account >= MAX_FAILURES_PER_ACCOUNT or by_address >= MAX_FAILURES_PER_ADDRESS


def cross_site(request: Request) -> bool:
    """A post sent by another site's page: its Origin (when the browser sends one) is not this host."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    # Behind a TLS proxy the Host we see may be the proxy's upstream; the proxy passes the browser's in
    # X-Forwarded-Host. Neither header can be set by another site's form, so either may vouch for the origin.
    ours = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "").split(",")[0].strip()}
    return origin == "null" or urlsplit(origin).netloc.lower() not in {host.lower() for host in ours if host}


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )


async def _credentials(request: Request) -> tuple[str, str, str]:
    """(name, password, next) from a JSON body or a form; a missing or malformed field is a 422 naming it."""
    if _is_form(request):
        data: Any = dict(await request.form())
    else:
        try:
            data = json.loads(await request.body() or b"null")
        except ValueError as exc:
            raise SignInRefused(422, f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SignInRefused(422, "send a JSON object with the fields name and password")
    values = []
    for name, limit in (("name", MAX_NAME), ("password", MAX_PASSWORD)):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise SignInRefused(422, f"the field {name!r} is missing or empty")
        if len(value) > limit:
            raise SignInRefused(422, f"the field {name!r} is longer than {limit} characters")
        values.append(value)
    following = data.get("next")
    return values[0], values[1], following if isinstance(following, str) else ""


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in(ctx: WebContext, name: str, password: str, address: str) -> Account:
    """The account, once the throttle and the password allow it; every refusal is recorded and audited."""
    now = ctx.clock()
    by_account, by_address = ctx.accounts.recent_failures(name, address, now - FAILURE_WINDOW_S)
    if throttled(by_account, by_address):
        ctx.accounts.audit(name[:MAX_NAME], "session.sign_in_throttled", None, {"address": address}, now)
        message = f"too many failed sign-ins: try again in {FAILURE_WINDOW_S // 60} minutes"
        raise SignInRefused(429, message, {"Retry-After": str(FAILURE_WINDOW_S)})
    account = ctx.accounts.check_password(name, password)
    if account is None:
        ctx.accounts.record_failure(name, address, now)
        ctx.accounts.audit(name[:MAX_NAME], "session.sign_in_refused", None, {"address": address}, now)
        raise SignInRefused(401, WRONG_CREDENTIALS)
    ctx.accounts.audit(account.name, "session.sign_in", None, {"address": address}, now)
    return account


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure when served over https."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https")


def _login_page(request: Request, following: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    return render(request, "login.html", None, status_code=status_code, next=following, **ctx)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, following: Annotated[str, Query(alias="next")] = "") -> Response:
    """The sign-in page; someone already signed in goes straight on."""
    session = session_of(request)
    if session is not None:
        return RedirectResponse(safe_next(following, HOME_OF[Role(session.account.role)]), status_code=303)
    return _login_page(request, safe_next(following, ""))


@router.post("/api/login", openapi_extra={"requestBody": _LOGIN_BODY})
async def login(request: Request) -> Response:
    """Sign in with {name, password} (JSON, or the sign-in form); sets the session cookie."""
    ctx: WebContext = request.app.state.ctx
    form = _is_form(request)
    name, following = "", ""
    try:
        if cross_site(request):
            raise SignInRefused(403, "a sign-in from another site's page is refused")
        name, password, following = await _credentials(request)
        account = _sign_in(ctx, name, password, _client_address(request))
    except SignInRefused as refusal:
        if form:
            page_ = _login_page(
                request, safe_next(following, ""), refusal.status_code, error=refusal.message, name=name
            )
            page_.headers.update(refusal.headers)
            return page_
        raise HTTPException(refusal.status_code, refusal.message, headers=refusal.headers) from None
    old = request.cookies.get(COOKIE)
    if old:
        ctx.accounts.close_session(old)  # never carry a session over from before sign-in (fixation)
    token, session = ctx.accounts.open_session(account, ctx.clock())
    home = HOME_OF[Role(account.role)]
    response: Response
    if form:
        response = RedirectResponse(safe_next(following, home), status_code=303)
    else:
        response = JSONResponse(_me(account, session.csrf_token, session.expires_at))
    set_session_cookie(response, request, token)
    return response


@router.post("/api/logout")
async def logout(request: Request, account: Annotated[Account, Depends(require(*EVERYONE))]) -> Response:
    """Sign out: the session ends on the server and the cookie is cleared."""
    ctx: WebContext = request.app.state.ctx
    token = request.cookies.get(COOKIE)
    if token:
        ctx.accounts.close_session(token)
    ctx.accounts.audit(account.name, "session.sign_out", None, {"address": _client_address(request)}, ctx.clock())
    response: Response = (
        RedirectResponse("/login", status_code=303) if _is_form(request) else JSONResponse({"ok": True})
    )
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def _me(account: Account, csrf_token: str, expires_at: float) -> dict[str, Any]:
    return {
        "name": account.name,
        "role": account.role,
        "sip_user": account.sip_user,
        "home": HOME_OF[Role(account.role)],
        "areas": [{"label": area.label, "path": area.path} for area in nav_for(account.role)],
        "csrf_token": csrf_token,
        "expires_at": expires_at,
    }


@router.get("/api/me")
def me(request: Request, account: Annotated[Account, Depends(require(*EVERYONE))]) -> dict[str, Any]:
    """The signed-in account, its areas, and the CSRF token its scripts send on every change."""
    session = session_of(request)
    assert session is not None  # require() let us in
    return _me(account, session.csrf_token, session.expires_at)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, account: Annotated[Account, Depends(page(*EVERYONE))]) -> Response:
    """Each role goes to its area; while that area is not installed, a page lists the areas there are."""
    target = HOME_OF[Role(account.role)]
    if any(route.path_format == target for route in api_routes(request.app)):
        return RedirectResponse(target, status_code=303)
    return render(request, "home.html", account)
