"""Public probes: /health (is the console able to work: store, Redis, the platform's AMI link) and /metrics
(the live figures for Prometheus). Neither needs a session; neither shows a name, a number or a call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError

from switchboard import keys
from switchboard.web.app import WebContext
from switchboard.web.metrics import CONTENT_TYPE, LiveFigures, ami_connected, exposition, families

router = APIRouter(tags=["health"])
REDIS_WAIT_S = 3.0  # a probe answers within seconds even when Redis hangs


def _store_ok(ctx: WebContext) -> tuple[bool, str | None]:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(sa.select(sa.literal(1)))
    except sa.exc.SQLAlchemyError as exc:
        return False, type(exc).__name__
    return True, None


def _text(raw: Mapping[Any, Any]) -> dict[str, str]:
    """A hash as read back: text already (decode_responses), typed as such for the checker."""
    return {str(key): str(value) for key, value in raw.items()}


def _decoded(raw: Mapping[Any, Any]) -> dict[str, Any]:
    """The dialer writes every value as JSON text."""
    out: dict[str, Any] = {}
    for key, text in _text(raw).items():
        try:
            out[key] = json.loads(text)
        except ValueError:
            out[key] = text
    return out


async def read_live(ctx: WebContext) -> LiveFigures:
    """The live state the platform and the dialer keep in Redis (raises RedisError/OSError when it is down)."""
    client = ctx.redis
    if client is None:
        raise RedisError("the console has no Redis client (it has not started)")
    names = sorted(str(name) for name in await client.smembers(keys.queues()))
    queues = {name: _text(await client.hgetall(keys.queue(name))) for name in names}
    dialers = {}
    for dialer in ctx.site.dialers:
        raw = await client.hgetall(keys.dialer(dialer.campaign))
        if raw:  # the hash expires when no dialer writes it
            dialers[dialer.campaign] = _decoded(raw)
    return LiveFigures(
        ami=_text(await client.hgetall(keys.ami_state())),
        queues=queues,
        operators=_text(await client.hgetall(keys.operators())),
        dialers=dialers,
    )


async def _live_or_error(ctx: WebContext) -> tuple[LiveFigures | None, str | None]:
    try:
        return await asyncio.wait_for(read_live(ctx), REDIS_WAIT_S), None
    except (RedisError, OSError, TimeoutError) as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Store, Redis and the platform's AMI link; 503 only when the store is down (the console cannot work)."""
    ctx: WebContext = request.app.state.ctx
    store_ok, store_error = await asyncio.to_thread(_store_ok, ctx)
    live, redis_error = await _live_or_error(ctx)
    now = ctx.clock()
    connected = ami_connected(live.ami, now) if live is not None else None
    ami: dict[str, Any] = {
        "connected": connected,
        "state": {True: "connected", False: "disconnected", None: "unknown"}[connected],
    }
    if live is not None and live.ami.get("updated_at"):
        ami["updated_at"] = float(live.ami["updated_at"])
    body = {
        "status": "ok" if store_ok and live is not None and connected else "degraded" if store_ok else "down",
        "store": {"ok": store_ok, **({"error": store_error} if store_error else {})},
        "redis": {"ok": live is not None, **({"error": redis_error} if redis_error else {})},
        "ami": ami,
    }
    return JSONResponse(body, status_code=200 if store_ok else 503, headers={"Cache-Control": "no-store"})


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """The live figures in Prometheus' text format; without Redis, only switchboard_redis_up 0 and the store's."""
    ctx: WebContext = request.app.state.ctx
    store_ok, _ = await asyncio.to_thread(_store_ok, ctx)
    live, _ = await _live_or_error(ctx)
    text = exposition(families(live, store_ok, ctx.clock()))
    return Response(text, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
