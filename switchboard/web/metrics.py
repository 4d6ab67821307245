"""The live figures as Prometheus metrics: pure functions from what Redis holds to the text exposition format 0.0.4.

health.py reads Redis; everything here is plain data in, text out, so it is tested without either.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from acd.model import Presence

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STALE_S = 10.0  # the platform rewrites its live state several times a second: older than this, it is not running
# (metric, the figure's field in the live state, help) for each queue's figures, then each campaign's dialer.
QUEUE_FIGURES = [
    ("switchboard_calls_waiting", "waiting", "Calls waiting in the queue now."),
    (
        "switchboard_longest_wait_seconds",
        "longest_wait_s",
        "How long the longest-waiting call of the queue has waited, in seconds.",
    ),
    (
        "switchboard_service_level",
        "service_level",
        "Share of today's offered calls answered within the queue's service-level target (0 to 1).",
    ),
    (
        "switchboard_abandon_rate",
        "abandon_rate",
        "Share of today's offered calls the caller hung up on while waiting (0 to 1).",
    ),
]
CAMPAIGN_FIGURES = [
    ("switchboard_dial_level", "dial_level", "Calls the dialer launched per free operator over the last minute."),
    (
        "switchboard_dialer_abandon_rate",
        "abandon_rate",
        "Share of answered outbound calls abandoned over the campaign's legal window (0 to 1).",
    ),
]


@dataclass(frozen=True)
class Family:
    """One metric: its name, help text, type, and samples as (labels, value)."""

    name: str
    help: str
    type: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)


@dataclass(frozen=True)
class LiveFigures:
    """What the platform and the dialer last wrote to Redis, as read back (text values, JSON where encoded)."""

    ami: Mapping[str, str]
    queues: Mapping[str, Mapping[str, Any]]
    operators: Mapping[str, str]  # sip_user -> presence
    dialers: Mapping[str, Mapping[str, Any]]  # campaign -> figures (switchboard.outbound_board)


def escape_label(value: str) -> str:
    r"""A label value as the format wants it: backslash, double quote and line feed escaped (\\, \", \n)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    r"""HELP text escapes only backslash and line feed."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def exposition(families: Iterable[Family]) -> str:
    """The text format: each family's HELP and TYPE lines, then its samples; a final line feed."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for labels, value in family.samples:
            shown = ",".join(f'{key}="{escape_label(text)}"' for key, text in labels.items())
            lines.append(
                f"{family.name}{{{shown}}} {format_value(value)}" if shown else f"{family.name} {format_value(value)}"
            )
    return "\n".join(lines) + "\n"


def _number(value: Any) -> float | None:
    """A figure read back from Redis (text or JSON-decoded); None when absent or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def ami_connected(ami: Mapping[str, str], now: float) -> bool | None:
    """True/False as the platform last said; None when it has not written for STALE_S (it is not running)."""
    updated = _number(ami.get("updated_at"))
    if updated is None or now - updated > STALE_S:
        return None
    return _number(ami.get("connected")) == 1


def _per(label: str, rows: Mapping[str, Mapping[str, Any]], field_name: str) -> list[tuple[dict[str, str], float]]:
    """One sample a row (a queue, a campaign) labelled with its name; a row without the figure has none (a dialer
    with no free operator or no answer in its window yet)."""
    samples = []
    for name in sorted(rows):
        value = _number(rows[name].get(field_name))
        if value is not None:
            samples.append(({label: name}, value))
    return samples


def operators_by_state(operators: Mapping[str, str]) -> list[tuple[dict[str, str], float]]:
    """Every presence (zero included, so a graph does not lose its line), plus any state we do not know yet."""
    counts = Counter(operators.values())
    states = [p.value for p in Presence] + sorted(set(counts) - {p.value for p in Presence})
    return [({"state": state}, float(counts[state])) for state in states]


def families(live: LiveFigures | None, store_up: bool, now: float) -> list[Family]:
    """Every metric /metrics shows; without Redis (`live` None) only the up gauges."""
    up = [
        Family(
            "switchboard_redis_up",
            "1 when the console can read the live state in Redis.",
            samples=[({}, float(live is not None))],
        ),
        Family("switchboard_store_up", "1 when the console can query its SQL store.", samples=[({}, float(store_up))]),
    ]
    if live is None:
        return up
    connected = ami_connected(live.ami, now)
    ami = Family(
        "switchboard_ami_connected",
        "1 when the platform is connected to Asterisk's AMI (0 too when the platform has stopped writing).",
        samples=[({}, float(bool(connected)))],
    )
    return [
        *up,
        ami,
        *(Family(name, text, samples=_per("queue", live.queues, key)) for name, key, text in QUEUE_FIGURES),
        Family("switchboard_operators", "Operators in each state now.", samples=operators_by_state(live.operators)),
        *(Family(name, text, samples=_per("campaign", live.dialers, key)) for name, key, text in CAMPAIGN_FIGURES),
    ]
