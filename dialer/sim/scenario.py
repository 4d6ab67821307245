"""A dialer simulation scenario (operators, how calls end and how long things take), checked field by field.

The shell reads the JSON; this turns the parsed value into a frozen spec, or a ScenarioError naming field and value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from acd.distributions import Distribution, distribution_from

WINDOWS = {"30d": 30 * 86400.0, "24h": 86400.0}  # FCC: 30 days; Ofcom (UK mode): every 24 hours
OUTCOMES = ("live", "machine", "busy", "no_answer")
_FIELDS = {
    "agents", "hours", "days", "seed", "outcomes", "live_schedule", "live_ring_s", "machine_ring_s", "amd_s",
    "amd_human_s", "amd_false_positive", "busy_s", "no_answer_timeout_s", "talk_s", "wrapup_s", "grace_s",
    "max_abandon_rate", "window", "amd", "agent_churn", "operator_machine_s", "description",
}  # fmt: skip


class ScenarioError(ValueError):
    """The scenario is invalid; the message starts with the field's path and value."""


@dataclass(frozen=True, slots=True)
class DialerScenario:
    agents: int
    hours: float  # each day's shift
    days: int
    seed: int
    outcomes: tuple[float, float, float, float]  # live, machine, busy, no answer: shares of launched calls
    live_schedule: tuple[tuple[float, float], ...]  # (seconds into the shift, live share), a step function
    live_ring_s: Distribution  # launch to a person's answer (the end of the greeting)
    machine_ring_s: Distribution  # launch to a machine's answer
    amd_s: float  # a MACHINE verdict, after the machine answered
    amd_human_s: float  # a HUMAN verdict, after the greeting
    amd_false_positive: float  # share of people AMD takes for machines (and hangs up on)
    busy_s: float
    no_answer_timeout_s: float
    talk_s: Distribution
    wrapup_s: Distribution
    grace_s: float
    max_abandon_rate: float
    window_s: float
    amd: bool
    agent_churn: float  # share of operators who log in and out through the day
    operator_machine_s: float  # AMD off: how long an operator takes to hang up on a machine

    @property
    def shift_s(self) -> float:
        return self.hours * 3600.0

    def live_share(self, into_shift_s: float) -> float:
        share = self.outcomes[0]
        for start, value in self.live_schedule:
            if start > into_shift_s:
                break
            share = value
        return share


def load_scenario(data: object) -> DialerScenario:
    """Check a parsed scenario and build its spec; the first problem found raises ScenarioError."""
    top = _object(data, "scenario")
    for key in top:
        if key not in _FIELDS:
            raise ScenarioError(f"{key}: unknown field (expected one of {', '.join(sorted(_FIELDS))})")
    amd = top.get("amd", True)
    if not isinstance(amd, bool):
        raise ScenarioError(f"amd = {amd!r}: must be true or false")
    window = top.get("window", "30d")
    if window not in WINDOWS:
        raise ScenarioError(f"window = {window!r}: must be one of {', '.join(WINDOWS)}")
    outcomes = _outcomes(top)
    return DialerScenario(
        agents=_integer(top, "agents", low=1),
        hours=_number(top, "hours", low=0.0, positive=True, high=24.0),
        days=_integer(top, "days", default=1, low=1),
        seed=_integer(top, "seed", default=1, low=0),
        outcomes=outcomes,
        live_schedule=_schedule(top, outcomes),
        live_ring_s=_distribution(top, "live_ring_s"),
        machine_ring_s=_distribution(top, "machine_ring_s"),
        amd_s=_number(top, "amd_s", default=3.0),
        amd_human_s=_number(top, "amd_human_s", default=0.8),
        amd_false_positive=_number(top, "amd_false_positive", default=0.0, high=0.99),
        busy_s=_number(top, "busy_s", default=2.0),
        no_answer_timeout_s=_number(top, "no_answer_timeout_s", default=20.0, positive=True),
        talk_s=_distribution(top, "talk_s"),
        wrapup_s=_distribution(top, "wrapup_s"),
        grace_s=_number(top, "grace_s", default=2.0),
        max_abandon_rate=_number(top, "max_abandon_rate", default=0.03, positive=True, high=1.0),
        window_s=WINDOWS[window],
        amd=amd,
        agent_churn=_number(top, "agent_churn", default=0.0, high=1.0),
        operator_machine_s=_number(top, "operator_machine_s", default=4.0),
    )


def _outcomes(top: Mapping[str, Any]) -> tuple[float, float, float, float]:
    spec = _object(top.get("outcomes"), "outcomes")
    for key in spec:
        if key not in OUTCOMES:
            raise ScenarioError(f"outcomes.{key}: unknown outcome (expected {', '.join(OUTCOMES)})")
    values = [_number(spec, key, where="outcomes", high=1.0) for key in OUTCOMES]
    if abs(sum(values) - 1.0) > 1e-6:
        raise ScenarioError(f"outcomes = {dict(spec)!r}: the shares must add up to 1 (they add up to {sum(values)})")
    if values[0] >= 1.0:
        raise ScenarioError("outcomes.live = 1: some calls must end otherwise, or the other shares cannot scale")
    return values[0], values[1], values[2], values[3]


def _schedule(top: Mapping[str, Any], outcomes: tuple[float, ...]) -> tuple[tuple[float, float], ...]:
    """Live share over the shift: each point holds until the next. The other outcomes scale to fill the rest."""
    value = top.get("live_schedule", [])
    if not isinstance(value, list):
        raise ScenarioError(f"live_schedule = {value!r}: must be a list of [seconds, share] points")
    points: list[tuple[float, float]] = []
    for i, point in enumerate(value):
        ok = isinstance(point, list) and len(point) == 2
        if not ok or any(isinstance(v, bool) or not isinstance(v, int | float) for v in point):
            raise ScenarioError(f"live_schedule[{i}] = {point!r}: must be [seconds, share]")
        at, share = float(point[0]), float(point[1])
        if not math.isfinite(at) or at < 0 or (points and at <= points[-1][0]):
            raise ScenarioError(f"live_schedule[{i}][0] = {point[0]!r}: times must be >= 0 and increasing")
        if not 0.0 <= share < 1.0:
            raise ScenarioError(f"live_schedule[{i}][1] = {point[1]!r}: a share must be in [0, 1)")
        points.append((at, share))
    return tuple(points)


def _distribution(spec: Mapping[str, Any], key: str) -> Distribution:
    if key not in spec:
        raise ScenarioError(f"{key}: missing")
    try:
        return distribution_from(spec[key])
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{key}{exc}") from None


def _object(data: object, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where} = {data!r}: must be an object")
    return data


def _number(
    spec: Mapping[str, Any], key: str, *, default: float | None = None, low: float = 0.0, positive: bool = False,
    high: float | None = None, where: str = "",
) -> float:  # fmt: skip
    path = f"{where}.{key}" if where else key
    value = spec.get(key, default)
    if value is None:
        raise ScenarioError(f"{path}: missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{path} = {value!r}: must be a number")
    if value < low or (positive and value == low) or (high is not None and value > high):
        bounds = f"{'>' if positive else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
        raise ScenarioError(f"{path} = {value!r}: must be {bounds}")
    return float(value)


def _integer(spec: Mapping[str, Any], key: str, *, default: int | None = None, low: int = 0) -> int:
    value = spec.get(key, default)
    if value is None:
        raise ScenarioError(f"{key}: missing")
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ScenarioError(f"{key} = {value!r}: must be an integer >= {low}")
    return value
