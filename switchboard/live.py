"""Live state in Redis: a mirror of the picture for the consoles and other processes.

Written in pipelined batches a few times a second, never on the call path; lost data is rebuilt, never trusted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from switchboard import keys
from switchboard.picture import Picture
from switchboard.wallboard import TimeInState, queue_board

log = logging.getLogger("switchboard.live")


class LiveState:
    def __init__(self, url: str) -> None:
        self.redis = aioredis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
        self.healthy = False
        self.time_in_state = TimeInState()

    async def publish(self, picture: Picture, ami_connected: bool) -> None:
        """Write the whole picture (it is small) in one pipeline; a Redis outage is logged, not fatal."""
        now = time.time()
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(keys.operators())
            ops = picture.operator_states(now)  # without `now`, everyone who ever wrapped up would stay wrap_up
            if ops:
                pipe.hset(keys.operators(), mapping=_fields(ops))
            for user, row in self.time_in_state.board(picture, now).items():
                pipe.delete(keys.operator(user))
                pipe.hset(keys.operator(user), mapping=_fields(_flat(row)))
            board = queue_board(picture, now)
            pipe.delete(keys.queues())
            if board:
                pipe.sadd(keys.queues(), *board)
            for name, figures in board.items():
                pipe.delete(keys.queue(name))
                pipe.hset(keys.queue(name), mapping=_fields(_flat(figures)))
            pipe.hset(keys.inbound_counters(), mapping=_fields(picture.counters))
            pipe.delete(keys.calls_in_progress())
            calls = {
                u: json.dumps(
                    {"operator": r.operator, "queue": r.queue, "started_at": r.started_at, "answered_at": r.answered_at}
                )
                for u, r in picture.calls.items()
            }
            if calls:
                pipe.hset(keys.calls_in_progress(), mapping=_fields(calls))
            pipe.hset(keys.ami_state(), mapping=_fields({"connected": int(ami_connected), "updated_at": now}))
            await pipe.execute()
            if not self.healthy:
                log.info("redis live state: connected")
            self.healthy = True
        except (aioredis.RedisError, OSError) as exc:
            if self.healthy:
                log.warning("redis live state unavailable: %s", exc)
            self.healthy = False

    async def read(self) -> dict[str, Any]:
        return {
            "operators": await self.redis.hgetall(keys.operators()),
            "inbound": {k: int(v) for k, v in (await self.redis.hgetall(keys.inbound_counters())).items()},
            "calls": await self.redis.hlen(keys.calls_in_progress()),
        }

    async def read_queues(self) -> dict[str, dict[str, Any]]:
        """Each queue's figures as the wallboard reads them back (numbers as numbers, operators by state as JSON)."""
        names = sorted(str(name) for name in await self.redis.smembers(keys.queues()))
        return {name: decode_hash(await self.redis.hgetall(keys.queue(name))) for name in names}

    async def read_operator(self, sip_user: str) -> dict[str, Any]:
        return decode_hash(await self.redis.hgetall(keys.operator(sip_user)))

    async def close(self) -> None:
        await self.redis.aclose()


def _flat(row: Mapping[str, Any]) -> dict[str, str | int | float]:
    """A hash row: numbers and text as they are, anything else (lists, dicts, None) as JSON."""
    return {
        k: v if isinstance(v, str | int | float) and not isinstance(v, bool) else json.dumps(v) for k, v in row.items()
    }


def decode_hash(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A hash as read back (decode_responses: text): numbers and JSON parsed, plain text kept; the inverse of _flat,
    also used by the console's wallboard, which reads the same keys."""
    out: dict[str, Any] = {}
    for key, text in row.items():
        try:
            out[str(key)] = json.loads(text)
        except ValueError:
            out[str(key)] = text
    return out


def _fields(values: Mapping[str, object]) -> Mapping[Any, Any]:
    """redis-py types hash mappings with an invariant key type; our keys are plain str."""
    return values
