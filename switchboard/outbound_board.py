"""The outbound dialer's live figures per campaign, for the campaign manager's console: dial level, answer rate,
abandon rate over the legal window, operators idle and calls ringing. Folded by the dialer, written to Redis.

Redis holds only what can be rebuilt: the abandon window is counted again from the attempt rows when the dialer
starts, and the hash expires when no dialer writes it (a stopped platform shows no stale figures).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dialer.campaigns.model import Result
from dialer.pacing_governor import BUCKET_S, DAY_S, AbandonWindow
from switchboard import keys
from switchboard.config import DialerSection
from switchboard.store.schema import attempts

log = logging.getLogger("switchboard.outbound")
DIAL_LEVEL_S = 60.0  # dial level: calls launched per free operator over the last minute
ANSWER_RATE_S = 900.0  # answer rate: people who answered per attempt ended over the last 15 minutes
PUBLISH_EVERY_S = 1.0
EXPIRE_S = 10  # a hash nobody rewrote for this long is gone: the dialer is not running
WINDOWS = {"30d": 30 * DAY_S, "24h": DAY_S}  # DialerSection.window: the legal window of the abandon rate
PEOPLE = (Result.ANSWERED.value, Result.ABANDONED.value)  # a person answered: what the cap's rate divides by


@dataclass
class CampaignBoard:
    """One campaign's figures, folded forward by the dialer as it launches and closes attempts."""

    window: AbandonWindow
    seeded_before: float | None = None  # the window holds the attempts that ended before this (None: not read yet)
    pending: list[tuple[float, bool]] = field(default_factory=list)  # people answered before then: (at, abandoned)
    launches: deque[float] = field(default_factory=deque)
    free: deque[tuple[float, int]] = field(default_factory=deque)  # free operators at each tick
    ended: deque[tuple[float, bool]] = field(default_factory=deque)  # attempts ended: (at, a person answered)

    def launched(self, now: float) -> None:
        self.launches.append(now)

    def sampled(self, free: int, now: float) -> None:
        self.free.append((now, free))
        _trim(self.free, now - DIAL_LEVEL_S)
        _trim(self.launches, now - DIAL_LEVEL_S)
        _trim(self.ended, now - ANSWER_RATE_S)

    def attempt_ended(self, result: Result, now: float) -> None:
        person = result.value in PEOPLE
        self.ended.append((now, person))
        if not person:
            return
        abandoned = result is Result.ABANDONED
        if self.seeded_before is None:
            self.pending.append((now, abandoned))
        else:
            self.window = self.window.added(now, float(abandoned), 1.0)

    def seed(self, window: AbandonWindow, before: float) -> None:
        """The window as the attempt rows had it before `before`, plus what ended since (kept meanwhile)."""
        for at, abandoned in self.pending:
            if at >= before:
                window = window.added(at, float(abandoned), 1.0)
        self.window, self.seeded_before, self.pending = window, before, []

    def figures(self, ringing: int, now: float) -> dict[str, Any]:
        _trim(self.launches, now - DIAL_LEVEL_S)
        samples = [n for at, n in self.free if at >= now - DIAL_LEVEL_S]
        mean_free = sum(samples) / len(samples) if samples else 0.0
        ended = [person for at, person in self.ended if at >= now - ANSWER_RATE_S]
        abandoned, answered = self.window.totals(now)
        return {
            "dial_level": round(len(self.launches) / mean_free, 3) if mean_free > 0 else None,
            "launched_last_minute": len(self.launches),
            "answer_rate": round(sum(ended) / len(ended), 4) if ended else None,
            "ended_last_15_min": len(ended),
            "abandon_rate": round(abandoned / answered, 4) if answered and self.seeded_before is not None else None,
            "abandoned_in_window": round(abandoned, 3),
            "answered_in_window": round(answered, 3),
            "operators_idle": self.free[-1][1] if self.free else 0,
            "calls_ringing": ringing,
            "updated_at": now,
        }


def _trim(items: deque[Any], oldest: float) -> None:
    while items and (items[0][0] if isinstance(items[0], tuple) else items[0]) < oldest:
        items.popleft()


def window_s(dialer: DialerSection) -> float:
    return WINDOWS[dialer.window]


