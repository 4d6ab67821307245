"""Builds the console's FastAPI app: its context (site, store, Redis, clock), its routers, the role marks in the
OpenAPI document, and the HTML answers a browser gets when a page is refused.

Add an area: write switchboard/web/routes/<area>.py exporting `router`, and list it in routes/__init__.py.
A route reaches what it needs through `ctx: WebContext = request.app.state.ctx`:
- `ctx.accounts` (users, sessions, audit log), `ctx.engine` (SQL), `ctx.site`, `ctx.clock()` (time: tests set it);
- `ctx.redis`: one shared redis.asyncio client (decode_responses=True, 2 s timeouts), made at startup from
  site.redis_url and closed at shutdown; None before startup, so a TestClient test that needs it uses
  `with TestClient(app) as client:` (or passes `redis=` to create_app). Catch `redis.exceptions.RedisError` and
  OSError: Redis may be down while the console stays up.
- `ctx.extras`: per-area services an area creates lazily under its own key.
Pages and their gate (`page()`, `render()`) are described in pages.py; the JSON API uses auth.require().
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from switchboard.config import Site
from switchboard.store.accounts import AccountStore
from switchboard.store.calls import make_engine
from switchboard.web.auth import RoleGate, session_of

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")

_HEADINGS = {401: "Please sign in", 403: "Not for your role", 404: "No such page"}


@dataclass
class WebContext:
    """What every route may use, at app.state.ctx."""

    site: Site
    engine: Engine
    accounts: AccountStore
    clock: Callable[[], float] = time.time
    extras: dict[str, Any] = field(default_factory=dict)  # per-area services, created lazily by their routes
    redis: aioredis.Redis | None = None  # the shared async client, from startup to shutdown


def gate_roles(dependant: Dependant | None) -> set[str]:
    """The roles of every RoleGate in a route's dependency tree (on the router, the route, or deeper)."""
    roles: set[str] = set()
    pending = [dependant] if dependant is not None else []
    while pending:
        current = pending.pop()
        if isinstance(current.call, RoleGate):
            roles.update(current.call.roles)
        pending.extend(current.dependencies)
    return roles


def api_routes(app: FastAPI) -> Iterator[RouteContext]:
    """Every API route as the app serves it (included routers flattened, with their prefixes and dependencies)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            yield route


def _mark_roles(app: FastAPI) -> None:
    """Write each operation's gate roles into the OpenAPI document as `x-roles` (none: a public route), at the
    time the document is built, so routes added after create_app are marked too."""

    def openapi() -> dict[str, Any]:
        document = FastAPI.openapi(app)
        for route in api_routes(app):
            roles = gate_roles(route.dependant)
            item = document.get("paths", {}).get(route.path_format, {})
            for method in route.methods or ():
                if roles and method.lower() in item:
                    item[method.lower()]["x-roles"] = sorted(roles)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def make_redis(url: str) -> aioredis.Redis:
    """The console's Redis client: text in and out, and short timeouts so a dead Redis cannot hang a page."""
    client: aioredis.Redis = aioredis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
    return client


async def _page_refusal(request: Request, exc: Exception) -> Response:
    """A page refused to a browser: without a session, go and sign in; otherwise an HTML page saying why."""
    from switchboard.web.pages import is_page_request, login_url, render

    assert isinstance(exc, StarletteHTTPException)
    if not is_page_request(request) or exc.status_code not in _HEADINGS:
        return await http_exception_handler(request, exc)
    if exc.status_code == 401:
        return RedirectResponse(login_url(request), status_code=303)
    session = session_of(request)
    heading, detail = _HEADINGS[exc.status_code], str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is no page at {request.url.path}."
    return render(
        request,
        "error.html",
        session.account if session else None,
        status_code=exc.status_code,
        heading=heading,
        detail=detail,
    )


def create_app(
    site: Site,
    *,
    engine: Engine | None = None,
    clock: Callable[[], float] = time.time,
    redis: aioredis.Redis | None = None,
) -> FastAPI:
    import switchboard.web.pages  # noqa: F401  (gives the templates their nav helpers)
    from switchboard.web.routes import ROUTERS

    engine = engine if engine is not None else make_engine(site.store_url_effective)
    ctx = WebContext(site=site, engine=engine, accounts=AccountStore(engine), clock=clock, redis=redis)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        own = ctx.redis is None
        if own:
            ctx.redis = make_redis(site.redis_url)
        try:
            yield
        finally:
            if own and ctx.redis is not None:
                await ctx.redis.aclose()
                ctx.redis = None

    app = FastAPI(
        title=f"{site.name} console",
        version="1",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.add_exception_handler(StarletteHTTPException, _page_refusal)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _mark_roles(app)
    return app
