"""A simulation scenario (operators, queues, their traffic and widening steps), checked field by field.

The shell reads the JSON; this turns the parsed value into frozen specs, or a ScenarioError naming field and value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from acd.distributions import Constant, Distribution, distribution_from
from acd.model import QueueRule, Step

MAX_LEVEL = 5  # skill levels run 1..5; the app_queue and mod_callcenter mappings (5 - level, 6 - level) rely on it


class ScenarioError(ValueError):
    """The scenario is invalid; the message starts with the field's path and value."""


@dataclass(frozen=True, slots=True)
class OperatorGroup:
    count: int
    skills: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class QueueSpec:
    rule: QueueRule  # name, requires, steps (sorted by after_s), priority, sl_seconds: what routing sees
    arrivals_per_hour: float
    talk_s: Distribution
    wrapup_s: Distribution
    patience_s: Distribution | None  # None: callers never give up

    @property
    def name(self) -> str:
        return self.rule.name


@dataclass(frozen=True, slots=True)
class Scenario:
    duration_s: float
    seed: int
    operators: tuple[OperatorGroup, ...]
    queues: tuple[QueueSpec, ...]

    @property
    def operator_count(self) -> int:
        return sum(group.count for group in self.operators)


def load_scenario(data: object) -> Scenario:
    """Check a parsed scenario and build its specs; the first problem found raises ScenarioError."""
    top = _object(data, "scenario")
    _known(top, "", {"duration_s", "seed", "operators", "queues", "description"})
    duration = _number(top, "duration_s", "", positive=True)
    seed = _integer(top, "seed", "", default=1, low=0)
    groups = tuple(_operator_group(item, f"operators[{i}]") for i, item in enumerate(_list(top, "operators", "")))
    if sum(g.count for g in groups) == 0:
        raise ScenarioError("operators: at least one operator is needed")
    queues = tuple(_queue(item, f"queues[{i}]") for i, item in enumerate(_list(top, "queues", "")))
    seen: set[str] = set()
    for i, queue in enumerate(queues):
        if queue.name in seen:
            raise ScenarioError(f"queues[{i}].name = {queue.name!r}: duplicate queue name")
        seen.add(queue.name)
    return Scenario(duration, seed, groups, queues)


def _operator_group(data: object, where: str) -> OperatorGroup:
    group = _object(data, where)
    _known(group, where, {"count", "skills", "name"})
    return OperatorGroup(_integer(group, "count", where, low=0), _skills(group, "skills", where, required=False))


def _queue(data: object, where: str) -> QueueSpec:
    spec = _object(data, where)
    _known(spec, where, {"name", "arrivals_per_hour", "requires", "steps", "talk_s", "wrapup_s", "patience_s",
                         "priority", "sl_seconds"})  # fmt: skip
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}.name = {name!r}: must be a non-empty string")
    steps = tuple(_step(item, f"{where}.steps[{i}]") for i, item in enumerate(_list(spec, "steps", where, [])))
    rule = QueueRule(
        name=name,
        requires=_skills(spec, "requires", where, required=True),
        steps=tuple(sorted(steps, key=lambda s: s.after_s)),
        priority=_integer(spec, "priority", where, default=0),
        sl_seconds=_number(spec, "sl_seconds", where, positive=True, default=20.0),
    )
    return QueueSpec(
        rule=rule,
        arrivals_per_hour=_number(spec, "arrivals_per_hour", where, positive=False),
        talk_s=_distribution(spec, "talk_s", where),
        wrapup_s=_distribution(spec, "wrapup_s", where) if "wrapup_s" in spec else Constant(0.0),
        patience_s=_distribution(spec, "patience_s", where) if "patience_s" in spec else None,
    )


def _step(data: object, where: str) -> Step:
    step = _object(data, where)
    _known(step, where, {"after_s", "min_level"})
    return Step(
        _number(step, "after_s", where, positive=False), _integer(step, "min_level", where, low=1, high=MAX_LEVEL)
    )


def _distribution(spec: Mapping[str, Any], key: str, where: str) -> Distribution:
    if key not in spec:
        raise ScenarioError(f"{where}.{key}: missing")
    try:
        return distribution_from(spec[key])
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{where}.{key}{exc}") from None


def _skills(spec: Mapping[str, Any], key: str, where: str, *, required: bool) -> Mapping[str, int]:
    value = spec.get(key, {})
    if not isinstance(value, Mapping) or (required and not value):
        raise ScenarioError(f"{where}.{key} = {value!r}: must be an object of skill: level (1..{MAX_LEVEL})")
    return {str(skill): _integer(value, skill, f"{where}.{key}", low=1, high=MAX_LEVEL) for skill in value}


def _object(data: object, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where} = {data!r}: must be an object")
    return data


def _list(spec: Mapping[str, Any], key: str, where: str, default: list[Any] | None = None) -> list[Any]:
    value = spec.get(key, default)
    if not isinstance(value, list) or (default is None and not value):
        raise ScenarioError(f"{_path(where, key)} = {value!r}: must be a non-empty list")
    return value


def _known(spec: Mapping[str, Any], where: str, keys: set[str]) -> None:
    for key in spec:
        if key not in keys:
            raise ScenarioError(f"{_path(where, key)}: unknown field (expected one of {', '.join(sorted(keys))})")


def _number(spec: Mapping[str, Any], key: str, where: str, *, positive: bool, default: float | None = None) -> float:
    value = spec.get(key, default)
    if value is None:
        raise ScenarioError(f"{_path(where, key)}: missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ScenarioError(f"{_path(where, key)} = {value!r}: must be a number >= 0")
    if positive and value == 0:
        raise ScenarioError(f"{_path(where, key)} = {value!r}: must be > 0")
    return float(value)


def _integer(
    spec: Mapping[str, Any], key: str, where: str, *, default: int | None = None, low: int | None = None,
    high: int | None = None,
) -> int:  # fmt: skip
    value = spec.get(key, default)
    if value is None:
        raise ScenarioError(f"{_path(where, key)}: missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{_path(where, key)} = {value!r}: must be an integer")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
        raise ScenarioError(f"{_path(where, key)} = {value!r}: must be in {bounds}")
    return value


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
