"""The supervisor's wallboard as the console shows it: each queue's figures against its targets, operators by state
with their time in state, and the calls in progress, read from the live state the platform writes to Redis.

`read_live` is the only I/O; `build_board` is pure, with the time passed in.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from acd.model import Presence
from switchboard import keys
from switchboard.config import Site
from switchboard.config_sections import Queue
from switchboard.live import decode_hash

# The targets of a queue the platform reports but the site no longer has (removed since): the defaults.
_UNKNOWN_QUEUE = Queue(name="unknown")
STALE_AFTER_S = 5.0  # the platform publishes twice a second: older figures mean it has stopped
WORKING = ("available", "offered", "on_call", "wrap_up")
# Operators listed as a floor walker scans them: those working first, then paused, then away.
_SCAN_ORDER = [Presence.AVAILABLE, Presence.OFFERED, Presence.ON_CALL, Presence.WRAP_UP, Presence.PAUSED]
STATE_ORDER = {p.value: i for i, p in enumerate([*_SCAN_ORDER, Presence.UNREGISTERED, Presence.LOGGED_OUT])}


@dataclass(frozen=True)
class LiveSnapshot:
    """What the platform last wrote to Redis, decoded as `switchboard queues` decodes it."""

    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    operators: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    updated_at: float | None = None  # when the platform last published
    ami_connected: bool = False


def read_live(client: redis.Redis) -> LiveSnapshot:
    """One read of every live key the wallboard shows (raises redis.RedisError or OSError when Redis is away)."""
    names = sorted(str(name) for name in client.smembers(keys.queues()))
    users = sorted(str(user) for user in client.hkeys(keys.operators()))
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.queue(name))
    for user in users:
        pipe.hgetall(keys.operator(user))
    pipe.hgetall(keys.calls_in_progress())
    pipe.hgetall(keys.ami_state())
    *rows, calls, ami = pipe.execute()
    queues = {name: decode_hash(row) for name, row in zip(names, rows[: len(names)], strict=True)}
    operators = {user: decode_hash(row) for user, row in zip(users, rows[len(names) :], strict=True)}
    ami_state = decode_hash(ami)
    return LiveSnapshot(
        queues=queues,
        operators=operators,
        calls={str(uid): json.loads(text) for uid, text in calls.items()},
        updated_at=float(ami_state["updated_at"]) if "updated_at" in ami_state else None,
        ami_connected=bool(ami_state.get("connected", 0)),
    )


def _measure(value: float, target: float, late: bool) -> dict[str, Any]:
    return {"value": value, "target": target, "late": late}


def queue_row(name: str, figures: Mapping[str, Any], queue: Queue | None) -> dict[str, Any]:
    """One queue's figures, each with its target and whether it is past it.

    Targets come from the queue's settings: the service level's share and seconds (sl_target, sl_seconds). A caller
    waiting longer than sl_seconds, or an ASA above it, is late; more callers waiting than operators working the
    queue is late; abandonment is late above the queue's abandon_target. A queue with no finished call has no late
    rate.
    """
    targets = queue or _UNKNOWN_QUEUE
    sl_seconds, sl_target, abandon_target = float(targets.sl_seconds), targets.sl_target, targets.abandon_target
    states = figures.get("operators") or {}
    working = sum(int(states.get(state, 0)) for state in WORKING)
    finished = int(figures.get("answered", 0)) + int(figures.get("abandoned", 0))
    waiting, longest = int(figures.get("waiting", 0)), float(figures.get("longest_wait_s", 0.0))
    service_level, asa = float(figures.get("service_level", 0.0)), float(figures.get("asa_s", 0.0))
    abandon_rate = float(figures.get("abandon_rate", 0.0))
    row: dict[str, Any] = {
        "name": name,
        "waiting": _measure(waiting, working, waiting > working),
        "longest_wait_s": _measure(longest, sl_seconds, longest > sl_seconds),
        "service_level": _measure(service_level, sl_target, finished > 0 and service_level < sl_target),
        "asa_s": _measure(asa, sl_seconds, asa > sl_seconds),
        "abandon_rate": _measure(abandon_rate, abandon_target, finished > 0 and abandon_rate > abandon_target),
        "figures": dict(figures),
    }
    row["late"] = any(
        row[key]["late"] for key in ("waiting", "longest_wait_s", "service_level", "asa_s", "abandon_rate")
    )
    return row


def call_row(uniqueid: str, call: Mapping[str, Any], names: Mapping[str, str], now: float) -> dict[str, Any]:
    """A call in progress: waiting in its queue, ringing an operator, or talking, and for how long."""
    operator, answered_at = call.get("operator"), call.get("answered_at")
    started_at = float(call.get("started_at") or now)
    if answered_at is not None:
        state, since = "talking", float(answered_at)
    else:
        state, since = ("ringing" if operator else "waiting"), started_at
    return {
        "uniqueid": uniqueid,
        "queue": call.get("queue"),
        "operator": operator,
        "operator_name": names.get(operator or "", operator),
        "state": state,
        "started_at": started_at,
        "answered_at": answered_at,
        "seconds": round(max(0.0, now - since), 1),
    }


def operator_row(
    user: str, row: Mapping[str, Any], call: dict[str, Any] | None, name: str, now: float
) -> dict[str, Any]:
    """One operator: state, pause reason, time in state (from when the platform saw the state begin), the call."""
    since = row.get("since")
    seconds = round(max(0.0, now - float(since)), 1) if isinstance(since, int | float) else row.get("seconds")
    return {
        "sip_user": user,
        "name": name,
        "state": row.get("state", "unknown"),
        "paused_reason": row.get("paused_reason"),
        "seconds_in_state": seconds,
        "queues": row.get("queues") or [],
        "call": call,
    }


def build_board(live: LiveSnapshot, site: Site, now: float) -> dict[str, Any]:
    """The whole wallboard at `now`: queues (in the site's order), operators by state, calls in progress."""
    configured = {q.name: q for q in site.queues}
    order = [q.name for q in site.queues if q.name in live.queues] + sorted(set(live.queues) - set(configured))
    names = {op.sip_user: op.name for op in site.operators}
    calls = sorted((call_row(uid, call, names, now) for uid, call in live.calls.items()), key=lambda c: c["started_at"])
    on_call = {c["operator"]: c for c in calls if c["operator"]}
    operators = [
        operator_row(user, row, on_call.get(user), names.get(user, user), now) for user, row in live.operators.items()
    ]
    operators.sort(key=lambda o: (STATE_ORDER.get(o["state"], len(STATE_ORDER)), o["name"]))
    age = None if live.updated_at is None else round(max(0.0, now - live.updated_at), 1)
    return {
        "at": now,
        "live": {
            "updated_at": live.updated_at,
            "age_s": age,
            "stale": age is None or age > STALE_AFTER_S,
            "ami_connected": live.ami_connected,
        },
        "queues": [queue_row(name, live.queues[name], configured.get(name)) for name in order],
        "operators": operators,
        "operators_by_state": dict(sorted(Counter(o["state"] for o in operators).items())),
        "calls": calls,
    }
