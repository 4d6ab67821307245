"""The outbound dialer's live figures per campaign, for the campaign manager's console: dial level, answer rate,
abandon rate over the legal window, operators idle and calls ringing. Folded by the dialer, written to Redis.

Redis holds only what can be rebuilt: the abandon window is the pacing's own (switchboard.outbound_pacing, rebuilt
from the attempt rows when the dialer starts), and the hash expires when no dialer writes it (a stopped platform
shows no stale figures).
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

from dialer.campaigns.model import Result
from dialer.pacing_governor import AbandonWindow
from switchboard import keys
from switchboard.config import DialerSection

log = logging.getLogger("switchboard.outbound")
DIAL_LEVEL_S = 60.0  # dial level: calls launched per free operator over the last minute
ANSWER_RATE_S = 900.0  # answer rate: people who answered per attempt ended over the last 15 minutes
PUBLISH_EVERY_S = 1.0
EXPIRE_S = 10  # a hash nobody rewrote for this long is gone: the dialer is not running
PEOPLE = (Result.ANSWERED.value, Result.ABANDONED.value)  # a person answered: what the cap's rate divides by


@dataclass
class CampaignBoard:
    """One campaign's figures, folded forward by the dialer as it launches and closes attempts."""

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
        self.ended.append((now, result.value in PEOPLE))

    def figures(self, ringing: int, window: AbandonWindow, now: float) -> dict[str, Any]:
        """`window`: the pacing's abandon window (AMD's unseen false positives counted as the governor counts them)."""
        _trim(self.launches, now - DIAL_LEVEL_S)
        samples = [n for at, n in self.free if at >= now - DIAL_LEVEL_S]
        mean_free = sum(samples) / len(samples) if samples else 0.0
        ended = [person for at, person in self.ended if at >= now - ANSWER_RATE_S]
        abandoned, answered = window.totals(now)
        return {
            "dial_level": round(len(self.launches) / mean_free, 3) if mean_free > 0 else None,
            "launched_last_minute": len(self.launches),
            "answer_rate": round(sum(ended) / len(ended), 4) if ended else None,
            "ended_last_15_min": len(ended),
            "abandon_rate": round(abandoned / answered, 4) if answered else None,
            "abandoned_in_window": round(abandoned, 3),
            "answered_in_window": round(answered, 3),
            "operators_idle": self.free[-1][1] if self.free else 0,
            "calls_ringing": ringing,
            "updated_at": now,
        }


def _trim(items: deque[Any], oldest: float) -> None:
    while items and (items[0][0] if isinstance(items[0], tuple) else items[0]) < oldest:
        items.popleft()


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
            board = self.boards[dialer.campaign] = CampaignBoard()
        return board

    def launched(self, dialer: DialerSection, now: float) -> None:
        self.board(dialer).launched(now)

    def attempt_ended(self, dialer: DialerSection, result: Result, now: float) -> None:
        self.board(dialer).attempt_ended(result, now)

    def observe(
        self, dialer: DialerSection, free: int, ringing: int, status: str, window: AbandonWindow, now: float
    ) -> None:
        """The floor at this tick: operators free in session mode, calls ringing, the campaign's status, and the
        pacing's abandon window."""
        board = self.board(dialer)
        board.sampled(free, now)
        figures = board.figures(ringing, window, now)
        self.payloads[dialer.campaign] = {"campaign": dialer.campaign, "status": status} | settings_of(dialer) | figures

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
