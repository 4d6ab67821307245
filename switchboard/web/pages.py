"""Server-rendered pages: the `page()` gate for HTML routes, `render()` for templates, and the nav each role sees.

The pattern every area copies (a page, and the JSON API behind it)::

    from typing import Annotated
    from fastapi import APIRouter, Depends, Request
    from fastapi.responses import HTMLResponse
    from switchboard.store.accounts import Account
    from switchboard.web.auth import require
    from switchboard.web.pages import page, render
    from switchboard.web.roles import SUPERVISION

    router = APIRouter()

    @router.get("/supervisor", response_class=HTMLResponse)
    def wallboard_page(request: Request, account: Annotated[Account, Depends(page(*SUPERVISION))]) -> HTMLResponse:
        return render(request, "supervisor/wallboard.html", account, queues=...)

    @router.get("/api/supervisor/queues")
    def queues(request: Request, account: Annotated[Account, Depends(require(*SUPERVISION))]) -> dict[str, object]:
        ...

(Annotated keeps ruff's B008 quiet.) `page(*roles)` is `require(*roles)` for a browser: the same role and CSRF
checks (and the same `x-roles` in the OpenAPI document), but without a session it redirects to /login?next=<this
page> instead of answering 401, and a wrong role or CSRF token gets a readable 403 page instead of JSON. The
template extends base.html, fills the blocks `title` and `content` (and `head` for a page's own scripts), and gets
`account` and `csrf_token`; its JavaScript calls the API with `api(method, url, body)` from console.js, which sends
the CSRF header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from switchboard.store.accounts import Account
from switchboard.web.app import templates
from switchboard.web.auth import RoleGate, session_of
from switchboard.web.roles import ADMINISTRATION, CAMPAIGNS, OPERATOR_DESK, SUPERVISION, Role

PAGE_SCOPE_KEY = "sb_page"  # set on the request by a PageGate: its 401/403 become a redirect / an HTML page


@dataclass(frozen=True)
class Area:
    label: str
    path: str
    roles: tuple[Role, ...]


# The areas in the header's nav, in the order shown; each role sees only those it may use.
AREAS = (
    Area("Operator desk", "/operator", OPERATOR_DESK),
    Area("Wallboard", "/supervisor", SUPERVISION),
    Area("Campaigns", "/campaigns", CAMPAIGNS),
    Area("Admin", "/admin", ADMINISTRATION),
)

ROLE_LABELS = {
    Role.OPERATOR: "Operator",
    Role.SUPERVISOR: "Supervisor",
    Role.CAMPAIGN_MANAGER: "Campaign manager",
    Role.ADMIN: "Administrator",
}


def nav_for(role: str) -> list[Area]:
    """The areas a role may use, for the header's nav."""
    return [area for area in AREAS if role in area.roles]


def role_label(role: str) -> str:
    labels: dict[str, str] = {str(key): label for key, label in ROLE_LABELS.items()}
    return labels.get(role, role)


templates.env.globals.update(nav_for=nav_for, role_label=role_label)


class PageGate(RoleGate):
    """require() for an HTML page: the same checks; app.py turns its refusals into a redirect or an HTML page."""

    async def __call__(self, request: Request) -> Account:
        request.scope[PAGE_SCOPE_KEY] = True
        return await super().__call__(request)


def page(*roles: Role) -> PageGate:
    """`account: Account = Depends(page(*SUPERVISION))` on a route answering HTML."""
    if not roles:
        raise ValueError("page() needs at least one role")
    return PageGate(roles)


def is_page_request(request: Request) -> bool:
    """A browser asking for a page: a PageGate route, or a GET outside /api/ that accepts HTML."""
    if request.scope.get(PAGE_SCOPE_KEY):
        return True
    wants_html = "text/html" in request.headers.get("accept", "")
    return request.method == "GET" and wants_html and not request.url.path.startswith("/api/")


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to go to after signing in; anything else (another host, a scheme) becomes `default`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\n" in target:
        return default
    return target


def login_url(request: Request) -> str:
    """/login?next=<the requested page>, to come back after signing in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(here, safe='/')}" if here != "/" else "/login"


def render(
    request: Request, template: str, account: Account | None, /, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    """Render a template extending base.html, with `account`, the session's `csrf_token` and `status_code` in its
    context besides `ctx`."""
    session = session_of(request)
    context = {"account": account, "csrf_token": session.csrf_token if session else "", "status_code": status_code}
    return templates.TemplateResponse(request, template, {**context, **ctx}, status_code=status_code)