def read_window(engine: Engine, campaign_id: int, window: float, before: float) -> AbandonWindow:
    """The abandon window as the attempt rows give it: people answered and abandoned, by five-minute bucket of
    their end, over the `window` seconds before `before`. Run in a thread: a 30-day window is a grouped scan."""
    bucket = _bucket(engine).label("bucket")
    since = before - window
    query = (
        sa.select(
            bucket,
            sa.func.sum(sa.case((attempts.c.result == Result.ABANDONED.value, 1), else_=0)),
            sa.func.count(attempts.c.id),
        )
        .where(
            attempts.c.campaign_id == campaign_id,
            attempts.c.started_at >= since - DAY_S,  # the index's range; no call lasts a day
            attempts.c.ended_at >= since,
            attempts.c.ended_at < before,
            attempts.c.result.in_(PEOPLE),
        )
        .group_by(bucket)
        .order_by(bucket)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    folded = AbandonWindow(window)
    for number, abandoned, answered in rows:
        folded = folded.added(int(number) * BUCKET_S, float(abandoned or 0), float(answered))
    return folded


def _bucket(engine: Engine) -> sa.ColumnElement[Any]:
    """The five-minute bucket of the attempt's end: SQLite's CAST truncates (epochs are positive), PostgreSQL floors."""
    buckets = attempts.c.ended_at / BUCKET_S
    if engine.dialect.name == "sqlite":
        return sa.cast(buckets, sa.Integer)
    return sa.cast(sa.func.floor(buckets), sa.BigInteger)


class DialerBoard:
    """Every dialer's campaign board, and their publication to Redis (off the dialer's path: a task of its own)."""

    def __init__(self, dialers: list[DialerSection], client: aioredis.Redis | None = None) -> None:
        self.boards: dict[str, CampaignBoard] = {}
        for dialer in dialers:
            self.board(dialer)
        self.payloads: dict[str, dict[str, Any]] = {}
        self.client = client
        self._published = 0.0
        self._task: asyncio.Task[None] | None = None

    def board(self, dialer: DialerSection) -> CampaignBoard:
        """The dialer's board (made on first sight: a reloaded site may name the same campaigns anew)."""
        board = self.boards.get(dialer.campaign)
        if board is None:
            board = self.boards[dialer.campaign] = CampaignBoard(AbandonWindow(window_s(dialer)))
        return board

    async def seed(self, engine: Engine, dialer: DialerSection, campaign_id: int, now: float) -> None:
        """Read the campaign's abandon window from its attempt rows, once (again after a failed read)."""
        board = self.board(dialer)
        if board.seeded_before is not None:
            return
        try:
            window = await asyncio.to_thread(read_window, engine, campaign_id, window_s(dialer), now)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("dialer %r: abandon window not read (figures without it): %s", dialer.campaign, exc)
            return
        board.seed(window, now)

    def launched(self, dialer: DialerSection, now: float) -> None:
        self.board(dialer).launched(now)

    def attempt_ended(self, dialer: DialerSection, result: Result, now: float) -> None:
        self.board(dialer).attempt_ended(result, now)

    def observe(self, dialer: DialerSection, free: int, ringing: int, status: str, now: float) -> None:
        """The floor at this tick: operators free in session mode, calls ringing, the campaign's status."""
        board = self.board(dialer)
        board.sampled(free, now)
        self.payloads[dialer.campaign] = (
            {"campaign": dialer.campaign, "status": status} | settings_of(dialer) | board.figures(ringing, now)
        )

    def publish(self, now: float) -> None:
        """Write the figures at most once a second, never waiting for Redis (a slow Redis skips a round)."""
        if self.client is None or not self.payloads or now - self._published < PUBLISH_EVERY_S:
            return
        if self._task is not None and not self._task.done():
            return
        self._published = now
        payloads = {campaign: dict(payload) for campaign, payload in self.payloads.items()}
        self._task = asyncio.get_running_loop().create_task(self._write(self.client, payloads))

    async def _write(self, client: aioredis.Redis, payloads: Mapping[str, Mapping[str, Any]]) -> None:
        try:
            pipe = client.pipeline(transaction=True)
            for campaign, payload in payloads.items():
                name = keys.dialer(campaign)
                pipe.delete(name)
                pipe.hset(name, mapping=encode(payload))
                pipe.expire(name, EXPIRE_S)
            await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            log.debug("dialer figures not written to Redis: %s", exc)


def settings_of(dialer: DialerSection) -> dict[str, Any]:
    """The pacing settings the figures are read against (they live in the site file's [[dialers]])."""
    return {
        "method": dialer.method,
        "ratio": dialer.ratio,
        "max_abandon_rate": dialer.max_abandon_rate,
        "window": dialer.window,
        "max_lines": dialer.max_lines,
    }


def encode(payload: Mapping[str, Any]) -> Mapping[Any, Any]:
    """Every value as JSON text (None stays null, numbers stay numbers when read back)."""
    return {key: json.dumps(value) for key, value in payload.items()}


async def read_figures(client: aioredis.Redis, campaign: str) -> dict[str, Any] | None:
    """A campaign's figures as the dialer last wrote them (None: no dialer is writing them)."""
    raw: Mapping[Any, Any] = await client.hgetall(keys.dialer(campaign))
    if not raw:
        return None
    return {_text(k): json.loads(_text(v)) for k, v in raw.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
